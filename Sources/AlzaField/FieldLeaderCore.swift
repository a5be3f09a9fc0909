import AlzaCore
import AlzaLedger

/// The leader of one payment field as a pure state machine (DESIGN.md §6): it checks and orders payments, hands
/// them to its shell for the durable payment log, signs receipts in batches once they are durable, pushes each
/// payment to its payee, proposes snapshots every `snapshotEveryPayments` payments or `snapshotEveryMilliseconds`,
/// collects the participants' signatures and says who has not signed. Time comes with every input.
///
/// Group commit: payments accepted while a log write is in flight wait for the next one, so a busy leader writes,
/// fsyncs and signs once per batch and an idle one answers at once.
public struct FieldLeaderCore: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var snapshotEveryPayments = 1_000
        public var snapshotEveryMilliseconds: UInt64 = 500
        /// Payments per log write and receipt batch at most (DESIGN.md §10).
        public var maximumBatch = 256
        public init() {}
    }

    public enum Effect: Sendable, Equatable {
        /// Append to the payment log and make durable (fsync), then report `persisted(through:now:)`.
        case persist([SignedFieldPayment], firstIndex: UInt64)
        case receipt(FieldReceipt, to: Address)
        /// A payment to its payee, with its receipt (the payee's balance push).
        case incoming(SignedFieldPayment, FieldReceipt, to: Address)
        case rejected(paymentHash: Hash, FieldError, to: Address)
        case propose(SnapshotProposal, to: Address)
        /// Every participant signed the snapshot: it can close the field (signatures in participant order).
        /// Every participant signed: the snapshot with its balances and signatures, what a close posts on chain
        /// (sent to every participant, so any of them can close alone).
        case fullySigned(SignedFieldSnapshot)
        case wakeAt(UInt64)
    }

    public let configuration: Configuration
    /// Proposals still waiting for signatures, at most.
    public static let keptProposals = 8
    public let roster: FieldRoster
    private let key: SigningKey
    /// After every accepted payment (logged or not): what the next payment is checked against.
    public private(set) var balances: [Amount]
    private var nextSequence: [UInt64]
    /// After the durable payments only: what a snapshot shows, with each participant's top-ups and exits (D34).
    public private(set) var durableBalances: [Amount]
    public private(set) var durableFlows = FieldFlows()
    /// Hashes of the durable payments, in log order.
    public private(set) var paymentHashes: [Hash] = []
    /// Log index of every durable payment, to answer a payer that sends one again (it lost the receipt).
    private var durableIndex: [Hash: UInt64] = [:]
    /// Payments accepted and not yet durable: a copy sent again waits for the original's receipt.
    private var inFlight: Set<Hash> = []
    private var accumulator = MerkleAccumulator()
    /// An accepted payment with its payer's and payee's positions (looked up once, in `check`).
    private struct Accepted: Sendable {
        var signed: SignedFieldPayment
        var hash: Hash
        var payer: Int
        var payee: Int
    }

    /// Accepted payments waiting for the next log write: `waiting[waitingHead...]` (taken from the front by moving
    /// the head, compacted when half is taken, so a long queue costs O(1) per payment, not a shift per batch).
    private var waiting: [Accepted] = []
    private var waitingHead = 0
    private var writing: (firstIndex: UInt64, payments: [Accepted])?
    /// Per participant, how many payments the newest snapshot it signed covers.
    private var acknowledged: [UInt64]
    private var proposals: [UInt64: (snapshot: FieldSnapshot, balances: [Amount], flows: FieldFlows, signatures: [Signature?])] = [:]
    public private(set) var newestSnapshot: UInt64 = 0
    public private(set) var newestFullySigned: SignedFieldSnapshot?
    private var lastProposalAt: UInt64

    public init(roster: FieldRoster, key: SigningKey, configuration: Configuration = Configuration(), now: UInt64) {
        precondition(key.publicKey == roster.leader, "the leader's key is the roster's")
        precondition(configuration.maximumBatch > 0 && configuration.snapshotEveryPayments > 0, "batches and snapshots hold payments")
        self.configuration = configuration
        self.roster = roster
        self.key = key
        balances = roster.openingBalances
        durableBalances = roster.openingBalances
        nextSequence = Array(repeating: 0, count: roster.participants.count)
        acknowledged = Array(repeating: 0, count: roster.participants.count)
        lastProposalAt = now
    }

    public var durableCount: UInt64 { UInt64(paymentHashes.count) }

    /// The log index of a durable payment (a copy sent again is answered with its receipt, whatever else holds).
    public func loggedIndex(of paymentHash: Hash) -> UInt64? { durableIndex[paymentHash] }

    // MARK: Payments

    /// A participant's payment: refused with its reason, or ordered and sent to the log. A payment sent again
    /// (its payer lost the receipt, or the leader restarted) is answered with its receipt once it is durable.
    public mutating func receive(_ signed: SignedFieldPayment, now: UInt64) -> [Effect] {
        let payment = signed.payment
        let (bytes, hash) = signed.encodedAndHashed()
        if let index = durableIndex[hash] {
            let receipt = FieldReceipt.signBatch(field: roster.field, firstIndex: index, paymentHashes: [hash], leader: key,
                                                 chainId: roster.chainId)[0]
            return [.receipt(receipt, to: payment.payer)]
        }
        // The original's receipt answers this copy too (the shell answers every request for a payment hash).
        if inFlight.contains(hash) { return [] }
        switch check(signed, paymentBytes: bytes) {
        case .failure(let error):
            return [.rejected(paymentHash: hash, error, to: payment.payer)]
        case .success(let (payer, payee)):
            balances[payer] -= payment.amount
            if !payment.kind.isExit { balances[payee] += payment.amount }
            nextSequence[payer] += 1
            inFlight.insert(hash)
            waiting.append(Accepted(signed: signed, hash: hash, payer: payer, payee: payee))
            return startWrite()
        }
    }

    private func check(_ signed: SignedFieldPayment, paymentBytes: [UInt8]) -> Result<(Int, Int), FieldError> {
        let payment = signed.payment
        guard payment.field == roster.field else { return .failure(.wrongField(expected: roster.field, actual: payment.field)) }
        guard let payer = roster.position(of: payment.payer) else { return .failure(.notParticipant(payment.payer)) }
        guard let payee = roster.position(of: payment.payee) else { return .failure(.notParticipant(payment.payee)) }
        switch payment.kind {
        case .transfer:
            guard payer != payee else { return .failure(.paymentToSelf(payment.payer)) }
        case .withdrawal:
            guard payer == payee else { return .failure(.invalidExit(reason: "a withdrawal is paid by its payer to itself")) }
        case .lock(let target):
            guard payer == payee else { return .failure(.invalidExit(reason: "a lock is paid by its payer to itself")) }
            guard target != roster.field else { return .failure(.invalidExit(reason: "a field cannot lock into itself")) }
        }
        guard payment.amount > 0 else { return .failure(.zeroAmount) }
        let expected = nextSequence[payer]
        if payment.sequence < expected {
            return .failure(.replayedSequence(payer: payment.payer, expected: expected, actual: payment.sequence))
        }
        if payment.sequence > expected {
            return .failure(.skippedSequence(payer: payment.payer, expected: expected, actual: payment.sequence))
        }
        guard balances[payer] >= payment.amount else {
            return .failure(.insufficientBalance(payer: payment.payer, balance: balances[payer], amount: payment.amount))
        }
        guard signed.isSigned(paymentBytes: paymentBytes, chainId: roster.chainId) else {
            return .failure(.badPaymentSignature(payer: payment.payer))
        }
        return .success((payer, payee))
    }

    private mutating func startWrite() -> [Effect] {
        guard writing == nil, waitingHead < waiting.count else { return [] }
        let count = min(waiting.count - waitingHead, configuration.maximumBatch)
        let batch = Array(waiting[waitingHead..<(waitingHead + count)])
        waitingHead += count
        if waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        } else if waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
        let first = durableCount
        writing = (first, batch)
        return [.persist(batch.map(\.signed), firstIndex: first)]
    }

    /// The log write of the batch starting at `firstIndex` is durable: its receipts go out (one signature), each
    /// payment to its payee, and the next batch to the log.
    public mutating func persisted(firstIndex: UInt64, now: UInt64) -> [Effect] {
        guard let batch = writing, batch.firstIndex == firstIndex else {
            preconditionFailure("persisted(\(firstIndex)) without that write in flight")
        }
        writing = nil
        let hashes = batch.payments.map(\.hash)
        for accepted in batch.payments {
            inFlight.remove(accepted.hash)
            appendDurable(accepted)
        }
        let receipts = FieldReceipt.signBatch(field: roster.field, firstIndex: firstIndex, paymentHashes: hashes, leader: key,
                                              chainId: roster.chainId)
        var effects: [Effect] = []
        effects.reserveCapacity(receipts.count * 2 + 2)
        for (accepted, receipt) in zip(batch.payments, receipts) {
            effects.append(.receipt(receipt, to: accepted.signed.payment.payer))
            effects.append(.incoming(accepted.signed, receipt, to: accepted.signed.payment.payee))
        }
        effects += startWrite()
        if durableCount - (proposals[newestSnapshot]?.snapshot.paymentCount ?? 0) >= UInt64(configuration.snapshotEveryPayments) {
            effects += propose(now: now)
        }
        return effects
    }

    private mutating func appendDurable(_ accepted: Accepted) {
        let hash = accepted.hash
        durableIndex[hash] = durableCount
        paymentHashes.append(hash)
        accumulator.append(leafHash: FieldSnapshot.paymentLeaf(hash))
        let amount = accepted.signed.payment.amount
        durableBalances[accepted.payer] -= amount
        if accepted.signed.payment.kind.isExit {
            durableFlows[accepted.payer].withdrawn += amount
        } else {
            durableBalances[accepted.payee] += amount
        }
    }

    // MARK: Top-ups

    /// The chain credited `participant` `total` in top-ups so far (`field-deposit`, or a lock undone back to this
    /// field; its record's flows): what is new is added to its balance at once, and the next snapshot counts it.
    /// A total below the one known is old news and changes nothing.
    public mutating func credited(_ participant: Address, depositedTotal total: Amount) throws(FieldError) {
        guard let position = roster.position(of: participant) else { throw .notParticipant(participant) }
        let known = durableFlows[position].deposited
        guard total > known else { return }
        balances[position] += total - known
        durableBalances[position] += total - known
        durableFlows[position].deposited = total
    }

    // MARK: Recovery

    /// A leader restarted from its journal (`FieldLeaderJournal`): the durable payments are checked and applied
    /// again in log order, snapshot numbers go on after the newest proposed, and what each participant
    /// acknowledged is what its journaled signatures covered (less is safe: the next proposal sends more hashes).
    public init(roster: FieldRoster, key: SigningKey, configuration: Configuration = Configuration(), now: UInt64,
                recovering recovery: FieldLeaderRecovery) throws(FieldError) {
        self.init(roster: roster, key: key, configuration: configuration, now: now)
        // Top-ups only add: crediting them all before the log replays accepts every payment they paid for.
        for (participant, total) in recovery.deposited { try credited(participant, depositedTotal: total) }
        for (index, signed) in recovery.payments.enumerated() {
            let (bytes, hash) = signed.encodedAndHashed()
            switch check(signed, paymentBytes: bytes) {
            case .failure(let error):
                throw .journalInconsistent(reason: "logged payment \(index) no longer applies: \(error.description)")
            case .success(let (payer, payee)):
                balances[payer] -= signed.payment.amount
                if !signed.payment.kind.isExit { balances[payee] += signed.payment.amount }
                nextSequence[payer] += 1
                appendDurable(Accepted(signed: signed, hash: hash, payer: payer, payee: payee))
            }
        }
        for (participant, count) in recovery.acknowledged {
            guard let position = roster.position(of: participant), count <= durableCount else {
                throw .journalInconsistent(reason: "\(participant) acknowledged \(count) of \(durableCount) payments")
            }
            acknowledged[position] = count
        }
        if let full = recovery.newestFullySigned {
            guard full.snapshot.paymentCount <= durableCount, full.snapshot.number <= recovery.newestProposed else {
                throw .journalInconsistent(reason: "fully signed snapshot \(full.snapshot.number) is ahead of the log")
            }
        }
        newestSnapshot = recovery.newestProposed
        newestFullySigned = recovery.newestFullySigned
    }

    // MARK: Snapshots

    /// Proposes a snapshot when `snapshotEveryMilliseconds` passed and payments arrived, or the newest proposal
    /// is still not signed by everyone (a signature or a proposal was lost: proposed again under a new number);
    /// says when to wake next.
    public mutating func tick(now: UInt64) -> [Effect] {
        var effects: [Effect] = []
        let covered = proposals[newestSnapshot]?.snapshot.paymentCount ?? 0
        let unsigned = durableCount > 0 && (newestFullySigned?.snapshot.number ?? 0) < newestSnapshot
        if (durableCount > covered || unsigned) && now >= lastProposalAt + configuration.snapshotEveryMilliseconds {
            effects += propose(now: now)
        }
        effects.append(.wakeAt(lastProposalAt + configuration.snapshotEveryMilliseconds))
        return effects
    }

    private mutating func propose(now: UInt64) -> [Effect] {
        newestSnapshot += 1
        lastProposalAt = now
        let leaves = FieldSnapshot.balanceLeaves(participants: roster.participants, balances: durableBalances, flows: durableFlows)
        let (balancesHash, balanceProofs) = MerkleTree.allInclusionProofs(leafHashes: leaves)
        let snapshot = FieldSnapshot(field: roster.field, number: newestSnapshot, paymentCount: durableCount,
                                     paymentsRoot: accumulator.root, balancesHash: balancesHash)
        proposals[newestSnapshot] = (snapshot, durableBalances, durableFlows, Array(repeating: nil, count: roster.participants.count))
        // A participant away for long makes every proposal wait: only the newest few can still become fully
        // signed (a late signature of an older one is `unknownSnapshot`), so memory stays bounded.
        if proposals.count > Self.keptProposals { proposals = proposals.filter { $0.key + UInt64(Self.keptProposals) > newestSnapshot } }
        return roster.participants.indices.map { position in
            let first = acknowledged[position]
            let proposal = SnapshotProposal(
                snapshot: snapshot, firstIndex: first, paymentHashes: Array(paymentHashes[Int(first)...]),
                participantIndex: UInt32(position), balance: durableBalances[position],
                balanceProof: balanceProofs[position], flow: durableFlows[position])
            return .propose(proposal, to: roster.participants[position])
        }
    }

    /// A participant's signature on snapshot `number`'s commitment.
    public mutating func receivedSignature(_ signature: Signature, snapshot number: UInt64, from signer: Address,
                                           now: UInt64) throws(FieldError) -> [Effect] {
        guard let position = roster.position(of: signer) else { throw .notParticipant(signer) }
        guard var proposal = proposals[number] else { throw .unknownSnapshot(number) }
        let commitment = proposal.snapshot.commitment(participantsHash: roster.participantsHash)
        guard PublicKey(bytes32: signer.bytes32).isValidSignature(signature, for: commitment.bytes, domain: FieldDomains.commitment,
                                                                  chainId: roster.chainId)
        else { throw .badSnapshotSignature(snapshot: number, signer: signer) }
        proposal.signatures[position] = signature
        proposals[number] = proposal
        acknowledged[position] = max(acknowledged[position], proposal.snapshot.paymentCount)
        let signatures = proposal.signatures.compactMap { $0 }
        guard signatures.count == roster.participants.count,
              number > (newestFullySigned?.snapshot.number ?? 0) else { return [] }
        let full = SignedFieldSnapshot(snapshot: proposal.snapshot, balances: proposal.balances, flows: proposal.flows,
                                       signatures: signatures)
        newestFullySigned = full
        // Older proposals can no longer become the newest fully signed snapshot.
        proposals = proposals.filter { $0.key >= number }
        return [.fullySigned(full)]
    }

    /// How many payments the newest snapshot `participant` signed covers (what its next proposal starts from).
    public func acknowledgedCount(of participant: Address) -> UInt64? {
        roster.position(of: participant).map { acknowledged[$0] }
    }

    /// The participants that have not signed snapshot `number` (Hydra #1792: they must not freeze the others).
    public func unsigned(snapshot number: UInt64) -> [Address]? {
        guard let proposal = proposals[number] else { return nil }
        return roster.participants.indices.filter { proposal.signatures[$0] == nil }.map { roster.participants[$0] }
    }
}
