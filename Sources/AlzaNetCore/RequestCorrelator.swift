/// Outstanding requests of a node and their deadlines (DESIGN.md §8: correlation and timeouts in a pure core,
/// time as input). The transport keeps only the callers' continuations, keyed by the ids this core hands out;
/// every decision — which response matches, which request timed out, which fail with their peer — is here.
public struct RequestCorrelator: Sendable {
    public struct Pending: Sendable, Equatable {
        public var peer: String
        public var address: ActorAddress
        public var deadline: UInt64
    }

    /// What became of a response frame.
    public enum ResponseOutcome: Sendable, Equatable {
        /// It answers request `id`: resume its caller.
        case matched(id: UInt64)
        /// No such request is outstanding (answered already, timed out, or never asked): ignored.
        case unknown(id: UInt64)
        /// Request `id` was sent to another peer: only the peer that was asked may answer (ignored).
        case wrongPeer(id: UInt64, asked: String)
    }

    public private(set) var pending: [UInt64: Pending] = [:]
    private var nextId: UInt64 = 1
    public let limit: Int

    public init(limit: Int = 65_536) {
        precondition(limit > 0, "at least one request may be outstanding")
        self.limit = limit
    }

    /// Starts a request; nil when `limit` requests are outstanding already (the caller is told, not queued).
    public mutating func start(to peer: String, address: ActorAddress, now: UInt64, timeoutMilliseconds: UInt64) -> UInt64? {
        guard pending.count < limit else { return nil }
        let id = nextId
        nextId += 1
        pending[id] = Pending(peer: peer, address: address, deadline: now + timeoutMilliseconds)
        return id
    }

    public mutating func received(response id: UInt64, from peer: String) -> ResponseOutcome {
        guard let request = pending[id] else { return .unknown(id: id) }
        guard request.peer == peer else { return .wrongPeer(id: id, asked: request.peer) }
        pending[id] = nil
        return .matched(id: id)
    }

    /// Requests whose deadline is at or before `now`, removed, in id order.
    public mutating func expire(now: UInt64) -> [(id: UInt64, peer: String)] {
        let expired = pending.filter { $0.value.deadline <= now }.map { (id: $0.key, peer: $0.value.peer) }.sorted { $0.id < $1.id }
        for request in expired { pending[request.id] = nil }
        return expired
    }

    /// Requests to `peer`, removed: they fail now rather than at their deadline.
    public mutating func peerDisconnected(_ peer: String) -> [UInt64] {
        let failed = pending.filter { $0.value.peer == peer }.map(\.key).sorted()
        for id in failed { pending[id] = nil }
        return failed
    }

    /// Every outstanding request, removed (the transport stops).
    public mutating func cancelAll() -> [UInt64] {
        let all = pending.keys.sorted()
        pending.removeAll()
        return all
    }

    /// The earliest deadline, for the timer that expires requests.
    public var nextDeadline: UInt64? { pending.values.map(\.deadline).min() }
}
