/// The NameNode's limits and timings (DESIGN.md §10; HDFS's names in the comments). Times in milliseconds.
/// Testnets scale the timings down with `scaled(by:)`; the replication throttle changes at run time through
/// `NameNodeCore.setReplicationLimits`.
public struct NameNodeConfiguration: Sendable, Equatable {
    /// dfs.heartbeat.interval (3 s).
    public var heartbeatIntervalMs: UInt64 = 3_000
    /// dfs.namenode.heartbeat.recheck-interval (5 min): dead after 2 × this + 10 heartbeats = 10.5 min.
    public var heartbeatRecheckMs: UInt64 = 300_000
    /// How often the replication monitor runs (dfs.namenode.redundancy.interval, 3 s).
    public var monitorIntervalMs: UInt64 = 3_000
    /// Concurrent copies a DataNode sends (dfs.namenode.replication.max-streams is 2 and makes rebuilds slow).
    public var replicationStreams = 4
    /// Bytes per second of copies scheduled from one DataNode.
    public var replicationBytesPerSecond: UInt64 = 64 << 20
    /// Blocks scheduled per monitor round per live DataNode (dfs.namenode.replication.work.multiplier.per.iteration).
    public var workPerDataNode = 2
    /// A copy not confirmed within this is scheduled again (dfs.namenode.reconstruction.pending.timeout-sec, 5 min).
    public var pendingTimeoutMs: UInt64 = 300_000
    /// Commands waiting for one DataNode at most (HDFS-17284 queued millions; every queue here is bounded).
    public var commandsPerDataNode = 1_000
    /// Replicas deleted per heartbeat answer at most (dfs.block.invalidate.limit).
    public var deletesPerHeartbeat = 1_000
    /// Safe mode ends when this many per mille of sealed blocks have a reported replica
    /// (dfs.namenode.safemode.threshold-pct 0.999) ...
    public var safeModeThresholdPerMille = 999
    /// ... and this long after the threshold was reached (dfs.namenode.safemode.extension, 30 s).
    public var safeModeExtensionMs: UInt64 = 30_000
    /// Another client may recover a file whose writer was silent this long (lease soft limit, 60 s) ...
    public var leaseSoftLimitMs: UInt64 = 60_000
    /// ... and the NameNode closes it itself after this (hard limit, 1 h).
    public var leaseHardLimitMs: UInt64 = 3_600_000
    /// The NameNode's own user: may write anywhere.
    public var superuser = "rafi"
    /// When non-empty, only DataNodes at these addresses may register (dfs.hosts).
    public var includeAddresses: Set<String> = []

    public init() {}

    public var deadAfterMs: UInt64 { 2 * heartbeatRecheckMs + 10 * heartbeatIntervalMs }

    /// The timings divided by `factor` (testnets and the simulator run minutes as seconds); limits unchanged.
    public func scaled(by factor: UInt64) -> NameNodeConfiguration {
        precondition(factor >= 1, "a scale divides")
        var copy = self
        copy.heartbeatIntervalMs = max(1, heartbeatIntervalMs / factor)
        copy.heartbeatRecheckMs = max(1, heartbeatRecheckMs / factor)
        copy.monitorIntervalMs = max(1, monitorIntervalMs / factor)
        copy.pendingTimeoutMs = max(1, pendingTimeoutMs / factor)
        copy.safeModeExtensionMs = safeModeExtensionMs / factor
        copy.leaseSoftLimitMs = max(1, leaseSoftLimitMs / factor)
        copy.leaseHardLimitMs = max(1, leaseHardLimitMs / factor)
        return copy
    }
}
