import AlzaConsensus
import AlzaCore
import AlzaLedger
import Testing

@Suite struct RoundRewardsTests {
    /// Plays one full round in which every producer fills its 6 slots, then checks the payout of that round
    /// against seed equations 2 and 3 computed here independently.
    @Test func payoutOfAFullRoundMatchesEquationsTwoAndThree() throws {
        let stakes: [Amount] = [100, 300, 50, 250].map { $0 * Amounts.unit }
        let stakers: [(producer: Int, stake: Amount)] = [(1, 77 * Amounts.unit), (1, 3 * Amounts.unit), (3, 11 * Amounts.unit)]
        let fixture = ChainFixture(producers: 4, users: 4, stakes: stakes, extraStakers: stakers)
        var state = fixture.state()
        var parent = BlockReference(height: 0, slot: 0, id: fixture.genesis.chainId)
        let roundEnd = state.chain.round.endSlot(blocksPerTurn: 6)
        for slot in UInt64(1)..<roundEnd {
            parent = BlockReference(try fixture.produce(on: &state, parent: parent, slot: slot).block.signedHeader)
        }
        let round = state.chain.round
        let payout = try #require(RoundRewards.payout(for: round, state: state))

        let sonet = stakes.reduce(0, +) + stakers.map(\.stake).reduce(0, +)
        var expectedTotal: Amount = 0
        for producerIndex in 0..<4 {
            let producer = fixture.producer(producerIndex)
            let sono = stakes[producerIndex] + stakers.filter { $0.producer == producerIndex }.map(\.stake).reduce(0, +)
            // Eq. 2 with 128-bit arithmetic: RW = 6 · 150 ALZA · 4 · SONO / SONET.
            let base = 6 * fixture.parameters.rewardConstant * 4
            let rw = base.multipliedFullWidth(by: sono)
            let reward = sonet.dividingFullWidth(rw).quotient
            expectedTotal += reward
            let paid = payout.producerRewards.first { $0.producer == producer }?.reward
            #expect(paid == reward, "producer \(producerIndex)")
            // Eq. 3 for each staker: IW = RW · SOAN / SONO.
            for (userIndex, staker) in stakers.enumerated() where staker.producer == producerIndex {
                let iw = sono.dividingFullWidth(reward.multipliedFullWidth(by: staker.stake)).quotient
                #expect(payout.payouts.first { $0.account == fixture.user(userIndex) }?.amount == iw)
            }
        }
        #expect(payout.total == expectedTotal)
        #expect(payout.payouts.map(\.amount).reduce(0, +) == expectedTotal)

        // The first block of the next round carries exactly this coinbase, and supply grows by exactly the total.
        let supplyBefore = state.chain.totalSupply
        let produced = try fixture.produce(on: &state, parent: parent, slot: roundEnd)
        let coinbase = try #require(produced.block.transactions.first)
        #expect(coinbase.messages.first?.code == .coinbase)
        #expect(state.chain.totalSupply == supplyBefore + expectedTotal)
        #expect(state.chain.totalRewardsPaid == expectedTotal)
        #expect(state.chain.rewardedRound == round.number)
        // Supply is accounted for: balances + stakes + unbonding of every account equal the total supply.
        let held = state.accounts.values.reduce(Amount(0)) { $0 + $1.balance + $1.staked + $1.unbondingTotal }
        #expect(held == state.chain.totalSupply)
    }

    @Test func aProducerThatFilledHalfItsSlotsEarnsHalf() throws {
        let fixture = ChainFixture(producers: 2)
        var state = fixture.state()
        var parent = BlockReference(height: 0, slot: 0, id: fixture.genesis.chainId)
        let round = state.chain.round
        let second = round.producers[1]
        for slot in UInt64(1)..<round.endSlot(blocksPerTurn: 6) {
            if ProducerSchedule.producer(at: slot, after: state) == second && slot % 2 == 0 { continue }
            parent = BlockReference(try fixture.produce(on: &state, parent: parent, slot: slot).block.signedHeader)
        }
        let payout = try #require(RoundRewards.payout(for: state.chain.round, state: state))
        let full = 6 * fixture.parameters.rewardConstant * 2 / 2   // equal stakes: SONO/SONET = 1/2
        #expect(payout.producerRewards.first { $0.producer == round.producers[0] }?.reward == full)
        #expect(payout.producerRewards.first { $0.producer == second }?.reward == full / 2)
    }

    @Test func aBlockWithoutTheOwedCoinbaseIsRejected() throws {
        let fixture = ChainFixture(producers: 2)
        var state = fixture.state()
        var parent = BlockReference(height: 0, slot: 0, id: fixture.genesis.chainId)
        let end = state.chain.round.endSlot(blocksPerTurn: 6)
        for slot in UInt64(1)..<end {
            parent = BlockReference(try fixture.produce(on: &state, parent: parent, slot: slot).block.signedHeader)
        }
        // Forge the boundary block without a coinbase: a correct producer key, but no rewards paid.
        var forgedState = state
        let honest = try fixture.produce(on: &forgedState, parent: parent, slot: end)
        let header = honest.block.header
        let emptyRoot = Block.transactionRoot([])
        let forgedHeader = BlockHeader(height: header.height, slot: header.slot, previous: header.previous,
                                       producer: header.producer, transactionRoot: emptyRoot, fieldRoot: header.fieldRoot,
                                       stateRoot: header.stateRoot, timestamp: header.timestamp)
        let key = fixture.producerKeys.first { Address($0.publicKey) == header.producer }!
        let forged = Block(signedHeader: SignedBlockHeader.sign(forgedHeader, with: key, chainId: fixture.genesis.chainId),
                           transactions: [])
        let rootBefore = state.root()
        #expect(throws: ConsensusError.coinbaseMismatch("round 0 owes 1800.00000000 ALZA; the block's first transaction is not that coinbase")) {
            try BlockProcessor.apply(forged, parent: parent, to: &state, verifier: fixture.verifier)
        }
        #expect(state.root() == rootBefore)
        // The honest block applies.
        _ = try BlockProcessor.apply(honest.block, parent: parent, to: &state, verifier: fixture.verifier)
    }
}
