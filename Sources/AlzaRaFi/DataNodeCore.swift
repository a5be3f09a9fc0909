/// One RaFi DataNode as a pure state machine (DESIGN.md §7; HDFS's BPServiceActor, block scanner and
/// replica map): it registers with its NameNode, sends heartbeats and block reports, carries out the commands
/// its heartbeats are answered with, and walks its replicas checking their checksums. Time comes with every
/// input; every input returns the effects its shell carries out, in order.
///
/// The shell holds the replica files (a `DurableStorage` folder of `ReplicaFile`s), runs the write pipelines
/// (`PipelineStageCore`) and tells this core what became of its replicas.
public struct DataNodeCore: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// DESIGN.md §10: 3 s.
        public var heartbeatIntervalMs: UInt64 = 3_000
        /// DESIGN.md §10: 1 h. The first report goes right after registering.
        public var blockReportIntervalMs: UInt64 = 3_600_000
        /// Every finalized replica is read whole once per period (HDFS's dfs.datanode.scan.period.hours: 3 weeks).
        public var scanPeriodMs: UInt64 = 21 * 24 * 3_600_000
        /// The scanner's read budget (HDFS's dfs.block.scanner.volume.bytes.per.second: 1 MiB/s).
        public var scanBytesPerSecond: UInt64 = 1 << 20
        /// Replica copies sent at once (HDFS's NameNode gives a DataNode 2 replication streams).
        public var maximumConcurrentTransfers = 2
        /// Copies waiting for a free transfer at most; the NameNode asks again for those refused.
        public var maximumQueuedTransfers = 64
        public var maximumBlocksPerReport = RaFiLimits.maximumReportedBlocks
        public init() {}
    }

    public enum Effect: Hashable, Sendable {
        case send(DataNodeReport)
        /// Keep the storage id and namespace in the storage folder, durably, before anything else.
        case persistIdentity(StorageID, NamespaceInfo)
        /// Read the local replica (checking its checksums) and copy it to the targets as a pipeline; then
        /// report `transferFinished` (and `readFailed` if the local copy was bad).
        case transfer(ExtendedBlock, to: [DataNodeLocation])
        /// Delete the replica's data and meta files.
        case remove(ExtendedBlock)
        /// Read the whole replica and check it (`ReplicaFile.verify`); report `verified`.
        case verify(ExtendedBlock)
        case wakeAt(UInt64)
        case log(String)
        /// Stop the DataNode (the NameNode refused it).
        case shutdown(reason: String)
    }

    public enum Phase: Hashable, Sendable {
        case notStarted
        case registering
        case registered
        /// Refuses every input from now on.
        case shutDown
    }

    public enum ReplicaState: Hashable, Sendable {
        /// In a write pipeline: never reported until finalized.
        case beingWritten
        case finalized
        /// A checksum failed: reported to the NameNode, no longer in block reports, kept until it says delete.
        case corrupt
    }

    public struct Replica: Hashable, Sendable {
        public var block: ExtendedBlock
        public var state: ReplicaState
    }

    public let configuration: Configuration
    public let address: String
    public let rack: String
    public let capacity: UInt64
    /// The namespace the storage folder was formatted for; nil until the first registration.
    public private(set) var namespace: NamespaceInfo?
    /// Given by the NameNode at the first registration, kept for good.
    public private(set) var storageID: StorageID?
    public private(set) var phase: Phase = .notStarted
    public internal(set) var replicas: [BlockID: Replica] = [:]
    /// Bytes of every replica held, whatever its state.
    public internal(set) var usedBytes: UInt64 = 0
    /// Replica copies being sent, by block.
    public internal(set) var transfersInProgress: Set<BlockID> = []
    var queuedTransfers: [(block: ExtendedBlock, targets: [DataNodeLocation])] = []
    /// Corrupt-replica reports waiting for a registration (the full report after it does not carry them).
    var pendingReports: [DataNodeReport] = []
    var nextRegisterAt: UInt64 = 0
    var nextHeartbeatAt: UInt64 = 0
    var nextBlockReportAt: UInt64 = 0
    var scanner = BlockScanner()

    /// A DataNode whose storage folder holds `replicas` (from `ReplicaInventory.load`) and, once it has
    /// registered before, its namespace and storage id.
    public init(configuration: Configuration = Configuration(), address: String, rack: String, capacity: UInt64,
                namespace: NamespaceInfo? = nil, storageID: StorageID? = nil, replicas: [ExtendedBlock] = []) {
        precondition(storageID == nil || namespace != nil, "a storage id belongs to a namespace")
        precondition(configuration.heartbeatIntervalMs > 0 && configuration.blockReportIntervalMs > 0
            && configuration.scanPeriodMs > 0 && configuration.scanBytesPerSecond > 0, "intervals and budgets are positive")
        precondition(configuration.maximumConcurrentTransfers > 0 && configuration.maximumBlocksPerReport > 0
            && configuration.maximumBlocksPerReport <= RaFiLimits.maximumReportedBlocks, "limits are positive and within RaFiLimits")
        self.configuration = configuration
        self.address = address
        self.rack = rack
        self.capacity = capacity
        self.namespace = namespace
        self.storageID = storageID
        for block in replicas { setReplica(Replica(block: block, state: .finalized)) }
    }

    public var registration: DataNodeRegistration {
        DataNodeRegistration(namespace: namespace ?? .unformatted, storageID: storageID, address: address, rack: rack, capacity: capacity)
    }

    public var heartbeat: DataNodeHeartbeat? {
        guard let storageID else { return nil }
        return DataNodeHeartbeat(storageID: storageID, capacity: capacity, used: usedBytes,
                                 transfersInProgress: UInt32(transfersInProgress.count))
    }

    // MARK: Time

    /// Starts the node: it registers (again every heartbeat interval until answered).
    public mutating func start(now: UInt64) -> [Effect] {
        precondition(phase == .notStarted, "start once")
        return beginRegistration(now: now)
    }

    /// Whatever is due: a registration retry, a heartbeat, a block report, the scanner's next replica.
    public mutating func tick(now: UInt64) -> [Effect] {
        var effects: [Effect] = []
        switch phase {
        case .notStarted, .shutDown:
            return []
        case .registering:
            if now >= nextRegisterAt {
                effects.append(.send(.register(registration)))
                nextRegisterAt = now + configuration.heartbeatIntervalMs
            }
        case .registered:
            if now >= nextHeartbeatAt, let heartbeat {
                effects.append(.send(.heartbeat(heartbeat)))
                nextHeartbeatAt = now + configuration.heartbeatIntervalMs
            }
            if now >= nextBlockReportAt { effects += blockReports(now: now) }
            effects += scanWork(now: now)
        }
        effects.append(.wakeAt(nextWake(now: now)))
        return effects
    }

    /// When the next `tick` has work.
    func nextWake(now: UInt64) -> UInt64 {
        switch phase {
        case .notStarted, .shutDown: return .max
        case .registering: return nextRegisterAt
        case .registered:
            return [nextHeartbeatAt, nextBlockReportAt, nextScanAt(now: now) ?? .max].min()!
        }
    }

    private mutating func beginRegistration(now: UInt64) -> [Effect] {
        phase = .registering
        nextRegisterAt = now + configuration.heartbeatIntervalMs
        return [.send(.register(registration)), .wakeAt(nextRegisterAt)]
    }

    // MARK: Commands

    /// A command from the NameNode (the answer to a registration or a heartbeat).
    public mutating func handle(command: DataNodeCommand, now: UInt64) -> [Effect] {
        guard phase != .shutDown else { return [] }
        var effects: [Effect]
        switch command {
        case .registered(let id, let info):
            effects = registered(as: id, in: info, now: now)
        case .shutdown(let reason):
            return shutDown(reason)
        case .replicate(let block, let targets):
            effects = replicate(block, to: targets)
        case .delete(let blocks):
            effects = delete(blocks)
        case .reregister:
            return [.log("the NameNode does not know this DataNode; registering again")] + beginRegistration(now: now)
        case .blockReportNow:
            effects = phase == .registered ? blockReports(now: now) : []
        }
        if phase == .shutDown { return effects }
        return effects + [.wakeAt(nextWake(now: now))]
    }

    private mutating func registered(as id: StorageID, in info: NamespaceInfo, now: UInt64) -> [Effect] {
        if let namespace, namespace.namespaceID != info.namespaceID {
            return shutDown(RaFiError.wrongNamespace(expected: info.namespaceID, actual: namespace.namespaceID).description)
        }
        if info.layoutVersion != NamespaceInfo.currentLayoutVersion {
            return shutDown(RaFiError.unsupportedLayout(expected: info.layoutVersion, actual: NamespaceInfo.currentLayoutVersion).description)
        }
        if let storageID, storageID != id {
            return shutDown("the NameNode registered this DataNode as \(id), its storage folder says \(storageID)")
        }
        var effects: [Effect] = []
        if storageID == nil || namespace != info { effects.append(.persistIdentity(id, info)) }
        storageID = id
        namespace = info
        phase = .registered
        effects.append(.log("registered with the NameNode as \(id) in \(info)"))
        nextHeartbeatAt = now + configuration.heartbeatIntervalMs
        effects += blockReports(now: now)
        effects += pendingReports.map { .send($0) }
        pendingReports = []
        effects += scanWork(now: now)
        return effects
    }

    private mutating func shutDown(_ reason: String) -> [Effect] {
        phase = .shutDown
        return [.log("DataNode \(storageID?.description ?? address) shuts down: \(reason)"), .shutdown(reason: reason)]
    }

    /// Every finalized replica (corrupt and half-written ones are not), by block id, in reports of at most
    /// `maximumBlocksPerReport`; one empty report when there is none.
    mutating func blockReports(now: UInt64) -> [Effect] {
        nextBlockReportAt = now + configuration.blockReportIntervalMs
        guard let storageID else { return [] }
        let finalized = replicas.values.filter { $0.state == .finalized }.map(\.block).sorted { $0.id < $1.id }
        guard !finalized.isEmpty else { return [.send(.blockReport(storageID, []))] }
        return stride(from: 0, to: finalized.count, by: configuration.maximumBlocksPerReport).map { start in
            .send(.blockReport(storageID, Array(finalized[start..<min(start + configuration.maximumBlocksPerReport, finalized.count)])))
        }
    }

    // MARK: Replicas

    /// A write pipeline opened the replica (`PipelineStageCore.Effect.prepare`).
    public mutating func replicaBeingWritten(_ block: ExtendedBlock) {
        guard phase != .shutDown else { return }
        setReplica(Replica(block: block, state: .beingWritten))
    }

    /// The replica's meta file was written: it is reported to the NameNode.
    public mutating func replicaFinalized(_ block: ExtendedBlock) -> [Effect] {
        guard phase != .shutDown else { return [] }
        setReplica(Replica(block: block, state: .finalized))
        return incremental { .blockReceived($0, block) }
    }

    /// The replica's files are gone (the shell found them missing, or removed them on its own).
    public mutating func replicaDeleted(_ id: BlockID) -> [Effect] {
        guard phase != .shutDown, replicas[id] != nil else { return [] }
        dropReplica(id)
        return incremental { .blockDeleted($0, id) }
    }

    /// An incremental report, sent now if registered. Otherwise dropped: the full report after the next
    /// registration says the same.
    func incremental(_ report: (StorageID) -> DataNodeReport) -> [Effect] {
        guard phase == .registered, let storageID else { return [] }
        return [.send(report(storageID))]
    }

    mutating func setReplica(_ replica: Replica) {
        dropReplica(replica.block.id)
        replicas[replica.block.id] = replica
        usedBytes += replica.block.length
    }

    mutating func dropReplica(_ id: BlockID) {
        guard let old = replicas.removeValue(forKey: id) else { return }
        usedBytes -= old.block.length
    }
}
