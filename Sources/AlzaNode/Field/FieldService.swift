import AlzaCore
import AlzaField
import AlzaLedger
import AlzaNet
import Logging

/// The node's end of the `field` protocol (DESIGN.md §6, §8): one inbox for every field actor on the node. A
/// leader is the instance named by its field id, a participant the instance named by its account; messages are
/// routed to the `FieldLeader` or to the satellite's `FieldParticipants`, and a message for an actor on this very
/// node is delivered without the network (a satellite may lead a field it takes part in).
public actor FieldService {
    public static let registration = ProtocolRegistration(.field, priority: .payments, inboxCapacity: 65_536)
    /// The roles that need it.
    public static let rolesUsingFields: Set<String> = ["satellite", "fieldleader"]

    let transport: Transport
    let logger: Logger
    private let storage: any DurableStorage
    /// Every leader and participant on the node journals into this one file (one fsync for all of them).
    private var journal: GroupCommitJournal?
    /// What the journal held at start, by owner.
    private var recovered: [FieldJournalOwner: [[UInt8]]] = [:]
    private var leaders: [FieldId: FieldLeader] = [:]
    private var participants: FieldParticipants?
    private var inboxTask: Task<Void, Never>?
    /// Messages that could not be decoded, or named no actor here; kept as counts (and logged per doubling).
    public private(set) var undecodable: UInt64 = 0
    public private(set) var unroutable: UInt64 = 0

    /// `storage` holds the node's field journal (`<data>/fields`).
    public init(transport: Transport, storage: any DurableStorage, logger: Logger) {
        self.transport = transport
        self.storage = storage
        self.logger = logger
    }

    static let journalName = "fields.journal"

    /// Reads the journal: every intact record, by owner (a torn tail is cut and said); a record that does not
    /// decode ends the usable part like a torn one would.
    /// Records of fields `settled` reports settled (closed or annulled in the last irreversible block) are
    /// dropped, and the file rewritten without them: no leader or participant reads them again, and the journal
    /// would otherwise grow with every field the node ever took part in.
    private func openJournal(settled: (FieldId) -> Bool) throws(NodeError) {
        let log = RecordLog(storage: storage, name: Self.journalName)
        let opened: RecordLog.Opened
        do {
            opened = try log.open()
        } catch {
            throw .startup("field journal: \(error.description)")
        }
        if let repair = opened.repair { logger.warning("field journal: \(repair)") }
        var kept: [[UInt8]] = []
        var dropped: Set<FieldId> = []
        for (position, bytes) in opened.records.enumerated() {
            guard let record = try? FieldJournalRecord(canonicalBytes: bytes) else {
                logger.error("field journal record \(position) does not decode; the \(opened.records.count - position) records from it on are ignored")
                break
            }
            if settled(record.owner.field) {
                dropped.insert(record.owner.field)
                continue
            }
            kept.append(bytes)
            recovered[record.owner, default: []].append(record.entry)
        }
        if kept.count < opened.records.count {
            do {
                try log.rewrite(kept)
            } catch {
                throw .startup("field journal compaction: \(error.description)")
            }
            logger.info("field journal: compacted to \(kept.count) records (dropped \(opened.records.count - kept.count), \(dropped.count) settled fields)")
        }
        journal = GroupCommitJournal(log: log, logger: logger)
        if !opened.records.isEmpty { logger.info("field journal: \(opened.records.count) records for \(recovered.count) leaders and participants") }
    }

    /// The journal records `owner` wrote before the node last stopped, and its writer.
    func journal(for owner: FieldJournalOwner) -> (records: [[UInt8]], writer: FieldJournalWriter) {
        guard let journal else { preconditionFailure("the field service is started before its journal is used") }
        return (recovered[owner] ?? [], FieldJournalWriter(owner: owner, journal: journal))
    }

    public nonisolated var nodeId: String { transport.nodeId }

    /// Registers the protocol (before the transport starts) and starts reading its inbox.
    /// `settled` says which fields are settled for good (their journal records are compacted away).
    public func start(settled: (FieldId) -> Bool = { _ in false }) async throws(NodeError) {
        precondition(inboxTask == nil, "the field service starts once")
        try openJournal(settled: settled)
        let inbox: AsyncStream<TransportEvent>
        do {
            inbox = try await transport.register(Self.registration)
        } catch {
            throw .startup("field protocol: \(error.description)")
        }
        inboxTask = Task { [weak self] in
            for await event in inbox { await self?.handle(event) }
        }
    }

    public func stop() async {
        inboxTask?.cancel()
        inboxTask = nil
        await transport.unregister(.field)
    }

    // MARK: Actors on this node

    public func attach(_ leader: FieldLeader) async throws(NodeError) {
        leaders[leader.field] = leader
        do {
            try await transport.host(InstanceId(leader.field.hash), of: .field)
        } catch {
            throw .startup("field leader \(leader.field): \(error.description)")
        }
    }

    func detach(leaderOf field: FieldId) async {
        leaders[field] = nil
        await transport.withdraw(InstanceId(field.hash), of: .field)
    }

    func attach(_ participants: FieldParticipants, accounts: [Address]) async throws(NodeError) {
        self.participants = participants
        for account in accounts {
            do {
                try await transport.host(Self.instance(of: account), of: .field)
            } catch {
                throw .startup("field participant \(account): \(error.description)")
            }
        }
    }

    func leader(of field: FieldId) -> FieldLeader? { leaders[field] }

    /// This node's off-chain view of `field`, or nil when it neither leads it nor holds a participant of it.
    func localView(of field: FieldId) async -> FieldLocalView? {
        let leader = await leaders[field]?.view()
        let participants = await participants?.views(of: field) ?? []
        guard leader != nil || !participants.isEmpty else { return nil }
        return FieldLocalView(field: field.hash.hex, leader: leader, participants: participants)
    }
    var ledFields: [FieldId] { leaders.keys.sorted { $0.hash.bytes.lexicographicallyPrecedes($1.hash.bytes) } }

    static func instance(of account: Address) -> InstanceId { InstanceId(account.bytes32.bytes) }
    static func account(of instance: InstanceId?) -> Address? { instance.flatMap { Bytes32($0.bytes) }.map(Address.init(bytes32:)) }
    public static func address(ofLeader field: FieldId) -> ActorAddress { ActorAddress(.field, instance: InstanceId(field.hash)) }
    static func address(ofParticipant account: Address) -> ActorAddress { ActorAddress(.field, instance: instance(of: account)) }

    /// True when some node (this one included) announced hosting the actor at `address`.
    func isHosted(_ address: ActorAddress) async -> Bool { !(await transport.hosts(of: address)).isEmpty }

    // MARK: Sending

    /// Sends a direct message to the actor at `address` on the node that hosts it (this one included); false
    /// when no connected node hosts it (logged by the caller, which knows what the message was for).
    /// `onlyHost`: the one node that may host it (a field's leader is its leader key's node: another node that
    /// announces the instance is not believed). `everyHost`: to every node that announces it (a participant's
    /// account is not bound to a node, so an impostor announcing it cannot keep a message from the real one).
    @discardableResult
    func send(_ message: FieldWireMessage, to address: ActorAddress, onlyHost: String? = nil, everyHost: Bool = false) async -> Bool {
        var hosts = await transport.hosts(of: address)
        if let onlyHost { hosts = hosts.filter { $0 == onlyHost } }
        var delivered = false
        if hosts.contains(nodeId) {
            await dispatchDirect(message, instance: address.instance, from: nodeId)
            guard everyHost else { return true }
            delivered = true
        }
        let bytes = message.canonicalBytes
        for host in hosts where host != nodeId {
            // A host the mesh did not connect this node to is dialed at the address it announced.
            for attempt in 0..<2 {
                do {
                    try await transport.sendDirect(bytes, to: host, address: address)
                    guard everyHost else { return true }
                    delivered = true
                    break
                } catch {
                    guard attempt == 0, await transport.ensureConnected(to: host) else { break }
                }
            }
        }
        return delivered
    }

    /// Sends a request to the actor at `address` and returns its answer. With `accept`, an answer it does not
    /// accept (a consent or signature that does not verify: an impostor's) sends the request on to the next node
    /// announcing the instance; the first accepted answer wins, else the first answer. `onlyHost` as for `send`.
    public func request(_ message: FieldWireMessage, to address: ActorAddress, onlyHost: String? = nil,
                        accept: @Sendable (FieldWireMessage) -> Bool = { _ in true },
                        timeoutMilliseconds: UInt64 = FieldTimings.requestTimeoutMilliseconds) async throws(FieldRequestFailure) -> FieldWireMessage {
        var hosts = await transport.hosts(of: address)
        if let onlyHost { hosts = hosts.filter { $0 == onlyHost } }
        var unaccepted: FieldWireMessage?
        if hosts.contains(nodeId) {
            let answer = await withCheckedContinuation { continuation in
                let reply = FieldReply { continuation.resume(returning: $0) }
                Task { await self.dispatchRequest(message, instance: address.instance, from: self.nodeId, reply: reply) }
            }
            guard !accept(answer) else { return answer }
            unaccepted = answer
        }
        var lastFailure = FieldRequestFailure.noHost(address.description)
        for host in hosts where host != nodeId {
            var received: [UInt8]?
            for attempt in 0..<2 {
                guard await transport.ensureConnected(to: host) else {
                    lastFailure = .network("cannot connect to \(host.prefix(16)), which hosts \(address)")
                    break
                }
                do {
                    received = try await transport.request(message.canonicalBytes, to: host, address: address,
                                                           timeoutMilliseconds: timeoutMilliseconds)
                    break
                } catch NetworkError.notConnected(_) where attempt == 0 {
                    // The connection went while the request was out: a new peer's dial and ours met, and the
                    // duplicate rule closed ours. Once more on the connection that stays (field requests may be
                    // answered twice: the answers are the same).
                    continue
                } catch {
                    lastFailure = .network(String(describing: error))
                    break
                }
            }
            guard let bytes = received else { continue }
            let answer: FieldWireMessage
            do {
                answer = try FieldWireMessage(canonicalBytes: bytes)
            } catch {
                lastFailure = .undecodableAnswer(error.description)
                continue
            }
            guard !accept(answer) else { return answer }
            if unaccepted == nil { unaccepted = answer }
        }
        if let unaccepted { return unaccepted }
        throw lastFailure
    }

    // MARK: Receiving

    private func handle(_ event: TransportEvent) async {
        switch event {
        case .direct(let bytes, let instance, let from):
            guard let message = decode(bytes, from: from) else { return }
            await dispatchDirect(message, instance: instance, from: from)
        case .request(let bytes, let instance, let requestId, let from):
            let address = ActorAddress(.field, instance: instance)
            let transport = self.transport
            let reply = FieldReply { answer in
                await transport.respond(to: from, requestId: requestId, address: address, payload: answer.canonicalBytes)
            }
            guard let message = decode(bytes, from: from) else {
                await reply.send(.refused(code: "field.undecodable-message", reason: "the request cannot be decoded"))
                return
            }
            await dispatchRequest(message, instance: instance, from: from, reply: reply)
        case .peerConnected, .peerDisconnected, .gossip, .refused:
            break
        }
    }

    private func decode(_ bytes: [UInt8], from peer: String) -> FieldWireMessage? {
        do {
            return try FieldWireMessage(canonicalBytes: bytes)
        } catch {
            undecodable += 1
            if undecodable.nonzeroBitCount == 1 {
                logger.warning("undecodable field message from \(peer.prefix(16)) (\(error.description)); \(undecodable) so far")
            }
            return nil
        }
    }

    private func dispatchDirect(_ message: FieldWireMessage, instance: InstanceId?, from: String) async {
        if let field = message.field, instance == InstanceId(field.hash), let leader = leaders[field] {
            await leader.receiveDirect(message, from: from)
        } else if let participants, let account = Self.account(of: instance) {
            await participants.receiveDirect(message, account: account, from: from)
        } else {
            countUnroutable("direct \(message) for \(instance?.description ?? "-")")
        }
    }

    private func dispatchRequest(_ message: FieldWireMessage, instance: InstanceId?, from: String, reply: FieldReply) async {
        if let field = message.field, instance == InstanceId(field.hash), let leader = leaders[field] {
            await leader.receiveRequest(message, from: from, reply: reply)
        } else if let participants, let account = Self.account(of: instance) {
            // A consent or a close may wait on the chain: answered on its own task, not holding up the inbox.
            Task {
                let answer = await participants.answer(message, account: account, from: from)
                await reply.send(answer)
            }
        } else {
            countUnroutable("request for \(instance?.description ?? "-")")
            await reply.send(.refusal(FieldError.unknownFieldHere(message.field ?? FieldId(hash: .zero))))
        }
    }

    private func countUnroutable(_ what: String) {
        unroutable += 1
        if unroutable.nonzeroBitCount == 1 { logger.warning("field \(what): no such actor on this node; \(unroutable) so far") }
    }
}

/// How a request's answer goes back: over the transport, or to a waiting caller on this node.
struct FieldReply: Sendable {
    let send: @Sendable (FieldWireMessage) async -> Void
    init(_ send: @escaping @Sendable (FieldWireMessage) async -> Void) { self.send = send }
}

/// Why a field request got no answer.
public enum FieldRequestFailure: AlzaError, Equatable {
    case noHost(String)
    case network(String)
    case undecodableAnswer(String)

    public var code: String {
        switch self {
        case .noHost: "field.no-host"
        case .network: "field.network"
        case .undecodableAnswer: "field.undecodable-answer"
        }
    }

    public var description: String {
        switch self {
        case .noHost(let address): "no connected node hosts \(address)"
        case .network(let reason): "the request failed: \(reason)"
        case .undecodableAnswer(let reason): "the answer cannot be decoded: \(reason)"
        }
    }
}
