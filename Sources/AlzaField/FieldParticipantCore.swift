import AlzaCore
import AlzaLedger

/// One participant of a payment field as a pure state machine (DESIGN.md §6): it signs its payments in sequence,
/// keeps every payment about itself with the leader's receipt, and signs a snapshot only after checking that the
/// payment hashes sent with it lead to its payments root, that every receipt it holds sits at its index, and that
/// its own balance is at least what its payments give. That is its guarantee: it never signs away less than its
/// newest signed snapshot plus the payments it holds receipts for.
public struct FieldParticipantCore: Sendable {
    public let roster: FieldRoster
    public let address: Address
    public let position: Int
    private let key: SigningKey
    private var nextSequence: UInt64 = 0
    /// Payments this participant signed, by hash (their index is learned from the receipt or a snapshot).
    public private(set) var sent: [Hash: SignedFieldPayment] = [:]
    /// Receipted payments about this participant, by log index.
    public private(set) var receipted: [UInt64: (payment: SignedFieldPayment, receipt: FieldReceipt)] = [:]
    /// Payment hashes covered by the newest snapshot signed, as an accumulator.
    private var accumulator = MerkleAccumulator()
    /// The accumulator at the payment count of each of the newest snapshots signed, and at 0: a proposal may
    /// start from any of them (a restarted leader that lost the newest signature sends more hashes).
    private var signedAccumulators: [UInt64: MerkleAccumulator] = [0: MerkleAccumulator()]
    private static let keptAccumulators = 16
    public private(set) var newestSigned: (snapshot: FieldSnapshot, balance: Amount, flow: FieldFlow, signature: Signature)?
    /// The chain's top-up total for this participant (D34, from its watcher): a snapshot may count no more.
    public private(set) var creditedOnChain: Amount = 0
    /// The newest snapshot every participant signed, with all balances and signatures: what this participant
    /// posts to close alone or to dispute an older close.
    public private(set) var newestFullySigned: SignedFieldSnapshot?
    /// Receipt batches whose leader signature was checked (a batch of 256 receipts is verified once, not for each).
    private var verifiedBatches: Set<ReceiptBatch> = []
    private var verifiedOrder: [ReceiptBatch] = []
    private static let keptBatches = 64
    private struct ReceiptBatch: Hashable, Sendable {
        var root: Hash
        var size: UInt32
        var signature: Signature
    }
    /// The payment count of the snapshot whose close this participant signed: payments beyond it no longer count
    /// (the close settles at once, without them).
    public private(set) var closeSignedAt: (number: UInt64, paymentCount: UInt64, closeBy: UInt64)?
    /// Own payments found in signed snapshots, by index (with or without a receipt).
    private var ownIndices: [Hash: UInt64] = [:]

    public init(roster: FieldRoster, key: SigningKey) {
        let address = Address(key.publicKey)
        guard let position = roster.position(of: address) else {
            preconditionFailure("\(address) is not a participant of field \(roster.field)")
        }
        self.roster = roster
        self.address = address
        self.position = position
        self.key = key
    }

    public var coveredCount: UInt64 { UInt64(accumulator.count) }

    /// The longest memo text a payment carries (its sealed box fills `FieldPayment.maximumMemoBytes`).
    public static let maximumMemoText = FieldPayment.maximumMemoBytes - SealedBox.overhead

    /// Signs the next payment to `payee` (the leader orders and checks it); a memo is sealed to the payee, so the
    /// leader and the other participants cannot read it.
    public mutating func pay(to payee: Address, amount: Amount, memo: [UInt8] = []) throws(FieldError) -> SignedFieldPayment {
        guard roster.position(of: payee) != nil else { throw .notParticipant(payee) }
        guard payee != address else { throw .paymentToSelf(address) }
        guard amount > 0 else { throw .zeroAmount }
        guard memo.count <= Self.maximumMemoText else { throw .memoTooLarge(bytes: memo.count, limit: Self.maximumMemoText) }
        var sealed: [UInt8] = []
        if !memo.isEmpty {
            do {
                sealed = try SealedBox.seal(memo, to: PublicKey(bytes32: payee.bytes32))
            } catch {
                throw .memoUnreadable(reason: error.description)
            }
        }
        return try pay(to: payee, amount: amount, presealedMemo: sealed)
    }

    /// Signs the next payment as an exit (D34): `amount` leaves this participant's balance for its account
    /// (paid by `field-withdraw` once a fully signed snapshot records it).
    public mutating func withdraw(amount: Amount) throws(FieldError) -> SignedFieldPayment {
        try pay(to: address, amount: amount, presealedMemo: [], kind: .withdrawal)
    }

    /// Signs the next payment as a lock of `amount` for field `target` (D34): once the leader receipts it, the
    /// payment and receipt (`FieldLock`) are this participant's deposit in `target`'s `field-open`.
    public mutating func lock(amount: Amount, for target: FieldId) throws(FieldError) -> SignedFieldPayment {
        guard target != roster.field else { throw .invalidExit(reason: "a field cannot lock into itself") }
        return try pay(to: address, amount: amount, presealedMemo: [], kind: .lock(target: target))
    }

    /// The chain's top-up total for this participant, as its watcher read the field's record (only grows).
    public mutating func credited(depositedTotal total: Amount) {
        creditedOnChain = max(creditedOnChain, total)
    }

    /// Signs the next payment with a memo already sealed (sealing is randomized: a journal replays the sealed one).
    mutating func pay(to payee: Address, amount: Amount, presealedMemo sealed: [UInt8],
                      kind: FieldPaymentKind = .transfer) throws(FieldError) -> SignedFieldPayment {
        guard roster.position(of: payee) != nil else { throw .notParticipant(payee) }
        guard kind.isExit || payee != address else { throw .paymentToSelf(address) }
        guard !kind.isExit || payee == address else { throw .invalidExit(reason: "an exit is paid by its payer to itself") }
        guard amount > 0 else { throw .zeroAmount }
        guard sealed.count <= FieldPayment.maximumMemoBytes else {
            throw .memoTooLarge(bytes: sealed.count, limit: FieldPayment.maximumMemoBytes)
        }
        let payment = FieldPayment(field: roster.field, payer: address, payee: payee, amount: amount, sequence: nextSequence,
                                   memo: sealed, kind: kind)
        let signed = SignedFieldPayment.sign(payment, with: key, chainId: roster.chainId)
        nextSequence += 1
        sent[signed.hash] = signed
        return signed
    }

    /// The leader refused this participant's newest payment (`FieldLeaderCore.Effect.rejected`): its sequence number
    /// is free again. Only the newest can be taken back; if a leader logged it after all, the participant no longer
    /// counts it as its own and refuses the snapshot showing it (its balance would be short), so this is safe. A
    /// payment a snapshot it signed already holds is not taken back (false): the refusal came for a copy sent again
    /// after that (a lost receipt, then a closing leader), and taking it back would count the payment's amount as
    /// still this participant's when the close it signed pays it out — the simulator found it (D38).
    public mutating func refused(_ signed: SignedFieldPayment) -> Bool {
        guard signed.payment.payer == address, sent[signed.hash] != nil, signed.payment.sequence + 1 == nextSequence,
              ownIndices[signed.hash] == nil else {
            return false
        }
        sent[signed.hash] = nil
        nextSequence -= 1
        return true
    }

    /// The memo of a payment to this participant, opened (empty when it has none).
    public func memo(of signed: SignedFieldPayment) throws(FieldError) -> [UInt8] {
        guard !signed.payment.memo.isEmpty else { return [] }
        guard signed.payment.payee == address else { throw .memoUnreadable(reason: "the payment is to \(signed.payment.payee)") }
        do {
            return try SealedBox.open(signed.payment.memo, with: key)
        } catch {
            throw .memoUnreadable(reason: error.description)
        }
    }

    /// The leader's receipt for a payment this participant made, or (with the payment) one made to it.
    public mutating func received(_ receipt: FieldReceipt, for signed: SignedFieldPayment) throws(FieldError) {
        guard receipt.field == roster.field else { throw .wrongField(expected: roster.field, actual: receipt.field) }
        guard signed.payment.field == roster.field else { throw .wrongField(expected: roster.field, actual: signed.payment.field) }
        guard receipt.paymentHash == signed.hash else { throw .receiptForAnotherPayment(index: receipt.index) }
        let batch = ReceiptBatch(root: receipt.batchRoot, size: receipt.batchSize, signature: receipt.signature)
        let known = verifiedBatches.contains(batch)
        try receipt.verify(leader: roster.leader, chainId: roster.chainId, batchVerified: known)
        if let closed = closeSignedAt, receipt.index >= closed.paymentCount { throw .closeSigned(snapshot: closed.number) }
        let payment = signed.payment
        if payment.payer == address {
            guard sent[signed.hash] != nil else { throw .forgedReceipt(index: receipt.index, reason: "this participant never signed it") }
        } else {
            guard payment.payee == address else { throw .notParticipant(payment.payee) }
            guard signed.isSigned(chainId: roster.chainId) else { throw .badPaymentSignature(payer: payment.payer) }
        }
        receipted[receipt.index] = (signed, receipt)
        if !known {
            verifiedBatches.insert(batch)
            verifiedOrder.append(batch)
            if verifiedOrder.count > Self.keptBatches { verifiedBatches.remove(verifiedOrder.removeFirst()) }
        }
    }

    /// Checks a snapshot proposal and returns the signature on its commitment; refuses (typed) otherwise, and
    /// then nothing changes.
    public mutating func sign(_ proposal: SnapshotProposal) throws(FieldError) -> Signature {
        let snapshot = proposal.snapshot
        guard snapshot.field == roster.field else { throw .wrongField(expected: roster.field, actual: snapshot.field) }
        let newest = newestSigned?.snapshot.number ?? 0
        guard snapshot.number > newest else { throw .staleSnapshot(number: snapshot.number, newest: newest) }
        guard let base = signedAccumulators[proposal.firstIndex], snapshot.paymentCount >= coveredCount else {
            throw .snapshotOutOfOrder(paymentCount: snapshot.paymentCount, known: coveredCount)
        }
        var extended = base
        for hash in proposal.paymentHashes { extended.append(leafHash: FieldSnapshot.paymentLeaf(hash)) }
        guard UInt64(extended.count) == snapshot.paymentCount, extended.root == snapshot.paymentsRoot else {
            throw .paymentsRootMismatch(snapshot: snapshot.number)
        }
        for (index, entry) in receipted where index >= proposal.firstIndex && index < snapshot.paymentCount {
            guard proposal.paymentHashes[Int(index - proposal.firstIndex)] == entry.receipt.paymentHash else {
                throw .receiptNotInSnapshot(index: index, snapshot: snapshot.number)
            }
        }
        var found = ownIndices
        for (offset, hash) in proposal.paymentHashes.enumerated() where sent[hash] != nil {
            found[hash] = proposal.firstIndex + UInt64(offset)
        }
        try checkFlow(proposal, ownIndices: found)
        let expected = expectedBalance(upTo: snapshot.paymentCount, ownIndices: found, deposited: proposal.flow.deposited)
        guard proposal.balance >= expected else {
            throw .balanceMismatch(snapshot: snapshot.number, expected: expected, claimed: proposal.balance)
        }
        guard Int(proposal.participantIndex) == position,
              (try? MerkleTree.verifyInclusion(
                  leafHash: FieldSnapshot.balanceLeaf(index: position, participant: address, balance: proposal.balance,
                                                      flow: proposal.flow),
                  index: position, treeSize: roster.participants.count, proof: proposal.balanceProof,
                  root: snapshot.balancesHash)) != nil
        else { throw .balanceProofInvalid(snapshot: snapshot.number) }
        let signature = key.sign(snapshot.commitment(participantsHash: roster.participantsHash).bytes,
                                 domain: FieldDomains.commitment, chainId: roster.chainId)
        accumulator = extended
        signedAccumulators[snapshot.paymentCount] = extended
        if signedAccumulators.count > Self.keptAccumulators + 1,
           let oldest = signedAccumulators.keys.filter({ $0 > 0 }).min() {
            signedAccumulators[oldest] = nil
        }
        ownIndices = found
        newestSigned = (snapshot, proposal.balance, proposal.flow, signature)
        return signature
    }

    /// A proposal's flow is this participant's (D34): top-ups no more than the chain credited and never fewer than
    /// before, and exactly its own exits the snapshot holds as withdrawn.
    private func checkFlow(_ proposal: SnapshotProposal, ownIndices: [Hash: UInt64]) throws(FieldError) {
        let number = proposal.snapshot.number
        let flow = proposal.flow
        guard flow.deposited <= creditedOnChain else {
            throw .flowMismatch(snapshot: number, reason: "it counts \(Amounts.format(flow.deposited)) ALZA of top-ups, the chain credited \(Amounts.format(creditedOnChain))")
        }
        guard flow.deposited >= (newestSigned?.flow.deposited ?? 0) else {
            throw .flowMismatch(snapshot: number, reason: "it counts fewer top-ups than the snapshot signed before")
        }
        var exits: Amount = 0
        for (hash, index) in ownIndices where index < proposal.snapshot.paymentCount {
            if let own = sent[hash]?.payment, own.kind.isExit { exits = exits &+ own.amount }
        }
        guard flow.withdrawn == exits else {
            throw .flowMismatch(snapshot: number, reason: "it records \(Amounts.format(flow.withdrawn)) ALZA withdrawn, this participant's exits in it are \(Amounts.format(exits))")
        }
    }

    /// The leader's fully signed copy of a snapshot this participant signed: kept after checking every
    /// signature, the balances against the balances hash and this participant's own line against what it signed.
    public mutating func receivedFullySigned(_ signed: SignedFieldSnapshot) throws(FieldError) {
        let snapshot = signed.snapshot
        guard snapshot.field == roster.field else { throw .wrongField(expected: roster.field, actual: snapshot.field) }
        guard let mine = newestSigned, mine.snapshot == snapshot else {
            throw .staleSnapshot(number: snapshot.number, newest: newestSigned?.snapshot.number ?? 0)
        }
        guard signed.balances.count == roster.participants.count, signed.signatures.count == roster.participants.count,
              signed.balances[position] == mine.balance, signed.flows[position] == mine.flow,
              signed.flows.highestPosition.map({ $0 < roster.participants.count }) ?? true,
              FieldSnapshot.balancesHash(participants: roster.participants, balances: signed.balances, flows: signed.flows)
                == snapshot.balancesHash
        else { throw .balanceProofInvalid(snapshot: snapshot.number) }
        if let missing = signed.firstMissingSigner(participants: roster.participants, participantsHash: roster.participantsHash,
                                                   chainId: roster.chainId) {
            throw .badSnapshotSignature(snapshot: snapshot.number, signer: missing)
        }
        newestFullySigned = signed
    }

    /// The signature that lets `final` close the field at once (domain `field-close`, covering `closeBy`, D36):
    /// given only for the newest
    /// snapshot this participant signed, with its own balance as it signed it, and only when no payment to it that
    /// the leader receipted lies beyond it. Otherwise refused, and the field can still close by the solo route.
    public mutating func signClose(_ final: SignedFieldSnapshot, closeBy: UInt64 = .max) throws(FieldError) -> Signature {
        let snapshot = final.snapshot
        guard snapshot.field == roster.field else { throw .wrongField(expected: roster.field, actual: snapshot.field) }
        guard let mine = newestSigned, mine.snapshot == snapshot else {
            throw .staleSnapshot(number: snapshot.number, newest: newestSigned?.snapshot.number ?? 0)
        }
        guard final.balances.count == roster.participants.count, final.balances[position] == mine.balance,
              final.flows[position] == mine.flow else {
            throw .balanceMismatch(snapshot: snapshot.number, expected: mine.balance,
                                   claimed: position < final.balances.count ? final.balances[position] : 0)
        }
        if let beyond = receipted.keys.filter({ $0 >= snapshot.paymentCount && isIncoming(receipted[$0]!.payment.payment) }).min() {
            throw .receiptNotInSnapshot(index: beyond, snapshot: snapshot.number)
        }
        closeSignedAt = (snapshot.number, snapshot.paymentCount, closeBy)
        return key.sign(snapshot.closeBytes(participantsHash: roster.participantsHash, closeBy: closeBy), domain: FieldDomains.close,
                        chainId: roster.chainId)
    }

    /// The close this participant signed can no longer be in a block (D36): the chain's final block is later than
    /// its `closeBy` and the field is still open. Payments beyond that snapshot count again. True if it lapsed.
    public mutating func closeLapsed(finalBlockTime: UInt64) -> Bool {
        guard let signed = closeSignedAt, signed.closeBy != .max, finalBlockTime > signed.closeBy else { return false }
        closeSignedAt = nil
        return true
    }

    /// What this participant's node sends when the chain's record of its field changes (DESIGN.md §6, the chain
    /// watcher): against a solo close of an older snapshot, its newer fully signed one; against a posted snapshot
    /// that leaves out a payment to it that the leader receipted, that receipt (the leader must answer or lose the
    /// round and its bond to this participant); after the window, the finalize. Nothing while the field is open or
    /// the posted snapshot is what it holds. A receipt for its own payment beyond the posted snapshot is not
    /// disputed: leaving it out only leaves this participant the amount.
    public func reaction(to record: FieldRecord, now: UInt64) -> MessagePayload? {
        guard record.id == roster.field, case .closing(let posted, let deadline, let dispute) = record.status else { return nil }
        guard now < deadline else { return .fieldFinalize(field: roster.field) }
        if let newest = newestFullySigned, newest.snapshot.number > posted.number {
            return .fieldDispute(field: roster.field, claim: .newerSnapshot(newest))
        }
        guard dispute == nil else { return nil }
        let omitted = receipted.filter { $0.key >= posted.paymentCount && isIncoming($0.value.payment.payment) }
        guard let first = omitted.min(by: { $0.key < $1.key }) else { return nil }
        return .fieldDispute(field: roster.field, claim: .receipt(first.value.receipt))
    }

    /// The `field-withdraw` this participant's node submits (D34) while the field is open: its newest fully
    /// signed snapshot, when that is newer than the chain's base, records more withdrawn for it than the chain
    /// paid, and holds a withdrawal of its own. Not while one of its locks in that snapshot waits for its target
    /// to open (`lockPending`): anchoring the snapshot would settle the lock here and its target could not take it.
    public func withdrawalClaim(record: FieldRecord, lockPending: (FieldId) -> Bool) -> MessagePayload? {
        guard record.id == roster.field, record.status == .open, let full = newestFullySigned,
              full.snapshot.number > record.base.number,
              full.flows[position].withdrawn > record.flows[position].withdrawn else { return nil }
        var withdrawals: Amount = 0
        for (hash, index) in ownIndices where index < full.snapshot.paymentCount {
            guard let own = sent[hash]?.payment else { continue }
            switch own.kind {
            case .withdrawal: withdrawals = withdrawals &+ own.amount
            case .lock(let target): if lockPending(target) { return nil }
            case .transfer: break
            }
        }
        return withdrawals > 0 ? .fieldWithdraw(field: roster.field, snapshot: full) : nil
    }

    /// The least this participant ends with whatever the leader and the others do (DESIGN.md §6, the participant's
    /// guarantee): its balance in the newest fully signed snapshot it holds, plus the payments to it receipted
    /// beyond that snapshot, less each payment of its own the snapshot does not hold. Nil before it holds one (then
    /// its deposit back is what it is owed). The simulator checks every settled field against it; saturating at 0.
    public var guaranteedBalance: Amount? {
        guard let full = newestFullySigned else { return nil }
        let count = full.snapshot.paymentCount
        var credits = full.balances[position]
        var debits: Amount = 0
        for (index, entry) in receipted where index >= count && isIncoming(entry.payment.payment) {
            credits = credits.addingReportingOverflow(entry.payment.payment.amount).overflow ? .max : credits + entry.payment.payment.amount
        }
        let covered = Set(receipted.filter { $0.key < count }.map(\.value.receipt.paymentHash))
        for payment in sent.values where !covered.contains(payment.hash) {
            debits = debits.addingReportingOverflow(payment.payment.amount).overflow ? .max : debits + payment.payment.amount
        }
        return credits >= debits ? credits - debits : 0
    }

    /// A payment another participant made to this one (an exit of its own is paid to itself, and is not).
    private func isIncoming(_ payment: FieldPayment) -> Bool { payment.payee == address && payment.payer != address }

    /// Opening balance and the top-ups the snapshot counts, less every own payment the log holds below `count`, plus every receipted payment to this
    /// participant below it. An incoming payment without a receipt yet is not counted: a snapshot may give more.
    /// Saturating: a leader that logs more of this participant's own payments than it could pay gives 0, and a
    /// forged input never traps.
    private func expectedBalance(upTo count: UInt64, ownIndices: [Hash: UInt64], deposited: Amount) -> Amount {
        func add(_ total: inout Amount, _ amount: Amount) {
            let (sum, overflow) = total.addingReportingOverflow(amount)
            total = overflow ? .max : sum
        }
        var credits = roster.openingBalances[position]
        add(&credits, deposited)
        var debits: Amount = 0
        for (hash, index) in ownIndices where index < count { add(&debits, sent[hash]?.payment.amount ?? 0) }
        for (index, entry) in receipted where index < count && isIncoming(entry.payment.payment) {
            add(&credits, entry.payment.payment.amount)
        }
        return credits >= debits ? credits - debits : 0
    }
}
