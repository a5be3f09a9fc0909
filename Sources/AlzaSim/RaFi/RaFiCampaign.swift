import AlzaCore

/// RaFi's seeded campaign: per seed, at most one fault during the writes (a pipeline node lost, a DataNode
/// restart, a NameNode restart or a failover) and at most one after them (a DataNode or a rack lost, silent
/// corruption, a decommission, new nodes and the balancer), drawn from the seed; every run checked for its
/// violations. Faults that could legitimately lose all replicas of a block (two kills on different racks) are
/// not combined, so every violation is a bug.
public struct RaFiCampaign: Sendable {
    public let firstSeed: UInt64
    public let seeds: Int

    public init(firstSeed: UInt64, seeds: Int) {
        precondition(seeds >= 1, "a campaign runs at least one seed")
        self.firstSeed = firstSeed
        self.seeds = seeds
    }

    /// The configuration seed `seed` runs.
    public static func configuration(seed: UInt64) -> RaFiSimulationConfiguration {
        var random = DeterministicRandom(seed: seed ^ 0x5241_4669_4361_6d70)
        var configuration = RaFiSimulationConfiguration()
        configuration.seed = seed
        configuration.dataNodes = Int(random.uniform(6...10))
        let duringWrites: [RaFiFault.Kind?] = [
            nil, .killPipelineNode, .restartDataNode(Int(random.uniform(0...5)), downMs: random.uniform(1_000...8_000)),
            .restartNameNode(downMs: random.uniform(1_000...8_000)), .failover,
        ]
        let afterWrites: [RaFiFault.Kind?] = [
            nil, .killDataNode(Int(random.uniform(0...5))), .loseRack("rack\(random.uniform(0...2))"),
            .corruptReplicas(count: Int(random.uniform(1...3))), .corruptForReader(count: Int(random.uniform(1...3))),
            .decommission(Int(random.uniform(0...5))), .addNodesAndBalance(count: Int(random.uniform(1...3)), threshold: 0.005),
        ]
        if let kind = duringWrites[Int(random.uniform(0...UInt64(duringWrites.count - 1)))] {
            configuration.faults.append(RaFiFault(atMs: random.uniform(20...400), kind))
        }
        if let kind = afterWrites[Int(random.uniform(0...UInt64(afterWrites.count - 1)))] {
            if case .addNodesAndBalance = kind { configuration.capacity = 64 << 20 }
            if case .loseRack = kind { configuration.dataNodes = 9 }
            configuration.faults.append(RaFiFault(atMs: random.uniform(12_000...20_000), kind))
        }
        return configuration
    }

    /// Runs every seed in order, telling `finished` each report; returns the failing ones.
    public func run(finished: (RaFiSimulationConfiguration, RaFiSimulationReport) -> Void) -> [RaFiSimulationReport] {
        var failures: [RaFiSimulationReport] = []
        for seed in firstSeed..<(firstSeed + UInt64(seeds)) {
            let configuration = Self.configuration(seed: seed)
            let report = RaFiSimulation(configuration).run()
            finished(configuration, report)
            if !report.violations.isEmpty { failures.append(report) }
        }
        return failures
    }
}
