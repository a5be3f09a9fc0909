import AlzaConsensus
import AlzaCore
import AlzaLedger
import AlzaNet
import CoreMetrics
import Foundation
import Logging

/// The shell around a `ConsensusCore` (DESIGN.md §1): feeds it the transport's messages, submitted transactions
/// and time, and carries out its effects over the transport (gossip, direct messages), the disk (block log,
/// journal, checkpoints, watermark) and a timer. A SuperNode runs it with a producer identity; a Satellite
/// without one (it follows the chain). All logic is in the core; this actor does I/O and bookkeeping.
public actor ChainService {
    public let genesis: Genesis
    public let nodeName: String
    private var core: ConsensusCore
    let storage: ChainStorage
    let transport: Transport
    let metrics: NodeMetrics
    let logger: Logger
    var transactions = TransactionIndex()
    /// The core's `scheduleTick` and the relay's `wakeAt`, each one pending wake-up.
    private var coreTimer = WakeTimer()
    private var relayTimer = WakeTimer()
    var relay = ChainRelayCore(now: ChainService.now())
    private var eventsTask: Task<Void, Never>?
    private var intakeTask: Task<Void, Never>?
    private let lanes = EventLanes()

    /// Gossiped transaction batches dropped from the bounded transaction lane since start.
    public nonisolated var droppedTransactionBatches: UInt64 { lanes.droppedTransactionBatches }
    /// Blocks, statuses and peer events dropped from the bounded urgent lane since start.
    public nonisolated var droppedUrgentEvents: UInt64 { lanes.droppedUrgentEvents }
    /// Latest chain status each peer announced (SuperNodes' heads and LIBs, for the agreement monitor).
    public private(set) var peerStatuses: [String: ChainStatus] = [:]
    private var peerRoles: [String: NodeRoles] = [:]
    private var peerObservers: [@Sendable (PeerObservation) async -> Void] = []
    /// Set when the node can no longer keep its chain safely (a disk write failed): it stops following and
    /// producing, keeps answering queries, and says why on `/health`.
    public private(set) var haltReason: String?

    /// What the chain service tells observers about peers (the satellite's agreement monitor).
    public enum PeerObservation: Sendable {
        case status(peer: String, roles: NodeRoles, ChainStatus)
        case disconnected(peer: String)
    }

    public init(genesis: Genesis, nodeName: String, storage: ChainStorage, producer: ProducerIdentity?,
                transport: Transport, metrics: NodeMetrics, logger: Logger) throws(NodeError) {
        self.genesis = genesis
        admission = AdmissionControl(slotMilliseconds: genesis.parameters.slotMilliseconds)
        self.nodeName = nodeName
        self.storage = storage
        self.transport = transport
        self.metrics = metrics
        self.logger = logger
        let recovered: RecoveredChain
        let watermark: UInt64?
        do {
            recovered = try storage.open()
            watermark = try storage.readWatermark()
        } catch {
            throw .startup("storage: \(error.description)")
        }
        for line in recovered.log { logger.warning("recovery: \(line)") }
        var configuration = ConsensusConfiguration(producer: producer)
        configuration.syncTimeoutMilliseconds = max(2_000, 4 * genesis.parameters.slotMilliseconds)
        let (core, effects) = ConsensusCore.start(recovered: recovered, configuration: configuration,
                                                  verifier: SignatureVerifier(), watermark: watermark,
                                                  now: ChainService.now())
        self.core = core
        logger.info("chain \(genesis.chainId.short) opened at \(core.headReference) (LIB \(core.lib))")
        pendingStartupEffects = effects
    }

    private var pendingStartupEffects: [ConsensusEffect] = []

    static func now() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    /// The chain protocol's registration: blocks and votes are the most urgent traffic of a node (DESIGN.md §8).
    public static let protocolRegistration = ProtocolRegistration(
        .chain, priority: .consensus, topics: [.blocks, .transactions, .committee], inboxCapacity: 100_000)

    static let address = ActorAddress(.chain)

    /// Registers the chain protocol with the transport and starts consuming its events and the timer. Call
    /// before the transport starts, so no block arrives before the inbox exists.
    public func start() async throws(NodeError) {
        let stream: AsyncStream<TransportEvent>
        do {
            stream = try await transport.register(Self.protocolRegistration)
        } catch {
            throw .startup("chain protocol: \(error.description)")
        }
        let effects = pendingStartupEffects
        pendingStartupEffects = []
        perform(effects)
        let lanes = self.lanes
        intakeTask = Task {
            for await event in stream { lanes.push(event, now: ChainService.now()) }
            lanes.finish()
        }
        eventsTask = Task {
            while let event = await lanes.next() { await self.handle(event) }
        }
        // The relay's status cadence starts now: late nodes sync, satellites check agreement.
        relay = ChainRelayCore(now: ChainService.now())
        scheduleRelay(at: relay.nextWake)
        updateGauges()
    }

    public func stop() {
        relayTimer.cancel()
        coreTimer.cancel()
        intakeTask?.cancel()
        lanes.finish()
        eventsTask?.cancel()
    }

    /// Called with every peer status received and every disconnection (the satellite's agreement monitor).
    public func observePeers(_ observer: @escaping @Sendable (PeerObservation) async -> Void) {
        peerObservers.append(observer)
    }

    // MARK: Events

    private func handle(_ event: TransportEvent) async {
        switch event {
        case .peerConnected(let peer):
            peerRoles[peer.id] = peer.roles
            feed(.peerConnected(PeerID(peer.id)))
        case .peerDisconnected(let peer, _):
            peerRoles[peer.id] = nil
            peerStatuses[peer.id] = nil
            for observer in peerObservers { await observer(.disconnected(peer: peer.id)) }
        case .gossip(let message, _, let from):
            switch message.topic {
            case .blocks:
                guard let block = try? Block(canonicalBytes: message.payload) else {
                    logger.warning("undecodable block gossip from \(from.prefix(16)) dropped")
                    return
                }
                let now = ChainService.now()
                let lateness = now > block.header.timestamp ? now - block.header.timestamp : 0
                metrics.blockPropagation.recordMilliseconds(Int64(lateness))
                admission.blockReceived(lateness: lateness, at: now)
                let start = DispatchTime.now().uptimeNanoseconds
                feed(.received(.block(block), from: PeerID(from)))
                metrics.blockApplication.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
            case .transactions:
                guard let batch = try? TransactionBatch(canonicalBytes: message.payload), !batch.transactions.isEmpty else {
                    logger.warning("undecodable transaction gossip from \(from.prefix(16)) dropped")
                    return
                }
                receivedBatch(batch, payload: message.payload, from: from)
            default:
                // The adaptive committee's sign-ins have no consumer in this node yet: not an error of the peer.
                logger.debug("\(message.topic) gossip from \(from.prefix(16)) ignored")
            }
        case .direct(let bytes, _, let from):
            guard let message = try? ConsensusMessage(canonicalBytes: bytes) else {
                logger.warning("undecodable direct message from \(from.prefix(16)) dropped")
                return
            }
            if case .status(let status) = message {
                peerStatuses[from] = status
                let roles = peerRoles[from] ?? []
                for observer in peerObservers { await observer(.status(peer: from, roles: roles, status)) }
            }
            feed(.received(message, from: PeerID(from)))
        case .request(_, _, let requestId, let from):
            // No request types are defined for the chain; answer empty so the caller does not wait.
            await transport.respond(to: from, requestId: requestId, address: Self.address, payload: [])
        case .refused:
            break
        }
    }

    /// Admits a gossiped batch's transactions and relays it, through the interpreter the simulator uses too.
    private func receivedBatch(_ batch: TransactionBatch, payload: [UInt8], from: String) {
        var environment = NodeChainEnvironment(service: self, chainStorage: storage)
        let now = ChainService.now()
        ChainEffects.receive(batch, payload: payload, in: &environment, feed: { event in
            haltReason == nil ? core.handle(event, now: now) : nil
        }, from: PeerID(from))
        updateGauges()
    }

    func scheduleRelay(at: UInt64) {
        relayTimer.set(at, now: ChainService.now()) { await self.relayWoke() }
    }

    private func relayWoke() {
        relayTimer.fired()
        perform(relay.tick(now: ChainService.now()))
    }

    /// Whether to take new transactions from clients (fed with block lateness here).
    var admission: AdmissionControl

    /// Why this node should not take new transactions now (it cannot keep up), or nil (see `AdmissionControl`).
    public var overload: String? {
        admission.refusal(now: ChainService.now(), transactionWait: lanes.transactionWait(now: ChainService.now()),
                          mempoolCount: core.mempool.count, mempoolLimit: core.mempool.maximumCount)
    }

    private func feed(_ event: ConsensusEvent) {
        guard haltReason == nil else { return }
        perform(core.handle(event, now: ChainService.now()))
    }

    func halt(_ reason: String) {
        guard haltReason == nil else { return }
        haltReason = reason
        coreTimer.cancel()
        logger.critical("chain halted: \(reason). The node keeps serving queries but no longer follows or produces; fix the disk and restart it.")
    }

    private func tick() {
        feed(.tick)
    }

    /// Tells every connected peer (those the chain protocol's inbox reported) this node's head and LIB.
    func announceStatus() {
        guard haltReason == nil else { return }
        let status = ConsensusMessage.status(core.status).canonicalBytes
        for peer in peerRoles.keys.sorted() { transport.post(.direct(status, to: peer, address: Self.address)) }
    }

    func schedule(_ at: UInt64) {
        coreTimer.set(at, now: ChainService.now()) { await self.fire() }
    }

    private func fire() {
        coreTimer.fired()
        tick()
    }

    func updateGauges() {
        metrics.headHeight.record(Int64(core.headReference.height))
        metrics.libHeight.record(Int64(core.lib.height))
        metrics.mempoolSize.record(Int64(core.mempool.count))
        metrics.missedSlots.record(Int64(core.headReference.slot - min(core.headReference.slot, core.headReference.height)))
    }

    // MARK: Client operations

    /// Validates and pools a transaction (gossiping it on success).
    public func submit(_ transaction: SignedTransaction) -> Result<Hash, MempoolError> {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { metrics.transactionAdmission.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start)) }
        let effects = core.handle(.submitted(transaction), now: ChainService.now())
        perform(effects)
        for effect in effects {
            if case .transactionRejected(_, let error) = effect { return .failure(error) }
        }
        return .success(transaction.id)
    }

    /// Validates and pools transactions in order, in one visit to the actor, and gossips the accepted ones at
    /// once (they are a batch already).
    public func submit(_ batch: [SignedTransaction]) -> [Result<Hash, MempoolError>] {
        let results = batch.map(submit)
        perform(relay.flush())
        return results
    }

    // MARK: Queries

    public struct Snapshot: Sendable {
        public var head: BlockReference
        public var lib: BlockReference
        public var currentSlot: UInt64
        public var round: RoundRecord
        public var currentProducer: Address?
        public var mempoolCount: Int
        public var statistics: ConsensusStatistics
        public var state: LedgerState
    }

    public func snapshot() -> Snapshot {
        let slot = core.currentSlot
        let now = ChainService.now()
        let currentSlot = core.head.slot(at: now)
        let advance = ProducerSchedule.advance(core.head, to: max(currentSlot, core.headReference.slot + 1))
        return Snapshot(head: core.headReference, lib: core.lib, currentSlot: max(slot, currentSlot), round: advance.round,
                        currentProducer: ProducerSchedule.producer(at: max(currentSlot, core.headReference.slot + 1),
                                                                   after: core.head),
                        mempoolCount: core.mempool.count, statistics: core.statistics, state: core.head)
    }

    /// The state after the last irreversible block: what no fork switch can take back (field top-ups are
    /// credited from it, D34).
    public func committedState() -> LedgerState { core.committed }

    /// The block at `height` on this node's chain (log or reversible), if it has it.
    public func block(at height: UInt64) -> Block? {
        if height <= core.lib.height { return try? storage.block(at: height) }
        return core.reversibleBlocks.first { $0.height == height }
    }

    public enum TransactionStatus: Sendable, Equatable {
        case pending
        case included(BlockReference)
        case irreversible(BlockReference)
        case dropped(reason: String, code: String)
        case unknown
    }

    public func transactionStatus(_ id: Hash) -> TransactionStatus {
        switch transactions.status(of: id) {
        case .pending?:
            return core.mempool.contains(id) ? .pending : .unknown
        case .included(let reference)?:
            return reference.height <= core.lib.height ? .irreversible(reference) : .included(reference)
        case .dropped(let reason, let code)?:
            return .dropped(reason: reason, code: code)
        case nil:
            return core.mempool.contains(id) ? .pending : .unknown
        }
    }

    public var chainId: Hash { genesis.chainId }

    /// The nonce `payer`'s next transaction should carry, counting its transactions already pending here.
    public func nextNonce(for payer: Address) -> UInt64 {
        core.mempool.nextNonce(for: payer, state: core.head)
    }

    public var connectedPeers: [PeerInfo] {
        get async { await transport.peers }
    }
}

extension CoreMetrics.Timer {
    func recordMilliseconds(_ milliseconds: Int64) { recordNanoseconds(milliseconds * 1_000_000) }
}
