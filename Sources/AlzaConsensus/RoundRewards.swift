import AlzaCore
import AlzaLedger

/// Round rewards (seed §3.1.5, equations 2 and 3), paid by a coinbase from 0x0 in the first block of a later
/// round:
///
///     RW = blocksPerTurn · rewardConstant · producerCount · SONO / SONET        (2)
///     IW = RW · SOAN / SONO                                                    (3)
///
/// SONO is the stake delegated to the producer, SONET the stake delegated to all eligible candidates, SOAN an
/// account's stake. A producer that filled only some of its `blocksPerTurn` slots earns that share of RW (the
/// equation's 6 is the blocks it was to produce). Each staker gets IW rounded down; the rounding remainder goes
/// to the producer's account, so a round mints exactly ΣRW.
public enum RoundRewards {
    public struct Payout: Equatable, Sendable {
        public var round: UInt64
        /// Per producer: RW as paid (after the production share).
        public var producerRewards: [(producer: Address, reward: Amount)]
        /// Merged per account, in address order.
        public var payouts: [AmountEntry]
        public var total: Amount

        public static func == (lhs: Payout, rhs: Payout) -> Bool {
            lhs.round == rhs.round && lhs.payouts == rhs.payouts && lhs.total == rhs.total
                && lhs.producerRewards.map(\.producer) == rhs.producerRewards.map(\.producer)
                && lhs.producerRewards.map(\.reward) == rhs.producerRewards.map(\.reward)
        }
    }

    /// The payout for `round` from `state`, or nil if nothing is owed (no production, or already paid).
    public static func payout(for round: RoundRecord, state: LedgerState) -> Payout? {
        if let paid = state.chain.rewardedRound, paid >= round.number { return nil }
        let parameters = state.parameters
        let stakeOnNetwork = state.producers.values
            .filter { $0.status == .active || $0.status == .inactive }
            .reduce(Amount(0)) { $0 &+ (state.delegatedStake[$1.account] ?? 0) }
        guard stakeOnNetwork > 0 else { return nil }
        var perAccount: [Address: Amount] = [:]
        var producerRewards: [(Address, Amount)] = []
        var total: Amount = 0
        let base = UInt64(parameters.blocksPerTurn) &* parameters.rewardConstant &* UInt64(parameters.producerCount)
        for producerAddress in round.producers {
            guard let producer = state.producers[producerAddress], producer.productionRound == round.number,
                  producer.productionInRound > 0
            else { continue }
            let stakeOnNode = state.delegatedStake[producerAddress] ?? 0
            guard stakeOnNode > 0,
                  let full = try? Amounts.mulDiv(base, stakeOnNode, stakeOnNetwork),
                  let reward = try? Amounts.mulDiv(full, UInt64(min(Int(producer.productionInRound), parameters.blocksPerTurn)),
                                                   UInt64(parameters.blocksPerTurn)),
                  reward > 0
            else { continue }
            var paid: Amount = 0
            for voter in (state.voters[producerAddress] ?? []).sorted() {
                guard let stake = state.accounts[voter]?.staked, stake > 0,
                      let share = try? Amounts.mulDiv(reward, stake, stakeOnNode), share > 0
                else { continue }
                perAccount[voter, default: 0] &+= share
                paid &+= share
            }
            if reward > paid { perAccount[producerAddress, default: 0] &+= reward - paid }
            producerRewards.append((producerAddress, reward))
            total &+= reward
        }
        guard total > 0 else { return nil }
        let payouts = perAccount.sorted { $0.key < $1.key }.map { AmountEntry($0.key, $0.value) }
        return Payout(round: round.number, producerRewards: producerRewards, payouts: payouts, total: total)
    }

    /// The coinbase transaction carrying `payout`.
    public static func coinbase(_ payout: Payout, chainId: Hash, blockTime: UInt64) -> SignedTransaction {
        let message = Message(.coinbase(round: payout.round, payouts: payout.payouts), authorizer: nil)
        let header = TransactionHeader(chainId: chainId, expiration: blockTime, nonce: 0, fee: 0)
        return SignedTransaction(transaction: Transaction(header: header, messages: [message]), signatures: [])
    }

    /// The round whose rewards a block at a round boundary pays: the parent's round, if unpaid.
    static func dueRound(parent state: LedgerState, advance: ProducerSchedule.Advance) -> RoundRecord? {
        guard advance.crossedBoundary else { return nil }
        return state.chain.round
    }
}
