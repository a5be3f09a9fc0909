import AlzaCore

/// The roles a node process hosts (DESIGN.md §1), announced in the handshake.
public struct NodeRoles: OptionSet, Hashable, Sendable, CanonicalCodable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let superNode = NodeRoles(rawValue: 1 << 0)
    public static let satellite = NodeRoles(rawValue: 1 << 1)
    public static let fieldLeader = NodeRoles(rawValue: 1 << 2)
    public static let dataNode = NodeRoles(rawValue: 1 << 3)
    public static let nameNode = NodeRoles(rawValue: 1 << 4)

    public static let names: [(NodeRoles, String)] = [
        (.superNode, "supernode"), (.satellite, "satellite"), (.fieldLeader, "fieldleader"),
        (.dataNode, "datanode"), (.nameNode, "namenode"),
    ]

    public var names: [String] { NodeRoles.names.filter { contains($0.0) }.map(\.1) }
    public var description: String { names.joined(separator: ",") }

    public init(names: [String]) throws(NetworkError) {
        var roles: NodeRoles = []
        for name in names {
            guard let match = NodeRoles.names.first(where: { $0.1 == name }) else {
                throw .invalidConfiguration("unknown role \"\(name)\" (\(NodeRoles.names.map(\.1).joined(separator: ", ")))")
            }
            roles.insert(match.0)
        }
        self = roles
    }

    public func encode(to encoder: inout CanonicalEncoder) { encoder.encode(rawValue) }
    public init(from decoder: inout CanonicalDecoder) throws(CodecError) { rawValue = try decoder.decode() }
}

/// The first frame each side sends (DESIGN.md §8): protocol version, chain id, node key, roles, listen address
/// and a fresh nonce the other side must sign.
public struct Hello: Hashable, Sendable, CanonicalCodable {
    public var protocolVersion: UInt16
    public var chainId: Hash
    public var nodeKey: PublicKey
    public var roles: NodeRoles
    /// `host:port` where the sender accepts connections ("" if it does not listen).
    public var listenAddress: String
    public var nonce: Bytes32
    public var agent: String
    /// The actor instances the sender hosts, signed by its node key (also gossiped when they change).
    public var instances: InstanceAnnouncement

    /// 2: direct, request and response frames carry an actor address; hellos carry instances.
    public static let currentProtocolVersion: UInt16 = 2

    public init(protocolVersion: UInt16 = Hello.currentProtocolVersion, chainId: Hash, nodeKey: PublicKey,
                roles: NodeRoles, listenAddress: String, nonce: Bytes32, agent: String, instances: InstanceAnnouncement) {
        self.protocolVersion = protocolVersion
        self.chainId = chainId
        self.nodeKey = nodeKey
        self.roles = roles
        self.listenAddress = listenAddress
        self.nonce = nonce
        self.agent = agent
        self.instances = instances
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(protocolVersion)
        encoder.encode(chainId)
        encoder.encode(nodeKey)
        encoder.encode(roles)
        encoder.encode(listenAddress)
        encoder.encode(nonce)
        encoder.encode(agent)
        encoder.encode(instances)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        protocolVersion = try decoder.decode()
        chainId = try decoder.decode()
        nodeKey = try decoder.decode()
        roles = try decoder.decode()
        listenAddress = try decoder.decodeString(limit: 256)
        nonce = try decoder.decode()
        agent = try decoder.decodeString(limit: 128)
        instances = try decoder.decode()
    }
}

/// The second frame: a signature by the sender's node key over
/// `H(chainId || "handshake" || receiver's nonce || sender key || receiver key)`.
public struct HelloProof: Hashable, Sendable, CanonicalCodable {
    public var signature: Signature

    public static let domain = SigningDomain("handshake")

    public init(signature: Signature) {
        self.signature = signature
    }

    /// What `signer` signs to prove itself to the owner of `peerHello`.
    public static func digest(chainId: Hash, peerNonce: Bytes32, signer: PublicKey, verifier: PublicKey) -> Hash {
        var bytes: [UInt8] = []
        bytes += peerNonce.bytes
        bytes += signer.bytes
        bytes += verifier.bytes
        return domain.digest(chainId: chainId, bytes: bytes)
    }

    public func encode(to encoder: inout CanonicalEncoder) { encoder.encode(signature) }
    public init(from decoder: inout CanonicalDecoder) throws(CodecError) { signature = try decoder.decode() }
}

/// A gossip message: topic and payload. Its id is SHA-256 of the topic byte and the payload.
public struct GossipMessage: Hashable, Sendable, CanonicalCodable {
    public var topic: GossipTopic
    public var payload: [UInt8]

    /// Fits one frame of the default limit (`NetworkConfiguration.maximumFramePayload`) with its header.
    public static let maximumPayload = (32 << 20) - 64

    public init(topic: GossipTopic, payload: [UInt8]) {
        self.topic = topic
        self.payload = payload
    }

    public var id: Hash {
        var hasher = SHA256Hasher()
        hasher.update([topic.rawValue])
        hasher.update(payload)
        return hasher.finalize()
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(topic.rawValue)
        encoder.encodeBytes(payload)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        // Any topic byte decodes: whether a topic is served is the registry's decision, not the codec's.
        topic = GossipTopic(rawValue: try decoder.decode(UInt8.self))
        payload = try decoder.decodeBytes(limit: Self.maximumPayload)
    }
}

/// A gossip topic (DESIGN.md §8). A struct, not an enum: protocols register the topics they speak with the
/// transport (`ProtocolRegistry`), so a new role adds a topic without changing the transport.
public struct GossipTopic: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let blocks = GossipTopic(rawValue: 1)
    public static let transactions = GossipTopic(rawValue: 2)
    public static let committee = GossipTopic(rawValue: 3)
    /// Signed lists of the actor instances a node hosts (`InstanceAnnouncement`): the transport's own topic.
    public static let instances = GossipTopic(rawValue: 4)

    static let names: [GossipTopic: String] = [.blocks: "blocks", .transactions: "transactions",
                                               .committee: "committee", .instances: "instances"]

    public var description: String { Self.names[self] ?? "topic-\(rawValue)" }
    public static func < (lhs: GossipTopic, rhs: GossipTopic) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A list of message ids (for `ihave` and `iwant`).
public struct MessageIds: Hashable, Sendable, CanonicalCodable {
    public var ids: [Hash]
    public static let maximum = 4_096

    public init(_ ids: [Hash]) { self.ids = ids }

    public func encode(to encoder: inout CanonicalEncoder) { encoder.encode(ids) }
    public init(from decoder: inout CanonicalDecoder) throws(CodecError) { ids = try decoder.decodeArray(limit: Self.maximum) }
}

/// A request or response: the actor it is for on the receiving node, its correlation id, the payload
/// (`request` and `response` frames; DESIGN.md §8).
public struct Correlated: Hashable, Sendable, CanonicalCodable {
    public var address: ActorAddress
    public var id: UInt64
    public var payload: [UInt8]

    public init(address: ActorAddress, id: UInt64, payload: [UInt8]) {
        self.address = address
        self.id = id
        self.payload = payload
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(address)
        encoder.encode(id)
        encoder.encodeBytes(payload)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        address = try decoder.decode()
        id = try decoder.decode()
        payload = try decoder.decodeBytes(limit: GossipMessage.maximumPayload)
    }
}

/// Listen addresses of known peers (peer exchange).
public struct PeerAddresses: Hashable, Sendable, CanonicalCodable {
    public var addresses: [String]
    public static let maximum = 256

    public init(_ addresses: [String]) { self.addresses = addresses }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encodeLength(addresses.count)
        for address in addresses { encoder.encode(address) }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let count = try decoder.decodeLength(limit: Self.maximum)
        addresses = []
        for _ in 0..<count { addresses.append(try decoder.decodeString(limit: 256)) }
    }
}
