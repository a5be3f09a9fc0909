import AlzaCore
import AlzaLedger

/// The messages of the `field` protocol (DESIGN.md §6, §8). A field's leader is the actor
/// `(node, field, field id)`; a participant is reached at `(node, field, its account)`, on the node whose wallet
/// holds the account. Payments and consents are requests (answered with a receipt, a consent or a refusal);
/// everything else is a direct message.
public enum FieldWireMessage: Hashable, Sendable, CanonicalCodable {
    /// Participant → leader (request): answered with `.receipt` or `.refused`.
    case pay(SignedFieldPayment)
    case receipt(FieldReceipt)
    /// Any request refused, with the typed error's code and text.
    case refused(code: String, reason: String)
    /// Leader → payee: a payment to it, with its receipt (the balance push).
    case incoming(SignedFieldPayment, FieldReceipt)
    /// Leader → participant: a snapshot to check and sign.
    case propose(SnapshotProposal)
    /// Participant → leader: its signature on a snapshot's commitment.
    case signature(field: FieldId, snapshot: UInt64, signer: Address, signature: Signature)
    /// Leader → participants: a snapshot every participant signed (what a close posts).
    case fullySigned(SignedFieldSnapshot)
    /// Leader → a participant's node (request): sign the `field-open` transaction for `participant` (its consent);
    /// answered with `.consent` or `.refused`.
    case consentRequest(Transaction, participant: Address)
    case consent(TransactionSignature)
    /// Participant → leader (request): one payer's payments in sequence order, answered with `.answers` holding
    /// a `.receipt` or `.refused` per payment, in order (a busy wallet pays one round trip per batch).
    case payBatch([SignedFieldPayment])
    case answers([FieldWireMessage])
    /// Leader → participant (request): sign this final snapshot's close (`FieldParticipantCore.signClose`);
    /// answered with `.closeSignature` or `.refused`.
    case closeRequest(SignedFieldSnapshot, participant: Address, closeBy: UInt64)
    case closeSignature(signer: Address, Signature)
    /// A target field's leader → a participant's node (request, D34): lock `amount` of `participant`'s balance in
    /// field `source` for field `target` (its exit payment there, receipted by the source's leader); answered
    /// with `.lock` or `.refused`.
    case lockRequest(source: FieldId, target: FieldId, participant: Address, amount: Amount)
    case lock(FieldLock)

    public static let maximumBatch = 4_096

    /// Refused with a field core's typed error.
    public static func refusal(_ error: some AlzaError) -> FieldWireMessage {
        var reason = error.description
        while reason.utf8.count > maximumReasonBytes { reason.removeLast() }
        return .refused(code: error.code, reason: reason)
    }

    public static let maximumReasonBytes = 1_024

    /// The field the message is about (nil for a refusal, a consent and its request, which are about accounts).
    public var field: FieldId? {
        switch self {
        case .pay(let signed), .incoming(let signed, _): signed.payment.field
        case .receipt(let receipt): receipt.field
        case .propose(let proposal): proposal.snapshot.field
        case .signature(let field, _, _, _): field
        case .fullySigned(let signed): signed.snapshot.field
        case .payBatch(let payments): payments.first?.payment.field
        case .closeRequest(let signed, _, _): signed.snapshot.field
        case .answers(let answers): answers.first?.field
        case .refused, .consentRequest, .consent, .closeSignature, .lockRequest, .lock: nil
        }
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case .pay(let signed):
            encoder.encode(UInt8(1))
            encoder.encode(signed)
        case .receipt(let receipt):
            encoder.encode(UInt8(2))
            encoder.encode(receipt)
        case .refused(let code, let reason):
            encoder.encode(UInt8(3))
            encoder.encode(code)
            encoder.encode(reason)
        case .incoming(let signed, let receipt):
            encoder.encode(UInt8(4))
            encoder.encode(signed)
            encoder.encode(receipt)
        case .propose(let proposal):
            encoder.encode(UInt8(5))
            encoder.encode(proposal)
        case .signature(let field, let snapshot, let signer, let signature):
            encoder.encode(UInt8(6))
            encoder.encode(field)
            encoder.encode(snapshot)
            encoder.encode(signer)
            encoder.encode(signature)
        case .fullySigned(let signed):
            encoder.encode(UInt8(7))
            encoder.encode(signed)
        case .consentRequest(let transaction, let participant):
            encoder.encode(UInt8(8))
            encoder.encode(transaction)
            encoder.encode(participant)
        case .consent(let signature):
            encoder.encode(UInt8(9))
            encoder.encode(signature)
        case .payBatch(let payments):
            encoder.encode(UInt8(10))
            encoder.encode(payments)
        case .answers(let answers):
            encoder.encode(UInt8(11))
            encoder.encode(answers)
        case .closeRequest(let signed, let participant, let closeBy):
            encoder.encode(UInt8(12))
            encoder.encode(signed)
            encoder.encode(participant)
            encoder.encode(closeBy)
        case .closeSignature(let signer, let signature):
            encoder.encode(UInt8(13))
            encoder.encode(signer)
            encoder.encode(signature)
        case .lockRequest(let source, let target, let participant, let amount):
            encoder.encode(UInt8(14))
            encoder.encode(source)
            encoder.encode(target)
            encoder.encode(participant)
            encoder.encode(amount)
        case .lock(let lock):
            encoder.encode(UInt8(15))
            encoder.encode(lock)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let offset = decoder.offset
        switch try decoder.decode(UInt8.self) {
        case 1: self = .pay(try decoder.decode())
        case 2: self = .receipt(try decoder.decode())
        case 3: self = .refused(code: try decoder.decodeString(limit: 64), reason: try decoder.decodeString(limit: Self.maximumReasonBytes))
        case 4: self = .incoming(try decoder.decode(), try decoder.decode())
        case 5: self = .propose(try decoder.decode())
        case 6: self = .signature(field: try decoder.decode(), snapshot: try decoder.decode(), signer: try decoder.decode(),
                                  signature: try decoder.decode())
        case 7: self = .fullySigned(try decoder.decode())
        case 8: self = .consentRequest(try decoder.decode(), participant: try decoder.decode())
        case 9: self = .consent(try decoder.decode())
        case 10:
            let payments: [SignedFieldPayment] = try decoder.decodeArray(limit: Self.maximumBatch)
            guard !payments.isEmpty, payments.allSatisfy({ $0.payment.field == payments[0].payment.field }) else {
                throw decoder.invalid("a payment batch holds 1...\(Self.maximumBatch) payments of one field")
            }
            self = .payBatch(payments)
        case 11:
            // An answer is a receipt or a refusal, decoded here without recursion: nothing a peer sends nests.
            let count = try decoder.decodeLength(limit: Self.maximumBatch)
            var answers: [FieldWireMessage] = []
            answers.reserveCapacity(count)
            for _ in 0..<count {
                let at = decoder.offset
                switch try decoder.decode(UInt8.self) {
                case 2: answers.append(.receipt(try decoder.decode()))
                case 3: answers.append(.refused(code: try decoder.decodeString(limit: 64),
                                                reason: try decoder.decodeString(limit: Self.maximumReasonBytes)))
                case let tag: throw .unknownTag(offset: at, tag: UInt64(tag), type: "FieldWireMessage answer")
                }
            }
            self = .answers(answers)
        case 12: self = .closeRequest(try decoder.decode(), participant: try decoder.decode(), closeBy: try decoder.decode())
        case 13: self = .closeSignature(signer: try decoder.decode(), try decoder.decode())
        case 14: self = .lockRequest(source: try decoder.decode(), target: try decoder.decode(), participant: try decoder.decode(),
                                     amount: try decoder.decode())
        case 15: self = .lock(try decoder.decode())
        case let tag: throw .unknownTag(offset: offset, tag: UInt64(tag), type: "FieldWireMessage")
        }
    }
}
