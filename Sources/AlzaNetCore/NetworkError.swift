import AlzaCore

/// Why a connection was refused or closed, or a network operation failed. Each refusal gets one clear log line.
public enum NetworkError: AlzaError, Equatable {
    case wrongChain(expected: Hash, actual: Hash)
    case protocolMismatch(ours: UInt16, theirs: UInt16)
    case badHandshakeSignature(peer: PublicKey)
    case selfConnection
    case unexpectedFrame(FrameKind, during: String)
    case malformed(kind: FrameKind, reason: String)
    case frame(FrameError)
    case handshakeTimeout(seconds: Double)
    case slowPeer(queuedBytes: Int, limit: Int)
    case closedByPeer(reason: String)
    case socket(String)
    case requestTimeout(peer: String)
    case notConnected(peer: String)
    case invalidAddress(String)
    case invalidConfiguration(String)
    /// The hello's instance announcement is not signed by the peer's key: refused.
    case invalidAnnouncement(peer: PublicKey)
    case protocolAlreadyRegistered(ProtocolId)
    case protocolNotRegistered(ProtocolId)
    case topicAlreadyRegistered(GossipTopic, owner: ProtocolId)
    case topicReserved(GossipTopic)
    case tooManyRequests(limit: Int)
    /// The transport fell `limit` read batches behind: the connection is closed rather than its frames lost.
    case transportOverloaded(limit: Int)

    public var code: String {
        switch self {
        case .wrongChain: "net.wrong-chain"
        case .protocolMismatch: "net.protocol-mismatch"
        case .badHandshakeSignature: "net.bad-handshake-signature"
        case .selfConnection: "net.self-connection"
        case .unexpectedFrame: "net.unexpected-frame"
        case .malformed: "net.malformed"
        case .frame(let error): error.code
        case .handshakeTimeout: "net.handshake-timeout"
        case .slowPeer: "net.slow-peer"
        case .closedByPeer: "net.closed-by-peer"
        case .socket: "net.socket"
        case .requestTimeout: "net.request-timeout"
        case .notConnected: "net.not-connected"
        case .invalidAddress: "net.invalid-address"
        case .invalidConfiguration: "net.invalid-configuration"
        case .invalidAnnouncement: "net.invalid-announcement"
        case .protocolAlreadyRegistered: "net.protocol-already-registered"
        case .protocolNotRegistered: "net.protocol-not-registered"
        case .topicAlreadyRegistered: "net.topic-already-registered"
        case .topicReserved: "net.topic-reserved"
        case .tooManyRequests: "net.too-many-requests"
        case .transportOverloaded: "net.transport-overloaded"
        }
    }

    public var description: String {
        switch self {
        case .wrongChain(let expected, let actual):
            "peer is on chain \(actual.short), this node on \(expected.short); refused"
        case .protocolMismatch(let ours, let theirs): "peer speaks protocol \(theirs), this node \(ours); refused"
        case .badHandshakeSignature(let peer):
            "handshake signature of \(peer.hex.prefix(16)) does not verify; refused"
        case .selfConnection: "connected to itself; closed"
        case .unexpectedFrame(let kind, let phase): "unexpected \(kind) frame during \(phase); closed"
        case .malformed(let kind, let reason): "malformed \(kind) frame: \(reason); closed"
        case .frame(let error): "\(error.description); closed"
        case .handshakeTimeout(let seconds): "peer sent no handshake within \(seconds) s; closed"
        case .slowPeer(let queued, let limit):
            "peer is too slow: \(queued) bytes queued for it (limit \(limit)); dropped"
        case .closedByPeer(let reason): "peer closed the connection (\(reason))"
        case .socket(let reason): "socket error: \(reason)"
        case .requestTimeout(let peer): "request to \(peer) timed out"
        case .notConnected(let peer): "not connected to \(peer)"
        case .invalidAddress(let text): "\"\(text)\" is not a host:port address"
        case .invalidConfiguration(let reason): "invalid network configuration: \(reason)"
        case .invalidAnnouncement(let peer):
            "instance announcement of \(peer.hex.prefix(16)) is not signed by it or not canonical; refused"
        case .protocolAlreadyRegistered(let id): "protocol \(id) is registered already"
        case .protocolNotRegistered(let id): "protocol \(id) is not registered on this node"
        case .topicAlreadyRegistered(let topic, let owner): "gossip topic \(topic) belongs to protocol \(owner) already"
        case .topicReserved(let topic): "gossip topic \(topic) is the transport's own"
        case .tooManyRequests(let limit): "\(limit) requests are outstanding already; not sent"
        case .transportOverloaded(let limit):
            "the transport is \(limit) read batches behind; connection closed so no frame of it is lost silently"
        }
    }
}
