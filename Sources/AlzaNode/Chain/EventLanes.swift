import AlzaNet
import Foundation
import Synchronization

/// Network events waiting for the chain service, in two lanes. Transaction gossip waits while anything else
/// (blocks, sync responses, statuses, peer changes) is pending: a node busy verifying transactions still applies
/// each block when it arrives, instead of after the transactions that came before it (late blocks make the next
/// producer build on an old head, and the chain forks). The transaction lane is bounded; the age of its oldest
/// entry tells the node it is overloaded. The urgent lane is bounded too (a peer flooding statuses cannot grow it):
/// past its limit the oldest event is dropped and counted; a lost block comes back through sync.
public final class EventLanes: Sendable {
    private struct State {
        var urgent: [TransportEvent] = []
        var urgentHead = 0
        var transactions: [(event: TransportEvent, since: UInt64)] = []
        var transactionsHead = 0
        var waiter: CheckedContinuation<TransportEvent?, Never>?
        var finished = false
        var dropped: UInt64 = 0
        var droppedUrgent: UInt64 = 0

        mutating func pop() -> TransportEvent? {
            if urgentHead < urgent.count {
                defer {
                    urgentHead += 1
                    if urgentHead == urgent.count { urgent.removeAll(keepingCapacity: true); urgentHead = 0 }
                }
                return urgent[urgentHead]
            }
            if transactionsHead < transactions.count {
                defer {
                    transactionsHead += 1
                    if transactionsHead == transactions.count {
                        transactions.removeAll(keepingCapacity: true)
                        transactionsHead = 0
                    } else if transactionsHead > 4_096 && transactionsHead * 2 > transactions.count {
                        transactions.removeFirst(transactionsHead)
                        transactionsHead = 0
                    }
                }
                return transactions[transactionsHead].event
            }
            return nil
        }
    }

    private let state = Mutex(State())
    /// Transaction batches waiting at most; beyond it the oldest is dropped (counted; peers still hold it).
    public let transactionLimit: Int

    /// Other events waiting at most; beyond it the oldest is dropped (counted).
    public let urgentLimit: Int

    public init(transactionLimit: Int = 65_536, urgentLimit: Int = 65_536) {
        precondition(transactionLimit > 0 && urgentLimit > 0, "each lane holds at least one event")
        self.transactionLimit = transactionLimit
        self.urgentLimit = urgentLimit
    }

    public func push(_ event: TransportEvent, now: UInt64) {
        let isTransactions: Bool
        if case .gossip(let message, _, _) = event, message.topic == .transactions { isTransactions = true } else { isTransactions = false }
        let waiter = state.withLock { state -> CheckedContinuation<TransportEvent?, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            if isTransactions {
                if state.transactions.count - state.transactionsHead >= transactionLimit {
                    state.transactionsHead += 1
                    state.dropped += 1
                }
                state.transactions.append((event, now))
            } else {
                if state.urgent.count - state.urgentHead >= urgentLimit {
                    state.urgentHead += 1
                    state.droppedUrgent += 1
                    if state.urgentHead > 4_096 && state.urgentHead * 2 > state.urgent.count {
                        state.urgent.removeFirst(state.urgentHead)   // keep the array at the lane's bound
                        state.urgentHead = 0
                    }
                }
                state.urgent.append(event)
            }
            return nil
        }
        waiter?.resume(returning: event)
    }

    /// The next event, blocks and control first; nil once finished and empty.
    public func next() async -> TransportEvent? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> TransportEvent?? in
                if let event = state.pop() { return .some(event) }
                if state.finished { return .some(nil) }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    public func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<TransportEvent?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// How long the oldest waiting transaction batch has waited, in milliseconds (0 when none waits).
    public func transactionWait(now: UInt64) -> UInt64 {
        state.withLock { state in
            guard state.transactionsHead < state.transactions.count else { return 0 }
            let since = state.transactions[state.transactionsHead].since
            return now > since ? now - since : 0
        }
    }

    /// Whether a reader is parked in `next()` waiting for an event (the lanes are empty).
    public var hasWaitingReader: Bool { state.withLock { $0.waiter != nil } }

    /// Transaction batches dropped because the lane was full.
    public var droppedTransactionBatches: UInt64 { state.withLock { $0.dropped } }

    /// Blocks, statuses and peer events dropped because the urgent lane was full.
    public var droppedUrgentEvents: UInt64 { state.withLock { $0.droppedUrgent } }
}
