import AlzaCore
import AlzaLedger

/// A payment inside a field (DESIGN.md §6): signed by the payer, numbered by the payer's own field sequence so a
/// replayed or skipped payment is refused. `memo` is opaque: sealed to the payee (`crypto_box_seal`) by the wallet.
public struct FieldPayment: Hashable, Sendable, CanonicalCodable {
    public static let maximumMemoBytes = 1_024

    public var field: FieldId
    public var payer: Address
    public var payee: Address
    public var amount: Amount
    /// The payer's sequence number in this field: 0 for its first payment, then one more each time.
    public var sequence: UInt64
    public var memo: [UInt8]

    public init(field: FieldId, payer: Address, payee: Address, amount: Amount, sequence: UInt64, memo: [UInt8] = []) {
        self.field = field
        self.payer = payer
        self.payee = payee
        self.amount = amount
        self.sequence = sequence
        self.memo = memo
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(field)
        encoder.encode(payer)
        encoder.encode(payee)
        encoder.encode(amount)
        encoder.encode(sequence)
        encoder.encodeBytes(memo)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        field = try decoder.decode()
        payer = try decoder.decode()
        payee = try decoder.decode()
        amount = try decoder.decode()
        sequence = try decoder.decode()
        memo = try decoder.decodeBytes(limit: Self.maximumMemoBytes)
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
    func isSigned(paymentBytes: [UInt8], chainId: Hash) -> Bool {
        PublicKey(bytes32: payment.payer.bytes32).isValidSignature(signature, for: paymentBytes, domain: FieldDomains.payment,
                                                                   chainId: chainId)
    }

    /// The payment's canonical bytes and its hash (`hash`) from one encoding: the leader's path hashes and
    /// verifies every payment.
    func encodedAndHashed() -> (paymentBytes: [UInt8], hash: Hash) {
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
