import AlzaConsensus
import AlzaCore
import AlzaLedger
import AlzaSim
import Testing

/// Whole-network scenarios in virtual time (DESIGN.md §1, §4). Each runs several seeds; every run must end with
/// all online nodes on one head, one LIB and one state root, and no finalized block ever reverted.
@Suite(.serialized) struct SimulationScenarioTests {
    static let hour: UInt64 = 3_600_000

    func expectAgreement(_ report: SimulationReport, _ context: String) {
        #expect(report.agreed, "\(context): nodes disagree: heads \(Set(report.heads.filter(\.online).map(\.id)).count)")
        #expect(report.finalizedReverted == 0, "\(context)")
        #expect(Set(report.stateRoots.values).count == 1, "\(context)")
    }

    @Test(arguments: [1, 2] as [UInt64])
    func twentyFourHoursAllOnlineFillEverySlot(seed: UInt64) throws {
        let simulation = try Simulation(configuration: SimulationConfiguration(producers: 23, durationMilliseconds: 24 * Self.hour,
                                                                              seed: seed))
        let report = simulation.run()
        expectAgreement(report, "seed \(seed)")
        #expect(report.slots == 28_800)
        #expect(report.blocks == report.slots)
        #expect(report.missedSlots == 0)
        #expect(report.forkSwitches == 0)
        // LIB advances and trails the head by about 16 producers' turns, never more than a round.
        let lib = report.libs.first!.height
        #expect(lib > report.blocks - 138)
        #expect(report.maxLibLagSlots <= 138)
        // Every round but the current one paid eq. 2 in full: 6 · 150 ALZA · 23 (equal stakes, all blocks made).
        let paidRounds = UInt64(28_800 / 138)
        #expect(report.rewardsPaid == paidRounds * 6 * 150 * 23 * Amounts.unit)
        #expect(report.removedProducers.isEmpty)
    }

    @Test(arguments: [3, 4] as [UInt64])
    func producerOfflineThirteenHoursLeavesAfterTwelveAndReturnsAfterRecover(seed: UInt64) throws {
        var configuration = SimulationConfiguration(producers: 23, durationMilliseconds: 15 * Self.hour, seed: seed)
        configuration.faults = [.offline(node: 6, from: 0, to: 13 * Self.hour)]
        let simulation = try Simulation(configuration: configuration)
        let offline = Address(SimulationConfiguration.producerKey(6).publicKey)

        // Half an hour before the 12 h mark: still in the rotation, its slots empty.
        simulation.run(until: configuration.genesisTime + 11 * Self.hour + Self.hour / 2)
        let early = try #require(simulation.nodes[0].core)
        #expect(early.head.chain.round.producers.contains(offline))
        #expect(early.head.producers[offline]?.status == .active)
        #expect(early.head.producers[offline]?.producedBlocks == 0)

        // After 12 h of silence it has left the rotation: rounds of 22 producers.
        simulation.run(until: configuration.genesisTime + 12 * Self.hour + Self.hour / 2)
        let removed = try #require(simulation.nodes[0].core)
        #expect(removed.head.producers[offline]?.status == .inactive)
        #expect(!removed.head.chain.round.producers.contains(offline))
        #expect(removed.head.chain.round.producers.count == 22)

        // Back at 13 h: it syncs, sends `producer recover`, rejoins and produces again.
        let report = simulation.run()
        expectAgreement(report, "seed \(seed)")
        let final = try #require(simulation.nodes[0].core)
        #expect(final.head.producers[offline]?.status == .active)
        #expect(final.head.chain.round.producers.contains(offline))
        #expect((final.head.producers[offline]?.producedBlocks ?? 0) > 0)
        // Its 12 h share of slots stayed empty (14,400 slots / 23 producers), and little else.
        #expect(report.missedSlots >= 14_400 / 23)
        #expect(report.missedSlots <= 14_400 / 23 + 40)
    }

    @Test(arguments: [5, 6] as [UInt64])
    func partitionOfTwelveAndElevenHealsWithoutRevertingFinality(seed: UInt64) throws {
        var configuration = SimulationConfiguration(producers: 23, durationMilliseconds: 3 * Self.hour, seed: seed)
        configuration.faults = [.partition(sizes: [12, 11], from: Self.hour, to: 2 * Self.hour)]
        let simulation = try Simulation(configuration: configuration)
        let splitSlot = Self.hour / configuration.slotMilliseconds
        simulation.run(until: configuration.genesisTime + Self.hour)
        let libAtSplit = simulation.nodes.compactMap { $0.core?.lib.height }.max()!

        // Just before the heal: no block made during the partition is final on either side (12 and 11 are both
        // short of 16 of 23). Blocks made before the split may still finalize: producers of both sides had
        // built on them.
        simulation.run(until: configuration.genesisTime + 2 * Self.hour - 3_000)
        for node in simulation.nodes {
            let core = try #require(node.core)
            #expect(core.lib.slot < splitSlot, "\(node.name) finalized slot \(core.lib.slot) during the partition")
        }
        let minorityHeads = Set(simulation.nodes[12...].compactMap { $0.core?.headReference.id })
        let majorityHeads = Set(simulation.nodes[..<12].compactMap { $0.core?.headReference.id })
        #expect(minorityHeads.isDisjoint(with: majorityHeads))

        let report = simulation.run()
        expectAgreement(report, "seed \(seed)")
        // The minority switched to the majority's branch; finality resumed after the heal.
        #expect(report.forkSwitches >= 11)
        #expect(report.libs.first!.height > libAtSplit + 600)
    }

    @Test(arguments: [7, 8] as [UInt64])
    func equivocatingProducerIsRemovedByEvidenceOnChain(seed: UInt64) throws {
        var configuration = SimulationConfiguration(producers: 23, durationMilliseconds: Self.hour, seed: seed)
        configuration.faults = [.equivocate(node: 9, at: 10 * 60_000)]
        let report = try Simulation(configuration: configuration).run()
        expectAgreement(report, "seed \(seed)")
        #expect(report.equivocationsDetected == 1)
        #expect(report.removedProducers.map(\.node) == [9])
        #expect(report.removedProducers.first?.status == "removed-for-equivocation")
    }

    @Test(arguments: [9, 10] as [UInt64])
    func crashedProducersRecoverFromTheirDisksAndCatchUp(seed: UInt64) throws {
        var configuration = SimulationConfiguration(producers: 23, durationMilliseconds: 2 * Self.hour, seed: seed)
        configuration.checkpointIntervalBlocks = 200
        configuration.faults = [
            .offline(node: 1, from: 20 * 60_000, to: 21 * 60_000),
            .offline(node: 2, from: 30 * 60_000, to: 50 * 60_000),
            .offline(node: 3, from: 40 * 60_000, to: 41 * 60_000),
            .offline(node: 1, from: 70 * 60_000, to: 90 * 60_000),
        ]
        let simulation = try Simulation(configuration: configuration)
        let report = simulation.run()
        expectAgreement(report, "seed \(seed)")
        #expect(report.heads.allSatisfy { $0.online })
        // Each restarted node reopened from its own disk, was behind, and caught up by asking for blocks.
        for index in [1, 2, 3] {
            let core = try #require(simulation.nodes[index].core)
            #expect(core.statistics.syncRequests > 0, "supernode-\(index) synced after its restart")
            #expect(core.lib.height >= report.libs[0].height - 1)
        }
    }

    @Test(arguments: [11, 12] as [UInt64])
    func truncatedOrCorruptBlockLogTailIsCutAndRefetched(seed: UInt64) throws {
        var configuration = SimulationConfiguration(producers: 23, durationMilliseconds: Self.hour, seed: seed)
        configuration.faults = [
            .offline(node: 4, from: 20 * 60_000, to: 25 * 60_000),
            .truncateBlockLog(node: 4, at: 22 * 60_000, bytes: 37 + Int(seed)),
            .offline(node: 5, from: 30 * 60_000, to: 35 * 60_000),
            .corruptBlockLog(node: 5, at: 32 * 60_000, fromEnd: 100),
        ]
        let report = try Simulation(configuration: configuration).run()
        expectAgreement(report, "seed \(seed)")
        #expect(report.recoveryLog.contains { $0.hasPrefix("supernode-4") && $0.contains("truncated") })
        #expect(report.recoveryLog.contains { $0.hasPrefix("supernode-5") && $0.contains("checksum") })
    }

    @Test func transfersAreAppliedAndTheSupplyIsConserved() throws {
        var configuration = SimulationConfiguration(producers: 7, durationMilliseconds: Self.hour / 2, seed: 13)
        configuration.transfersPerSlot = 4
        configuration.network = SimulatedNetwork(latency: 10...80, loss: 0.01)
        let simulation = try Simulation(configuration: configuration)
        let report = simulation.run()
        expectAgreement(report, "transfers")
        // All but the last slot's transfers applied (they are still travelling when the run ends).
        #expect(report.transfersApplied >= report.transfersSubmitted - UInt64(configuration.transfersPerSlot) * 2)
        let state = try #require(simulation.nodes[0].core).head
        let held = state.accounts.values.reduce(Amount(0)) { $0 + $1.balance + $1.staked + $1.unbondingTotal }
        #expect(held == state.chain.totalSupply)
        let genesisSupply = try simulation.genesis.initialState().chain.totalSupply
        #expect(state.chain.totalSupply == genesisSupply + report.rewardsPaid)
    }

    @Test func sameSeedSameRunBitForBit() throws {
        var configuration = SimulationConfiguration(producers: 11, durationMilliseconds: Self.hour / 2, seed: 42)
        configuration.transfersPerSlot = 2
        configuration.network = SimulatedNetwork(latency: 5...200, loss: 0.02)
        configuration.faults = [.offline(node: 3, from: 5 * 60_000, to: 9 * 60_000),
                                .partition(sizes: [6, 5], from: 12 * 60_000, to: 14 * 60_000)]
        let first = try Simulation(configuration: configuration).run()
        let second = try Simulation(configuration: configuration).run()
        #expect(first == second)
        configuration.seed = 43
        let other = try Simulation(configuration: configuration).run()
        #expect(other.messagesLost != first.messagesLost)
        #expect(other.heads.map(\.id) != first.heads.map(\.id), "another seed draws other transfers: other blocks")
    }
}
