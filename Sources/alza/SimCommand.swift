import AlzaCore
import AlzaSim
import ArgumentParser
import Foundation

struct SimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run a simulated network of producers in virtual time and report what happened.",
        discussion: """
            Every core runs in one thread with a virtual clock, a seeded RNG and a simulated network; the same \
            seed gives the same run. Times are offsets from the start: 90s, 30m, 1h, 13h. Node indices K are \
            0-based: producers first, then satellites (--satellites N).
            Example: alza sim --producers 23 --hours 24 --seed 1 --offline 4@0h-13h --json
            A campaign (--campaign N) runs seeds S, S+1, … S+N-1, each with a network, workload and faults drawn             from its seed, checks the safety invariants after every step and prints the command that replays a             failing seed. Example: alza sim --campaign 200 --seed 1 --json
            """)

    @Option(help: "Number of producers (SuperNodes); a campaign draws it per seed unless given.") var producers: Int?
    @Option(help: "Nodes hosting the Satellite role (chain follower, agreement monitor, the users' wallets), after the producers.")
    var satellites = 0
    @Option(name: .customLong("status-ms"), help: "Every node's chain status cadence in ms (a node's is 2000).")
    var statusMilliseconds: UInt64 = 30_000
    @Option(help: "Simulated hours (per seed in a campaign; default 1, or 0.1 in a campaign).") var hours: Double?
    @Option(help: "Run a campaign of N seeds with drawn faults and invariant checks.") var campaign: Int?
    @Option(help: "Seed of every random choice.") var seed: UInt64 = 1
    @Option(name: .customLong("slot-ms"), help: "Slot length in milliseconds.") var slotMilliseconds: UInt64 = 3_000
    @Option(help: "Slots of silence before a producer leaves the rotation (default: 12 h of slots).")
    var inactivitySlots: UInt64?
    @Option(parsing: .singleValue, help: "Producer K offline (crashed, then restarted with its disk): K@FROM-TO.")
    var offline: [String] = []
    @Option(parsing: .singleValue, help: "Partition into groups of sizes A and B: A/B@FROM-TO.")
    var partition: [String] = []
    @Option(parsing: .singleValue, help: "Producer K signs two blocks for one slot at or after AT: K@AT.")
    var equivocate: [String] = []
    @Option(parsing: .singleValue,
            help: "Producer K's clock OFFSET ms off (negative: behind), optionally drifting D ppm: K:OFFSET[:D]@FROM-TO.")
    var clockSkew: [String] = []
    @Option(help: "Transfers submitted per slot.") var transfers = 0
    @Option(help: "Start a payment field (claim, open, cooperative close) every N slots.") var fieldsEvery: UInt64?
    @Option(help: "Payment fields run off chain by the satellites' field actors (needs --satellites).") var paymentFields = 0
    @Option(help: "Payments tried per payment field per slot.") var fieldPayments = 2
    @Flag(help: "Each payment field's first account posts a stale solo close instead of the leader's cooperative close.")
    var staleSoloCloses = false
    @Option(help: "One-way network latency range in ms, MIN-MAX.") var latency = "20-120"
    @Option(help: "Message loss probability (0...1).") var loss: Double = 0
    @Flag(help: "Print one JSON object as the last line.") var json = false

    func run() throws {
        if let campaign { return try runCampaign(seeds: campaign) }
        let producers = self.producers ?? 23
        let hours = self.hours ?? 1
        guard producers >= 1 else { throw ValidationError("--producers must be at least 1") }
        guard hours > 0 else { throw ValidationError("--hours must be positive") }
        guard slotMilliseconds >= 10 else { throw ValidationError("--slot-ms must be at least 10") }
        guard (0...1).contains(loss) else { throw ValidationError("--loss must be between 0 and 1") }
        guard (0...1_000).contains(satellites) else { throw ValidationError("--satellites must be between 0 and 1000") }
        guard statusMilliseconds >= 100 else { throw ValidationError("--status-ms must be at least 100") }
        var configuration = SimulationConfiguration(
            producers: producers, durationMilliseconds: UInt64(hours * 3_600_000), seed: seed)
        configuration.satellites = satellites
        configuration.relay.statusIntervalMilliseconds = statusMilliseconds
        configuration.slotMilliseconds = slotMilliseconds
        configuration.inactivityRemovalSlots = inactivitySlots ?? max(1, 43_200_000 / slotMilliseconds)
        configuration.transfersPerSlot = transfers
        guard (0...1_000).contains(paymentFields) else { throw ValidationError("--payment-fields must be between 0 and 1000") }
        guard paymentFields == 0 || satellites >= 1 else {
            throw ValidationError("--payment-fields needs --satellites: satellites lead the fields and hold their accounts")
        }
        guard (0...100).contains(fieldPayments) else { throw ValidationError("--field-payments must be between 0 and 100") }
        configuration.paymentFields = paymentFields
        configuration.fieldPaymentsPerSlot = fieldPayments
        configuration.staleSoloCloses = staleSoloCloses
        if let fieldsEvery {
            guard fieldsEvery >= 1 else { throw ValidationError("--fields-every must be at least 1 slot") }
            configuration.fieldEverySlots = fieldsEvery
        }
        let latencyBounds = latency.split(separator: "-").compactMap { UInt64($0) }
        guard latencyBounds.count == 2, latencyBounds[0] <= latencyBounds[1] else {
            throw ValidationError("--latency must be MIN-MAX in milliseconds, e.g. 20-120")
        }
        configuration.network = SimulatedNetwork(latency: latencyBounds[0]...latencyBounds[1], loss: loss)
        for text in offline {
            let (node, window) = try Self.nodeAndWindow(text, option: "--offline")
            try check(node: node, option: "--offline")
            configuration.faults.append(.offline(node: node, from: window.lowerBound, to: window.upperBound))
        }
        for text in partition {
            let parts = text.split(separator: "@", maxSplits: 1).map(String.init)
            let sizes = parts.first?.split(separator: "/").compactMap { Int($0) } ?? []
            guard parts.count == 2, sizes.count == 2, sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) <= producers else {
                throw ValidationError("--partition must look like 12/11@1h-2h (sizes summing to at most --producers)")
            }
            let window = try Self.window(parts[1], option: "--partition")
            configuration.faults.append(.partition(sizes: sizes, from: window.lowerBound, to: window.upperBound))
        }
        for text in equivocate {
            let parts = text.split(separator: "@").map(String.init)
            guard parts.count == 2, let node = Int(parts[0]), let at = Self.duration(parts[1]) else {
                throw ValidationError("--equivocate must look like 3@2h")
            }
            try check(node: node, option: "--equivocate", producersOnly: true)
            configuration.faults.append(.equivocate(node: node, at: at))
        }
        for text in clockSkew {
            configuration.faults.append(try clockSkewFault(text))
        }
        let simulation = try Simulation(configuration: configuration)
        if !json {
            print("simulating \(producers) producers and \(satellites) satellites for \(hours) h (\(simulation.lastSlot) slots of \(slotMilliseconds) ms), seed \(seed)")
        }
        let report = simulation.run()
        let encoder = JSONEncoder()
        encoder.outputFormatting = json ? [.sortedKeys] : [.sortedKeys, .prettyPrinted]
        let text = String(decoding: try encoder.encode(report), as: UTF8.self)
        print(text)
    }

    private func runCampaign(seeds: Int) throws {
        guard seeds >= 1 else { throw ValidationError("--campaign must be at least 1") }
        let hours = self.hours ?? 0.1
        guard hours > 0 else { throw ValidationError("--hours must be positive") }
        if let producers, producers < 1 { throw ValidationError("--producers must be at least 1") }
        guard offline.isEmpty, partition.isEmpty, equivocate.isEmpty, clockSkew.isEmpty, loss == 0, transfers == 0 else {
            throw ValidationError("a campaign draws its own faults and load: drop --offline, --partition, "
                                  + "--equivocate, --clock-skew, --loss and --transfers")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func line(_ value: some Encodable) -> String { String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self) }
        let campaign = SimulationCampaign(firstSeed: seed, seeds: seeds, hours: hours, producers: producers)
        let summary = try campaign.run(
            planned: { plan in
                print(json ? line(["plan": plan]) : "seed \(plan.seed): \(plan.producers) producers, \(plan.satellites) satellites, \(plan.paymentFields) payment fields, "
                      + "\(plan.slotMilliseconds) ms slots, faults: \(plan.faults.isEmpty ? "none" : plan.faults.joined(separator: ", "))")
            },
            finished: { outcome in
                if json {
                    print(line(["outcome": outcome]))
                } else {
                    let verdict = outcome.violations.isEmpty ? "ok" : "FAILED: " + outcome.violations.map(\.description).joined(separator: "; ")
                    print("seed \(outcome.seed): \(outcome.blocks) blocks, LIB \(outcome.lib), \(verdict)")
                }
                if !outcome.violations.isEmpty {
                    FileHandle.standardError.write(Data("seed \(outcome.seed) failed; replay: \(campaign.replayCommand(seed: outcome.seed))\n".utf8))
                }
            })
        print(json ? line(summary) : "\(summary.seeds) seeds, \(summary.failures.count) failures, "
              + String(format: "%.1f s", summary.wallSeconds))
        if !summary.failures.isEmpty { throw ExitCode(1) }
    }

    private func clockSkewFault(_ text: String) throws -> SimulationFault {
        let parts = text.split(separator: "@", maxSplits: 1).map(String.init)
        let fields = parts.first?.split(separator: ":").map(String.init) ?? []
        guard parts.count == 2, (2...3).contains(fields.count), let node = Int(fields[0]),
              let offset = Int64(fields[1].replacingOccurrences(of: "ms", with: "")),
              let drift = fields.count == 3 ? Int64(fields[2].replacingOccurrences(of: "ppm", with: "")) : 0
        else { throw ValidationError("--clock-skew must look like 3:-400@0h-1h or 3:2000:50@10m-20m") }
        try check(node: node, option: "--clock-skew")
        let window = try Self.window(parts[1], option: "--clock-skew")
        return .clockSkew(node: node, offsetMilliseconds: offset, driftPartsPerMillion: drift,
                          from: window.lowerBound, to: window.upperBound)
    }

    /// Producers are nodes 0..<producers and satellites follow them; only a producer can equivocate.
    private func check(node: Int, option: String, producersOnly: Bool = false) throws {
        let producers = self.producers ?? 23
        let nodes = producersOnly ? producers : producers + satellites
        guard (0..<nodes).contains(node) else {
            throw ValidationError("\(option): \(producersOnly ? "producer" : "node") index \(node) is outside 0..<\(nodes)")
        }
    }

    /// "30m", "1h", "13h", "90s", "1500ms", "1.5h" in milliseconds.
    static func duration(_ text: String) -> UInt64? {
        let units: [(String, Double)] = [("ms", 1), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value >= 0, value.isFinite else { return nil }
            return UInt64(value * factor)
        }
        return nil
    }

    static func window(_ text: String, option: String) throws -> ClosedRange<UInt64> {
        let parts = text.split(separator: "-").map(String.init)
        guard parts.count == 2, let from = duration(parts[0]), let to = duration(parts[1]), from < to else {
            throw ValidationError("\(option): \(text) must be FROM-TO with FROM before TO, e.g. 1h-2h")
        }
        return from...to
    }

    static func nodeAndWindow(_ text: String, option: String) throws -> (Int, ClosedRange<UInt64>) {
        let parts = text.split(separator: "@", maxSplits: 1).map(String.init)
        guard parts.count == 2, let node = Int(parts[0]) else {
            throw ValidationError("\(option) must look like 4@0h-13h")
        }
        return (node, try window(parts[1], option: option))
    }
}
