import AlzaCore

/// The lifecycle of a node's connections as a pure state machine (DESIGN.md §1, §8): which addresses to dial and
/// when (pacing, the peer limit, backoff through the `PeerTable`), which inbound connections to take, which of two
/// connections to one peer to keep, peer exchange, keepalive, the handshake timeout, and the cut-off of a refused
/// connection that does not take its goodbye. Time comes with every input; what to do comes back as effects. The
/// transport interprets them on sockets, the simulator on virtual links.
///
/// Connection ids are the manager's: the shell asks for one when a socket opens (`opened`) and reports its close
/// (`closed`). Reporting a refusal (log, counters) is the shell's, from the `.refused` effect.
public struct ConnectionManager: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var maximumPeers = 64
        public var dialIntervalMilliseconds: UInt64 = 250
        /// Addresses dialed per interval at most.
        public var dialsPerInterval = 8
        /// A ping on every established connection this often, so a peer that vanished without closing is found
        /// by the failed write; nil: none (the simulator, whose links report their close exactly).
        public var keepaliveMilliseconds: UInt64? = 10_000
        public var handshakeTimeoutMilliseconds: UInt64 = 5_000
        /// A refused connection is cut this long after its goodbye was queued, flushed or not.
        public var goodbyeGraceMilliseconds: UInt64 = 1_000
        public init() {}
    }

    public enum Effect: Sendable, Equatable {
        case dial(String)
        case send(Frame, connection: UInt64)
        /// Write what is queued and the goodbye, then close.
        case closeAfterFlush(UInt64, goodbye: Frame)
        /// Close now, dropping what is queued.
        case shutdown(UInt64, reason: NetworkError)
        /// The connection was refused for `error`: for the operator (log, metrics, protocols); the closing
        /// effects come with it.
        case refused(UInt64, NetworkError)
    }

    /// What the manager knows of one open connection.
    public struct Connection: Sendable, Equatable {
        public var inbound: Bool
        public var address: String
        public var opened: UInt64
        /// The authenticated peer, once the handshake is done.
        public var peer: String?
        public var peerListenAddress = ""
        /// Refused: frames still in flight are ignored.
        public var closing = false
        public var shutdownAt: UInt64?
    }

    /// The outcome of a completed handshake.
    public enum Establishment: Sendable, Equatable {
        /// The peer is connected through this connection (the effects carry peer exchange and any replaced
        /// duplicate's shutdown); `replaced` names the connection it replaced, whose frames in flight may be lost.
        case connected([Effect], replaced: UInt64?)
        /// Both sides dialed and this connection is the one both drop.
        case duplicate([Effect])
    }

    public let configuration: Configuration
    public let localKey: PublicKey
    public private(set) var peerTable: PeerTable
    public private(set) var connections: [UInt64: Connection] = [:]
    /// The connection each connected peer is reached through.
    public private(set) var byPeer: [String: UInt64] = [:]
    private var nextId: UInt64 = 1
    private var lastDial: UInt64?
    private var lastKeepalive: UInt64 = 0
    /// This node's own listen address, told to peers with the addresses it knows.
    public private(set) var ownListenAddress: String?

    public init(configuration: Configuration, localKey: PublicKey, peerTable: PeerTable) {
        precondition(configuration.maximumPeers > 0 && configuration.dialsPerInterval > 0, "a node connects to at least one peer")
        self.configuration = configuration
        self.localKey = localKey
        self.peerTable = peerTable
    }

    public var peerCount: Int { byPeer.count }

    public func connection(of peer: String) -> UInt64? { byPeer[peer] }

    /// The listener is bound at `address`: never dialed, and told to peers.
    public mutating func listening(on address: String) {
        ownListenAddress = address
        peerTable.markOwn(address)
    }

    /// Dial `address` now (an operator's `connect`), besides the paced dials of the peer table.
    public mutating func connect(to address: String, now: UInt64) -> [Effect] {
        peerTable.learn([address])
        peerTable.attempting(address, now: now)
        return [.dial(address)]
    }

    // MARK: Opening and closing

    /// A socket opened (accepted, or a dial that succeeded): its id, or nil when inbound connections are at
    /// their cap (twice the peer limit, so duplicates and handshakes in flight fit) and the shell closes it.
    public mutating func opened(inbound: Bool, address: String, now: UInt64) -> UInt64? {
        if inbound && connections.count >= configuration.maximumPeers * 2 { return nil }
        let id = nextId
        nextId += 1
        connections[id] = Connection(inbound: inbound, address: address, opened: now)
        return id
    }

    /// A dial failed: its address backs off.
    public mutating func dialFailed(_ address: String, now: UInt64) {
        peerTable.disconnected(address, now: now)
    }

    /// The handshake of `id` authenticated `peer`. Of two connections to one peer (both dialed), both sides
    /// keep the one dialed by the node with the lower key.
    public mutating func established(_ id: UInt64, peer: String, peerKey: PublicKey, listenAddress: String,
                                     now: UInt64) -> Establishment {
        guard var connection = connections[id] else {
            preconditionFailure("established \(id), a connection the manager never opened")
        }
        connection.peer = peer
        connection.peerListenAddress = listenAddress
        connections[id] = connection
        var effects: [Effect] = []
        var replaced: UInt64?
        if let existing = byPeer[peer], existing != id {
            let keepOutbound = localKey < peerKey
            if connection.inbound == keepOutbound {
                return .duplicate([.shutdown(id, reason: .closedByPeer(reason: "duplicate connection"))])
            }
            effects.append(.shutdown(existing, reason: .closedByPeer(reason: "duplicate connection")))
            replaced = existing
        }
        byPeer[peer] = id
        if !connection.inbound { peerTable.connected(connection.address) }
        if !listenAddress.isEmpty {
            peerTable.learn([listenAddress])
            peerTable.connected(listenAddress)
        }
        let known = peerTable.knownAddresses + (ownListenAddress.map { [$0] } ?? [])
        effects.append(.send(Frame(kind: .peers, message: PeerAddresses(Array(known.prefix(PeerAddresses.maximum)))),
                             connection: id))
        return .connected(effects, replaced: replaced)
    }

    /// Addresses a peer told this node of.
    public mutating func learned(_ addresses: [String]) {
        peerTable.learn(addresses)
    }

    /// Connection `id` closed. Returns the peer that is now disconnected (nil when the connection was not the
    /// peer's: a handshake that never finished, or a dropped duplicate).
    public mutating func closed(_ id: UInt64, now: UInt64) -> String? {
        guard let connection = connections.removeValue(forKey: id) else { return nil }
        // A dialed connection closed as the duplicate of an inbound one from the same peer leaves that peer
        // connected: marking its address disconnected would redial it forever.
        let stillConnected = byPeer.values.contains { connections[$0]?.peerListenAddress == connection.address }
        if !connection.inbound && !stillConnected { peerTable.disconnected(connection.address, now: now) }
        guard let peer = connection.peer, byPeer[peer] == id else { return nil }
        byPeer[peer] = nil
        if !connection.peerListenAddress.isEmpty { peerTable.disconnected(connection.peerListenAddress, now: now) }
        return peer
    }

    /// Refuses connection `id` for `error`: once; a peer too slow to read is cut at once, any other is told why
    /// with a goodbye and cut after the grace period. A self-connection's address is never dialed again.
    public mutating func refuse(_ id: UInt64, _ error: NetworkError, now: UInt64) -> [Effect] {
        guard var connection = connections[id], !connection.closing else { return [] }
        connection.closing = true
        if case .selfConnection = error, !connection.inbound { peerTable.markOwn(connection.address) }
        var effects: [Effect] = [.refused(id, error)]
        if case .slowPeer = error {
            effects.append(.shutdown(id, reason: error))   // it does not read: nothing more can be flushed to it
        } else {
            effects.append(.closeAfterFlush(id, goodbye: Frame(kind: .goodbye, payload: Array(error.description.utf8))))
            connection.shutdownAt = now + configuration.goodbyeGraceMilliseconds
        }
        connections[id] = connection
        return effects
    }

    // MARK: Time

    /// When `tick` next has something to do (a dial, a ping, a timeout, a cut-off): a shell that does not tick
    /// on a fixed beat (the simulator) wakes the manager then. Nil: nothing until an input changes it.
    public var wakeAt: UInt64? {
        var earliest: UInt64?
        func consider(_ time: UInt64) { earliest = min(earliest ?? time, time) }
        if byPeer.count < configuration.maximumPeers, let next = peerTable.nextAttemptTime {
            consider(max(next, lastDial.map { $0 + configuration.dialIntervalMilliseconds } ?? 0))
        }
        if let interval = configuration.keepaliveMilliseconds, !byPeer.isEmpty { consider(lastKeepalive + interval) }
        for connection in connections.values {
            if connection.peer == nil && !connection.closing { consider(connection.opened + configuration.handshakeTimeoutMilliseconds) }
            if let at = connection.shutdownAt { consider(at) }
        }
        return earliest
    }

    /// Paced dials, keepalive pings, handshake timeouts and the cut-off of refused connections.
    public mutating func tick(now: UInt64) -> [Effect] {
        var effects: [Effect] = []
        if lastDial.map({ now >= $0 + configuration.dialIntervalMilliseconds }) ?? true {
            lastDial = now
            if byPeer.count < configuration.maximumPeers {
                for address in peerTable.dialCandidates(now: now, limit: configuration.dialsPerInterval) {
                    peerTable.attempting(address, now: now)
                    effects.append(.dial(address))
                }
            }
        }
        if let interval = configuration.keepaliveMilliseconds, now >= lastKeepalive + interval {
            lastKeepalive = now
            let stamp = withUnsafeBytes(of: now.littleEndian) { Array($0) }
            for id in byPeer.values.sorted() { effects.append(.send(Frame(kind: .ping, payload: stamp), connection: id)) }
        }
        let timeout = configuration.handshakeTimeoutMilliseconds
        for (id, connection) in connections.sorted(by: { $0.key < $1.key }) {
            if connection.peer == nil && !connection.closing && now >= connection.opened + timeout {
                effects += refuse(id, .handshakeTimeout(seconds: Double(timeout) / 1000), now: now)
            } else if let at = connection.shutdownAt, now >= at {
                connections[id]?.shutdownAt = nil   // once: the close removes the connection
                effects.append(.shutdown(id, reason: .closedByPeer(reason: "closed locally")))
            }
        }
        return effects
    }
}
