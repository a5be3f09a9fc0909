import AlzaCore

/// `(account, permission)`: the account whose permission must be satisfied by the transaction's signatures.
public struct Authorization: Hashable, Sendable, CanonicalCodable {
    public var account: Address
    public var permission: PermissionLevel

    public init(_ account: Address, _ permission: PermissionLevel = .active) {
        self.account = account
        self.permission = permission
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(account)
        encoder.encode(permission)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        account = try decoder.decode()
        permission = try decoder.decode()
    }
}

/// One call of a built-in function (seed §3.1.1): `code`, the accounts whose state it may read or write
/// (`scope`, enforced), the accounts notified (`recipients`), who authorizes it, and its `data` (the canonical
/// payload of the code; for private data a sealed box to the recipients).
public struct Message: Hashable, Sendable, CanonicalCodable {
    public var code: MessageCode
    public var scope: [Address]
    public var recipients: [Address]
    public var authorization: [Authorization]
    public var data: [UInt8]

    public static let maximumScope = 64
    public static let maximumRecipients = 64
    public static let maximumAuthorizations = 8
    public static let maximumDataBytes = 60 << 10

    public init(code: MessageCode, scope: [Address], recipients: [Address] = [], authorization: [Authorization],
                data: [UInt8]) {
        self.code = code
        self.scope = scope
        self.recipients = recipients
        self.authorization = authorization
        self.data = data
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(code)
        encoder.encode(scope)
        encoder.encode(recipients)
        encoder.encode(authorization)
        encoder.encodeBytes(data)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        code = try decoder.decode()
        scope = try decoder.decodeArray(limit: Self.maximumScope)
        recipients = try decoder.decodeArray(limit: Self.maximumRecipients)
        authorization = try decoder.decodeArray(limit: Self.maximumAuthorizations)
        data = try decoder.decodeBytes(limit: Self.maximumDataBytes)
    }
}

/// The transaction header of DESIGN.md §3.
public struct TransactionHeader: Hashable, Sendable, CanonicalCodable {
    /// The chain this transaction is for; a transaction for another chain is refused (and its signatures,
    /// being domain-separated by chain id, would not verify anyway).
    public var chainId: Hash
    /// Unix milliseconds after which the transaction may no longer be included.
    public var expiration: UInt64
    /// Must equal the paying account's nonce; stops replays and orders an account's transactions.
    public var nonce: UInt64
    /// Paid by the payer to the block producer.
    public var fee: Amount
    /// Seconds between inclusion and application (seed §3.1.3); 0 applies at once.
    public var delaySeconds: UInt32

    public init(chainId: Hash, expiration: UInt64, nonce: UInt64, fee: Amount, delaySeconds: UInt32 = 0) {
        self.chainId = chainId
        self.expiration = expiration
        self.nonce = nonce
        self.fee = fee
        self.delaySeconds = delaySeconds
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(chainId)
        encoder.encode(expiration)
        encoder.encode(nonce)
        encoder.encode(fee)
        encoder.encode(delaySeconds)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        chainId = try decoder.decode()
        expiration = try decoder.decode()
        nonce = try decoder.decode()
        fee = try decoder.decode()
        delaySeconds = try decoder.decode()
    }
}

/// A header and its messages: what is signed and what the transaction id is the hash of.
public struct Transaction: Hashable, Sendable, CanonicalCodable {
    public var header: TransactionHeader
    public var messages: [Message]

    public static let maximumMessages = 16
    public static let signingDomain = SigningDomain("tx")

    public init(header: TransactionHeader, messages: [Message]) {
        self.header = header
        self.messages = messages
    }

    /// The account that pays the fee and whose nonce the header carries: the first authorizer of the first
    /// message. System transactions have none.
    public var payer: Address? { messages.first?.authorization.first?.account }

    /// Whether this is a node-made transaction (coinbase or equivocation evidence).
    public var isSystem: Bool { messages.count == 1 && messages[0].code.isSystem }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(header)
        encoder.encode(messages)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        header = try decoder.decode()
        messages = try decoder.decodeArray(limit: Self.maximumMessages)
        guard !messages.isEmpty else { throw decoder.invalid("a transaction has at least one message") }
    }
}

/// A signature together with the key that made it (Ed25519 cannot recover keys).
public struct TransactionSignature: Hashable, Sendable, CanonicalCodable {
    public var key: PublicKey
    public var signature: Signature

    public init(key: PublicKey, signature: Signature) {
        self.key = key
        self.signature = signature
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(key)
        encoder.encode(signature)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        key = try decoder.decode()
        signature = try decoder.decode()
    }
}

/// A transaction with its signatures. `id` is the hash of the unsigned transaction (so signatures cannot change
/// it); `signingDigest` is what every key signs: `H(chainId || "tx" || transaction)`.
public struct SignedTransaction: Hashable, Sendable, CanonicalCodable {
    public let transaction: Transaction
    public let signatures: [TransactionSignature]
    public let id: Hash
    public let signingDigest: Hash
    /// Size of the canonical encoding (transaction and signatures).
    public let encodedSize: Int

    public static let maximumSignatures = 16

    public init(transaction: Transaction, signatures: [TransactionSignature]) {
        let bytes = transaction.canonicalBytes
        self.init(transaction: transaction, signatures: signatures, transactionBytes: bytes)
    }

    private init(transaction: Transaction, signatures: [TransactionSignature], transactionBytes: [UInt8]) {
        self.transaction = transaction
        self.signatures = signatures
        id = Hash.sha256(transactionBytes)
        signingDigest = Transaction.signingDomain.digest(chainId: transaction.header.chainId, bytes: transactionBytes)
        encodedSize = transactionBytes.count + 1 + signatures.count * 96
    }

    /// Signs `transaction` with each key.
    public static func sign(_ transaction: Transaction, with keys: [SigningKey]) -> SignedTransaction {
        let bytes = transaction.canonicalBytes
        let digest = Transaction.signingDomain.digest(chainId: transaction.header.chainId, bytes: bytes)
        let signatures = keys.map { TransactionSignature(key: $0.publicKey, signature: $0.sign(digest)) }
        return SignedTransaction(transaction: transaction, signatures: signatures, transactionBytes: bytes)
    }

    public var header: TransactionHeader { transaction.header }
    public var messages: [Message] { transaction.messages }

    /// Hash over the transaction and its signatures: the key of the signature-verification cache.
    public var witnessHash: Hash {
        var hasher = SHA256Hasher()
        hasher.update(id)
        for entry in signatures {
            hasher.update(entry.key.bytes)
            hasher.update(entry.signature.bytes)
        }
        return hasher.finalize()
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(transaction)
        encoder.encode(signatures)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let start = decoder.offset
        let transaction = try Transaction(from: &decoder)
        let end = decoder.offset
        let signatures = try decoder.decodeArray(of: TransactionSignature.self, limit: Self.maximumSignatures)
        self.init(transaction: transaction, signatures: signatures, transactionBytes: Array(decoder.bytes[start..<end]))
    }

    public static func == (lhs: SignedTransaction, rhs: SignedTransaction) -> Bool {
        lhs.id == rhs.id && lhs.signatures == rhs.signatures
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
    }
}
