import AlzaCore
import AlzaField
import AlzaLedger

/// A `RecordLog` written in groups (DESIGN.md §6, "fsync-grouped"): records handed in while a write and its fsync
/// are under way go together in the next one, and the write runs off the actor, so a busy writer pays one fsync
/// per group and an idle one at once. `write` returns when its records are durable; `enqueue` rides along with
/// the next write without waiting for it.
actor GroupCommitJournal {
    let log: RecordLog
    private var pending: [[UInt8]] = []
    private var waiters: [CheckedContinuation<Result<Void, StorageError>, Never>] = []
    private var writing = false
    /// Writes (each one fsync) and records written, for the role's details.
    private(set) var writes: UInt64 = 0
    private(set) var recordsWritten: UInt64 = 0

    init(log: RecordLog) {
        self.log = log
    }

    /// Makes `records` durable (with whatever else waits).
    func write(_ records: [[UInt8]]) async throws(StorageError) {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, StorageError>, Never>) in
            pending += records
            waiters.append(continuation)
            if !writing { startWrite() }
        }
        try result.get()
    }

    /// Adds `records` to the next write, starting one if none is under way.
    func enqueue(_ records: [[UInt8]]) {
        pending += records
        if !writing { startWrite() }
    }

    private func startWrite() {
        precondition(!writing, "one write at a time")
        guard !pending.isEmpty || !waiters.isEmpty else { return }
        writing = true
        let (batch, resumed) = (pending, waiters)
        pending.removeAll()
        waiters.removeAll()
        let log = self.log
        Task.detached {
            let result = Result { () throws(StorageError) in
                guard !batch.isEmpty else { return }
                try log.append(batch)
                try log.sync()
            }
            await self.finished(result, records: batch.count, resumed: resumed)
        }
    }

    private func finished(_ result: Result<Void, StorageError>, records: Int,
                          resumed: [CheckedContinuation<Result<Void, StorageError>, Never>]) {
        writing = false
        writes += 1
        recordsWritten += UInt64(records)
        for continuation in resumed { continuation.resume(returning: result) }
        if !pending.isEmpty || !waiters.isEmpty { startWrite() }
    }
}

/// One leader's or participant's view of the node's shared field journal: its entries go in as
/// `FieldJournalRecord`s under its owner.
struct FieldJournalWriter: Sendable {
    let owner: FieldJournalOwner
    let journal: GroupCommitJournal

    func write(_ entries: [[UInt8]]) async throws(StorageError) {
        try await journal.write(entries.map { FieldJournalRecord(owner: owner, entry: $0).canonicalBytes })
    }

    func enqueue(_ entries: [[UInt8]]) async {
        await journal.enqueue(entries.map { FieldJournalRecord(owner: owner, entry: $0).canonicalBytes })
    }
}
