import AlzaCore
import AlzaLedger
import AlzaSim
import Testing

@Suite(.serialized) struct SimulationCampaignTests {
    /// Kept short for `make test` (3 simulated minutes a seed); the 2,000-seed run is `alza-bench sim`.
    @Test func twoHundredSeedsBreakNoInvariant() throws {
        var planned: [UInt64] = []
        let campaign = SimulationCampaign(firstSeed: 1, seeds: 200, hours: 0.05)
        let summary = try campaign.run(planned: { planned.append($0.seed) })
        #expect(summary.seeds == 200)
        #expect(planned == Array(1...200))
        #expect(summary.failures == [], "replay with: \(summary.failures.map(\.replay))")
    }

    /// Seed 13 once finalized a branch a restarted node built alone (its state had removed the silent others).
    @Test func seedThirteenNoLongerFinalizesALoneBranch() throws {
        let summary = try SimulationCampaign(firstSeed: 13, seeds: 1, hours: 0.1).run()
        #expect(summary.failures == [])
    }

    @Test func aSeedDrawsTheSamePlanEveryTimeAndOthersDiffer() {
        let campaign = SimulationCampaign(firstSeed: 7, seeds: 1, hours: 0.1)
        let first = campaign.draw(seed: 7).1
        #expect(first == campaign.draw(seed: 7).1)
        #expect(first.replay == "alza sim --campaign 1 --seed 7 --hours 0.1 --json")
        let plans = (1...40).map { campaign.draw(seed: $0).1 }
        #expect(Set(plans.map(\.producers)).count > 2)
        #expect(plans.contains { $0.faults.contains { $0.hasPrefix("clock-skew") } })
        #expect(plans.contains { $0.faults.contains { $0.hasPrefix("equivocate") } })
        #expect(plans.contains { $0.faults.contains { $0.hasPrefix("partition") } })
        #expect(plans.contains { $0.faults.contains { $0.hasPrefix("offline") } })
    }

    // MARK: The monitor itself fails when it should

    let maker = CampaignBlockMaker()

    @Test func twoHonestNodesCommittingDifferentBlocksAtOneHeightIsADisagreement() {
        var monitor = InvariantMonitor(genesisSupply: 0)
        monitor.committed([maker.block(height: 5, salt: 1)], node: 0, name: "supernode-0", at: 1_000)
        monitor.committed([maker.block(height: 5, salt: 2)], node: 1, name: "supernode-1", at: 2_000)
        #expect(monitor.violations.map(\.invariant) == [.honestNodesAgreeUpToTheLowerLib])
        #expect(monitor.violations.first?.node == "supernode-1")
        #expect(monitor.violations.first?.atMilliseconds == 2_000)
    }

    @Test func aNodeCommittingAnotherBlockAtAHeightItFinalizedIsARevert() {
        var monitor = InvariantMonitor(genesisSupply: 0)
        monitor.committed([maker.block(height: 5, salt: 1)], node: 3, name: "supernode-3", at: 1_000)
        monitor.committed([maker.block(height: 5, salt: 2)], node: 3, name: "supernode-3", at: 2_000)
        #expect(monitor.violations.map(\.invariant) == [.noFinalizedBlockReverted])
    }

    @Test func aByzantineNodeDisagreeingIsNotAnHonestDisagreement() {
        var monitor = InvariantMonitor(genesisSupply: 0)
        monitor.byzantine = [1]
        monitor.committed([maker.block(height: 5, salt: 1)], node: 0, name: "supernode-0", at: 1_000)
        monitor.committed([maker.block(height: 5, salt: 2)], node: 1, name: "supernode-1", at: 2_000)
        #expect(monitor.violations.isEmpty)
    }

    @Test func supplyChecksNameWhatDoesNotAddUp() throws {
        #expect(InvariantMonitor.mintedOtherThanByRewards(supply: 1_050, genesisSupply: 1_000, rewardsPaid: 50) == nil)
        #expect(InvariantMonitor.mintedOtherThanByRewards(supply: 1_051, genesisSupply: 1_000, rewardsPaid: 50)
                == "supply 1051 != genesis 1000 + rewards 50")
        #expect(InvariantMonitor.unheldCoins(held: 7, supply: 7) == nil)
        #expect(InvariantMonitor.unheldCoins(held: 6, supply: 7) == "accounts hold 6, supply is 7")
        let configuration = SimulationConfiguration(producers: 4, durationMilliseconds: 60_000, seed: 1)
        let state = try Genesis(configuration.genesisFile()).initialState()
        var monitor = InvariantMonitor(genesisSupply: state.chain.totalSupply)
        monitor.checkHoldings(state, name: "supernode-0", at: 0)
        #expect(monitor.violations.isEmpty)
    }
}

struct CampaignBlockMaker {
    let key = SigningKey(deterministicLabel: "campaign-test")
    let chainId = Hash.sha256(utf8: "campaign-test")

    func block(height: UInt64, salt: UInt8) -> Block {
        let header = BlockHeader(height: height, slot: height, previous: .zero, producer: Address(key.publicKey),
                                 transactionRoot: .zero, fieldRoot: .zero, stateRoot: Hash.sha256([salt]), timestamp: height)
        return Block(signedHeader: SignedBlockHeader.sign(header, with: key, chainId: chainId), transactions: [])
    }
}
