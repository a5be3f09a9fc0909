import AlzaCore
import AlzaLedger

/// Applies and produces blocks (DESIGN.md §3, §4). Both run the same steps in the same order, so what a
/// producer builds is exactly what every validator re-derives:
///
/// 1. the round transitions due before the block's slot (deactivations, the new round);
/// 2. at a round boundary, the coinbase paying the previous round (seed eq. 2, 3), first transaction of the block;
/// 3. the transactions (delayed actions first), through `BlockExecutor`;
/// 4. the producer's production record;
/// 5. the state root.
public enum BlockProcessor {
    /// A block applied to a state: the changes it made (undo and redo) and what its transactions did.
    public struct Applied: Sendable {
        public var changes: StateChangeSet
        public var execution: BlockExecutionResult
        /// The round the block's slot belongs to (its committee).
        public var round: RoundRecord
        public var coinbase: RoundRewards.Payout?
    }

    /// The field root of a block settling no payment fields: the empty RFC 6962 root.
    public static let emptyFieldRoot = MerkleTree.emptyRoot

    /// Checks everything about `header` that needs only the parent state: linkage, slot and time, the
    /// scheduled producer and its signature.
    public static func validateHeader(_ signedHeader: SignedBlockHeader, parent: BlockReference, state: LedgerState,
                                      verifier: SignatureVerifier) throws(ConsensusError) -> ProducerSchedule.Advance {
        let header = signedHeader.header
        guard header.previous == parent.id else { throw .wrongParent(expected: parent.id, actual: header.previous) }
        guard header.height == parent.height + 1 else { throw .wrongHeight(expected: parent.height + 1, actual: header.height) }
        guard header.slot > parent.slot else { throw .slotNotAfterParent(parentSlot: parent.slot, slot: header.slot) }
        guard header.timestamp == state.slotStart(header.slot) else {
            throw .wrongTimestamp(expected: state.slotStart(header.slot), actual: header.timestamp)
        }
        let advance = ProducerSchedule.advance(state, to: header.slot)
        let expected = advance.round.producer(at: header.slot, blocksPerTurn: state.parameters.blocksPerTurn)
        guard expected == header.producer else {
            throw .wrongProducer(slot: header.slot, expected: expected, actual: header.producer)
        }
        guard let producer = state.producers[header.producer] else { throw .unknownProducer(header.producer) }
        guard producer.status == .active else { throw .producerNotActive(header.producer, producer.status) }
        guard verifier.isValid(signedHeader, signedBy: producer.signingKey, chainId: state.chainId) else {
            throw .badBlockSignature(producer: header.producer)
        }
        return advance
    }

    /// Validates `block` against its parent's state and applies it. On failure `state` is left as it was.
    public static func apply(_ block: Block, parent: BlockReference, to state: inout LedgerState,
                             verifier: SignatureVerifier) throws(ConsensusError) -> Applied {
        let header = block.header
        let advance = try validateHeader(block.signedHeader, parent: parent, state: state, verifier: verifier)
        let parameters = state.parameters
        guard block.transactions.count <= parameters.maxBlockTransactions,
              block.transactions.reduce(0, { $0 + $1.encodedSize }) <= parameters.maxBlockBodyBytes
        else {
            throw .ledger(.blockTooLarge(transactions: block.transactions.count,
                                         bytes: block.transactions.reduce(0) { $0 + $1.encodedSize }))
        }
        let transactionRoot = Block.transactionRoot(block.transactions)
        guard transactionRoot == header.transactionRoot else {
            throw .ledger(.transactionRootMismatch(expected: header.transactionRoot, actual: transactionRoot))
        }

        // The expected coinbase comes from the parent state, before anything of this block applies.
        let payout = RoundRewards.dueRound(parent: state, advance: advance).flatMap { RoundRewards.payout(for: $0, state: state) }
        if let payout {
            let expected = RoundRewards.coinbase(payout, chainId: state.chainId, blockTime: header.timestamp)
            guard let first = block.transactions.first, first.id == expected.id else {
                throw .coinbaseMismatch("round \(payout.round) owes \(Amounts.format(payout.total)) ALZA; "
                                        + "the block's first transaction is not that coinbase")
            }
        } else if block.transactions.contains(where: { $0.messages.contains { $0.code == .coinbase } }) {
            throw .coinbaseMismatch("no rewards are due in this block")
        }

        state.beginRecording()
        do throws(ConsensusError) {
            ProducerSchedule.applyTransitions(advance, to: &state)
            let context = BlockContext(height: header.height, slot: header.slot, time: header.timestamp,
                                       producer: header.producer)
            let execution: BlockExecutionResult
            do {
                execution = try BlockExecutor.execute(block.transactions, on: &state, block: context, verifier: verifier,
                                                      mode: .validate, coinbaseAtIndexZero: payout != nil)
            } catch {
                throw ConsensusError.ledger(error)
            }
            let fieldRoot = execution.fieldRoot
            guard header.fieldRoot == fieldRoot else { throw .wrongFieldRoot(expected: fieldRoot, actual: header.fieldRoot) }
            recordProduction(producer: header.producer, slot: header.slot, height: header.height, round: advance.round,
                             in: &state)
            let root = state.root()
            guard root == header.stateRoot else { throw .ledger(.stateRootMismatch(expected: header.stateRoot, actual: root)) }
            return Applied(changes: state.endRecording(), execution: execution, round: advance.round, coinbase: payout)
        } catch {
            let changes = state.endRecording()
            state.apply(changes.undo)
            _ = state.root()
            throw error
        }
    }

    /// A block produced for `slot` on top of `parent`, and the state after it (`state` is advanced in place).
    public struct Produced: Sendable {
        public var block: Block
        public var applied: Applied
    }

    /// Builds, applies and signs a block with as many `candidates` as fit and apply (in order; failing ones are
    /// left out and reported in `applied.execution.rejected`).
    public static func produce(on state: inout LedgerState, parent: BlockReference, slot: UInt64, producerKey: SigningKey,
                               producer: Address, candidates: [SignedTransaction],
                               verifier: SignatureVerifier) throws(ConsensusError) -> Produced {
        let parameters = state.parameters
        let time = state.slotStart(slot)
        let advance = ProducerSchedule.advance(state, to: slot)
        let scheduled = advance.round.producer(at: slot, blocksPerTurn: parameters.blocksPerTurn)
        guard scheduled == producer else { throw .wrongProducer(slot: slot, expected: scheduled, actual: producer) }
        let payout = RoundRewards.dueRound(parent: state, advance: advance).flatMap { RoundRewards.payout(for: $0, state: state) }

        var transactions: [SignedTransaction] = []
        if let payout { transactions.append(RoundRewards.coinbase(payout, chainId: state.chainId, blockTime: time)) }
        var bytes = transactions.reduce(0) { $0 + $1.encodedSize }
        for candidate in candidates {
            guard transactions.count < parameters.maxBlockTransactions else { break }
            guard bytes + candidate.encodedSize <= parameters.maxBlockBodyBytes else { continue }
            transactions.append(candidate)
            bytes += candidate.encodedSize
        }

        state.beginRecording()
        do throws(ConsensusError) {
            ProducerSchedule.applyTransitions(advance, to: &state)
            let context = BlockContext(height: parent.height + 1, slot: slot, time: time, producer: producer)
            let execution: BlockExecutionResult
            do {
                execution = try BlockExecutor.execute(transactions, on: &state, block: context, verifier: verifier,
                                                      mode: .produce, coinbaseAtIndexZero: payout != nil)
            } catch {
                throw ConsensusError.ledger(error)
            }
            if payout != nil && execution.included.first?.messages.first?.code != .coinbase {
                throw .coinbaseMismatch("the coinbase failed to apply: \(execution.rejected.first?.error.description ?? "")")
            }
            recordProduction(producer: producer, slot: slot, height: parent.height + 1, round: advance.round, in: &state)
            let header = BlockHeader(height: parent.height + 1, slot: slot, previous: parent.id, producer: producer,
                                     transactionRoot: Block.transactionRoot(execution.included),
                                     fieldRoot: execution.fieldRoot, stateRoot: state.root(), timestamp: time)
            let block = Block(signedHeader: SignedBlockHeader.sign(header, with: producerKey, chainId: state.chainId),
                              transactions: execution.included)
            let applied = Applied(changes: state.endRecording(), execution: execution, round: advance.round, coinbase: payout)
            return Produced(block: block, applied: applied)
        } catch {
            let changes = state.endRecording()
            state.apply(changes.undo)
            _ = state.root()
            throw error
        }
    }

    /// The producer's record after producing `header`: last block slot and height, counts for rewards.
    static func recordProduction(producer address: Address, slot: UInt64, height: UInt64, round: RoundRecord,
                                 in state: inout LedgerState) {
        guard var producer = state.producers[address] else { return }
        producer.lastProducedSlot = slot
        producer.lastProducedHeight = height
        producer.producedBlocks += 1
        if producer.productionRound == round.number {
            producer.productionInRound += 1
        } else {
            producer.productionRound = round.number
            producer.productionInRound = 1
        }
        state.setProducer(producer)
    }
}
