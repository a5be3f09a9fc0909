import AlzaCore
import AlzaLedger

/// The chain's gossip policy (DESIGN.md §1, §8) as a pure state machine, time as input: this node's own
/// transactions go out in batches (when `batchWindowMilliseconds` have passed since the first one waited, or at
/// once when a batch is full); a received batch is forwarded as it came when all of it was accepted (so it keeps
/// one gossip id network-wide) or as the accepted part; and the chain status is announced to peers every
/// `statusIntervalMilliseconds`. Every wait is an effect (`wakeAt`); the shell owns the one timer.
public struct ChainRelayCore: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var batchWindowMilliseconds: UInt64 = 20
        public var batchBytes = 1 << 20
        public var statusIntervalMilliseconds: UInt64 = 2_000
        public init() {}
    }

    public enum Effect: Sendable, Equatable {
        /// Gossip this `TransactionBatch` payload on the transactions topic.
        case publishTransactions([UInt8])
        /// Tell every peer this node's head and LIB.
        case announceStatus
        /// Call `tick` at this time (the earliest pending deadline).
        case wakeAt(UInt64)
    }

    public let configuration: Configuration
    private var waiting: [SignedTransaction] = []
    private var waitingBytes = 0
    private var batchDeadline: UInt64?
    private var nextStatus: UInt64

    /// The first status goes out one interval after `now`.
    public init(configuration: Configuration = Configuration(), now: UInt64) {
        precondition(configuration.batchWindowMilliseconds > 0 && configuration.statusIntervalMilliseconds > 0,
                     "relay intervals are positive")
        self.configuration = configuration
        nextStatus = now + configuration.statusIntervalMilliseconds
    }

    /// The time of the next `tick` that has work.
    public var nextWake: UInt64 { min(batchDeadline ?? .max, nextStatus) }

    /// Transactions waiting for the next batch.
    public var waitingCount: Int { waiting.count }

    /// Queues one of this node's accepted transactions for gossip.
    public mutating func queue(_ transaction: SignedTransaction, now: UInt64) -> [Effect] {
        waiting.append(transaction)
        waitingBytes += transaction.encodedSize
        if waiting.count >= TransactionBatch.maximumCount || waitingBytes >= configuration.batchBytes { return flush() }
        guard batchDeadline == nil else { return [] }
        batchDeadline = now + configuration.batchWindowMilliseconds
        return [.wakeAt(nextWake)]
    }

    /// Sends what waits now (a client's batch of submissions is a batch already).
    public mutating func flush() -> [Effect] {
        batchDeadline = nil
        guard !waiting.isEmpty else { return [] }
        defer {
            waiting.removeAll(keepingCapacity: true)
            waitingBytes = 0
        }
        return [.publishTransactions(TransactionBatch(waiting).canonicalBytes)]
    }

    /// What happens because time passed: a batch whose window closed goes out, a due status is announced.
    public mutating func tick(now: UInt64) -> [Effect] {
        var effects: [Effect] = []
        if let deadline = batchDeadline, now >= deadline { effects += flush() }
        if now >= nextStatus {
            effects.append(.announceStatus)
            // A node that slept past several intervals announces once, then keeps the cadence from now.
            nextStatus = now + configuration.statusIntervalMilliseconds
        }
        effects.append(.wakeAt(nextWake))
        return effects
    }

    /// The relay of a received batch whose `accepted` transactions the core took (the others were known or
    /// invalid): the batch as it came when all were accepted, the accepted part otherwise, nothing when none.
    public static func relay(received payload: [UInt8], count: Int, accepted: [SignedTransaction]) -> [Effect] {
        if accepted.isEmpty { return [] }
        if accepted.count == count { return [.publishTransactions(payload)] }
        return [.publishTransactions(TransactionBatch(accepted).canonicalBytes)]
    }
}
