import AlzaCore
import Dispatch
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

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
    public var handshakeTimeoutMilliseconds: UInt64 = 5_000
    public var sendQueueLimitBytes = 64 << 20
    public var sendQueueLimitFrames = 16_384
    public var maximumPeers = 64
    public var dialIntervalMilliseconds: UInt64 = 250
    public var heartbeatMilliseconds: UInt64 = 100
    public var requestTimeoutMilliseconds: UInt64 = 10_000
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

/// What the transport reports to the node.
public enum TransportEvent: Sendable {
    case peerConnected(PeerInfo)
    case peerDisconnected(PeerInfo, reason: String)
    /// A gossip message seen for the first time (forward it with `Transport.publish` once validated).
    case gossip(GossipMessage, id: Hash, from: String)
    case direct([UInt8], from: String)
    /// A request to answer with `Transport.respond`.
    case request([UInt8], requestId: UInt64, from: String)
    /// A connection refused or closed because of the peer's misbehaviour (also logged).
    case refused(address: String, NetworkError)
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
    /// Events the application did not take in time (its buffer of `eventBufferLimit` was full).
    public var eventsDropped: UInt64 = 0
    public init() {}
}

/// The node's network (DESIGN.md §8): TCP on BSD sockets driven by Dispatch sources, framing, mutual handshake,
/// gossip with a mesh and lazy announcements, point-to-point messages and requests, peer exchange, reconnect with
/// backoff, bounded per-peer send queues. An actor: its state changes one event at a time; the gossip,
/// handshake and peer-table logic are pure cores it feeds.
public actor Transport {
    public nonisolated let configuration: NetworkConfiguration
    private let logger: Logger
    private var listener: (fd: Int32, source: any DispatchSourceRead)?
    public private(set) var boundAddress: String?

    /// Everything the sockets report, in one stream consumed by one task: no task per message.
    private enum Inbound: Sendable {
        case accepted(fd: Int32, address: String)
        case dialed(fd: Int32?, address: String)
        case frames(UInt64, [Frame])
        case closed(UInt64, NetworkError)
        /// Queued by `post(_:)` from outside the actor: sent in order without a task per message.
        case outgoing(Outgoing)
    }

    /// A message a caller hands to the transport without awaiting it (`post(_:)`).
    public enum Outgoing: Sendable {
        case publish(GossipTopic, [UInt8])
        case direct([UInt8], to: String)
    }

    private let inbound: AsyncStream<Inbound>
    private let inboundSink: AsyncStream<Inbound>.Continuation

    private struct Link {
        var connection: PeerConnection
        var handshake: HandshakeCore
        var peer: PeerInfo?
        var opened: UInt64
        /// Refused: frames still in flight are ignored.
        var closing = false
    }

    private var links: [UInt64: Link] = [:]
    private var byPeer: [String: UInt64] = [:]
    private var nextConnectionId: UInt64 = 1
    private var gossip: GossipCore
    private var peerTable: PeerTable
    /// Requests awaiting their response: who was asked, and the caller.
    private var requests: [UInt64: (peer: String, continuation: CheckedContinuation<[UInt8], any Error>)] = [:]
    private var nextRequestId: UInt64 = 1
    private var tasks: [Task<Void, Never>] = []
    private var running = false
    private var counters = TransportStatistics()

    public nonisolated let events: AsyncStream<TransportEvent>
    private let sink: AsyncStream<TransportEvent>.Continuation

    public init(configuration: NetworkConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        (inbound, inboundSink) = AsyncStream.makeStream(of: Inbound.self, bufferingPolicy: .unbounded)
        gossip = GossipCore(configuration: configuration.gossip, seed: configuration.randomSeed)
        peerTable = PeerTable(seeds: configuration.seeds, ownAddress: configuration.listenAddress ?? "",
                              seed: configuration.randomSeed &+ 1)
        (events, sink) = AsyncStream.makeStream(of: TransportEvent.self, bufferingPolicy: .bufferingOldest(Self.eventBufferLimit))
    }

    public nonisolated var nodeId: String { configuration.nodeKey.publicKey.hex }

    static func now() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    // MARK: Lifecycle

    /// Binds the listener (if any) and starts accepting, dialing and the heartbeat.
    public func start() async throws(NetworkError) {
        guard !running else { return }
        running = true
        if let listenAddress = configuration.listenAddress {
            let (fd, bound) = try Self.listen(on: listenAddress)
            boundAddress = bound
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: DispatchQueue(label: "alza.accept", target: .global()))
            let sink = inboundSink
            source.setEventHandler {
                while true {
                    var address = sockaddr_in()
                    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                    let accepted = withUnsafeMutablePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(fd, $0, &length) }
                    }
                    if accepted < 0 { break }
                    sink.yield(.accepted(fd: accepted, address: Self.describe(address)))
                }
            }
            source.setCancelHandler { close(fd) }
            source.resume()
            listener = (fd, source)
            peerTable.markOwn(bound)
        }
        let stream = inbound
        tasks.append(Task { for await event in stream { self.process(event) } })
        tasks.append(Task { await self.dialLoop() })
        tasks.append(Task { await self.heartbeatLoop() })
    }

    private static func listen(on address: String) throws(NetworkError) -> (Int32, String) {
        let (host, port) = try parse(address)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .socket("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = in_port_t(port).bigEndian
        socketAddress.sin_addr.s_addr = inet_addr(host)
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 256) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .socket("cannot listen on \(address): \(reason)")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, describe(actual))
    }

    private static func describe(_ address: sockaddr_in) -> String {
        var copy = address.sin_addr
        var buffer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        inet_ntop(AF_INET, &copy, &buffer, socklen_t(INET_ADDRSTRLEN))
        let host = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(host):\(UInt16(bigEndian: address.sin_port))"
    }

    /// Connects with a timeout on a background thread (a blocking connect does not hold up the actor).
    private static func connect(to address: String, timeoutMilliseconds: Int32) -> Int32? {
        guard let (host, port) = try? parse(address) else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = in_port_t(port).bigEndian
        socketAddress.sin_addr.s_addr = inet_addr(host)
        let result = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0 && errno != EINPROGRESS {
            close(fd)
            return nil
        }
        var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard poll(&descriptor, 1, timeoutMilliseconds) == 1,
              getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0
        else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Closes every connection and stops all tasks.
    public func stop() async {
        guard running else { return }
        running = false
        for (_, link) in links { link.connection.shutdownSocket() }
        for task in tasks { task.cancel() }
        tasks.removeAll()
        listener?.source.cancel()
        listener = nil
        inboundSink.finish()
        for (_, request) in requests { request.continuation.resume(throwing: NetworkError.notConnected(peer: "transport stopped")) }
        requests.removeAll()
        sink.finish()
    }

    static func parse(_ address: String) throws(NetworkError) -> (String, UInt16) {
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]), !parts[0].isEmpty else { throw .invalidAddress(address) }
        let host = parts[0] == "localhost" ? "127.0.0.1" : String(parts[0])
        return (host, port)
    }

    // MARK: Connections

    private func dialLoop() async {
        while running && !Task.isCancelled {
            let now = Self.now()
            let established = byPeer.count
            if established < configuration.maximumPeers {
                for address in peerTable.dialCandidates(now: now, limit: 8) {
                    peerTable.attempting(address, now: now)
                    dial(address)
                }
            }
            try? await Task.sleep(for: .milliseconds(configuration.dialIntervalMilliseconds))
        }
    }

    /// Connects to `address` now (besides the seeds, which are dialed automatically).
    public func connect(to address: String) {
        peerTable.learn([address])
        dial(address)
    }

    private func dial(_ address: String) {
        let sink = inboundSink
        DispatchQueue.global().async {
            sink.yield(.dialed(fd: Self.connect(to: address, timeoutMilliseconds: 3_000), address: address))
        }
    }

    private func process(_ event: Inbound) {
        switch event {
        case .accepted(let fd, let address):
            guard running, links.count < configuration.maximumPeers * 2 else {
                close(fd)
                return
            }
            open(fd, inbound: true, address: address)
        case .dialed(let fd, let address):
            guard let fd else {
                peerTable.disconnected(address, now: Self.now())
                return
            }
            guard running else {
                close(fd)
                return
            }
            open(fd, inbound: false, address: address)
        case .frames(let id, let frames):
            received(frames, on: id)
        case .closed(let id, let reason):
            closed(id, reason: reason)
        case .outgoing(.publish(let topic, let payload)):
            publish(topic, payload: payload)
        case .outgoing(.direct(let payload, let peer)):
            // A peer that left meanwhile simply misses the message, as with any send to a closing socket.
            try? sendDirect(payload, to: peer)
        }
    }

    private func open(_ fd: Int32, inbound: Bool, address: String) {
        let id = nextConnectionId
        nextConnectionId += 1
        let sink = inboundSink
        let connection = PeerConnection(
            id: id, fd: fd, inbound: inbound, address: address, maximumPayload: configuration.maximumFramePayload,
            maximumQueuedBytes: configuration.sendQueueLimitBytes, maximumQueuedFrames: configuration.sendQueueLimitFrames,
            deliver: { sink.yield(.frames($0, $1)) }, onClose: { sink.yield(.closed($0, $1)) })
        let hello = Hello(chainId: configuration.chainId, nodeKey: configuration.nodeKey.publicKey, roles: configuration.roles,
                          listenAddress: boundAddress ?? "", nonce: Bytes32(SecureRandom.bytes(32))!,
                          agent: configuration.agent)
        let handshake = HandshakeCore(local: hello, key: configuration.nodeKey)
        links[id] = Link(connection: connection, handshake: handshake, peer: nil, opened: Self.now())
        connection.start()
        connection.enqueue(handshake.openingFrame)
        let timeout = configuration.handshakeTimeoutMilliseconds
        Task {
            try? await Task.sleep(for: .milliseconds(timeout))
            self.checkHandshake(id, timeout: timeout)
        }
    }

    private func checkHandshake(_ id: UInt64, timeout: UInt64) {
        guard let link = links[id], link.peer == nil else { return }
        refuse(id, .handshakeTimeout(seconds: Double(timeout) / 1000))
    }

    /// Logs one clear line, reports the refusal, tells the peer why, and closes the connection.
    private func refuse(_ id: UInt64, _ error: NetworkError) {
        guard let link = links[id], !link.closing else { return }
        links[id]?.closing = true
        report(error, link: link)
        if case .selfConnection = error, !link.connection.inbound { peerTable.markOwn(link.connection.address) }
        if case .slowPeer = error {
            link.connection.shutdownSocket(reason: error)   // it does not read: nothing more can be flushed to it
        } else {
            link.connection.closeAfterFlush(last: Frame(kind: .goodbye, payload: Array(error.description.utf8)))
            Task {
                try? await Task.sleep(for: .seconds(1))
                link.connection.shutdownSocket(reason: error)
            }
        }
    }

    private func report(_ error: NetworkError, link: Link) {
        if case .closedByPeer(let reason) = error {
            // A goodbye is the peer's decision, not a misbehaviour.
            logger.info("connection \(link.peer.map { String($0.id.prefix(16)) } ?? link.connection.address) closed by the peer: \(reason)")
            return
        }
        counters.refusals += 1
        if case .slowPeer = error { counters.droppedSlowPeers += 1 }
        let who = link.peer.map { "\($0.id.prefix(16)) at \(link.connection.address)" } ?? link.connection.address
        logger.warning("connection \(who) refused: \(error.description)", metadata: ["code": .string(error.code)])
        emit(.refused(address: link.connection.address, error))
    }

    private func closed(_ id: UInt64, reason: NetworkError) {
        guard let link = links.removeValue(forKey: id) else { return }
        let traffic = link.connection.statistics
        counters.framesSent += traffic.framesSent
        counters.bytesSent += traffic.bytesSent
        counters.bytesReceived += traffic.bytesReceived
        // Bytes that are not frames end the connection in the reader: report them like any refusal.
        if case .frame = reason { report(reason, link: link) }
        // A dialed connection closed as the duplicate of an inbound one from the same peer leaves that peer
        // connected: marking its address disconnected would redial it forever.
        let stillConnected = byPeer.values.contains { links[$0]?.peer?.listenAddress == link.connection.address }
        if !link.connection.inbound && !stillConnected { peerTable.disconnected(link.connection.address, now: Self.now()) }
        guard let peer = link.peer, byPeer[peer.id] == id else { return }
        byPeer[peer.id] = nil
        if !peer.listenAddress.isEmpty { peerTable.disconnected(peer.listenAddress, now: Self.now()) }
        gossip.peerDisconnected(peer.id)
        // Its unanswered requests fail now rather than at their timeout.
        for (requestId, request) in requests where request.peer == peer.id {
            requests.removeValue(forKey: requestId)?.continuation.resume(throwing: NetworkError.notConnected(peer: String(peer.id.prefix(16))))
        }
        logger.info("peer \(peer.id.prefix(16)) disconnected: \(reason.description)")
        emit(.peerDisconnected(peer, reason: reason.description))
    }

    // MARK: Frames

    private func received(_ frames: [Frame], on id: UInt64) {
        for frame in frames {
            guard var link = links[id], !link.closing else { return }
            if link.peer == nil {
                switch link.handshake.receive(frame) {
                case .send(let reply):
                    links[id]?.handshake = link.handshake
                    link.connection.enqueue(reply)
                case .wait:
                    links[id]?.handshake = link.handshake
                case .established(let hello):
                    links[id]?.handshake = link.handshake
                    establish(id, hello: hello)
                case .failed(let error):
                    refuse(id, error)
                    return
                }
                continue
            }
            let peer = link.peer!
            do throws(NetworkError) {
                try handle(frame, from: peer, link: &link)
            } catch {
                refuse(id, error)
                return
            }
        }
    }

    private func establish(_ id: UInt64, hello: Hello) {
        guard let link = links[id] else { return }
        let peer = PeerInfo(id: hello.nodeKey.hex, nodeKey: hello.nodeKey, roles: hello.roles,
                            listenAddress: hello.listenAddress, remoteAddress: link.connection.address,
                            inbound: link.connection.inbound, agent: hello.agent)
        if let existing = byPeer[peer.id], existing != id {
            // Both sides dialed: keep the connection dialed by the node with the lower key, on both sides.
            let keepOutbound = configuration.nodeKey.publicKey < hello.nodeKey
            if link.connection.inbound == keepOutbound {
                links[id]?.peer = peer
                link.connection.shutdownSocket()
                return
            }
            links[existing]?.connection.shutdownSocket()
        }
        links[id]?.peer = peer
        byPeer[peer.id] = id
        if !link.connection.inbound { peerTable.connected(link.connection.address) }
        if !hello.listenAddress.isEmpty {
            peerTable.learn([hello.listenAddress])
            peerTable.connected(hello.listenAddress)
        }
        perform(gossip.peerConnected(peer.id, now: Self.now()))
        let known = peerTable.knownAddresses + (boundAddress.map { [$0] } ?? [])
        link.connection.enqueue(Frame(kind: .peers, message: PeerAddresses(Array(known.prefix(PeerAddresses.maximum)))))
        logger.info("peer \(peer.id.prefix(16)) connected (\(peer.inbound ? "inbound from" : "outbound to") \(link.connection.address), roles \(peer.roles))")
        emit(.peerConnected(peer))
    }

    private func handle(_ frame: Frame, from peer: PeerInfo, link: inout Link) throws(NetworkError) {
        func decode<Message: CanonicalDecodable>(_: Message.Type) throws(NetworkError) -> Message {
            do {
                return try Message(canonicalBytes: frame.payload)
            } catch {
                throw .malformed(kind: frame.kind, reason: error.description)
            }
        }
        switch frame.kind {
        case .hello, .proof:
            throw .unexpectedFrame(frame.kind, during: "established connection")
        case .gossip:
            let message = try decode(GossipMessage.self)
            let effects = gossip.received(message, from: peer.id, now: Self.now())
            if effects.isEmpty { counters.gossipDuplicates += 1 } else { counters.gossipReceived += 1 }
            perform(effects)
        case .ihave:
            perform(gossip.receivedIHave(try decode(MessageIds.self).ids, from: peer.id, now: Self.now()))
        case .iwant:
            perform(gossip.receivedIWant(try decode(MessageIds.self).ids, from: peer.id))
        case .direct:
            emit(.direct(frame.payload, from: peer.id))
        case .request:
            let request = try decode(Correlated.self)
            emit(.request(request.payload, requestId: request.id, from: peer.id))
        case .response:
            let response = try decode(Correlated.self)
            // Only the peer that was asked may answer.
            if requests[response.id]?.peer == peer.id {
                requests.removeValue(forKey: response.id)?.continuation.resume(returning: response.payload)
            }
        case .ping:
            link.connection.enqueue(Frame(kind: .pong, payload: frame.payload))
        case .pong:
            break
        case .peers:
            peerTable.learn(try decode(PeerAddresses.self).addresses)
        case .graft:
            perform(gossip.receivedGraft(from: peer.id))
        case .prune:
            gossip.receivedPrune(from: peer.id)
        case .goodbye:
            throw .closedByPeer(reason: String(decoding: frame.payload.prefix(200), as: UTF8.self))
        }
    }

    private func perform(_ effects: [GossipCore.Effect]) {
        for effect in effects {
            switch effect {
            case .send(let frame, let peer):
                send(frame, to: peer)
            case .deliver(let message, let id, let from):
                emit(.gossip(message, id: id, from: from))
            }
        }
    }

    private func send(_ frame: Frame, to peer: String) {
        guard let id = byPeer[peer], let link = links[id] else { return }
        if link.connection.enqueue(frame) == .full {
            refuse(id, .slowPeer(queuedBytes: link.connection.queuedBytes, limit: configuration.sendQueueLimitBytes))
        }
    }

    private func heartbeatLoop() async {
        var beats: UInt64 = 0
        while running && !Task.isCancelled {
            perform(gossip.tick(now: Self.now()))
            beats += 1
            // Keepalive every 10 s: a peer that vanished without closing is found by the failed write.
            if beats % max(1, 10_000 / configuration.heartbeatMilliseconds) == 0 {
                for (_, link) in links where link.peer != nil {
                    link.connection.enqueue(Frame(kind: .ping, payload: withUnsafeBytes(of: beats) { Array($0) }))
                }
            }
            try? await Task.sleep(for: .milliseconds(configuration.heartbeatMilliseconds))
        }
    }

    /// Hands an event to the application. A consumer more than `eventBufferLimit` events behind loses the newest
    /// ones: counted and logged, never silent (a lost block is fetched again by sync).
    private func emit(_ event: TransportEvent) {
        if case .dropped = sink.yield(event) {
            counters.eventsDropped += 1
            if counters.eventsDropped.nonzeroBitCount == 1 {   // 1, 2, 4, 8, ...: a line per doubling, not per event
                logger.error("the application is \(Self.eventBufferLimit) events behind; \(counters.eventsDropped) dropped so far")
            }
        }
    }

    static let eventBufferLimit = 100_000

    // MARK: Sending

    /// Queues a message for sending, in order, from any context. Shells producing many messages (a chain
    /// service carrying out consensus effects) use this instead of one awaiting task per message.
    public nonisolated func post(_ message: Outgoing) {
        inboundSink.yield(.outgoing(message))
    }

    /// Gossips a message: this node's own, or one it received and validated (forwarding it).
    public func publish(_ topic: GossipTopic, payload: [UInt8]) {
        perform(gossip.publish(GossipMessage(topic: topic, payload: payload), now: Self.now()))
    }

    /// Sends a point-to-point message.
    public func sendDirect(_ payload: [UInt8], to peer: String) throws(NetworkError) {
        guard byPeer[peer] != nil else { throw .notConnected(peer: peer) }
        send(Frame(kind: .direct, payload: payload), to: peer)
    }

    /// Sends a request and waits for its response.
    public func request(_ payload: [UInt8], to peer: String, timeoutMilliseconds: UInt64? = nil) async throws -> [UInt8] {
        guard byPeer[peer] != nil else { throw NetworkError.notConnected(peer: peer) }
        let id = nextRequestId
        nextRequestId += 1
        let timeout = timeoutMilliseconds ?? configuration.requestTimeoutMilliseconds
        Task {
            try? await Task.sleep(for: .milliseconds(timeout))
            self.expireRequest(id, peer: peer)
        }
        return try await withCheckedThrowingContinuation { continuation in
            requests[id] = (peer, continuation)
            send(Frame(kind: .request, message: Correlated(id: id, payload: payload)), to: peer)
        }
    }

    private func expireRequest(_ id: UInt64, peer: String) {
        requests.removeValue(forKey: id)?.continuation.resume(throwing: NetworkError.requestTimeout(peer: String(peer.prefix(16))))
    }

    /// Answers a request received as `.request`.
    public func respond(to peer: String, requestId: UInt64, payload: [UInt8]) {
        send(Frame(kind: .response, message: Correlated(id: requestId, payload: payload)), to: peer)
    }

    // MARK: Inspection

    public var peers: [PeerInfo] { byPeer.values.compactMap { links[$0]?.peer }.sorted { $0.id < $1.id } }

    public var meshPeers: Set<String> { gossip.mesh }

    public var statistics: TransportStatistics {
        var statistics = counters
        statistics.peers = byPeer.count
        for (_, link) in links {
            let connection = link.connection.statistics
            statistics.framesSent += connection.framesSent
            statistics.bytesSent += connection.bytesSent
            statistics.bytesReceived += connection.bytesReceived
        }
        return statistics
    }
}
