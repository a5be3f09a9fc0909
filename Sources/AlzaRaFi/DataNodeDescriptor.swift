import AlzaCore

/// What the NameNode knows of one DataNode (HDFS's DatanodeDescriptor): where it is, its last heartbeat and load,
/// its administrative state, the replicas it holds, and the commands waiting for its next heartbeat.
public struct DataNodeDescriptor: Sendable, Equatable {
    public enum AdminState: String, Sendable, Equatable {
        case normal
        /// In the exclude list: its replicas are copied elsewhere; they still serve reads and copies meanwhile.
        case decommissioning
        /// Every block it held has its replication elsewhere: it may be switched off.
        case decommissioned
    }

    public var location: DataNodeLocation
    public var capacity: UInt64
    public var used: UInt64
    public var transfersInProgress: UInt32
    public var lastHeartbeat: UInt64
    public var isAlive = true
    public var adminState = AdminState.normal
    /// Whether a full block report arrived since it registered (before it, its replicas are unknown).
    public var hasReported = false
    /// Block ids it holds (good or corrupt), by the NameNode's reckoning.
    public var blocks: Set<BlockID> = []
    /// Commands for its next heartbeat answer; bounded by `NameNodeCore.Limits.commandsPerDataNode`.
    public var pendingCommands: [DataNodeCommand] = []
    /// Bytes of copies scheduled from it in the current one-second window (the MB/s throttle).
    public var windowStart: UInt64 = 0
    public var windowBytes: UInt64 = 0
    /// Replicas a delete command was sent for and not yet confirmed: the node is no target for them meanwhile.
    public var pendingDeletes: Set<BlockID> = []

    public var storageID: StorageID { location.storageID }
    public var remaining: UInt64 { capacity > used ? capacity - used : 0 }

    /// Counts towards a block's live replicas and may receive new ones.
    public var isInService: Bool { isAlive && adminState == .normal }

    public init(location: DataNodeLocation, capacity: UInt64, now: UInt64) {
        self.location = location
        self.capacity = capacity
        used = 0
        transfersInProgress = 0
        lastHeartbeat = now
    }
}

/// The NameNode's view of one replica count of a block (HDFS's NumberReplicas).
public struct ReplicaCount: Sendable, Equatable {
    /// Good replicas on live, in-service DataNodes.
    public var live = 0
    /// Good replicas on decommissioning (or decommissioned) DataNodes: sources, not counted as live.
    public var decommissioning = 0
    public var corrupt = 0
    /// Copies scheduled and not yet confirmed.
    public var pending = 0
    /// Racks of the live replicas.
    public var racks = 0

    public init() {}
}
