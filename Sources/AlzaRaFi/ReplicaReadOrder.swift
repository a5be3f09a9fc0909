/// The client's rule for which replica to read first (HDFS's network topology sort): nearest first by network
/// distance (0 on the reader's own address, 2 in its rack, 4 elsewhere), replicas the NameNode knows to be
/// corrupt last, and the NameNode's order between equals.
public enum ReplicaReadOrder {
    /// HDFS's distance between two nodes of a two-level (rack, node) topology.
    public static func distance(from readerAddress: String, rack readerRack: String, to location: DataNodeLocation) -> Int {
        if location.address == readerAddress { return 0 }
        return location.rack == readerRack ? 2 : 4
    }

    /// `block`'s locations in the order to try them.
    public static func ordered(_ block: LocatedBlock, readerAddress: String, readerRack: String) -> [DataNodeLocation] {
        block.locations.enumerated().sorted { lhs, rhs in
            let left = (block.corrupt.contains(lhs.element.storageID) ? 1 : 0,
                        distance(from: readerAddress, rack: readerRack, to: lhs.element), lhs.offset)
            let right = (block.corrupt.contains(rhs.element.storageID) ? 1 : 0,
                         distance(from: readerAddress, rack: readerRack, to: rhs.element), rhs.offset)
            return left < right
        }.map(\.element)
    }
}

/// Reading one block (HDFS's DFSInputStream failover) as a pure state machine: it names the replica to read
/// next; the caller reads it, checking every chunk's checksum, and reports how it went. A replica that fails
/// its checksums is remembered, to report to the NameNode; an unreachable node is just skipped. When no
/// replica is left, the read fails with `noReplicaReadable`.
public struct BlockReader: Sendable {
    public let located: LocatedBlock
    /// Locations in the order they are tried.
    public let order: [DataNodeLocation]
    /// How many have been handed out by `nextLocation`.
    public private(set) var tried = 0
    /// Replicas that failed their checksums: report them to the NameNode (also after a successful read).
    public private(set) var corrupt: [DataNodeLocation] = []
    /// The replica that read intact, once one did.
    public private(set) var readFrom: DataNodeLocation?

    public init(_ located: LocatedBlock, readerAddress: String, readerRack: String) {
        self.located = located
        order = ReplicaReadOrder.ordered(located, readerAddress: readerAddress, readerRack: readerRack)
    }

    public var blockID: BlockID { located.block.id }
    public var isDone: Bool { readFrom != nil }

    /// The replica to read next; none left is `noReplicaReadable`.
    public mutating func nextLocation() throws(RaFiError) -> DataNodeLocation {
        precondition(readFrom == nil, "the block was read already")
        guard tried < order.count else { throw .noReplicaReadable(blockID, tried: tried) }
        tried += 1
        return order[tried - 1]
    }

    /// The replica last handed out failed. Checksum, meta and length failures mark it corrupt; any other
    /// failure (unreachable, I/O) only moves on.
    public mutating func readFailed(_ error: RaFiError) {
        precondition(tried > 0 && readFrom == nil, "readFailed without a replica being read")
        switch error {
        case .checksumMismatch, .metaCorrupt, .lengthMismatch:
            corrupt.append(order[tried - 1])
        default:
            break
        }
    }

    /// The replica last handed out read intact.
    public mutating func readSucceeded() {
        precondition(tried > 0 && readFrom == nil, "readSucceeded without a replica being read")
        readFrom = order[tried - 1]
    }
}
