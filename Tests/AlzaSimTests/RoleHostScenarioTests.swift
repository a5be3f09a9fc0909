import AlzaSim
import AlzaConsensus
import AlzaCore
import AlzaLedger
import AlzaNetCore
import Testing

/// Simulated nodes host roles as a node process does (DESIGN.md §1): SuperNodes produce, Satellites follow the
/// chain, take the users' transactions and watch the SuperNodes' statuses; every node runs the chain relay a node
/// runs (`ChainRelayCore` through `ChainEffects`): transactions gossiped as batches, statuses at a cadence.
@Suite struct RoleHostScenarioTests {
    static let minute: UInt64 = 60_000

    /// 7 SuperNodes and 2 satellites, a node's own 2 s status cadence, 8 transfers a slot.
    func network(seed: UInt64, loss: Double = 0) -> SimulationConfiguration {
        var configuration = SimulationConfiguration(producers: 7, durationMilliseconds: 20 * Self.minute, seed: seed)
        configuration.satellites = 2
        configuration.transfersPerSlot = 8
        configuration.relay.statusIntervalMilliseconds = 2_000
        configuration.network = SimulatedNetwork(latency: 10...80, loss: loss)
        return configuration
    }

    @Test func eachNodeHostsTheRolesItsIndexNames() throws {
        let simulation = try Simulation(configuration: network(seed: 1))
        #expect(simulation.nodes.map(\.name) == (0..<7).map { "supernode-\($0)" } + ["satellite-0", "satellite-1"])
        #expect(simulation.nodes.map(\.roles) == Array(repeating: NodeRoles.superNode, count: 7) + [.satellite, .satellite])
        #expect(simulation.nodes.map { $0.monitor != nil } == Array(repeating: false, count: 7) + [true, true])
        #expect(simulation.nodes[7].core?.configuration.producer == nil, "a satellite produces nothing")
    }

    /// Users submit through the satellites; each satellite's relay sends a slot's four transfers as one batch and
    /// every other node relays that batch once, as it came: 2 batches × 9 nodes a slot; every transfer is applied
    /// but the last slot's, still waiting for a block when the run ends.
    @Test(arguments: [1, 2] as [UInt64])
    func satellitesBatchTheUsersTransfersAndEveryNodeRelaysEachBatchOnce(seed: UInt64) throws {
        let simulation = try Simulation(configuration: network(seed: seed))
        let report = simulation.run()
        #expect(report.agreed && report.finalizedReverted == 0 && report.violations.isEmpty)
        #expect(report.transfersApplied == report.transfersSubmitted - 8, "\(report.transfersApplied) of \(report.transfersSubmitted)")
        #expect(report.transactionBatches == report.slots * 2 * 9)
        for node in simulation.nodes {
            // A satellite hears only the other satellite's batches; a SuperNode both.
            let batches = node.roles == .satellite ? report.slots : 2 * report.slots
            #expect(node.batchesReceived == batches, "\(node.name) received \(node.batchesReceived) batches")
        }
    }

    /// A healthy network at the node's 2 s status cadence: satellites compare every SuperNode's status with their
    /// chain and find no divergence, and no node syncs (a status one block ahead in the current slot is the block
    /// gossip is bringing: the core waits for it instead of fetching it twice).
    @Test func satellitesWatchEverySuperNodeAndNobodySyncsOnAHealthyNetwork() throws {
        let simulation = try Simulation(configuration: network(seed: 3))
        let report = simulation.run()
        #expect(report.syncRequests == 0)
        #expect(report.divergencesReported == 0)
        for satellite in simulation.nodes[7...] {
            let monitor = try #require(satellite.monitor)
            #expect(monitor.observations.keys.sorted() == (0..<7).map { "supernode-\($0)" })
            #expect(monitor.observations.values.filter { !$0.agrees }.isEmpty)
            // Every SuperNode announces every 2 s to both satellites: 600 intervals, less the first.
            #expect(satellite.statusesObserved >= 7 * 590, "\(satellite.name) observed \(satellite.statusesObserved)")
        }
    }

    /// A satellite that crashes loses its relay and monitor (memory) and comes back following the chain from its
    /// disk; users whose satellite is down reach the chain through the other one.
    @Test func aCrashedSatelliteRecoversAndUsersGoThroughTheOther() throws {
        var configuration = network(seed: 4, loss: 0.01)
        configuration.faults = [.offline(node: 8, from: 5 * Self.minute, to: 9 * Self.minute)]
        let simulation = try Simulation(configuration: configuration)
        let report = simulation.run()
        #expect(report.agreed && report.violations.isEmpty)
        #expect(report.restarts == 1)
        #expect(report.heads.first { $0.node == "satellite-1" }?.online == true)
        // Lost: the 4 transfers satellite-1 held when it crashed (memory) and the last slot's 8 still waiting.
        #expect(report.transfersApplied + 4 + 8 == report.transfersSubmitted, "\(report.transfersApplied) of \(report.transfersSubmitted)")
        #expect(try #require(simulation.nodes[8].monitor).observations.count == 7)
    }
}
