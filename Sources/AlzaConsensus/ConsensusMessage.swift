import AlzaCore
import AlzaLedger

/// Identifies a peer (in a real network, the node key's hex; in the simulator, the node's name).
public struct PeerID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { value }
    public static func < (lhs: PeerID, rhs: PeerID) -> Bool { lhs.value < rhs.value }
}

/// "Send me the blocks after the newest of these that you have": a locator of the requester's branch, newest
/// first, spaced exponentially down to its last irreversible block (Bitcoin's block locator).
public struct BlockRequest: Hashable, Sendable, CanonicalCodable {
    public var locator: [BlockReference]
    public var limit: UInt32

    public static let maximumLocator = 64
    public static let maximumLimit: UInt32 = 1_024

    public init(locator: [BlockReference], limit: UInt32) {
        self.locator = locator
        self.limit = limit
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(locator)
        encoder.encode(limit)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        locator = try decoder.decodeArray(limit: Self.maximumLocator)
        limit = try decoder.decode()
    }
}

/// Consecutive blocks answering a `BlockRequest`; `more` when the responder has further blocks.
public struct BlockResponse: Hashable, Sendable, CanonicalCodable {
    public var blocks: [Block]
    public var more: Bool

    public init(blocks: [Block], more: Bool) {
        self.blocks = blocks
        self.more = more
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(blocks)
        encoder.encode(more)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        blocks = try decoder.decodeArray(limit: Int(BlockRequest.maximumLimit))
        more = try decoder.decode()
    }
}

/// A node's chain position, exchanged when peers meet.
public struct ChainStatus: Hashable, Sendable, CanonicalCodable {
    public var head: BlockReference
    public var lib: BlockReference

    public init(head: BlockReference, lib: BlockReference) {
        self.head = head
        self.lib = lib
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(head)
        encoder.encode(lib)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        head = try decoder.decode()
        lib = try decoder.decode()
    }
}

/// The messages consensus exchanges with peers: blocks and transactions are gossiped, block requests and
/// responses go point to point, status is sent when a connection opens.
public enum ConsensusMessage: Hashable, Sendable, CanonicalCodable {
    case block(Block)
    case transaction(SignedTransaction)
    case blockRequest(BlockRequest)
    case blockResponse(BlockResponse)
    case status(ChainStatus)

    public func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case .block(let block): encoder.encodeVarint(1); encoder.encode(block)
        case .transaction(let transaction): encoder.encodeVarint(2); encoder.encode(transaction)
        case .blockRequest(let request): encoder.encodeVarint(3); encoder.encode(request)
        case .blockResponse(let response): encoder.encodeVarint(4); encoder.encode(response)
        case .status(let status): encoder.encodeVarint(5); encoder.encode(status)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let (tag, offset) = try decoder.decodeTag()
        switch tag {
        case 1: self = .block(try decoder.decode())
        case 2: self = .transaction(try decoder.decode())
        case 3: self = .blockRequest(try decoder.decode())
        case 4: self = .blockResponse(try decoder.decode())
        case 5: self = .status(try decoder.decode())
        default: throw .unknownTag(offset: offset, tag: tag, type: "ConsensusMessage")
        }
    }
}
