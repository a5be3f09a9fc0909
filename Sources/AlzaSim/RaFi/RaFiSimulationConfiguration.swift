import AlzaRaFi

/// A MiniDFSCluster-like run of RaFi (DESIGN.md §7): an active NameNode with a BackupNode fed its journal, DataNodes
/// on racks, a client writing files through real pipelines, and scheduled faults; everything on virtual time
/// with the same cores (and the same replica-file code) the node runs. One seed, one run.
public struct RaFiSimulationConfiguration: Sendable, Equatable {
    public var seed: UInt64 = 1
    public var dataNodes = 8
    public var racks = 3
    public var files = 12
    public var blocksPerFile = 2
    public var blockBytes = 96 << 10
    public var replication: UInt16 = 3
    /// Each DataNode's capacity.
    public var capacity: UInt64 = 1 << 30
    /// The NameNode's timings divided by this (HDFS's minutes as seconds: dead after 31.5 s at 20).
    public var timeScale: UInt64 = 20
    /// The block scanner's full pass over a DataNode, and its read budget.
    public var scanPeriodMs: UInt64 = 60_000
    public var scanBytesPerSecond: UInt64 = 4 << 20
    /// One-way message delay range, milliseconds.
    public var delayMs: ClosedRange<UInt64> = 1...5
    /// How long a sender takes to notice that its peer is down (a connect or read timeout).
    public var failureDetectionMs: UInt64 = 50
    /// The run ends this long after the last write and the last fault, whatever is still happening.
    public var settleMs: UInt64 = 120_000
    public var faults: [RaFiFault] = []
    /// Read every file back at the end (through `BlockReader`, falling back past corrupt replicas).
    public var readBack = true

    public init() {}
}

/// A fault at a moment of the run.
public struct RaFiFault: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A DataNode (by index) crashes for good.
        case killDataNode(Int)
        /// A DataNode crashes (unsynced bytes torn) and comes back after `downMs`.
        case restartDataNode(Int, downMs: UInt64)
        /// Every DataNode of a rack crashes for good.
        case loseRack(String)
        /// A byte of `count` finalized replicas flips on disk (chosen by the seed).
        case corruptReplicas(count: Int)
        /// A byte of one replica of each of the first `count` blocks flips, on a node the reader tries first.
        case corruptForReader(count: Int)
        /// The DataNode is decommissioned.
        case decommission(Int)
        /// The active NameNode crashes and restarts from its image and journal after `downMs`.
        case restartNameNode(downMs: UInt64)
        /// The active NameNode dies for good; the BackupNode is promoted and the DataNodes turn to it.
        case failover
        /// The first DataNode of the client's current pipeline crashes for good in the middle of a block.
        case killPipelineNode
        /// `count` empty DataNodes join; the balancer runs with the threshold (a fraction of capacity) until the cluster is balanced.
        case addNodesAndBalance(count: Int, threshold: Double)
    }

    public var atMs: UInt64
    public var kind: Kind

    public init(atMs: UInt64, _ kind: Kind) {
        self.atMs = atMs
        self.kind = kind
    }
}

/// What a run found.
public struct RaFiSimulationReport: Sendable, Equatable {
    public var seed: UInt64
    public var filesWritten = 0
    public var blocksWritten = 0
    public var bytesWritten: UInt64 = 0
    /// Files read back intact / read back at all.
    public var filesVerified = 0
    public var pipelineRecoveries = 0
    public var replicationsSent = 0
    public var corruptReplicasReported = 0
    public var tornReplicasRemoved = 0
    public var nameNodeRestarts = 0
    public var failovers = 0
    public var balancerMoves = 0
    /// Good replicas per block at the end → blocks.
    public var replicationHistogram: [Int: Int] = [:]
    public var missingBlocks = 0
    public var underReplicatedBlocks = 0
    public var corruptBlocks = 0
    /// From the last fault until every block had its replication again (nil if it never did).
    public var recoveredAfterMs: UInt64?
    /// The fewest readable replicas (live + decommissioning) any sealed block had while a decommission ran.
    public var fewestReplicasDuringDecommission: Int?
    public var decommissioned = 0
    public var balanced: Bool?
    public var endMs: UInt64 = 0
    /// Events the run handled.
    public var events = 0
    /// Broken promises, each a sentence; empty for a good run.
    public var violations: [String] = []
}
