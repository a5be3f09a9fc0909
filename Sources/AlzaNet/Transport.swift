import AlzaCore
import Dispatch
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The node's network (DESIGN.md §8): TCP on BSD sockets driven by Dispatch sources, framing, mutual handshake,
/// gossip with a mesh and lazy announcements, addressed point-to-point messages and requests, peer exchange,
/// reconnect with backoff, bounded per-peer send queues, and one bounded inbox per registered protocol
/// (`Transport+Protocols.swift`). An actor: its state changes one event at a time; the connection manager (dialing,
/// peer table, duplicates, keepalive, timeouts), gossip, handshake, protocol registry, instance directory and
/// request correlation are pure cores it feeds, with the time, from one timer (`tick`), and whose effects it
/// carries out on sockets.
public actor Transport {
    public nonisolated let configuration: NetworkConfiguration
    let logger: Logger
    private var listener: (fd: Int32, source: any DispatchSourceRead)?
    public private(set) var boundAddress: String?

    /// Connection lifecycle from the sockets. Unbounded on purpose: at most two entries per connection, and
    /// connections are capped (`connections.maximumPeers * 2`), so it cannot grow without bound; losing one would leak a
    /// socket or a link.
    private enum Control: Sendable {
        case accepted(fd: Int32, address: String)
        case dialed(fd: Int32?, address: String)
        case closed(UInt64, NetworkError)
    }

    /// A message a caller hands to the transport without awaiting it (`post(_:)`).
    public enum Outgoing: Sendable {
        case publish(GossipTopic, [UInt8])
        case direct([UInt8], to: String, address: ActorAddress)
    }

    private let control: AsyncStream<Control>
    private let controlSink: AsyncStream<Control>.Continuation
    /// Frames read from sockets, one entry per read; bounded (`inboundBatchLimit`).
    private let frames: AsyncStream<(UInt64, [Frame])>
    private let framesSink: AsyncStream<(UInt64, [Frame])>.Continuation
    /// Messages queued by `post(_:)`; bounded (`outgoingLimit`).
    private let outgoing: AsyncStream<Outgoing>
    private let outgoingSink: AsyncStream<Outgoing>.Continuation
    /// Counted off the actor, where the bounded streams overflow.
    private let overflow = OverflowCounters()

    /// The sockets side of a connection the manager knows by the same id.
    struct Link {
        var connection: PeerConnection
        var handshake: HandshakeCore
        var peer: PeerInfo?
    }

    var links: [UInt64: Link] = [:]
    var manager: ConnectionManager
    var gossip: GossipCore
    var registry = ProtocolRegistry()
    var inboxes: [ProtocolId: AsyncStream<TransportEvent>.Continuation] = [:]
    /// Deliveries of the current step, handed to inboxes in priority order when the step ends (`flush`).
    var pendingDeliveries: [(protocolId: ProtocolId, priority: ProtocolPriority, event: TransportEvent)] = []
    var directory: InstanceDirectory
    var announcement: InstanceAnnouncement
    var correlator = RequestCorrelator()
    /// The callers of outstanding requests and the frames they sent, keyed by the correlator's ids (a frame is
    /// sent again when the connection it left on is replaced by a duplicate: see `resendRequests(to:)`).
    var waiting: [UInt64: (caller: CheckedContinuation<[UInt8], any Error>, frame: Frame)] = [:]
    private var tasks: [Task<Void, Never>] = []
    var running = false
    var counters = TransportStatistics()

    public init(configuration: NetworkConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        (control, controlSink) = AsyncStream.makeStream(of: Control.self, bufferingPolicy: .unbounded)
        (frames, framesSink) = AsyncStream.makeStream(of: (UInt64, [Frame]).self,
                                                      bufferingPolicy: .bufferingOldest(configuration.inboundBatchLimit))
        (outgoing, outgoingSink) = AsyncStream.makeStream(of: Outgoing.self,
                                                          bufferingPolicy: .bufferingOldest(configuration.outgoingLimit))
        gossip = GossipCore(configuration: configuration.gossip, seed: configuration.randomSeed)
        manager = ConnectionManager(configuration: configuration.connections, localKey: configuration.nodeKey.publicKey,
                                    peerTable: PeerTable(seeds: configuration.seeds, ownAddress: configuration.listenAddress ?? "",
                                                         seed: configuration.randomSeed &+ 1))
        directory = InstanceDirectory(chainId: configuration.chainId)
        // Sequences start at the wall clock: a restarted node's announcements still supersede its old ones.
        announcement = .signed(by: configuration.nodeKey, chainId: configuration.chainId, sequence: Self.now(), instances: [])
    }

    public nonisolated var nodeId: String { configuration.nodeKey.publicKey.hex }

    static func now() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    // MARK: Lifecycle

    /// Binds the listener (if any) and starts accepting, dialing and the timer. Register protocols before
    /// starting so no message arrives before its inbox exists.
    public func start() async throws(NetworkError) {
        guard !running else { return }
        running = true
        if let listenAddress = configuration.listenAddress {
            let (fd, bound) = try TCPSockets.listen(on: listenAddress)
            boundAddress = bound
            // Instances hosted before the start were announced without the address the node now listens on.
            if !registry.hostedAddresses.isEmpty { announceInstances() }
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: DispatchQueue(label: "alza.accept", target: .global()))
            let sink = controlSink
            source.setEventHandler {
                for client in TCPSockets.acceptAll(fd) { sink.yield(.accepted(fd: client.fd, address: client.address)) }
            }
            source.setCancelHandler { close(fd) }
            source.resume()
            listener = (fd, source)
            manager.listening(on: bound)
        }
        _ = directory.apply(announcement)
        let (control, frames, outgoing) = (self.control, self.frames, self.outgoing)
        tasks.append(Task { for await event in control { self.process(event) } })
        tasks.append(Task { for await (id, batch) in frames { self.received(batch, on: id) } })
        tasks.append(Task { for await message in outgoing { self.send(message) } })
        tasks.append(Task { await self.timerLoop() })
    }

    /// Closes every connection, fails outstanding requests, ends every inbox and stops all tasks.
    public func stop() async {
        guard running else { return }
        running = false
        for (_, link) in links { link.connection.shutdownSocket() }
        for task in tasks { task.cancel() }
        tasks.removeAll()
        listener?.source.cancel()
        listener = nil
        controlSink.finish()
        framesSink.finish()
        outgoingSink.finish()
        for id in correlator.cancelAll() {
            waiting.removeValue(forKey: id)?.caller.resume(throwing: NetworkError.notConnected(peer: "transport stopped"))
        }
        flush()
        for (_, inbox) in inboxes { inbox.finish() }
    }

    // MARK: The timer

    /// The transport's only clock: the shell wakes every `heartbeatMilliseconds` and hands the time to `tick`.
    private func timerLoop() async {
        while running && !Task.isCancelled {
            tick(now: Self.now())
            try? await Task.sleep(for: .milliseconds(configuration.heartbeatMilliseconds))
        }
    }

    /// Everything that happens because time passed: gossip heartbeat, dialing, keepalive, handshake timeouts,
    /// delayed shutdowns of refused connections, request timeouts.
    func tick(now: UInt64) {
        perform(gossip.tick(now: now))
        perform(manager.tick(now: now))
        for request in correlator.expire(now: now) {
            waiting.removeValue(forKey: request.id)?.caller.resume(throwing: NetworkError.requestTimeout(peer: String(request.peer.prefix(16))))
        }
        flush()
    }

    // MARK: Connections

    /// Connects to `address` now (besides the seeds, which are dialed automatically).
    public func connect(to address: String) {
        perform(manager.connect(to: address, now: Self.now()))
    }

    /// Carries out the connection manager's decisions on the sockets.
    func perform(_ effects: [ConnectionManager.Effect]) {
        for effect in effects {
            switch effect {
            case .dial(let address):
                dial(address)
            case .send(let frame, let id):
                links[id]?.connection.enqueue(frame)
            case .closeAfterFlush(let id, let goodbye):
                links[id]?.connection.closeAfterFlush(last: goodbye)
            case .shutdown(let id, let reason):
                links[id]?.connection.shutdownSocket(reason: reason)
            case .refused(let id, let error):
                if let link = links[id] { report(error, link: link) }
            }
        }
    }

    private func dial(_ address: String) {
        let sink = controlSink
        DispatchQueue.global().async {
            sink.yield(.dialed(fd: TCPSockets.connect(to: address, timeoutMilliseconds: 3_000), address: address))
        }
    }

    private func process(_ event: Control) {
        switch event {
        case .accepted(let fd, let address):
            guard running, let id = manager.opened(inbound: true, address: address, now: Self.now()) else {
                close(fd)
                return
            }
            open(fd, id: id, inbound: true, address: address)
        case .dialed(let fd, let address):
            guard let fd else {
                manager.dialFailed(address, now: Self.now())
                return
            }
            guard running, let id = manager.opened(inbound: false, address: address, now: Self.now()) else {
                close(fd)
                return
            }
            open(fd, id: id, inbound: false, address: address)
        case .closed(let id, let reason):
            closed(id, reason: reason)
        }
        flush()
    }

    private func open(_ fd: Int32, id: UInt64, inbound: Bool, address: String) {
        let (framesSink, controlSink, overflow) = (self.framesSink, self.controlSink, self.overflow)
        let limit = configuration.inboundBatchLimit
        let connection = PeerConnection(
            id: id, fd: fd, inbound: inbound, address: address, maximumPayload: configuration.maximumFramePayload,
            maximumQueuedBytes: configuration.sendQueueLimitBytes, maximumQueuedFrames: configuration.sendQueueLimitFrames,
            deliver: { id, batch in
                guard case .dropped = framesSink.yield((id, batch)) else { return nil }
                // Frames of a connection cannot be skipped (its gossip and responses would be lost silently).
                overflow.overloadedConnections.add(1, ordering: .relaxed)
                return .transportOverloaded(limit: limit)
            },
            onClose: { controlSink.yield(.closed($0, $1)) })
        let hello = Hello(chainId: configuration.chainId, nodeKey: configuration.nodeKey.publicKey, roles: configuration.roles,
                          listenAddress: boundAddress ?? "", nonce: Bytes32(SecureRandom.bytes(32))!,
                          agent: configuration.agent, instances: announcement)
        let handshake = HandshakeCore(local: hello, key: configuration.nodeKey)
        links[id] = Link(connection: connection, handshake: handshake, peer: nil)
        connection.start()
        connection.enqueue(handshake.openingFrame)
    }

    /// Logs one clear line, reports the refusal, tells the peer why, and closes the connection.
    func refuse(_ id: UInt64, _ error: NetworkError, now: UInt64 = Transport.now()) {
        perform(manager.refuse(id, error, now: now))
    }

    private func report(_ error: NetworkError, link: Link) {
        switch error {
        case .closedByPeer(let reason):
            // A goodbye is the peer's decision, not a misbehaviour.
            logger.info("connection \(link.peer.map { String($0.id.prefix(16)) } ?? link.connection.address) closed by the peer: \(reason)")
            return
        case .slowPeer: counters.droppedSlowPeers += 1
        default: break
        }
        counters.refusals += 1
        let who = link.peer.map { "\($0.id.prefix(16)) at \(link.connection.address)" } ?? link.connection.address
        logger.warning("connection \(who) refused: \(error.description)", metadata: ["code": .string(error.code)])
        broadcast(.refused(address: link.connection.address, error))
    }

    private func closed(_ id: UInt64, reason: NetworkError) {
        guard let link = links.removeValue(forKey: id) else { return }
        let traffic = link.connection.statistics
        counters.framesSent += traffic.framesSent
        counters.bytesSent += traffic.bytesSent
        counters.bytesReceived += traffic.bytesReceived
        // Bytes that are not frames, or a transport too far behind, end the connection in the reader: report
        // them like any refusal.
        switch reason {
        case .frame, .transportOverloaded: report(reason, link: link)
        default: break
        }
        guard manager.closed(id, now: Self.now()) != nil, let peer = link.peer else { return }
        gossip.peerDisconnected(peer.id)
        // Its unanswered requests fail now rather than at their timeout.
        for requestId in correlator.peerDisconnected(peer.id) {
            waiting.removeValue(forKey: requestId)?.caller.resume(throwing: NetworkError.notConnected(peer: String(peer.id.prefix(16))))
        }
        logger.info("peer \(peer.id.prefix(16)) disconnected: \(reason.description)")
        broadcast(.peerDisconnected(peer, reason: reason.description))
    }

    // MARK: Frames

    private func received(_ batch: [Frame], on id: UInt64) {
        defer { flush() }
        for frame in batch {
            guard var link = links[id], manager.connections[id]?.closing == false else { return }
            guard let peer = link.peer else {
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
        links[id]?.peer = peer
        switch manager.established(id, peer: peer.id, peerKey: hello.nodeKey, listenAddress: hello.listenAddress, now: Self.now()) {
        case .duplicate(let effects):
            perform(effects)
            return
        case .connected(let effects, let replaced):
            perform(effects)
            // Both nodes dialed and the duplicate rule kept this connection: requests that left on the one it
            // replaced may be lost with it.
            if replaced != nil { resendRequests(to: peer.id) }
        }
        // A node the peer's hello told of is news to the others too; and the peer hears of every hosting node this
        // one knows (an announcement is gossiped only when it changes, so a late joiner would not).
        if learn(hello.instances, from: peer.id) && !hello.instances.instances.isEmpty {
            perform(gossip.publish(GossipMessage(topic: .instances, payload: hello.instances.canonicalBytes), now: Self.now()))
        }
        for known in directory.hostingAnnouncements where known.node != hello.nodeKey {
            send(Frame(kind: .gossip, message: GossipMessage(topic: .instances, payload: known.canonicalBytes)), to: peer.id)
        }
        perform(gossip.peerConnected(peer.id, now: Self.now()))
        logger.info("peer \(peer.id.prefix(16)) connected (\(peer.inbound ? "inbound from" : "outbound to") \(link.connection.address), roles \(peer.roles))")
        broadcast(.peerConnected(peer))
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
            receivedGossip(try decode(GossipMessage.self), from: peer.id)
        case .ihave:
            perform(gossip.receivedIHave(try decode(MessageIds.self).ids, from: peer.id, now: Self.now()))
        case .iwant:
            perform(gossip.receivedIWant(try decode(MessageIds.self).ids, from: peer.id))
        case .direct:
            let message = try decode(AddressedMessage.self)
            route(message.address, from: peer.id) { .direct(message.payload, instance: message.address.instance, from: peer.id) }
        case .request:
            let request = try decode(Correlated.self)
            route(request.address, from: peer.id) {
                .request(request.payload, instance: request.address.instance, requestId: request.id, from: peer.id)
            }
        case .response:
            receivedResponse(try decode(Correlated.self), from: peer.id)
        case .ping:
            link.connection.enqueue(Frame(kind: .pong, payload: frame.payload))
        case .pong:
            break
        case .peers:
            manager.learned(try decode(PeerAddresses.self).addresses)
        case .graft:
            perform(gossip.receivedGraft(from: peer.id))
        case .prune:
            gossip.receivedPrune(from: peer.id)
        case .goodbye:
            throw .closedByPeer(reason: String(decoding: frame.payload.prefix(200), as: UTF8.self))
        }
    }

    func send(_ frame: Frame, to peer: String) {
        guard let id = manager.connection(of: peer), let link = links[id] else { return }
        if link.connection.enqueue(frame) == .full {
            refuse(id, .slowPeer(queuedBytes: link.connection.queuedBytes, limit: configuration.sendQueueLimitBytes))
        }
    }

    // MARK: Posting

    /// Queues a message for sending, in order, from any context. Shells producing many messages (a chain
    /// service carrying out consensus effects) use this instead of one awaiting task per message. Past
    /// `outgoingLimit` waiting messages the newest are dropped and counted.
    public nonisolated func post(_ message: Outgoing) {
        if case .dropped = outgoingSink.yield(message) { overflow.outgoingDropped.add(1, ordering: .relaxed) }
    }

    private func send(_ message: Outgoing) {
        switch message {
        case .publish(let topic, let payload):
            publish(topic, payload: payload)
        case .direct(let payload, let peer, let address):
            // A peer that left meanwhile simply misses the message, as with any send to a closing socket.
            try? sendDirect(payload, to: peer, address: address)
        }
    }

    var overflowCounts: (overloadedConnections: UInt64, outgoingDropped: UInt64) {
        (overflow.overloadedConnections.load(ordering: .relaxed), overflow.outgoingDropped.load(ordering: .relaxed))
    }
}

/// Overflow counts of the bounded streams, incremented where they overflow (off the actor).
private final class OverflowCounters: Sendable {
    let overloadedConnections = Atomic<UInt64>(0)
    let outgoingDropped = Atomic<UInt64>(0)
}
