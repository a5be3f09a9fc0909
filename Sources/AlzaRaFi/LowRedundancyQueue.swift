/// Blocks with fewer good replicas than their replication, in five levels (HDFS's LowRedundancyBlocks): the
/// replication monitor serves lower levels first, so a block with one replica left is copied before one with two.
public struct LowRedundancyQueue: Sendable, Equatable {
    public enum Level: Int, CaseIterable, Sendable, Comparable {
        /// One live replica left (or none, with copies on decommissioning nodes).
        case highest = 0
        /// Live replicas × 3 below the replication.
        case veryLow = 1
        /// Below the replication.
        case low = 2
        /// Enough replicas, all on one rack.
        case badlyDistributed = 3
        /// No good replica: every one known is corrupt, or none is known at all (missing).
        case corrupt = 4

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    private var levels: [Set<BlockID>] = Array(repeating: [], count: Level.allCases.count)
    private var levelOf: [BlockID: Level] = [:]
    /// Where the last round stopped in each level, so blocks that cannot be served now do not starve the rest.
    private var cursors: [BlockID?] = Array(repeating: nil, count: Level.allCases.count)

    public init() {}

    /// Level for a block with `count` against `expected`, over `rackCount` racks in the cluster.
    public static func level(for count: ReplicaCount, expected: Int, rackCount: Int) -> Level? {
        if count.live == 0 {
            return count.decommissioning > 0 ? .highest : .corrupt
        }
        if count.live + count.pending >= expected {
            return expected > 1 && rackCount > 1 && count.racks < 2 ? .badlyDistributed : nil
        }
        if count.live == 1 { return .highest }
        if count.live * 3 < expected { return .veryLow }
        return .low
    }

    public var count: Int { levelOf.count }
    public func count(at level: Level) -> Int { levels[level.rawValue].count }
    public func level(of block: BlockID) -> Level? { levelOf[block] }

    /// Puts the block at `level` (moving it if it was elsewhere), or removes it when `level` is nil.
    public mutating func update(_ block: BlockID, to level: Level?) {
        if let old = levelOf[block] {
            if old == level { return }
            levels[old.rawValue].remove(block)
        }
        levelOf[block] = level
        if let level { levels[level.rawValue].insert(block) }
    }

    public mutating func remove(_ block: BlockID) { update(block, to: nil) }

    /// Up to `limit` blocks to work on, lowest level first and, within a level, in block order from where the
    /// previous call stopped (wrapping around). Corrupt/missing blocks are left out: nothing can be copied from them.
    public mutating func next(_ limit: Int) -> [(BlockID, Level)] {
        var chosen: [(BlockID, Level)] = []
        for level in Level.allCases where level != .corrupt && chosen.count < limit {
            let members = levels[level.rawValue].sorted()
            guard !members.isEmpty else { continue }
            let start = cursors[level.rawValue].flatMap { cursor in members.firstIndex { $0 > cursor } } ?? 0
            let take = min(limit - chosen.count, members.count)
            for offset in 0..<take {
                chosen.append((members[(start + offset) % members.count], level))
            }
            cursors[level.rawValue] = chosen.last?.0
        }
        return chosen
    }

    /// Every queued block at `level`, in order (for fsck and metrics).
    public func blocks(at level: Level) -> [BlockID] { levels[level.rawValue].sorted() }
}
