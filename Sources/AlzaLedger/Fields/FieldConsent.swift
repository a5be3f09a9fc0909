import AlzaCore

/// A participant's consent to a field's opening carried in the `field-open` payload (D35), for fields with more
/// participants than a message has authorizations: signatures that satisfy the account's active permission over
/// the terms — the field, its leader, every deposit, the window, the locks — and an expiry (chain time, unix ms).
/// A participant may instead consent by authorizing the message, as before.
public struct FieldConsent: Hashable, Sendable, CanonicalCodable {
    public static let domain = SigningDomain("field-consent")
    /// Keys one consent may carry (a multisig account's signers).
    public static let maximumSignatures = 8

    public var account: Address
    public var expiry: UInt64
    public var signatures: [TransactionSignature]

    public init(account: Address, expiry: UInt64, signatures: [TransactionSignature]) {
        self.account = account
        self.expiry = expiry
        self.signatures = signatures
    }

    /// What a consent signs: the opening's terms, who consents, and until when.
    public static func signedBytes(field: FieldId, leader: Address, deposits: [AmountEntry], challengeSeconds: UInt32,
                                   locks: [FieldLock], account: Address, expiry: UInt64) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.encode(field)
        encoder.encode(leader)
        encoder.encode(deposits)
        encoder.encode(challengeSeconds)
        encoder.encode(locks)
        encoder.encode(account)
        encoder.encode(expiry)
        return encoder.bytes
    }

    /// `key`'s signature of these terms for `account`.
    public static func sign(field: FieldId, leader: Address, deposits: [AmountEntry], challengeSeconds: UInt32, locks: [FieldLock],
                            account: Address, expiry: UInt64, key: SigningKey, chainId: Hash) -> TransactionSignature {
        let bytes = signedBytes(field: field, leader: leader, deposits: deposits, challengeSeconds: challengeSeconds, locks: locks,
                                account: account, expiry: expiry)
        return TransactionSignature(key: key.publicKey, signature: key.sign(bytes, domain: domain, chainId: chainId))
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(account)
        encoder.encode(expiry)
        encoder.encode(signatures)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        account = try decoder.decode()
        expiry = try decoder.decode()
        signatures = try decoder.decodeArray(limit: Self.maximumSignatures)
    }
}
