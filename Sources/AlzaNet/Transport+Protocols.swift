import AlzaCore
import Logging

/// The multiplexed half of the transport (DESIGN.md §1, §8): protocols register and get their own bounded
/// inbox; direct, request and response frames are routed by actor address; gossip topics by their owner;
/// instance announcements (hello and the `instances` topic) feed the directory that finds an actor's node.
extension Transport {
    // MARK: Protocols

    /// Registers a protocol and returns its inbox: its messages, and every peer change and refusal. A full
    /// inbox drops the newest events and counts them (`statistics.protocols`); it never grows past
    /// `inboxCapacity`. Peers already connected are reported first.
    public func register(_ registration: ProtocolRegistration) throws(NetworkError) -> AsyncStream<TransportEvent> {
        try registry.register(registration)
        let (stream, inbox) = AsyncStream.makeStream(of: TransportEvent.self,
                                                     bufferingPolicy: .bufferingOldest(registration.inboxCapacity))
        inboxes[registration.id] = inbox
        counters.protocols[registration.id] = counters.protocols[registration.id] ?? ProtocolTraffic(priority: registration.priority)
        for peer in peers { deliver(.peerConnected(peer), to: registration.id, priority: registration.priority) }
        flush()
        logger.info("protocol \(registration.id) registered (priority \(registration.priority), topics \(registration.topics.sorted().map(\.description)))")
        return stream
    }

    /// Ends a protocol's inbox and withdraws its instances (a role stopped).
    public func unregister(_ id: ProtocolId) {
        let hadInstances = registry.hosted[id]?.isEmpty == false
        registry.unregister(id)
        inboxes.removeValue(forKey: id)?.finish()
        if hadInstances { announceInstances() }
    }

    /// Starts hosting an instance of a registered protocol (e.g. the leader of a field) and announces it.
    public func host(_ instance: InstanceId, of id: ProtocolId) throws(NetworkError) {
        if try registry.host(instance, of: id) { announceInstances() }
    }

    /// Stops hosting an instance and announces that.
    public func withdraw(_ instance: InstanceId, of id: ProtocolId) {
        if registry.withdraw(instance, of: id) { announceInstances() }
    }

    /// The nodes (ids) that announced hosting `address`, this one included, in key order.
    public func hosts(of address: ActorAddress) -> [String] { directory.hosts(of: address).map(\.hex) }

    /// Connects to `node` (by the listen address it announced) unless connected already, and waits up to
    /// `timeoutMilliseconds` for the handshake; true once connected. For actors the mesh did not bring near.
    public func ensureConnected(to node: String, timeoutMilliseconds: UInt64 = 3_000) async -> Bool {
        if manager.connection(of: node) != nil { return true }
        guard let key = try? PublicKey(hex: node), let address = directory.listenAddress(of: key) else { return false }
        connect(to: address)
        let deadline = Self.now() + timeoutMilliseconds
        while Self.now() < deadline {
            try? await Task.sleep(for: .milliseconds(20))
            if manager.connection(of: node) != nil { return true }
        }
        return false
    }

    /// The instances a node announced.
    public func instances(of node: String) -> [ActorAddress] {
        guard let key = try? PublicKey(hex: node) else { return [] }
        return directory.instances(of: key)
    }

    func announceInstances() {
        announcement = .signed(by: configuration.nodeKey, chainId: configuration.chainId,
                               sequence: max(announcement.sequence + 1, Self.now()), instances: registry.hostedAddresses,
                               listenAddress: boundAddress ?? "")
        _ = directory.apply(announcement)
        perform(gossip.publish(GossipMessage(topic: .instances, payload: announcement.canonicalBytes), now: Self.now()))
        flush()
    }

    /// Applies a peer's announcement; true when it was new (a gossiped one is forwarded then).
    @discardableResult
    func learn(_ announcement: InstanceAnnouncement, from peer: String) -> Bool {
        switch directory.apply(announcement) {
        case .updated:
            counters.announcementsApplied += 1
            return true
        case .stale:
            return false
        case .invalid:
            counters.announcementsInvalid += 1
            logger.warning("instance announcement of \(announcement.node.hex.prefix(16)) from \(peer.prefix(16)) is not validly signed; ignored")
            return false
        case .full(let capacity):
            logger.warning("instance directory holds \(capacity) nodes; announcement of \(announcement.node.hex.prefix(16)) ignored")
            return false
        }
    }

    // MARK: Delivery

    func deliver(_ event: TransportEvent, to id: ProtocolId, priority: ProtocolPriority) {
        pendingDeliveries.append((id, priority, event))
    }

    /// An event for every protocol (peer changes, refusals).
    func broadcast(_ event: TransportEvent) {
        for (id, registration) in registry.registrations { deliver(event, to: id, priority: registration.priority) }
    }

    /// Hands the step's deliveries to their inboxes, most urgent protocol first (a batch of frames that holds a
    /// block and transactions wakes the chain's consensus work before anything else). Stable within a priority.
    func flush() {
        guard !pendingDeliveries.isEmpty else { return }
        // Most steps deliver to one protocol: sort only when priorities differ.
        let first = pendingDeliveries[0].priority
        let batch = pendingDeliveries.allSatisfy({ $0.priority == first }) ? pendingDeliveries
            : pendingDeliveries.enumerated()
                .sorted { ($0.element.priority, $0.offset) < ($1.element.priority, $1.offset) }.map(\.element)
        pendingDeliveries.removeAll(keepingCapacity: true)
        for delivery in batch {
            guard let inbox = inboxes[delivery.protocolId] else { continue }
            if case .dropped = inbox.yield(delivery.event) {
                counters.protocols[delivery.protocolId]?.dropped += 1
                counters.eventsDropped += 1
                let dropped = counters.protocols[delivery.protocolId]?.dropped ?? 0
                if dropped.nonzeroBitCount == 1 {   // 1, 2, 4, 8, ...: a line per doubling, not per event
                    logger.error("protocol \(delivery.protocolId)'s inbox is full; \(dropped) events dropped so far")
                }
            } else {
                counters.protocols[delivery.protocolId]?.delivered += 1
            }
        }
    }

    /// Routes an addressed message: delivered to its protocol's inbox, or counted and logged as unroutable
    /// (not the peer's fault: it may hold an older directory).
    func route(_ address: ActorAddress, from peer: String, event: () -> TransportEvent) {
        switch registry.route(address) {
        case .deliver(let id, let priority):
            deliver(event(), to: id, priority: priority)
        case .unregisteredProtocol, .unknownInstance, .unregisteredTopic:
            unroutable("message for \(address) from \(peer.prefix(16))")
        }
    }

    private func unroutable(_ what: String) {
        counters.unroutable += 1
        if counters.unroutable.nonzeroBitCount == 1 {
            logger.warning("\(what): not served by this node, dropped (\(counters.unroutable) unroutable so far)")
        }
    }

    func receivedGossip(_ message: GossipMessage, from peer: String) {
        // A topic no protocol owns is neither delivered nor relayed nor cached.
        if message.topic != .instances, case .unregisteredTopic = registry.route(message.topic) {
            unroutable("gossip on topic \(message.topic) from \(peer.prefix(16))")
            return
        }
        let effects = gossip.received(message, from: peer, now: Self.now())
        if effects.isEmpty { counters.gossipDuplicates += 1 } else { counters.gossipReceived += 1 }
        perform(effects)
    }

    func perform(_ effects: [GossipCore.Effect]) {
        for effect in effects {
            switch effect {
            case .send(let frame, let peer):
                send(frame, to: peer)
            case .deliver(let message, _, let from) where message.topic == .instances:
                guard let announcement = try? InstanceAnnouncement(canonicalBytes: message.payload) else {
                    counters.announcementsInvalid += 1
                    logger.warning("undecodable instance announcement from \(from.prefix(16)) ignored")
                    continue
                }
                // Forwarded only when new and valid: the transport validates its own topic.
                if learn(announcement, from: from) { perform(gossip.publish(message, now: Self.now())) }
            case .deliver(let message, let id, let from):
                if case .deliver(let owner, let priority) = registry.route(message.topic) {
                    deliver(.gossip(message, id: id, from: from), to: owner, priority: priority)
                } else {
                    unroutable("gossip on topic \(message.topic) from \(from.prefix(16))")
                }
            }
        }
    }

    func receivedResponse(_ response: Correlated, from peer: String) {
        switch correlator.received(response: response.id, from: peer) {
        case .matched(let id):
            waiting.removeValue(forKey: id)?.caller.resume(returning: response.payload)
        case .unknown(let id):
            logger.debug("response \(id) from \(peer.prefix(16)) matches no outstanding request (late or unasked); ignored")
        case .wrongPeer(let id, let asked):
            logger.warning("response \(id) from \(peer.prefix(16)), but \(asked.prefix(16)) was asked; ignored")
        }
    }

    // MARK: Sending

    /// Gossips a message: this node's own, or one it received and validated (forwarding it). The topic must be
    /// owned by a registered protocol.
    public func publish(_ topic: GossipTopic, payload: [UInt8]) {
        precondition(registry.owner(of: topic) != nil, "gossip topic \(topic) is not registered by any protocol")
        perform(gossip.publish(GossipMessage(topic: topic, payload: payload), now: Self.now()))
        flush()
    }

    /// Sends a point-to-point message to the actor at `address` on `peer`.
    public func sendDirect(_ payload: [UInt8], to peer: String, address: ActorAddress) throws(NetworkError) {
        guard manager.connection(of: peer) != nil else { throw .notConnected(peer: peer) }
        send(Frame(kind: .direct, message: AddressedMessage(address: address, payload: payload)), to: peer)
    }

    /// Sends a request to the actor at `address` on `peer` and waits for its response; fails with
    /// `requestTimeout` after the timeout, `notConnected` when the peer leaves, `tooManyRequests` at the limit.
    public func request(_ payload: [UInt8], to peer: String, address: ActorAddress,
                        timeoutMilliseconds: UInt64? = nil) async throws -> [UInt8] {
        guard manager.connection(of: peer) != nil else { throw NetworkError.notConnected(peer: peer) }
        let timeout = timeoutMilliseconds ?? configuration.requestTimeoutMilliseconds
        guard let id = correlator.start(to: peer, address: address, now: Self.now(), timeoutMilliseconds: timeout) else {
            throw NetworkError.tooManyRequests(limit: correlator.limit)
        }
        return try await withCheckedThrowingContinuation { continuation in
            let frame = Frame(kind: .request, message: Correlated(address: address, id: id, payload: payload))
            waiting[id] = (continuation, frame)
            send(frame, to: peer)
        }
    }

    /// Sends the outstanding requests to `peer` again, on its connection now. The peer may answer one twice; the
    /// second answer matches no outstanding request and is ignored (`RequestCorrelator.ResponseOutcome.unknown`).
    func resendRequests(to peer: String) {
        for (id, pending) in correlator.pending.sorted(by: { $0.key < $1.key }) where pending.peer == peer {
            guard let frame = waiting[id]?.frame else { continue }
            send(frame, to: peer)
            counters.requestsResent += 1
        }
    }

    /// Answers a request received as `.request` (the address is the answering actor's, as the request named it).
    public func respond(to peer: String, requestId: UInt64, address: ActorAddress, payload: [UInt8]) {
        send(Frame(kind: .response, message: Correlated(address: address, id: requestId, payload: payload)), to: peer)
    }

    // MARK: Inspection

    public var peers: [PeerInfo] { manager.byPeer.values.compactMap { links[$0]?.peer }.sorted { $0.id < $1.id } }

    public var meshPeers: Set<String> { gossip.mesh }

    public var statistics: TransportStatistics {
        var statistics = counters
        statistics.peers = manager.peerCount
        for (_, link) in links {
            let connection = link.connection.statistics
            statistics.framesSent += connection.framesSent
            statistics.bytesSent += connection.bytesSent
            statistics.bytesReceived += connection.bytesReceived
        }
        (statistics.overloadedConnections, statistics.outgoingDropped) = overflowCounts
        return statistics
    }
}
