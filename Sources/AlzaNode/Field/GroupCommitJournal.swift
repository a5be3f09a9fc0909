import AlzaCore
import AlzaField
import AlzaLedger
import Logging
import Synchronization

/// A `RecordLog` written in groups (DESIGN.md §6, "fsync-grouped"): records handed in while a write and its fsync
/// are under way go together in the next one, and the write runs on its own task, so a busy writer pays one fsync
/// per group and an idle one at once. `append` is synchronous, so records land in the order their callers (each an
/// actor) appended them; `durable(through:)` waits for a ticket's write. A failed write fails every later one too
/// (a torn record would hide what follows it at the next start), logged once.
final class GroupCommitJournal: Sendable {
    let log: RecordLog
    private let logger: Logger

    private struct State {
        var pending: [[UInt8]] = []
        /// Tickets are record counts: ticket t is durable once `durableThrough >= t`.
        var appended: UInt64 = 0
        var durableThrough: UInt64 = 0
        var waiters: [(ticket: UInt64, continuation: CheckedContinuation<Result<Void, StorageError>, Never>)] = []
        var writing = false
        var failure: StorageError?
        var writes: UInt64 = 0
    }

    private let state = Mutex(State())

    init(log: RecordLog, logger: Logger) {
        self.log = log
        self.logger = logger
    }

    /// Appends `records` to the next write and returns the ticket to wait for.
    @discardableResult
    func append(_ records: [[UInt8]]) -> UInt64 {
        let (ticket, start) = state.withLock { state -> (UInt64, Bool) in
            state.pending += records
            state.appended += UInt64(records.count)
            let start = !state.writing && state.failure == nil
            if start { state.writing = true }
            return (state.appended, start)
        }
        if start { startWrite() }
        return ticket
    }

    /// Waits until every record up to `ticket` is durable, or the journal failed.
    func durable(through ticket: UInt64) async throws(StorageError) {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, StorageError>, Never>) in
            let ready: Result<Void, StorageError>? = state.withLock { state in
                if let failure = state.failure { return .failure(failure) }
                if state.durableThrough >= ticket { return .success(()) }
                state.waiters.append((ticket, continuation))
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
        try result.get()
    }

    var writes: UInt64 { state.withLock { $0.writes } }

    private func startWrite() {
        let (batch, through) = state.withLock { state -> ([[UInt8]], UInt64) in
            let batch = state.pending
            state.pending.removeAll(keepingCapacity: true)
            return (batch, state.appended)
        }
        let log = self.log
        Task.detached {
            let result = Result { () throws(StorageError) in
                try log.append(batch)
                try log.sync()
            }
            self.finished(result, through: through)
        }
    }

    private func finished(_ result: Result<Void, StorageError>, through: UInt64) {
        let (resumed, again, failedNow) = state.withLock { state -> ([(CheckedContinuation<Result<Void, StorageError>, Never>, Result<Void, StorageError>)], Bool, StorageError?) in
            state.writes += 1
            var failedNow: StorageError?
            switch result {
            case .success: state.durableThrough = through
            case .failure(let error):
                if state.failure == nil { failedNow = error }
                state.failure = state.failure ?? error
            }
            var resumed: [(CheckedContinuation<Result<Void, StorageError>, Never>, Result<Void, StorageError>)] = []
            state.waiters.removeAll { waiter in
                if let failure = state.failure {
                    resumed.append((waiter.continuation, .failure(failure)))
                    return true
                }
                guard waiter.ticket <= state.durableThrough else { return false }
                resumed.append((waiter.continuation, .success(())))
                return true
            }
            let again = state.failure == nil && !state.pending.isEmpty
            state.writing = again
            return (resumed, again, failedNow)
        }
        if let failedNow { logger.critical("field journal \(log.name) failed: \(failedNow.description); no further record is written") }
        for (continuation, result) in resumed { continuation.resume(returning: result) }
        if again { startWrite() }
    }
}

/// One leader's or participant's view of the node's shared field journal: its entries go in as
/// `FieldJournalRecord`s under its owner.
struct FieldJournalWriter: Sendable {
    let owner: FieldJournalOwner
    let journal: GroupCommitJournal

    /// Waits until the entries of `ticket` (from `enqueue`) are durable. Appending is a separate, synchronous step
    /// so that records keep the order of the actor appending them (an async call would first leave the actor).
    func durable(_ ticket: UInt64) async throws(StorageError) {
        try await journal.durable(through: ticket)
    }

    /// Appends now; durable with the next write.
    @discardableResult
    func enqueue(_ entries: [[UInt8]]) -> UInt64 {
        journal.append(entries.map { FieldJournalRecord(owner: owner, entry: $0).canonicalBytes })
    }
}
