import AlzaCore
import AlzaLedger

/// Decides which part of the committed (irreversible) chain to seal into RaFi next, and builds the files
/// (DESIGN.md §7). The planner is pure: the caller gives it the heights and the time, and keeps track of what it
/// stored.
///
/// Segments are aligned: full segments hold heights `k·N+1 ... (k+1)·N` (N = `blocksPerSegment`). Between two
/// full segments, the blocks committed since the last sealed one are sealed as a **tail** segment once the oldest
/// of them is `maxTailAgeMs` old, so losing every SuperNode loses at most that much of the chain. When the aligned
/// range is complete, its full segment replaces the tails inside it (`Plan.replaces`): each block is written at
/// most twice and the namespace keeps one file per N blocks. A rebuild reads overlapping and duplicate segments
/// alike (`ChainRebuilder`), so a tail that outlives its replacement does no harm.
public struct ChainArchiver: Hashable, Sendable {
    /// Blocks per full segment.
    public var blocksPerSegment: UInt64
    /// How old (by its header timestamp) the oldest unsealed committed block may get before a tail is sealed.
    public var maxTailAgeMs: UInt64

    /// 1,000 blocks per segment; a 10 s tail, as on testnets (a production chain may choose a longer one).
    public init(blocksPerSegment: UInt64 = 1_000, maxTailAgeMs: UInt64 = 10_000) {
        precondition(blocksPerSegment >= 1, "a segment holds at least one block")
        self.blocksPerSegment = blocksPerSegment
        self.maxTailAgeMs = maxTailAgeMs
    }

    /// The next segment to seal.
    public struct Plan: Hashable, Sendable {
        public var heights: ClosedRange<UInt64>
        /// Heights of earlier tail segments this one covers: once it is stored, segment files lying wholly inside
        /// this range may be deleted.
        public var replaces: ClosedRange<UInt64>?
        /// Whether this is a tail (a partial aligned range), sealed for its age.
        public var isTail: Bool

        public init(heights: ClosedRange<UInt64>, replaces: ClosedRange<UInt64>?, isTail: Bool) {
            self.heights = heights
            self.replaces = replaces
            self.isTail = isTail
        }
    }

    /// What to seal when blocks up to `committedHeight` are irreversible and segments hold every block up to
    /// `archivedHeight`; `oldestUnarchivedTimestamp` is the header timestamp of block `archivedHeight + 1`. Nil
    /// when nothing is due.
    public func nextSegment(committedHeight: UInt64, archivedHeight: UInt64, oldestUnarchivedTimestamp: UInt64,
                            now: UInt64) -> Plan? {
        guard committedHeight > archivedHeight else { return nil }
        let alignedStart = archivedHeight / blocksPerSegment * blocksPerSegment
        let (alignedEnd, overflow) = alignedStart.addingReportingOverflow(blocksPerSegment)
        if !overflow, committedHeight >= alignedEnd {
            let replaced = archivedHeight > alignedStart ? (alignedStart + 1)...archivedHeight : nil
            return Plan(heights: (alignedStart + 1)...alignedEnd, replaces: replaced, isTail: false)
        }
        guard now >= oldestUnarchivedTimestamp, now - oldestUnarchivedTimestamp >= maxTailAgeMs else { return nil }
        return Plan(heights: (archivedHeight + 1)...committedHeight, replaces: nil, isTail: true)
    }

    /// `nextSegment` for the blocks of `storage` (read for the oldest unsealed block's timestamp).
    public func nextSegment(of storage: ChainStorage, archivedHeight: UInt64, now: UInt64) throws(ChainArchiveError) -> Plan? {
        guard storage.height > archivedHeight else { return nil }
        let oldest: Block?
        do {
            oldest = try storage.block(at: archivedHeight + 1)
        } catch {
            throw .storage(error)
        }
        guard let oldest else { return nil }
        return nextSegment(committedHeight: storage.height, archivedHeight: archivedHeight,
                           oldestUnarchivedTimestamp: oldest.header.timestamp, now: now)
    }

    /// A sealed segment: its name (whose RaFi path is `ChainArchiveLayout.path(of:)`) and its bytes.
    public struct SealedSegment: Sendable {
        public var name: ChainArchiveLayout.SegmentName
        public var bytes: [UInt8]
    }

    /// The segment file of blocks `heights` of `storage`'s block log, exactly as stored.
    public static func segment(_ heights: ClosedRange<UInt64>,
                               from storage: ChainStorage) throws(ChainArchiveError) -> SealedSegment {
        guard heights.lowerBound >= 1, heights.upperBound <= storage.height,
              let last = storage.reference(at: heights.upperBound)
        else {
            throw .missingBlocks(from: max(heights.lowerBound, storage.height + 1), to: heights.upperBound)
        }
        var blocks: [[UInt8]] = []
        blocks.reserveCapacity(heights.count)
        for height in heights {
            let bytes: [UInt8]?
            do {
                bytes = try storage.blockBytes(at: height)
            } catch {
                throw .storage(error)
            }
            guard let bytes else { throw .missingBlocks(from: height, to: height) }
            blocks.append(bytes)
        }
        let name = ChainArchiveLayout.SegmentName(first: heights.lowerBound, last: heights.upperBound, lastBlockId: last.id)
        return SealedSegment(name: name, bytes: ChainSegmentFile.encode(chainId: storage.genesis.chainId,
                                                                        firstHeight: heights.lowerBound, blocks: blocks))
    }
}
