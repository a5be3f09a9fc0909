/// A node's chain as a testnet run reads it from outside, block by block over the API (`alza testnet run`'s
/// observer): which height to read next, and when a block shows the node switched branches since the height below
/// was read — its parent is not the block read there — from where to read again. Pure, so the rewind is tested
/// without a testnet.
public struct ObservedBranch {
    /// What to do with a block just read.
    public enum Step: Equatable, Sendable {
        /// It extends what was read: count its transactions as included.
        case include
        /// The node switched branches: what was read from this height on is reverted; read again from it.
        case rewind(from: UInt64)
    }

    public private(set) var next: UInt64 = 1
    /// Ids of the blocks read above the LIB (and the LIB's).
    private var observed: [UInt64: String] = [:]

    public init() {}

    /// The block at `next` was read. A rewind goes back to above the LIB, whose parent is not checked, so rewinds
    /// cannot repeat for ever.
    public mutating func read(height: UInt64, id: String, previous: String, lib: UInt64) -> Step {
        precondition(height == next, "blocks are read in height order: \(height) read, \(next) expected")
        if let parent = observed[height - 1], parent != previous {
            let from = max(1, min(lib + 1, height - 1))
            observed = observed.filter { $0.key < from - 1 }
            next = from
            return .rewind(from: from)
        }
        observed[height] = id
        next += 1
        return .include
    }

    /// Blocks at or below the LIB cannot change: only the LIB's id is kept, as the parent of the next.
    public mutating func finalized(upTo lib: UInt64) {
        observed = observed.filter { $0.key >= lib }
    }
}
