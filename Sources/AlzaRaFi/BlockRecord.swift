/// The NameNode's record of one block (HDFS's BlockInfo): its current version, the file it belongs to and that
/// file's replication, whether it is sealed, and the DataNodes holding it. Replica locations are not journaled:
/// they come from block reports.
public struct BlockRecord: Sendable, Equatable {
    public var block: ExtendedBlock
    public var path: NamespacePath
    public var expected: Int
    /// The file is closed: the block's length is final and only now does it count as replicated (HDFS-17658 lost
    /// data by trusting blocks still under construction).
    public var isComplete: Bool
    /// Good replicas, with the length each reported (lease recovery closes a file at the shortest).
    public var replicas: [StorageID: UInt64] = [:]
    /// Replicas known to be corrupt (a checksum failed, a stale generation stamp, a wrong length).
    public var corrupt: Set<StorageID> = []

    public init(block: ExtendedBlock, path: NamespacePath, expected: Int, isComplete: Bool) {
        self.block = block
        self.path = path
        self.expected = expected
        self.isComplete = isComplete
    }

    public var holders: Set<StorageID> { Set(replicas.keys).union(corrupt) }
}
