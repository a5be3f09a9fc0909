/// Whether a node should take new transactions from clients (DESIGN.md §9; decision D19). Pure: the chain
/// service gives it what it observed and the time, and asks.
///
/// A node refuses while gossiped transactions wait more than `waitLimit` before it can verify them, while its
/// blocks arrive more than twice that late after their slot (reported within the last `latenessMemory`), or
/// while its mempool is three-quarters full. Each means more load would put it further behind, so clients are
/// told to retry later and the load is shed at the edge instead of slowing the chain.
public struct AdmissionControl: Sendable {
    /// Longest tolerated wait of gossiped transactions, in milliseconds: two slots, at least one second.
    public let waitLimit: UInt64
    /// How long a late block counts, in milliseconds.
    public let latenessMemory: UInt64 = 10_000
    /// The last block's lateness and when it was observed (Unix ms).
    public private(set) var lastBlock: (lateness: UInt64, at: UInt64) = (0, 0)

    public init(slotMilliseconds: UInt64) {
        waitLimit = max(1_000, 2 * slotMilliseconds)
    }

    /// A block from a peer was handled `lateness` ms after its slot started.
    public mutating func blockReceived(lateness: UInt64, at now: UInt64) {
        lastBlock = (lateness, now)
    }

    /// This node produced a block: it is on time.
    public mutating func blockProduced(at now: UInt64) {
        lastBlock = (0, now)
    }

    /// Why not to admit now, or nil to admit.
    public func refusal(now: UInt64, transactionWait: UInt64, mempoolCount: Int, mempoolLimit: Int) -> String? {
        if transactionWait > waitLimit {
            return "gossiped transactions wait \(transactionWait) ms before this node verifies them (limit \(waitLimit) ms)"
        }
        if lastBlock.lateness > 2 * waitLimit, now < lastBlock.at + latenessMemory {
            return "blocks reach this node \(lastBlock.lateness) ms after their slot (limit \(2 * waitLimit) ms)"
        }
        if mempoolCount * 4 >= mempoolLimit * 3 {
            return "the mempool holds \(mempoolCount) of at most \(mempoolLimit) transactions"
        }
        return nil
    }
}
