import AlzaCore

/// Gossip (DESIGN.md §8, after libp2p gossipsub) as a pure state machine: a message is pushed in full to a mesh
/// of `meshDegree` peers (kept between `meshLow` and `meshHigh`), announced lazily (`ihave`) to `lazyDegree` of the
/// other peers chosen at random, who fetch it (`iwant`) only if they lack it. Mesh links are symmetric (`graft`/`prune`): a node in someone's
/// mesh has it in its own, so every node receives pushes, not only announcements. A seen-cache makes every node
/// deliver a message once; a message cache serves `iwant` for `messageCacheMilliseconds`.
///
/// A received message is delivered to the application but not forwarded: the application forwards it (with
/// `publish`) once it has validated it, so invalid messages do not spread.
public struct GossipCore: Sendable {
    public struct Configuration: Sendable {
        public var meshDegree = 6
        public var meshLow = 4
        public var meshHigh = 12
        public var seenMilliseconds: UInt64 = 120_000
        public var messageCacheMilliseconds: UInt64 = 120_000
        public var messageCacheLimit = 20_000
        /// An `iwant` not answered within this time may be sent to another announcer.
        public var iwantTimeoutMilliseconds: UInt64 = 3_000
        /// A new peer is told (`ihave`) about the messages of this last stretch of time: what it missed while it
        /// was connecting, or what was lost on a connection that was replaced.
        public var recentAnnounceMilliseconds: UInt64 = 10_000
        /// Peers outside the mesh an `ihave` goes to per message (gossipsub's D_lazy), drawn at random. A node
        /// announces to all its peers up to this many (64, the default peer limit): on a 23+4 testnet announcing to
        /// 6 only held 200 transfers/s instead of 300, since transactions then reach producers through mesh hops
        /// alone (D29). The simulator uses 6, which keeps a simulated day fast.
        public var lazyDegree = 64
        public init() {}
    }

    public enum Effect: Sendable, Equatable {
        case send(Frame, to: String)
        /// Give the message to the application (first time seen).
        case deliver(GossipMessage, id: Hash, from: String)
    }

    public let configuration: Configuration
    private var random: SeededRandom
    private var peers: [String] = []
    /// Whether `peers[i]` is in the mesh: a publication walks the peers in order (deterministic effects) and
    /// reads a flag instead of hashing each name into `mesh`.
    private var inMesh: [Bool] = []
    public private(set) var mesh: Set<String> = []
    /// id → peers it came from or that announced it (never sent or announced to). A few peers per id: an array
    /// compares a handful of short strings where a set would hash each one.
    private var seen: [Hash: [String]] = [:]
    private var seenExpiry: [(expiry: UInt64, id: Hash)] = []
    private var seenExpiryStart = 0
    private var cache: [Hash: GossipMessage] = [:]
    private var cacheOrder: [(expiry: UInt64, id: Hash)] = []
    private var cacheOrderStart = 0
    private var requested: [Hash: UInt64] = [:]
    /// Ids to announce per peer at the next flush.
    private var announcements: [String: [Hash]] = [:]

    public init(configuration: Configuration = Configuration(), seed: UInt64) {
        self.configuration = configuration
        random = SeededRandom(seed: seed)
    }

    public var connectedPeers: [String] { peers }

    // MARK: Peers

    /// A new peer joins the mesh (with a `graft`) while the mesh is below its degree, and hears of the recent
    /// messages. A peer whose connection was replaced hears of them again.
    public mutating func peerConnected(_ peer: String, now: UInt64) -> [Effect] {
        var effects: [Effect] = []
        if !peers.contains(peer) {
            peers.append(peer)
            inMesh.append(false)
            if mesh.count < configuration.meshDegree {
                setMesh(peer, true)
                effects.append(.send(Frame(kind: .graft, payload: []), to: peer))
            }
        }
        var recent: [Hash] = []
        var index = cacheOrder.count - 1
        while index >= cacheOrderStart, recent.count < MessageIds.maximum,
              cacheOrder[index].expiry >= now + configuration.messageCacheMilliseconds - configuration.recentAnnounceMilliseconds {
            let id = cacheOrder[index].id
            if cache[id] != nil, seen[id]?.contains(peer) != true { recent.append(id) }
            index -= 1
        }
        if !recent.isEmpty { effects.append(.send(Frame(kind: .ihave, message: MessageIds(recent.reversed())), to: peer)) }
        return effects
    }

    public mutating func peerDisconnected(_ peer: String) {
        if let index = peers.firstIndex(of: peer) {
            peers.remove(at: index)
            inMesh.remove(at: index)
        }
        mesh.remove(peer)
        announcements[peer] = nil
    }

    /// `peer` put this node in its mesh: reciprocate, or refuse with a `prune` when the mesh is at its high bound.
    public mutating func receivedGraft(from peer: String) -> [Effect] {
        guard peers.contains(peer), !mesh.contains(peer) else { return [] }
        guard mesh.count < configuration.meshHigh else { return [.send(Frame(kind: .prune, payload: []), to: peer)] }
        setMesh(peer, true)
        return []
    }

    /// `peer` took this node out of its mesh: the link is no longer a mesh link on either side.
    public mutating func receivedPrune(from peer: String) {
        setMesh(peer, false)
    }

    private mutating func setMesh(_ peer: String, _ member: Bool) {
        guard let index = peers.firstIndex(of: peer) else { return }
        inMesh[index] = member
        if member { mesh.insert(peer) } else { mesh.remove(peer) }
    }

    // MARK: Messages

    /// Sends `message` (this node's own, or one it received and validated) to the mesh, and queues an `ihave`
    /// for the other peers. Peers it came from are skipped.
    public mutating func publish(_ message: GossipMessage, now: UInt64) -> [Effect] {
        let id = message.id
        let sources: [String]
        if let known = seen[id] { sources = known } else {
            sources = []
            markSeen(id, now: now)
        }
        remember(message, id: id, now: now)
        var effects: [Effect] = []
        let frame = Frame(kind: .gossip, message: message)
        var others: [String] = []
        for (index, peer) in peers.enumerated() where !sources.contains(peer) {
            if inMesh[index] {
                effects.append(.send(frame, to: peer))
            } else {
                others.append(peer)
            }
        }
        // A random `lazyDegree` of the rest (a partial Fisher-Yates shuffle on the seeded generator).
        let announced = min(others.count, configuration.lazyDegree)
        for index in 0..<announced {
            others.swapAt(index, index + random.next(below: others.count - index))
            announcements[others[index], default: []].append(id)
        }
        return effects
    }

    /// A full message from `peer`: delivered once, remembered for `iwant`.
    public mutating func received(_ message: GossipMessage, from peer: String, now: UInt64) -> [Effect] {
        let id = message.id
        if !requested.isEmpty { requested[id] = nil }
        if let index = seen.index(forKey: id) {
            markHolding(peer, at: index)
            return []
        }
        markSeen(id, now: now, from: peer)
        remember(message, id: id, now: now)
        return [.deliver(message, id: id, from: peer)]
    }

    public mutating func receivedIHave(_ ids: [Hash], from peer: String, now: UInt64) -> [Effect] {
        var wanted: [Hash] = []
        for id in ids {
            // An announcement proves the peer holds the message: it is neither pushed nor announced to it.
            if let index = seen.index(forKey: id) {
                markHolding(peer, at: index)
                continue
            }
            if let asked = requested[id], now < asked + configuration.iwantTimeoutMilliseconds { continue }
            requested[id] = now
            wanted.append(id)
        }
        guard !wanted.isEmpty else { return [] }
        return [.send(Frame(kind: .iwant, message: MessageIds(wanted)), to: peer)]
    }

    public mutating func receivedIWant(_ ids: [Hash], from peer: String) -> [Effect] {
        ids.compactMap { id in cache[id].map { .send(Frame(kind: .gossip, message: $0), to: peer) } }
    }

    /// Periodic work: flush announcements, keep the mesh between its bounds, forget expired entries.
    public mutating func tick(now: UInt64) -> [Effect] {
        var effects: [Effect] = []
        for peer in announcements.keys.sorted() {
            // Not what the peer announced or sent to this node since the message was queued.
            guard let ids = announcements[peer]?.filter({ seen[$0]?.contains(peer) != true }), !ids.isEmpty else { continue }
            for start in stride(from: 0, to: ids.count, by: MessageIds.maximum) {
                let chunk = Array(ids[start..<min(ids.count, start + MessageIds.maximum)])
                effects.append(.send(Frame(kind: .ihave, message: MessageIds(chunk)), to: peer))
            }
        }
        announcements.removeAll(keepingCapacity: true)
        effects += maintainMesh()
        expire(now: now)
        return effects
    }

    /// Grafts random peers when the mesh fell below its low bound; prunes random members above the high bound.
    private mutating func maintainMesh() -> [Effect] {
        var effects: [Effect] = []
        if mesh.count < configuration.meshLow {
            var candidates = peers.filter { !mesh.contains($0) }
            while mesh.count < configuration.meshDegree, !candidates.isEmpty {
                let peer = candidates.remove(at: random.next(below: candidates.count))
                setMesh(peer, true)
                effects.append(.send(Frame(kind: .graft, payload: []), to: peer))
            }
        } else if mesh.count > configuration.meshHigh {
            var members = mesh.sorted()
            while members.count > configuration.meshDegree {
                let peer = members.remove(at: random.next(below: members.count))
                setMesh(peer, false)
                effects.append(.send(Frame(kind: .prune, payload: []), to: peer))
            }
        }
        return effects
    }

    private mutating func markSeen(_ id: Hash, now: UInt64, from peer: String? = nil) {
        seen[id] = peer.map { [$0] } ?? []
        seenExpiry.append((now + configuration.seenMilliseconds, id))
    }

    private mutating func markHolding(_ peer: String, at index: Dictionary<Hash, [String]>.Index) {
        if !seen.values[index].contains(peer) { seen.values[index].append(peer) }
    }

    private mutating func remember(_ message: GossipMessage, id: Hash, now: UInt64) {
        guard cache[id] == nil else { return }
        cache[id] = message
        cacheOrder.append((now + configuration.messageCacheMilliseconds, id))
        while cache.count > configuration.messageCacheLimit, cacheOrderStart < cacheOrder.count {
            cache[cacheOrder[cacheOrderStart].id] = nil
            cacheOrderStart += 1
        }
    }

    private mutating func expire(now: UInt64) {
        while seenExpiryStart < seenExpiry.count, seenExpiry[seenExpiryStart].expiry <= now {
            seen[seenExpiry[seenExpiryStart].id] = nil
            seenExpiryStart += 1
        }
        if seenExpiryStart > 4_096 {
            seenExpiry.removeFirst(seenExpiryStart)
            seenExpiryStart = 0
        }
        while cacheOrderStart < cacheOrder.count, cacheOrder[cacheOrderStart].expiry <= now {
            cache[cacheOrder[cacheOrderStart].id] = nil
            cacheOrderStart += 1
        }
        if cacheOrderStart > 4_096 {
            cacheOrder.removeFirst(cacheOrderStart)
            cacheOrderStart = 0
        }
        // Rebuilt only when something expired: most ticks have nothing requested, or nothing overdue.
        let timeout = configuration.iwantTimeoutMilliseconds
        if requested.values.contains(where: { now >= $0 + timeout }) {
            requested = requested.filter { now < $0.value + timeout }
        }
    }

    /// Entries in the seen-cache (bounded by the message rate times `seenMilliseconds`).
    public var seenCount: Int { seen.count }
}
