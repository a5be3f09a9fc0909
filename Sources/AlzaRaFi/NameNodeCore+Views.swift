/// The cluster as `alza rafi report` shows it (HDFS's `dfsadmin -report`).
public struct ClusterReport: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        public var location: DataNodeLocation
        public var state: String
        public var capacity: UInt64
        public var used: UInt64
        public var blocks: Int
        public var lastHeartbeatAgeMs: UInt64
    }

    public var capacity: UInt64
    public var used: UInt64
    public var live: Int
    public var dead: Int
    public var decommissioning: Int
    public var decommissioned: Int
    public var inSafeMode: Bool
    public var underReplicated: Int
    public var corruptOrMissing: Int
    public var pendingReplications: Int
    public var nodes: [Node]
}

/// What `alza rafi fsck PATH` finds (HDFS's fsck): per block, whether it has its replication in good replicas.
public struct FsckReport: Sendable, Equatable {
    public struct Problem: Sendable, Equatable {
        public var path: NamespacePath
        public var block: BlockID
        public var live: Int
        public var expected: Int
        public var corrupt: Int
    }

    public var files = 0
    public var blocks = 0
    public var bytes: UInt64 = 0
    /// Blocks with no good replica anywhere (some may have corrupt ones).
    public var missing: [Problem] = []
    /// Blocks with at least one corrupt replica.
    public var corrupt: [Problem] = []
    /// Blocks with fewer good replicas than their replication (missing ones excluded).
    public var underReplicated: [Problem] = []
    /// Blocks of files still being written (not counted as replicated yet).
    public var underConstruction = 0
    /// Good replicas per block → how many blocks have that many.
    public var replicationHistogram: [Int: Int] = [:]

    public var isHealthy: Bool { missing.isEmpty && corrupt.isEmpty && underReplicated.isEmpty }
}

extension NameNodeCore {
    public func clusterReport(now: UInt64) -> ClusterReport {
        let nodes = dataNodes.values.sorted { $0.storageID < $1.storageID }
        let live = nodes.filter(\.isAlive)
        return ClusterReport(
            capacity: live.reduce(0) { $0 + $1.capacity }, used: live.reduce(0) { $0 + $1.used },
            live: live.count, dead: nodes.count - live.count,
            decommissioning: live.filter { $0.adminState == .decommissioning }.count,
            decommissioned: nodes.filter { $0.adminState == .decommissioned }.count,
            inSafeMode: isInSafeMode,
            underReplicated: [.highest, .veryLow, .low].reduce(0) { $0 + lowRedundancy.count(at: $1) },
            corruptOrMissing: lowRedundancy.count(at: .corrupt),
            pendingReplications: pendingReplications.count,
            nodes: nodes.map { node in
                ClusterReport.Node(location: node.location, state: node.isAlive ? node.adminState.rawValue : "dead",
                                   capacity: node.capacity, used: node.used, blocks: node.blocks.count,
                                   lastHeartbeatAgeMs: now > node.lastHeartbeat ? now - node.lastHeartbeat : 0)
            })
    }

    /// Checks every block of the files under `path`.
    public func fsck(_ path: NamespacePath = .root) throws(RaFiError) -> FsckReport {
        guard namespace.inode(at: path) != nil else { throw .notFound(path.description) }
        var report = FsckReport()
        for (filePath, file) in namespace.files(under: path) {
            report.files += 1
            for block in file.blocks {
                report.blocks += 1
                report.bytes += block.length
                guard let record = blocks[block.id], record.isComplete else {
                    report.underConstruction += 1
                    continue
                }
                let count = countReplicas(block.id)
                let good = count.live + count.decommissioning
                report.replicationHistogram[count.live, default: 0] += 1
                let problem = FsckReport.Problem(path: filePath, block: block.id, live: count.live, expected: record.expected, corrupt: count.corrupt)
                if good == 0 { report.missing.append(problem) } else if count.live < record.expected { report.underReplicated.append(problem) }
                if count.corrupt > 0 { report.corrupt.append(problem) }
            }
        }
        return report
    }
}
