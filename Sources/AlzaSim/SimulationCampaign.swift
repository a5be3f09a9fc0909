import Foundation

/// A VOPR-style campaign (DESIGN.md §1): each seed draws a network and a fault schedule, runs it with the
/// invariants checked after every step, and a failing seed is replayed exactly by `alza sim --campaign 1 --seed S`.
public struct SimulationCampaign: Sendable {
    /// What one seed drew, printed before it runs.
    public struct Plan: Codable, Sendable, Equatable {
        public var seed: UInt64
        public var producers: Int
        public var hours: Double
        public var slotMilliseconds: UInt64
        public var latencyMilliseconds: [UInt64]
        public var loss: Double
        public var transfersPerSlot: Int
        /// A payment field starts every this many slots (nil: none).
        public var fieldEverySlots: UInt64?
        /// Satellites beside the producers (their users' transactions enter through them).
        public var satellites: Int
        /// The nodes' chain status cadence.
        public var statusMilliseconds: UInt64
        /// Payment fields run off chain by the satellites (their leader's node crashed in some seeds: see faults).
        public var paymentFields: Int
        /// The fields' first accounts post stale solo closes (the others dispute) instead of a cooperative close.
        public var staleSoloCloses: Bool
        public var faults: [String]
        public var replay: String
    }

    /// One seed's outcome.
    public struct Outcome: Codable, Sendable, Equatable {
        public var seed: UInt64
        public var blocks: UInt64
        public var lib: UInt64
        public var violations: [InvariantViolation]
        public var wallSeconds: Double
    }

    public struct Failure: Codable, Sendable, Equatable {
        public var seed: UInt64
        public var invariant: String
        public var detail: String
        public var replay: String
    }

    /// The campaign's last JSON line.
    public struct Summary: Codable, Sendable, Equatable {
        public var seeds: Int
        public var failures: [Failure]
        public var simulatedHours: Double
        public var wallSeconds: Double
    }

    public var firstSeed: UInt64
    public var seeds: Int
    /// Simulated time per seed.
    public var hours: Double
    /// Fixed producer count, or nil to draw one per seed.
    public var producers: Int?

    public init(firstSeed: UInt64, seeds: Int, hours: Double, producers: Int? = nil) {
        precondition(seeds >= 1 && hours > 0, "a campaign runs at least one seed for a positive time")
        self.firstSeed = firstSeed
        self.seeds = seeds
        self.hours = hours
        self.producers = producers
    }

    /// Runs every seed in order, calling `planned` before and `finished` after each one.
    public func run(planned: (Plan) -> Void = { _ in }, finished: (Outcome) -> Void = { _ in }) throws -> Summary {
        let wallStart = Date()
        var failures: [Failure] = []
        for offset in 0..<seeds {
            let seed = firstSeed &+ UInt64(offset)
            let (configuration, plan) = draw(seed: seed)
            planned(plan)
            let seedStart = Date()
            let simulation = try Simulation(configuration: configuration)
            let report = simulation.run()
            let outcome = Outcome(seed: seed, blocks: report.blocks, lib: report.libs.map(\.height).max() ?? 0,
                                  violations: report.violations, wallSeconds: Date().timeIntervalSince(seedStart))
            finished(outcome)
            failures += report.violations.map {
                Failure(seed: seed, invariant: $0.invariant.rawValue, detail: $0.description, replay: plan.replay)
            }
        }
        return Summary(seeds: seeds, failures: failures, simulatedHours: hours * Double(seeds),
                       wallSeconds: Date().timeIntervalSince(wallStart))
    }

    /// The exact command that reruns `seed` alone.
    public func replayCommand(seed: UInt64) -> String {
        var command = "alza sim --campaign 1 --seed \(seed) --hours \(hours)"
        if let producers { command += " --producers \(producers)" }
        return command + " --json"
    }

    /// Everything one seed determines: the network, the workload and the faults. The draw uses its own
    /// generator (not the run's), so adding a fault kind never changes how a seed's run unfolds otherwise.
    public func draw(seed: UInt64) -> (SimulationConfiguration, Plan) {
        var random = DeterministicRandom(seed: seed ^ 0x5eed_ca4a_9a16_0001)
        let producers = self.producers ?? [4, 5, 7, 11, 23][Int(random.uniform(0...4))]
        let duration = UInt64(hours * 3_600_000)
        var configuration = SimulationConfiguration(producers: producers, durationMilliseconds: duration, seed: seed)
        configuration.slotMilliseconds = [500, 1_000, 3_000][Int(random.uniform(0...2))]
        configuration.inactivityRemovalSlots = max(20, duration / configuration.slotMilliseconds / 3)
        let latencyLow = random.uniform(1...50)
        configuration.network = SimulatedNetwork(latency: latencyLow...(latencyLow + random.uniform(0...250)),
                                                 loss: random.chance(0.5) ? Double(random.uniform(0...50)) / 1_000 : 0)
        configuration.transfersPerSlot = Int(random.uniform(0...3))
        configuration.faults = FaultSchedule.draw(producers: producers, duration: duration, random: &random)
        // Drawn last, so the rest of a seed's plan is what it was before fields existed.
        configuration.fieldEverySlots = random.chance(0.5) ? random.uniform(8...40) : nil
        // Drawn after fields for the same reason: satellites (with the relay and monitor of their role) in half the
        // seeds, a node's own 2 s status cadence in a third.
        configuration.satellites = random.chance(0.5) ? Int(random.uniform(1...4)) : 0
        if random.chance(1.0 / 3.0) { configuration.relay.statusIntervalMilliseconds = 2_000 }
        // Drawn after the status cadence for the same reason: with satellites, off-chain payment fields in half the
        // seeds, and in half of those the node leading field 0 crashes while payments flow (its actors come back
        // from its field journal) — beside the producers' crashes, partitions and loss drawn above.
        if configuration.satellites > 0 && random.chance(0.5) {
            configuration.paymentFields = Int(random.uniform(1...3))
            configuration.fieldPaymentsPerSlot = 1
            configuration.staleSoloCloses = random.chance(0.5)
            if random.chance(0.5) {
                let from = duration / 10 + random.uniform(0...(duration * 4 / 10))
                let to = min(duration * 9 / 10, from + 30_000 + random.uniform(0...(duration / 10)))
                configuration.faults.append(.offline(node: producers, from: from, to: to))
            }
        }
        let plan = Plan(seed: seed, producers: producers, hours: hours, slotMilliseconds: configuration.slotMilliseconds,
                        latencyMilliseconds: [configuration.network.latency.lowerBound, configuration.network.latency.upperBound],
                        loss: configuration.network.loss, transfersPerSlot: configuration.transfersPerSlot,
                        fieldEverySlots: configuration.fieldEverySlots, satellites: configuration.satellites,
                        statusMilliseconds: configuration.relay.statusIntervalMilliseconds, paymentFields: configuration.paymentFields,
                        staleSoloCloses: configuration.staleSoloCloses,
                        faults: configuration.faults.map(\.description), replay: replayCommand(seed: seed))
        return (configuration, plan)
    }
}

/// Random fault schedules for a campaign seed.
enum FaultSchedule {
    static func draw(producers: Int, duration: UInt64, random: inout DeterministicRandom) -> [SimulationFault] {
        var faults: [SimulationFault] = []
        func window() -> (UInt64, UInt64) {
            let from = random.uniform(0...(duration * 2 / 3))
            return (from, min(duration, from + random.uniform((duration / 20)...(duration / 3))))
        }
        func node() -> Int { Int(random.uniform(0...UInt64(producers - 1))) }
        for _ in 0..<random.uniform(0...2) {
            let (from, to) = window()
            let crashed = node()
            faults.append(.offline(node: crashed, from: from, to: to))
            if random.chance(0.3) {
                faults.append(random.chance(0.5)
                    ? .truncateBlockLog(node: crashed, at: from + 1, bytes: Int(random.uniform(1...300)))
                    : .corruptBlockLog(node: crashed, at: from + 1, fromEnd: Int(random.uniform(1...300))))
            }
        }
        if random.chance(0.4), producers >= 2 {
            let (from, to) = window()
            let first = Int(random.uniform(1...UInt64(producers - 1)))
            faults.append(.partition(sizes: [first, producers - first], from: from, to: to))
        }
        if random.chance(0.3) {
            let (from, to) = window()
            faults.append(.loss(probability: Double(random.uniform(50...400)) / 1_000, from: from, to: to))
        }
        for _ in 0..<random.uniform(0...2) {
            let (from, to) = window()
            // Within the allowed drift (500 ms) or well beyond it, either way.
            let offset = Int64(random.uniform(0...3_000)) - 1_500
            let drift = Int64(random.uniform(0...200)) - 100
            faults.append(.clockSkew(node: node(), offsetMilliseconds: offset, driftPartsPerMillion: drift, from: from, to: to))
        }
        // One equivocating producer, only where it stays below a third of the committee (the safety bound).
        if random.chance(0.3), producers >= 4 {
            faults.append(.equivocate(node: node(), at: random.uniform(0...(duration / 2))))
        }
        return faults
    }
}

extension SimulationFault: CustomStringConvertible {
    public var description: String {
        switch self {
        case .offline(let node, let from, let to): "offline \(node)@\(from)-\(to)ms"
        case .partition(let sizes, let from, let to): "partition \(sizes.map(String.init).joined(separator: "/"))@\(from)-\(to)ms"
        case .equivocate(let node, let at): "equivocate \(node)@\(at)ms"
        case .truncateBlockLog(let node, let at, let bytes): "truncate-block-log \(node)@\(at)ms by \(bytes) bytes"
        case .corruptBlockLog(let node, let at, let fromEnd): "corrupt-block-log \(node)@\(at)ms \(fromEnd) bytes from the end"
        case .loss(let probability, let from, let to): "loss \(probability)@\(from)-\(to)ms"
        case .clockSkew(let node, let offset, let drift, let from, let to):
            "clock-skew \(node) \(offset)ms \(drift)ppm@\(from)-\(to)ms"
        }
    }
}
