import AlzaCore

/// A block header (DESIGN.md §3). The block id is the hash of its canonical bytes; the producer signs
/// `H(chainId || "block" || header)`.
public struct BlockHeader: Hashable, Sendable, CanonicalCodable {
    public var height: UInt64
    public var slot: UInt64
    /// Id of the parent block; the chain id for the first block.
    public var previous: Hash
    public var producer: Address
    /// RFC 6962 root over the canonical bytes of the block's transactions (with signatures).
    public var transactionRoot: Hash
    /// Root of the payment-field commitments settled in this block (the seed's "trailing space").
    public var fieldRoot: Hash
    /// The state root after applying this block.
    public var stateRoot: Hash
    /// Unix milliseconds: the start of `slot`.
    public var timestamp: UInt64

    public static let signingDomain = SigningDomain("block")

    public init(height: UInt64, slot: UInt64, previous: Hash, producer: Address, transactionRoot: Hash,
                fieldRoot: Hash, stateRoot: Hash, timestamp: UInt64) {
        self.height = height
        self.slot = slot
        self.previous = previous
        self.producer = producer
        self.transactionRoot = transactionRoot
        self.fieldRoot = fieldRoot
        self.stateRoot = stateRoot
        self.timestamp = timestamp
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(height)
        encoder.encode(slot)
        encoder.encode(previous)
        encoder.encode(producer)
        encoder.encode(transactionRoot)
        encoder.encode(fieldRoot)
        encoder.encode(stateRoot)
        encoder.encode(timestamp)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        height = try decoder.decode()
        slot = try decoder.decode()
        previous = try decoder.decode()
        producer = try decoder.decode()
        transactionRoot = try decoder.decode()
        fieldRoot = try decoder.decode()
        stateRoot = try decoder.decode()
        timestamp = try decoder.decode()
    }
}

/// A header with its producer's signature. Two of these for one producer and slot are equivocation evidence.
public struct SignedBlockHeader: Hashable, Sendable, CanonicalCodable {
    public let header: BlockHeader
    public let signature: Signature
    public let id: Hash

    public init(header: BlockHeader, signature: Signature) {
        self.header = header
        self.signature = signature
        id = header.canonicalHash
    }

    /// Signs `header` for `chainId`.
    public static func sign(_ header: BlockHeader, with key: SigningKey, chainId: Hash) -> SignedBlockHeader {
        let signature = key.sign(BlockHeader.signingDomain.digest(chainId: chainId, value: header))
        return SignedBlockHeader(header: header, signature: signature)
    }

    /// The digest the producer signed.
    public func signingDigest(chainId: Hash) -> Hash {
        BlockHeader.signingDomain.digest(chainId: chainId, value: header)
    }

    public func isSigned(by key: PublicKey, chainId: Hash) -> Bool {
        key.isValidSignature(signature, for: signingDigest(chainId: chainId))
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(header)
        encoder.encode(signature)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        self.init(header: try decoder.decode(), signature: try decoder.decode())
    }

    public static func == (lhs: SignedBlockHeader, rhs: SignedBlockHeader) -> Bool {
        lhs.id == rhs.id && lhs.signature == rhs.signature
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

/// A block: signed header and transactions. On the wire and on disk the body is an LZ4 frame of the canonical
/// transaction list (DESIGN.md §3), so `lz4 -d` reads an exported body; the frame is kept once made or received,
/// so a block is compressed at most once.
///
/// The frame is the one part of Alza's encodings that is not unique (another compressor may frame the same
/// body differently); ids and roots never cover it: the id covers the header, the header covers the
/// transaction root.
public struct Block: Hashable, Sendable, CanonicalCodable {
    /// The block's immutable content, shared by every copy: a block travels through queues, messages and the
    /// fork database as one pointer instead of hundreds of bytes.
    private final class Content: Sendable {
        let signedHeader: SignedBlockHeader
        let transactions: [SignedTransaction]
        let bodyFrame: [UInt8]

        init(signedHeader: SignedBlockHeader, transactions: [SignedTransaction], bodyFrame: [UInt8]) {
            self.signedHeader = signedHeader
            self.transactions = transactions
            self.bodyFrame = bodyFrame
        }
    }

    private let content: Content

    public var signedHeader: SignedBlockHeader { content.signedHeader }
    public var transactions: [SignedTransaction] { content.transactions }
    /// The LZ4 frame of the canonical body.
    public var bodyFrame: [UInt8] { content.bodyFrame }

    /// The decompression bound of a body when no chain parameters are at hand (decoding from the wire).
    public static let maximumBodyBytes = 64 << 20
    public static let maximumTransactions = 200_000

    public init(signedHeader: SignedBlockHeader, transactions: [SignedTransaction]) {
        self.init(signedHeader: signedHeader, transactions: transactions,
                  bodyFrame: LZ4Frame.compress(Block.bodyBytes(transactions)))
    }

    public init(signedHeader: SignedBlockHeader, transactions: [SignedTransaction], bodyFrame: [UInt8]) {
        content = Content(signedHeader: signedHeader, transactions: transactions, bodyFrame: bodyFrame)
    }

    public var header: BlockHeader { signedHeader.header }
    public var id: Hash { signedHeader.id }
    public var height: UInt64 { header.height }
    public var slot: UInt64 { header.slot }

    /// The canonical body: the transaction list.
    public static func bodyBytes(_ transactions: [SignedTransaction]) -> [UInt8] {
        var encoder = CanonicalEncoder(reservingCapacity: transactions.reduce(8) { $0 + $1.encodedSize })
        encoder.encode(transactions)
        return encoder.bytes
    }

    /// The RFC 6962 root over each transaction's canonical bytes.
    public static func transactionRoot(_ transactions: [SignedTransaction]) -> Hash {
        MerkleTree.root(leaves: transactions.map(\.canonicalBytes))
    }

    /// Decodes a body frame, bounded by `maxBodyBytes` before anything is allocated.
    public static func decodeBody(frame: [UInt8], maxBodyBytes: Int) throws(LedgerError) -> [SignedTransaction] {
        let body: [UInt8]
        do {
            body = try LZ4Frame.decompress(frame, maxSize: maxBodyBytes)
        } catch {
            throw .malformedBlock("body: \(error.description)")
        }
        var decoder = CanonicalDecoder(body)
        do {
            let transactions = try decoder.decodeArray(of: SignedTransaction.self, limit: maximumTransactions)
            try decoder.finish()
            return transactions
        } catch {
            throw .malformedBlock("body: \(error.description)")
        }
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(signedHeader)
        encoder.encodeBytes(bodyFrame)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let signedHeader = try decoder.decode(SignedBlockHeader.self)
        let frameOffset = decoder.offset
        let frame = try decoder.decodeBytes(limit: Self.maximumBodyBytes)
        do {
            let transactions = try Block.decodeBody(frame: frame, maxBodyBytes: Self.maximumBodyBytes)
            self.init(signedHeader: signedHeader, transactions: transactions, bodyFrame: frame)
        } catch {
            throw decoder.invalid(error.description, at: frameOffset)
        }
    }

    public static func == (lhs: Block, rhs: Block) -> Bool {
        lhs.signedHeader == rhs.signedHeader && lhs.transactions == rhs.transactions
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

/// A block's position: height, slot and id.
public struct BlockReference: Hashable, Sendable, CanonicalCodable, CustomStringConvertible {
    public var height: UInt64
    public var slot: UInt64
    public var id: Hash

    public init(height: UInt64, slot: UInt64, id: Hash) {
        self.height = height
        self.slot = slot
        self.id = id
    }

    public init(_ header: SignedBlockHeader) {
        self.init(height: header.header.height, slot: header.header.slot, id: header.id)
    }

    public var description: String { "#\(height)@\(slot) \(id.short)" }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(height)
        encoder.encode(slot)
        encoder.encode(id)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        height = try decoder.decode()
        slot = try decoder.decode()
        id = try decoder.decode()
    }
}
