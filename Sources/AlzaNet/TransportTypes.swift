import AlzaCore

/// Settings of a node's transport.
public struct NetworkConfiguration: Sendable {
    public var chainId: Hash
    public var nodeKey: SigningKey
    public var roles: NodeRoles
    /// `host:port` to accept connections on (port 0 picks a free one); nil: do not listen.
    public var listenAddress: String?
    /// Addresses to connect to and keep connected.
    public var seeds: [String]
    public var maximumFramePayload = 32 << 20
    public var sendQueueLimitBytes = 64 << 20
    public var sendQueueLimitFrames = 16_384
    /// Peer limit, dial pacing, keepalive, handshake timeout (`ConnectionManager`).
    public var connections = ConnectionManager.Configuration()
    /// The transport's one timer: gossip heartbeat, dialing, keepalive, handshake and request timeouts.
    public var heartbeatMilliseconds: UInt64 = 100
    public var requestTimeoutMilliseconds: UInt64 = 10_000
    /// Read batches (one per socket read) waiting for the transport at most; past it the connection is closed.
    public var inboundBatchLimit = 65_536
    /// Messages handed to `post(_:)` waiting at most; past it they are dropped and counted.
    public var outgoingLimit = 65_536
    public var gossip = GossipCore.Configuration()
    public var agent = "alza/\(AlzaVersion.string)"
    /// Seeds the mesh choice and backoff jitter.
    public var randomSeed: UInt64 = SecureRandom.uint64()

    public init(chainId: Hash, nodeKey: SigningKey, roles: NodeRoles, listenAddress: String?, seeds: [String]) {
        self.chainId = chainId
        self.nodeKey = nodeKey
        self.roles = roles
        self.listenAddress = listenAddress
        self.seeds = seeds
    }
}

/// An authenticated peer.
public struct PeerInfo: Sendable, Hashable {
    /// The peer's node key in hex: its identity.
    public var id: String
    public var nodeKey: PublicKey
    public var roles: NodeRoles
    public var listenAddress: String
    public var remoteAddress: String
    public var inbound: Bool
    public var agent: String
}

/// What the transport hands a protocol's inbox. Peer changes and refusals go to every protocol; messages only
/// to the protocol they are addressed to.
public enum TransportEvent: Sendable {
    case peerConnected(PeerInfo)
    case peerDisconnected(PeerInfo, reason: String)
    /// A gossip message of one of the protocol's topics, seen for the first time (forward it with
    /// `Transport.publish` once validated).
    case gossip(GossipMessage, id: Hash, from: String)
    /// A point-to-point message for the protocol, or for one of its instances hosted here.
    case direct([UInt8], instance: InstanceId?, from: String)
    /// A request to answer with `Transport.respond`.
    case request([UInt8], instance: InstanceId?, requestId: UInt64, from: String)
    /// A connection refused or closed because of the peer's misbehaviour (also logged).
    case refused(address: String, NetworkError)
}

/// What one protocol's inbox took and shed.
public struct ProtocolTraffic: Sendable, Equatable {
    public var priority: ProtocolPriority
    public var delivered: UInt64 = 0
    /// Events lost because the inbox was full (counted, logged at each doubling).
    public var dropped: UInt64 = 0

    public init(priority: ProtocolPriority, delivered: UInt64 = 0, dropped: UInt64 = 0) {
        self.priority = priority
        self.delivered = delivered
        self.dropped = dropped
    }
}

/// Counters of the transport since it started (exported as metrics); all but `peers` only grow.
public struct TransportStatistics: Sendable, Equatable {
    public var peers = 0
    public var framesSent: UInt64 = 0
    public var bytesSent: UInt64 = 0
    public var bytesReceived: UInt64 = 0
    public var gossipReceived: UInt64 = 0
    public var gossipDuplicates: UInt64 = 0
    public var refusals: UInt64 = 0
    public var droppedSlowPeers: UInt64 = 0
    /// Events a protocol's inbox had no room for, summed over protocols.
    public var eventsDropped: UInt64 = 0
    /// Messages for a protocol, instance or topic this node does not serve (not relayed; the peer is not blamed).
    public var unroutable: UInt64 = 0
    /// Connections closed because the transport fell `inboundBatchLimit` read batches behind.
    public var overloadedConnections: UInt64 = 0
    /// Outstanding requests sent again because the connection they left on was replaced by a duplicate.
    public var requestsResent: UInt64 = 0
    /// Messages handed to `post(_:)` dropped because `outgoingLimit` were waiting.
    public var outgoingDropped: UInt64 = 0
    /// Instance announcements applied to the directory, and ones ignored as invalid.
    public var announcementsApplied: UInt64 = 0
    public var announcementsInvalid: UInt64 = 0
    public var protocols: [ProtocolId: ProtocolTraffic] = [:]
    public init() {}
}
