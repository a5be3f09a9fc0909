import AlzaCore
import AlzaField
import AlzaLedger
import AlzaNetCore

/// The transport's part of the `field` protocol on a simulated node, as `Transport` and `FieldService` do it on a
/// node (DESIGN.md §1, §8): instance announcements in hellos and on the `instances` gossip topic into the
/// node's `InstanceDirectory`; direct, request and response frames routed by its `ProtocolRegistry` to the actor
/// they address; requests correlated and timed out by its `RequestCorrelator`, and failed when their peer's
/// connection closes. A host the mesh did not connect is dialed, as `Transport.ensureConnected` does; a message
/// for an actor on the node itself is delivered without the network.
extension Simulation {
    // MARK: Announcements

    /// The node announces the instances it hosts now: in its hellos from now on, and by gossip at once.
    func announceInstances(of node: Node) {
        guard let host = node.fields, let previous = mesh.announcement(of: node.index) else { return }
        let announcement = InstanceAnnouncement.signed(by: node.key, chainId: genesis.chainId,
                                                       sequence: max(previous.sequence + 1, node.clock.read(at: time)),
                                                       instances: host.registry.hostedAddresses)
        mesh.setAnnouncement(announcement, of: node.index)
        fieldCounters.announcementsMade += 1
        route(mesh.publish(payload: announcement.canonicalBytes, topic: .instances, from: node.index, now: node.clock.read(at: time)),
              from: node)
        armGossipTick(node)
    }

    /// An announcement a peer's hello carried, or one gossiped (`gossiped`: its bytes are forwarded when new).
    /// A new peer is also told of every hosting node this one knows (an announcement is gossiped only when it
    /// changes, so a late joiner would not hear of it), as `Transport` does.
    func learn(_ announcement: InstanceAnnouncement, at node: Node, from peer: Node, gossiped: [UInt8]?) {
        guard let host = node.fields else { return }
        switch host.directory.apply(announcement) {
        case .updated:
            fieldCounters.announcementsApplied += 1
            if let bytes = gossiped ?? (announcement.instances.isEmpty ? nil : announcement.canonicalBytes) {
                route(mesh.publish(payload: bytes, topic: .instances, from: node.index, now: node.clock.read(at: time)), from: node)
                armGossipTick(node)
            }
        case .stale:
            break
        case .invalid, .full:
            fieldCounters.announcementsRefused += 1
        }
        guard gossiped == nil else { return }
        for known in host.directory.hostingAnnouncements where known.node != announcement.node {
            transmit(Frame(kind: .gossip, message: GossipMessage(topic: .instances, payload: known.canonicalBytes)), from: node, to: peer)
        }
    }

    func learnGossiped(_ bytes: [UInt8], at node: Node, from peer: Node) {
        guard node.fields != nil else { return }
        guard let announcement = try? InstanceAnnouncement(canonicalBytes: bytes) else {
            fieldCounters.announcementsRefused += 1
            return
        }
        learn(announcement, at: node, from: peer, gossiped: bytes)
    }

    /// The nodes hosting `address` as `node` knows them: itself when its registry hosts it, then the directory's.
    func hosts(of address: ActorAddress, at node: Node) -> [Node] {
        guard let host = node.fields else { return [] }
        var found: [Node] = []
        if let instance = address.instance, host.registry.hosted[address.protocolId]?.contains(instance) == true { found.append(node) }
        for key in host.directory.hosts(of: address) {
            if let index = nodeIndex[key], index != node.index { found.append(nodes[index]) }
        }
        return found
    }

    // MARK: Sending

    /// Whether `node` can send to `host` now: itself, or a connection, dialed first when the mesh made none.
    private func ensureConnected(_ node: Node, to host: Node) -> Bool {
        if host === node { return true }
        if !mesh.isConnected(node.index, host.index) { dial(from: node, to: host) }
        return mesh.isConnected(node.index, host.index)
    }

    /// A frame to `host`: to the node itself without the network, to another over its connection. False when no
    /// connection could be made.
    private func deliver(_ frame: Frame, from node: Node, to host: Node) -> Bool {
        guard ensureConnected(node, to: host) else { return false }
        if host === node {
            queue.schedule(.frame(node: node.index, generation: node.generation, frame: frame, from: node.index), at: time)
        } else {
            transmit(frame, from: node, to: host)
        }
        return true
    }

    /// A direct message to the actor at `address`: to its first host, or to every host (`everyHost`: an account
    /// is not bound to a node). `onlyHost`: the one node that may host it (a field's leader is its key's node).
    @discardableResult
    func sendField(_ message: FieldWireMessage, to address: ActorAddress, from node: Node, onlyHost: Int? = nil,
                   everyHost: Bool = false) -> Bool {
        let frame = Frame(kind: .direct, message: AddressedMessage(address: address, payload: message.canonicalBytes))
        var sent = false
        for host in hosts(of: address, at: node) where onlyHost == nil || host.index == onlyHost {
            guard deliver(frame, from: node, to: host) else { continue }
            sent = true
            if !everyHost { break }
        }
        if !sent { fieldCounters.undeliverable += 1 }
        return sent
    }

    /// A request to the actor at `address` on its host (`onlyHost` as for `sendField`), correlated by the node's
    /// `RequestCorrelator`; its answer or failure comes back to `answered`/`requestFailed` with `request`. False
    /// when no host is known or reachable, or too many requests are out (the caller tries again later).
    func requestField(_ message: FieldWireMessage, to address: ActorAddress, from node: Node, onlyHost: Int? = nil,
                      for request: SimulatedFieldHost.Request) -> Bool {
        guard let fields = node.fields,
              let target = hosts(of: address, at: node).first(where: { onlyHost == nil || $0.index == onlyHost }) else {
            fieldCounters.undeliverable += 1
            return false
        }
        guard ensureConnected(node, to: target) else {
            fieldCounters.undeliverable += 1
            return false
        }
        let local = node.clock.read(at: time)
        guard let id = fields.correlator.start(to: target.name, address: address, now: local,
                                              timeoutMilliseconds: FieldTimings.requestTimeoutMilliseconds) else {
            fieldCounters.requestsRefusedAtLimit += 1
            return false
        }
        _ = deliver(Frame(kind: .request, message: Correlated(address: address, id: id, payload: message.canonicalBytes)),
                    from: node, to: target)
        fields.requests[id] = request
        fieldCounters.requestsSent += 1
        armFieldTick(node)
        return true
    }

    func respond(_ reply: SimulatedFieldHost.Reply, with answer: FieldWireMessage, from node: Node) {
        let frame = Frame(kind: .response, message: Correlated(address: reply.address, id: reply.requestId, payload: answer.canonicalBytes))
        // A requester that went away misses the answer, as over a closed socket.
        _ = deliver(frame, from: node, to: nodes[reply.node])
    }

    // MARK: Receiving

    /// A direct, request or response frame at `node` from `peer` (itself for a local message), routed by the
    /// node's registry. What cannot be decoded or names no actor here is counted, and a request gets a refusal.
    func receiveAddressed(_ frame: Frame, at node: Node, from peer: Node) {
        guard let fields = node.fields else { return }
        do {
            switch frame.kind {
            case .direct:
                let message = try AddressedMessage(canonicalBytes: frame.payload)
                guard case .deliver = fields.registry.route(message.address) else {
                    fieldCounters.unroutable += 1
                    return
                }
                fieldDirect(try FieldWireMessage(canonicalBytes: message.payload), instance: message.address.instance, at: node, from: peer)
            case .request:
                let request = try Correlated(canonicalBytes: frame.payload)
                let reply = SimulatedFieldHost.Reply(node: peer.index, requestId: request.id, address: request.address)
                guard case .deliver = fields.registry.route(request.address) else {
                    fieldCounters.unroutable += 1
                    respond(reply, with: .refused(code: "field.unknown-here", reason: "no actor \(request.address) on this node"), from: node)
                    return
                }
                fieldRequest(try FieldWireMessage(canonicalBytes: request.payload), instance: request.address.instance,
                             at: node, from: peer, reply: reply)
            case .response:
                let response = try Correlated(canonicalBytes: frame.payload)
                guard case .matched(let id) = fields.correlator.received(response: response.id, from: peer.name),
                      let request = fields.requests.removeValue(forKey: id) else {
                    fieldCounters.responsesUnmatched += 1
                    return
                }
                answered(request, with: try FieldWireMessage(canonicalBytes: response.payload), at: node)
            default:
                preconditionFailure("only addressed frames reach the field protocol, not \(frame.kind)")
            }
        } catch {
            fieldCounters.undecodable += 1
        }
    }

    // MARK: Time

    /// The node's field work runs every `fieldTickMilliseconds` (local time) while it hosts field actors or has
    /// requests out: leaders propose snapshots on their cadence and the correlator expires requests.
    func armFieldTick(_ node: Node) {
        guard node.fields != nil, !node.fieldTickPending, node.core != nil else { return }
        node.fieldTickPending = true
        queue.schedule(.fieldTick(node: node.index, generation: node.generation), at: time + Self.fieldTickMilliseconds)
    }

    static let fieldTickMilliseconds: UInt64 = 500

    func fieldTick(_ node: Node) {
        node.fieldTickPending = false
        guard let fields = node.fields else { return }
        let local = node.clock.read(at: time)
        for (id, peer) in fields.correlator.expire(now: local) {
            fieldCounters.requestsTimedOut += 1
            if let request = fields.requests.removeValue(forKey: id) { requestFailed(request, at: node, reason: "no answer from \(peer)") }
        }
        for field in fields.leaders.keys.sorted() {
            guard let effects = fields.leaders[field]?.core.tick(now: local) else { continue }
            performLeader(effects, field: field, at: node)
        }
        if !fields.leaders.isEmpty || !fields.requests.isEmpty { armFieldTick(node) }
    }

    /// The node's connection to `peer` closed (it crashed): requests out to it fail now, as on a node.
    func fieldPeerGone(_ peer: Node, at node: Node) {
        guard let fields = node.fields else { return }
        for id in fields.correlator.peerDisconnected(peer.name) {
            fieldCounters.requestsFailedByDisconnect += 1
            if let request = fields.requests.removeValue(forKey: id) { requestFailed(request, at: node, reason: "\(peer.name) went away") }
        }
    }
}
