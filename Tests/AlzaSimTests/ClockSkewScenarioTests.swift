import AlzaConsensus
import AlzaCore
import AlzaLedger
import AlzaSim
import Testing

/// Clock faults in virtual time (issue 5 §4): every input to a core carries the node's own clock, which the
/// simulator sets off the true time per node.
@Suite(.serialized) struct ClockSkewScenarioTests {
    static let minute: UInt64 = 60_000

    /// A node whose clock runs 400 ms behind (inside the 500 ms allowed drift) at 3 s slots accepts every block as it
    /// arrives: it refuses none and never has to sync.
    @Test(arguments: [21, 22, 23] as [UInt64])
    func aNodeWhoseClockIsFourHundredMillisecondsBehindAcceptsEveryBlock(seed: UInt64) throws {
        var configuration = SimulationConfiguration(producers: 23, durationMilliseconds: 60 * Self.minute, seed: seed)
        configuration.faults = [.clockSkew(node: 4, offsetMilliseconds: -400, from: 0, to: 61 * Self.minute)]
        let simulation = try Simulation(configuration: configuration)
        let report = simulation.run()
        #expect(report.agreed)
        #expect(report.finalizedReverted == 0)
        #expect(simulation.nodes[4].refusedFromTheFuture == 0)
        #expect(simulation.nodes[4].core?.statistics.syncRequests == 0)
        #expect(simulation.nodes[4].core?.statistics.blocksRejected == 0)
        #expect(report.missedSlots == 0)
    }

    /// A producer whose clock is 2 s ahead makes its blocks too early: the others refuse them as from the future
    /// (by that reason, counted per node); once its clock is set right its blocks are accepted again.
    @Test(arguments: [24, 25, 26] as [UInt64])
    func aProducerTwoSecondsAheadIsRefusedAndRecoversWhenItsClockIsFixed(seed: UInt64) throws {
        var configuration = SimulationConfiguration(producers: 23, durationMilliseconds: 60 * Self.minute, seed: seed)
        configuration.faults = [.clockSkew(node: 7, offsetMilliseconds: 2_000, from: 10 * Self.minute, to: 30 * Self.minute)]
        let simulation = try Simulation(configuration: configuration)
        let ahead = Address(SimulationConfiguration.producerKey(7).publicKey)
        simulation.run(until: configuration.genesisTime + 10 * Self.minute)
        #expect(simulation.nodes.map(\.refusedFromTheFuture).reduce(0, +) == 0)

        simulation.run(until: configuration.genesisTime + 32 * Self.minute)
        let refusedWhileAhead = simulation.nodes.map(\.refusedFromTheFuture)
        #expect(refusedWhileAhead.reduce(0, +) > 0, "its early blocks were refused")
        #expect(refusedWhileAhead[7] == 0, "a clock ahead refuses nothing")
        let producedBeforeFix = try #require(simulation.nodes[0].core?.head.producers[ahead]?.producedBlocks)

        let report = simulation.run()
        #expect(report.agreed)
        #expect(report.finalizedReverted == 0)
        #expect(simulation.nodes.map(\.refusedFromTheFuture) == refusedWhileAhead, "nothing refused after the fix")
        let producedAfterFix = try #require(simulation.nodes[0].core?.head.producers[ahead]?.producedBlocks)
        // 28 minutes of 3 s slots are 560 slots: about 4 turns of 6 blocks in rounds of 138.
        #expect(producedAfterFix >= producedBeforeFix + 18)
    }

    /// A clock that drifts 20 ppm fast is 430 ms ahead after six hours, still inside the allowed drift: no block of
    /// any node is refused and the chain fills every slot.
    @Test func aClockDriftingWithinTheAllowedBoundRefusesNothing() throws {
        var configuration = SimulationConfiguration(producers: 23, durationMilliseconds: 6 * 60 * Self.minute, seed: 27)
        configuration.faults = [.clockSkew(node: 11, offsetMilliseconds: 0, driftPartsPerMillion: 20, from: 0,
                                           to: 7 * 60 * Self.minute)]
        let simulation = try Simulation(configuration: configuration)
        let report = simulation.run()
        #expect(report.agreed)
        #expect(simulation.nodes.map(\.refusedFromTheFuture).reduce(0, +) == 0)
        #expect(report.missedSlots == 0)
    }

    @Test func aSimulatedClockReadsOffsetAndDriftAndInvertsExactlyWithoutDrift() {
        let behind = SimulatedClock(offset: -400)
        #expect(behind.read(at: 10_000) == 9_600)
        #expect(behind.trueTime(at: 9_600) == 10_000)
        let drifting = SimulatedClock(offset: 0, driftPartsPerMillion: 20, since: 1_000)
        #expect(drifting.read(at: 1_000 + 21_600_000) == 1_000 + 21_600_000 + 432)
        #expect(drifting.trueTime(at: drifting.read(at: 5_000_000)) == 5_000_000)
    }
}
