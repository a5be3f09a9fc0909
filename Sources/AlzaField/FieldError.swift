import AlzaCore
import AlzaLedger

/// Why a field core refused an input (DESIGN.md §6). Nothing of a refused input is applied.
public enum FieldError: AlzaError, Equatable {
    case wrongField(expected: FieldId, actual: FieldId)
    case notParticipant(Address)
    case badPaymentSignature(payer: Address)
    case replayedSequence(payer: Address, expected: UInt64, actual: UInt64)
    case skippedSequence(payer: Address, expected: UInt64, actual: UInt64)
    case insufficientBalance(payer: Address, balance: Amount, amount: Amount)
    case zeroAmount
    case paymentToSelf(Address)
    case forgedReceipt(index: UInt64, reason: String)
    case receiptForAnotherPayment(index: UInt64)
    case staleSnapshot(number: UInt64, newest: UInt64)
    case snapshotOutOfOrder(paymentCount: UInt64, known: UInt64)
    case paymentsRootMismatch(snapshot: UInt64)
    case receiptNotInSnapshot(index: UInt64, snapshot: UInt64)
    case balanceMismatch(snapshot: UInt64, expected: Amount, claimed: Amount)
    case balanceProofInvalid(snapshot: UInt64)
    case unknownSnapshot(UInt64)
    case badSnapshotSignature(snapshot: UInt64, signer: Address)
    case memoTooLarge(bytes: Int, limit: Int)
    case memoUnreadable(reason: String)
    case journalInconsistent(reason: String)
    case undecodableMessage(reason: String)
    case unknownFieldHere(FieldId)
    case closeSigned(snapshot: UInt64)
    case notFromLeader(sender: String)
    /// An exit (withdrawal or lock, D34) that is not paid by its payer to itself, or a lock into its own field.
    case invalidExit(reason: String)
    /// A proposal's flows (top-ups, withdrawals) are not what this participant's exits and the chain give.
    case flowMismatch(snapshot: UInt64, reason: String)

    public var code: String {
        switch self {
        case .wrongField: "field.wrong-field"
        case .notParticipant: "field.not-participant"
        case .badPaymentSignature: "field.bad-payment-signature"
        case .replayedSequence: "field.replayed-sequence"
        case .skippedSequence: "field.skipped-sequence"
        case .insufficientBalance: "field.insufficient-balance"
        case .zeroAmount: "field.zero-amount"
        case .paymentToSelf: "field.payment-to-self"
        case .forgedReceipt: "field.forged-receipt"
        case .receiptForAnotherPayment: "field.receipt-for-another-payment"
        case .staleSnapshot: "field.stale-snapshot"
        case .snapshotOutOfOrder: "field.snapshot-out-of-order"
        case .paymentsRootMismatch: "field.payments-root-mismatch"
        case .receiptNotInSnapshot: "field.receipt-not-in-snapshot"
        case .balanceMismatch: "field.balance-mismatch"
        case .balanceProofInvalid: "field.balance-proof-invalid"
        case .unknownSnapshot: "field.unknown-snapshot"
        case .badSnapshotSignature: "field.bad-snapshot-signature"
        case .memoTooLarge: "field.memo-too-large"
        case .memoUnreadable: "field.memo-unreadable"
        case .journalInconsistent: "field.journal-inconsistent"
        case .undecodableMessage: "field.undecodable-message"
        case .unknownFieldHere: "field.unknown-here"
        case .closeSigned: "field.close-signed"
        case .notFromLeader: "field.not-from-leader"
        case .invalidExit: "field.invalid-exit"
        case .flowMismatch: "field.flow-mismatch"
        }
    }

    public var description: String {
        switch self {
        case .wrongField(let expected, let actual): "the message is for field \(actual), not \(expected)"
        case .notParticipant(let address): "\(address) is not a participant of this field"
        case .badPaymentSignature(let payer): "the payment's signature is not \(payer)'s"
        case .replayedSequence(let payer, let expected, let actual):
            "payment \(actual) of \(payer) was already made (next is \(expected))"
        case .skippedSequence(let payer, let expected, let actual):
            "payment \(actual) of \(payer) skips ahead (next is \(expected))"
        case .insufficientBalance(let payer, let balance, let amount):
            "\(payer) holds \(Amounts.format(balance)) ALZA in the field, less than \(Amounts.format(amount))"
        case .zeroAmount: "a payment moves a positive amount"
        case .paymentToSelf(let address): "\(address) pays itself"
        case .forgedReceipt(let index, let reason): "receipt \(index) is not the leader's: \(reason)"
        case .receiptForAnotherPayment(let index): "receipt \(index) names another payment"
        case .staleSnapshot(let number, let newest): "snapshot \(number) is not newer than \(newest)"
        case .snapshotOutOfOrder(let count, let known):
            "the snapshot covers \(count) payments, fewer than the \(known) already covered"
        case .paymentsRootMismatch(let number): "snapshot \(number)'s payments root is not that of the payments sent with it"
        case .receiptNotInSnapshot(let index, let number): "snapshot \(number) holds another payment at index \(index) than its receipt"
        case .balanceMismatch(let number, let expected, let claimed):
            "snapshot \(number) gives this participant \(Amounts.format(claimed)) ALZA; its payments give \(Amounts.format(expected))"
        case .balanceProofInvalid(let number): "snapshot \(number)'s balance proof does not lead to its balances hash"
        case .unknownSnapshot(let number): "no snapshot \(number) was proposed"
        case .badSnapshotSignature(let number, let signer): "\(signer)'s signature on snapshot \(number) is not valid"
        case .memoTooLarge(let bytes, let limit): "a memo of \(bytes) bytes is over the \(limit) a sealed memo can hold"
        case .memoUnreadable(let reason): "the memo cannot be opened: \(reason)"
        case .journalInconsistent(let reason): "the field journal is inconsistent: \(reason)"
        case .undecodableMessage(let reason): "the field message cannot be decoded: \(reason)"
        case .unknownFieldHere(let field): "this node takes no part in field \(field)"
        case .closeSigned(let number): "this participant signed the close at snapshot \(number): no payment beyond it counts"
        case .notFromLeader(let sender): "node \(sender.prefix(16)) is not the field's leader"
        case .invalidExit(let reason): "not a valid exit from the field: \(reason)"
        case .flowMismatch(let number, let reason): "snapshot \(number)'s flows are wrong: \(reason)"
        }
    }
}

extension FieldReceipt {
    /// Checks that `leader` signed this receipt's batch and that the receipt is in it.
    public func verify(leader: PublicKey, chainId: Hash, batchVerified: Bool = false) throws(FieldError) {
        if let reason = refusal(leader: leader, chainId: chainId, batchVerified: batchVerified) {
            throw .forgedReceipt(index: index, reason: reason)
        }
    }
}
