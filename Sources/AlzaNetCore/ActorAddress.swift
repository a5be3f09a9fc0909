import AlzaCore

/// Which protocol a direct, request or response frame belongs to (DESIGN.md §8). A struct, not an enum, so a
/// new role adds its protocol without changing the transport; ids below 0x100 are Alza's own.
public struct ProtocolId: RawRepresentable, Hashable, Comparable, Sendable, CanonicalCodable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let chain = ProtocolId(rawValue: 1)
    public static let committee = ProtocolId(rawValue: 2)
    public static let field = ProtocolId(rawValue: 3)
    public static let rafi = ProtocolId(rawValue: 4)

    static let names: [ProtocolId: String] = [.chain: "chain", .committee: "committee", .field: "field", .rafi: "rafi"]

    public var description: String { Self.names[self] ?? "protocol-\(rawValue)" }
    public static func < (lhs: ProtocolId, rhs: ProtocolId) -> Bool { lhs.rawValue < rhs.rawValue }

    public func encode(to encoder: inout CanonicalEncoder) { encoder.encode(rawValue) }
    public init(from decoder: inout CanonicalDecoder) throws(CodecError) { rawValue = try decoder.decode() }
}

/// One actor of a protocol on a node, e.g. the leader of field F: up to 32 bytes (a field id is a hash).
public struct InstanceId: Hashable, Comparable, Sendable, CanonicalCodable, CustomStringConvertible {
    public let bytes: [UInt8]
    public static let maximumBytes = 32

    public init(_ bytes: [UInt8]) {
        precondition(bytes.count <= Self.maximumBytes, "an instance id is at most \(Self.maximumBytes) bytes")
        self.bytes = bytes
    }

    public init(_ hash: Hash) { self.init(hash.bytes) }

    public var description: String { bytes.withUnsafeBytes { Hex.encode($0) } }
    public static func < (lhs: InstanceId, rhs: InstanceId) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    public func encode(to encoder: inout CanonicalEncoder) { encoder.encodeBytes(bytes) }
    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        bytes = try decoder.decodeBytes(limit: Self.maximumBytes)
    }
}

/// Where a message goes on a node: a protocol, and optionally one instance of it. With the node's key this is
/// an actor's full address `(node, protocol, instance)` (DESIGN.md §1).
public struct ActorAddress: Hashable, Comparable, Sendable, CanonicalCodable, CustomStringConvertible {
    public var protocolId: ProtocolId
    public var instance: InstanceId?

    public init(_ protocolId: ProtocolId, instance: InstanceId? = nil) {
        self.protocolId = protocolId
        self.instance = instance
    }

    public var description: String { instance.map { "\(protocolId)/\($0)" } ?? protocolId.description }

    public static func < (lhs: ActorAddress, rhs: ActorAddress) -> Bool {
        if lhs.protocolId != rhs.protocolId { return lhs.protocolId < rhs.protocolId }
        return (lhs.instance?.bytes ?? []).lexicographicallyPrecedes(rhs.instance?.bytes ?? [])
    }

    /// `u16 protocol | u8 flag (0: no instance, 1: instance follows) | instance bytes`.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(protocolId)
        if let instance {
            encoder.encode(UInt8(1))
            encoder.encode(instance)
        } else {
            encoder.encode(UInt8(0))
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        protocolId = try decoder.decode()
        let offset = decoder.offset
        switch try decoder.decode(UInt8.self) {
        case 0: instance = nil
        case 1: instance = try decoder.decode()
        case let flag: throw .unknownTag(offset: offset, tag: UInt64(flag), type: "ActorAddress.instance")
        }
    }
}

/// A point-to-point message (a `direct` frame): its address on the receiving node, then the payload.
public struct AddressedMessage: Hashable, Sendable, CanonicalCodable {
    public var address: ActorAddress
    public var payload: [UInt8]

    public init(address: ActorAddress, payload: [UInt8]) {
        self.address = address
        self.payload = payload
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(address)
        encoder.encodeBytes(payload)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        address = try decoder.decode()
        payload = try decoder.decodeBytes(limit: GossipMessage.maximumPayload)
    }
}

/// How urgent a protocol's traffic is: its inbox is served in this order, and it is what a full node sheds
/// last (DESIGN.md §8: blocks and votes, then field payments, then transactions, then bulk storage).
public enum ProtocolPriority: UInt8, Comparable, Sendable, CaseIterable, CustomStringConvertible {
    case consensus = 0
    case payments = 1
    case transactions = 2
    case bulk = 3

    public static func < (lhs: ProtocolPriority, rhs: ProtocolPriority) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String {
        switch self {
        case .consensus: "consensus"
        case .payments: "payments"
        case .transactions: "transactions"
        case .bulk: "bulk"
        }
    }
}
