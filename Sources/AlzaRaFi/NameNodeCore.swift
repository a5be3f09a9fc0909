import AlzaCore

/// The RaFi NameNode as a pure state machine (DESIGN.md §7; HDFS's FSNamesystem and BlockManager): the namespace,
/// the block map, the registered DataNodes and their liveness, leases, safe mode and the replication monitor.
/// Time comes with every input; every input returns the effects its shell carries out, in order.
///
/// Durability: an input that changes the namespace returns `.journal` first; the shell appends and syncs it
/// before it carries out any later effect or answers the client (journal, then act). Replica locations are soft
/// state rebuilt from block reports, so they are never journaled.
public struct NameNodeCore: Sendable {
    public enum Role: String, Sendable, Equatable {
        /// Serves clients and DataNodes.
        case active
        /// Applies the active NameNode's journal stream; refuses clients until promoted (HDFS's BackupNode).
        case backup
    }

    public enum Effect: Sendable, Equatable {
        /// Append to the journal and sync before carrying out what follows.
        case journal(JournalRecord)
        /// A command for one DataNode (the answer to its registration or heartbeat).
        case command(DataNodeCommand, to: StorageID)
        /// A line for the operator's log.
        case log(String)
    }

    public let info: NamespaceInfo
    public private(set) var configuration: NameNodeConfiguration
    public private(set) var role: Role
    public internal(set) var namespace: Namespace
    public internal(set) var blocks: [BlockID: BlockRecord] = [:]
    public internal(set) var dataNodes: [StorageID: DataNodeDescriptor] = [:]
    public internal(set) var lowRedundancy = LowRedundancyQueue()
    /// Copies scheduled and not yet confirmed: block → (targets, when they time out).
    public internal(set) var pendingReplications: [BlockID: (targets: Set<StorageID>, deadline: UInt64)] = [:]
    /// Clients holding leases, with when they last renewed.
    public internal(set) var leases: [String: UInt64] = [:]
    /// Until when safe mode lasts (nil: out of it). `UInt64.max` until the threshold is reached.
    public internal(set) var safeModeUntil: UInt64?
    /// Addresses whose DataNodes are to be decommissioned (dfs.hosts.exclude).
    public internal(set) var excludedAddresses: Set<String> = []
    /// The DataNode the balancer or a decommission wants a block's excess replica taken from.
    var deleteHints: [BlockID: StorageID] = [:]
    var random: SeededRandom
    let policy: any BlockPlacementPolicy
    var nextMonitorAt: UInt64 = 0
    private var storageSerial: UInt64 = 0

    /// A NameNode for `namespace` (a freshly formatted one, or one loaded from its image and journal). A fresh
    /// namespace without blocks leaves safe mode at once; otherwise it waits for block reports.
    public init(info: NamespaceInfo, namespace: Namespace, role: Role = .active,
                configuration: NameNodeConfiguration = NameNodeConfiguration(),
                policy: any BlockPlacementPolicy = RackAwarePlacement(), now: UInt64) {
        self.info = info
        self.namespace = namespace
        self.role = role
        self.configuration = configuration
        self.policy = policy
        random = SeededRandom(seed: info.namespaceID ^ 0x5241_4669)
        for (path, file) in namespace.files() {
            for block in file.blocks {
                blocks[block.id] = BlockRecord(block: block, path: path, expected: Int(file.replication), isComplete: file.isComplete)
            }
            if let writer = file.writer { leases[writer] = now }
        }
        safeModeUntil = blocks.isEmpty ? nil : .max
    }

    public var isInSafeMode: Bool { safeModeUntil != nil }
    public var rackCount: Int { Set(dataNodes.values.filter(\.isAlive).map(\.location.rack)).count }

    // MARK: Registration and heartbeats

    /// A DataNode joins (or rejoins). One of another namespace or layout is refused with `shutdown` and a log
    /// line naming both namespaces; a new one gets a permanent storage id.
    public mutating func register(_ registration: DataNodeRegistration, now: UInt64) -> [Effect] {
        // A DataNode whose folder was never formatted joins this namespace (it is given it in the answer); one
        // formatted for another namespace never does.
        let joining = registration.namespace.isUnformatted && registration.storageID == nil
        if registration.namespace.namespaceID != info.namespaceID, !joining {
            let error = RaFiError.wrongNamespace(expected: info.namespaceID, actual: registration.namespace.namespaceID)
            return refuse(registration, error.description)
        }
        if registration.namespace.layoutVersion != info.layoutVersion {
            let error = RaFiError.unsupportedLayout(expected: info.layoutVersion, actual: registration.namespace.layoutVersion)
            return refuse(registration, error.description)
        }
        if !configuration.includeAddresses.isEmpty, !configuration.includeAddresses.contains(registration.address) {
            return refuse(registration, "\(registration.address) is not in the NameNode's include list")
        }
        let id = registration.storageID ?? newStorageID()
        let location = DataNodeLocation(storageID: id, address: registration.address, rack: registration.rack)
        var effects: [Effect] = []
        if let old = dataNodes[id] {
            // A restart or a return from the dead: forget what it held until its next block report says.
            forgetReplicas(of: old)
        }
        var descriptor = DataNodeDescriptor(location: location, capacity: registration.capacity, now: now)
        if excludedAddresses.contains(registration.address) { descriptor.adminState = .decommissioning }
        dataNodes[id] = descriptor
        effects.append(.log("DataNode \(location) registered (\(registration.capacity) bytes)"))
        effects.append(.command(.registered(id, info), to: id))
        return effects
    }

    private func refuse(_ registration: DataNodeRegistration, _ reason: String) -> [Effect] {
        let id = registration.storageID ?? StorageID("unregistered@\(registration.address)")
        return [.log("refused DataNode at \(registration.address): \(reason)"), .command(.shutdown(reason: reason), to: id)]
    }

    private mutating func newStorageID() -> StorageID {
        storageSerial += 1
        let suffix = String(random.next() & 0xFFFF_FFFF, radix: 16)
        return StorageID("DS-\(info.namespaceID)-\(storageSerial)-\(suffix)")
    }

    /// A heartbeat: the node's load is noted and its waiting commands are the answer. An unknown or dead node is
    /// told to register again.
    public mutating func heartbeat(_ heartbeat: DataNodeHeartbeat, now: UInt64) -> [Effect] {
        guard var node = dataNodes[heartbeat.storageID], node.isAlive else {
            return [.command(.reregister, to: heartbeat.storageID)]
        }
        node.capacity = heartbeat.capacity
        node.used = heartbeat.used
        node.transfersInProgress = heartbeat.transfersInProgress
        node.lastHeartbeat = now
        var answer = node.pendingCommands
        node.pendingCommands = []
        if !node.hasReported, !answer.contains(.blockReportNow) { answer.append(.blockReportNow) }
        dataNodes[heartbeat.storageID] = node
        return answer.map { .command($0, to: heartbeat.storageID) }
    }

    /// Queues a command for a DataNode's next heartbeat, unless its queue is full (the work is found again by a
    /// later monitor round, so nothing is lost by refusing it now).
    @discardableResult
    mutating func enqueue(_ command: DataNodeCommand, for id: StorageID) -> Bool {
        guard var node = dataNodes[id], node.pendingCommands.count < configuration.commandsPerDataNode else { return false }
        node.pendingCommands.append(command)
        dataNodes[id] = node
        return true
    }

    /// Changes the replication throttle at run time (streams per DataNode, bytes per second per DataNode).
    public mutating func setReplicationLimits(streams: Int, bytesPerSecond: UInt64) {
        precondition(streams >= 1 && bytesPerSecond >= 1, "a throttle lets something through")
        configuration.replicationStreams = streams
        configuration.replicationBytesPerSecond = bytesPerSecond
    }

    // MARK: Safe mode

    /// Sealed blocks with at least one reported good replica, and all sealed blocks.
    public var reportedBlocks: (reported: Int, total: Int) {
        let sealed = blocks.values.filter(\.isComplete)
        return (sealed.filter { !$0.replicas.isEmpty }.count, sealed.count)
    }

    mutating func updateSafeMode(now: UInt64) -> [Effect] {
        guard let until = safeModeUntil else { return [] }
        let (reported, total) = reportedBlocks
        let reached = total == 0 || reported * 1_000 >= total * configuration.safeModeThresholdPerMille
        if until == .max {
            guard reached else { return [] }
            safeModeUntil = now + configuration.safeModeExtensionMs
            return [.log("safe mode: \(reported) of \(total) blocks reported; leaving in \(configuration.safeModeExtensionMs) ms")]
        }
        guard now >= until else { return [] }
        safeModeUntil = nil
        for id in blocks.keys.sorted() { reevaluate(id) }
        return [.log("left safe mode: \(reported) of \(total) blocks reported, \(lowRedundancy.count) need copies")]
    }

    /// Operator override (`alza rafi safemode leave`).
    public mutating func leaveSafeMode(now: UInt64) -> [Effect] {
        guard safeModeUntil != nil else { return [] }
        safeModeUntil = now
        return updateSafeMode(now: now)
    }

    /// The BackupNode takes over: it stops applying the stream, serves clients, and waits in safe mode for the
    /// DataNodes' block reports (it knew no replica locations).
    public mutating func promote(now: UInt64) -> [Effect] {
        precondition(role == .backup, "only a BackupNode is promoted")
        role = .active
        safeModeUntil = blocks.isEmpty ? nil : .max
        leases = [:]
        for client in Set(namespace.files().compactMap(\.file.writer)) { leases[client] = now }
        return [.log("BackupNode promoted to active at transaction \(namespace.lastTransaction); in safe mode until DataNodes report")]
    }

    /// The NameNode no longer counts anything `node` held (it died, or re-registered and will report again).
    mutating func forgetReplicas(of node: DataNodeDescriptor) {
        for id in node.blocks {
            blocks[id]?.replicas[node.storageID] = nil
            blocks[id]?.corrupt.remove(node.storageID)
            reevaluate(id)
        }
        for (id, pending) in pendingReplications where pending.targets.contains(node.storageID) {
            pendingReplications[id]!.targets.remove(node.storageID)
            reevaluate(id)
        }
    }
}
