import AlzaCore

/// What a field payment does with its amount: pays another participant, or takes it out of the field — to the
/// payer's account (a withdrawal, paid by `field-withdraw`) or into another field as a lock (the deposit of
/// `target` there, D34). An exit is paid by its payer to itself and shows in its snapshot line as withdrawn.
public enum FieldPaymentKind: Hashable, Sendable, CanonicalCodable {
    case transfer
    case withdrawal
    case lock(target: FieldId)

    public var isExit: Bool { self != .transfer }

    public func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case .transfer: encoder.encode(UInt8(0))
        case .withdrawal: encoder.encode(UInt8(1))
        case .lock(let target):
            encoder.encode(UInt8(2))
            encoder.encode(target)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let offset = decoder.offset
        switch try decoder.decode(UInt8.self) {
        case 0: self = .transfer
        case 1: self = .withdrawal
        case 2: self = .lock(target: try decoder.decode())
        case let tag: throw .unknownTag(offset: offset, tag: UInt64(tag), type: "FieldPaymentKind")
        }
    }
}

/// A payment inside a field (DESIGN.md §6): signed by the payer, numbered by the payer's own field sequence so a
/// replayed or skipped payment is refused. `memo` is opaque: sealed to the payee (`crypto_box_seal`) by the wallet.
/// An exit (`kind` not `.transfer`) names its payer as payee.
public struct FieldPayment: Hashable, Sendable, CanonicalCodable {
    public static let maximumMemoBytes = 1_024

    public var field: FieldId
    public var payer: Address
    public var payee: Address
    public var amount: Amount
    /// The payer's sequence number in this field: 0 for its first payment, then one more each time.
    public var sequence: UInt64
    public var memo: [UInt8]
    public var kind: FieldPaymentKind

    public init(field: FieldId, payer: Address, payee: Address, amount: Amount, sequence: UInt64, memo: [UInt8] = [],
                kind: FieldPaymentKind = .transfer) {
        self.field = field
        self.payer = payer
        self.payee = payee
        self.amount = amount
        self.sequence = sequence
        self.memo = memo
        self.kind = kind
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(field)
        encoder.encode(payer)
        encoder.encode(payee)
        encoder.encode(amount)
        encoder.encode(sequence)
        encoder.encodeBytes(memo)
        encoder.encode(kind)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        field = try decoder.decode()
        payer = try decoder.decode()
        payee = try decoder.decode()
        amount = try decoder.decode()
        sequence = try decoder.decode()
        memo = try decoder.decodeBytes(limit: Self.maximumMemoBytes)
        kind = try decoder.decode()
    }
}

/// A payment with the payer's signature over `H(chainId || "field-payment" || payment)`.
public struct SignedFieldPayment: Hashable, Sendable, CanonicalCodable {
    public var payment: FieldPayment
    public var signature: Signature

    public init(payment: FieldPayment, signature: Signature) {
        self.payment = payment
        self.signature = signature
    }

    public static func sign(_ payment: FieldPayment, with key: SigningKey, chainId: Hash) -> SignedFieldPayment {
        precondition(Address(key.publicKey) == payment.payer, "a payment is signed by its payer")
        return SignedFieldPayment(payment: payment, signature: key.sign(payment.canonicalBytes, domain: FieldDomains.payment, chainId: chainId))
    }

    /// What the payment log, receipts and the payments root name it by.
    public var hash: Hash { canonicalHash }

    public func isSigned(chainId: Hash) -> Bool {
        isSigned(paymentBytes: payment.canonicalBytes, chainId: chainId)
    }

    /// `isSigned` over the payment's canonical bytes already at hand.
    public func isSigned(paymentBytes: [UInt8], chainId: Hash) -> Bool {
        PublicKey(bytes32: payment.payer.bytes32).isValidSignature(signature, for: paymentBytes, domain: FieldDomains.payment,
                                                                   chainId: chainId)
    }

    /// The payment's canonical bytes and its hash (`hash`) from one encoding: the leader's path hashes and
    /// verifies every payment.
    public func encodedAndHashed() -> (paymentBytes: [UInt8], hash: Hash) {
        let bytes = payment.canonicalBytes
        var hasher = SHA256Hasher()
        hasher.update(bytes)
        signature.bytes64.withUnsafeBytes { hasher.update($0) }
        return (bytes, hasher.finalize())
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(payment)
        encoder.encode(signature)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        payment = try decoder.decode()
        signature = try decoder.decode()
    }
}
