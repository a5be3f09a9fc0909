import AlzaCore
import Synchronization

/// The NameNode's durable state on a `DurableStorage` (DESIGN.md §7; HDFS's fsimage and edits):
///
/// - `fsimage_<transaction>`: a `NamespaceImage` of the namespace as of that transaction, written atomically;
/// - `edits_<first transaction>.log`: the journal records from that transaction on, `LogRecord` framing, each
///   batch appended and synced before `append` returns. Every edits file starts right after an image (or after
///   the records of the file before it), so an image and the edits files after it rebuild the namespace.
///
/// `checkpoint` writes a new image, starts a new edits file, and keeps one previous generation (image and edits)
/// for when the newest image turns out unreadable. `load` takes the newest image that decodes (an older one
/// only if the edits after it reach past the unreadable ones), replays the edits after it, and cuts a torn or
/// corrupt tail with a log line; nothing corrupt is ever applied. Transaction numbers are 12-digit padded.
public final class NameNodeStorage: Sendable {
    public let storage: any DurableStorage
    public let info: NamespaceInfo
    /// A checkpoint is due once this many transactions follow the newest image.
    public let checkpointInterval: UInt64

    private struct State: Sendable {
        /// Set by `load` or `format`; appends and checkpoints need the journal's end.
        var isOpen = false
        /// The newest image's transaction.
        var checkpoint: UInt64 = 0
        /// The journal's last transaction.
        var lastTransaction: UInt64 = 0
        /// The edits file appends go to.
        var edits = ""
        /// A failed append leaves the journal's end unknown: everything after it fails the same way until `load`.
        var failure: RaFiError?
    }

    private let state = Mutex(State())

    public init(storage: any DurableStorage, info: NamespaceInfo, checkpointInterval: UInt64 = 10_000) {
        precondition(checkpointInterval >= 1, "a checkpoint follows at least one transaction")
        self.storage = storage
        self.info = info
        self.checkpointInterval = checkpointInterval
    }

    /// The journal's last transaction (after `load`, `format` or `append`).
    public var lastTransaction: UInt64 { state.withLock { $0.lastTransaction } }
    /// The transaction of the newest image.
    public var checkpointTransaction: UInt64 { state.withLock { $0.checkpoint } }

    static func imageName(_ transaction: UInt64) -> String { "fsimage_" + padded(transaction) }
    static func editsName(_ first: UInt64) -> String { "edits_" + padded(first) + ".log" }

    private static func padded(_ value: UInt64) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, 12 - text.count)) + text
    }

    /// The transactions named by `files` that `name` spells exactly (temporaries and strays are not).
    private static func numbers(in files: [String], prefix: String, name: (UInt64) -> String) -> [UInt64] {
        files.compactMap { file in
            guard file.hasPrefix(prefix), let number = UInt64(file.dropFirst(prefix.count).prefix(while: \.isNumber)),
                  name(number) == file else { return nil }
            return number
        }.sorted()
    }

    // The storage's operations, their failures as `RaFiError`.

    private func listFiles() throws(RaFiError) -> [String] {
        do { return try storage.list() } catch { throw RaFiError(error) }
    }

    private func read(_ name: String) throws(RaFiError) -> [UInt8] {
        do { return try storage.read(name) ?? [] } catch { throw RaFiError(error) }
    }

    private func write(_ name: String, _ bytes: [UInt8]) throws(RaFiError) {
        do { try storage.writeAtomically(name, bytes) } catch { throw RaFiError(error) }
    }

    private func appendAndSync(_ name: String, _ bytes: [UInt8]) throws(RaFiError) {
        do {
            try storage.append(name, bytes)
            try storage.sync(name)
        } catch {
            throw RaFiError(error)
        }
    }

    private func truncate(_ name: String, to length: Int) throws(RaFiError) {
        do { try storage.truncate(name, to: length) } catch { throw RaFiError(error) }
    }

    private func remove(_ name: String) throws(RaFiError) {
        do { try storage.remove(name) } catch { throw RaFiError(error) }
    }

    // MARK: Formatting

    /// A fresh namespace owned by `rootOwner`, as image 0. Refused if the storage already holds an image; edits
    /// files without any image (which no load could use) are removed.
    @discardableResult
    public func format(rootOwner: String) throws(RaFiError) -> Namespace {
        let files = try listFiles()
        if let newest = Self.numbers(in: files, prefix: "fsimage_", name: Self.imageName).last {
            throw .alreadyFormatted(image: Self.imageName(newest))
        }
        for first in Self.numbers(in: files, prefix: "edits_", name: Self.editsName) {
            try remove(Self.editsName(first))
        }
        let namespace = Namespace(rootOwner: rootOwner)
        try write(Self.imageName(0), NamespaceImage.encode(namespace, info: info))
        state.withLock { $0 = State(isOpen: true, checkpoint: 0, lastTransaction: 0, edits: Self.editsName(1)) }
        return namespace
    }

    // MARK: Loading

    /// The namespace as of the journal's last intact transaction, with one log line per repair or finding. An
    /// image of another namespace is `wrongNamespace`; no image at all is `notFormatted`; no usable image (all
    /// corrupt, or the edits after the readable ones stop short of the newest corrupt one) is `imageCorrupt`.
    public func load() throws(RaFiError) -> (namespace: Namespace, log: [String]) {
        let files = try listFiles()
        let images = Self.numbers(in: files, prefix: "fsimage_", name: Self.imageName)
        guard !images.isEmpty else { throw .notFormatted }
        let edits = Self.numbers(in: files, prefix: "edits_", name: Self.editsName)
        var log: [String] = []
        var newestCorrupt: UInt64?
        for transaction in images.reversed() {
            guard let image = try readImage(transaction, log: &log) else {
                newestCorrupt = newestCorrupt ?? transaction
                continue
            }
            let replay = try replay(from: image, edits: edits)
            if let corrupt = newestCorrupt, replay.namespace.lastTransaction < corrupt {
                log.append("\(Self.imageName(transaction)) and its edits reach transaction \(replay.namespace.lastTransaction), "
                           + "short of \(Self.imageName(corrupt)); skipped")
                continue
            }
            for cut in replay.cuts { try truncate(cut.name, to: cut.length) }
            for name in replay.removals { try remove(name) }
            let last = replay.namespace.lastTransaction
            state.withLock {
                $0 = State(isOpen: true, checkpoint: transaction, lastTransaction: last, edits: replay.current ?? Self.editsName(last + 1))
            }
            return (replay.namespace, log + replay.log)
        }
        throw .imageCorrupt(reason: log.joined(separator: "; "))
    }

    /// The image's namespace, or nil (with a log line) if it is corrupt. Another namespace's image is thrown.
    private func readImage(_ transaction: UInt64, log: inout [String]) throws(RaFiError) -> Namespace? {
        let name = Self.imageName(transaction)
        let bytes = try read(name)
        do throws(RaFiError) {
            let namespace = try NamespaceImage.decode(bytes, expected: info)
            guard namespace.lastTransaction == transaction else {
                log.append("\(name) holds transaction \(namespace.lastTransaction); skipped")
                return nil
            }
            return namespace
        } catch {
            guard case .imageCorrupt(let reason) = error else { throw error }
            log.append("\(name) is corrupt (\(reason)); skipped")
            return nil
        }
    }

    /// What replaying the edits over an image gives, and the repairs it calls for (carried out only if the
    /// image is the one loaded).
    private struct Replay {
        var namespace: Namespace
        var log: [String] = []
        /// Files cut to a length: a torn or corrupt tail, or records from one that does not apply.
        var cuts: [(name: String, length: Int)] = []
        /// Files after a gap: nothing in them can be applied.
        var removals: [String] = []
        /// The edits file the last transaction is in, if it was started after the image: appends continue there.
        var current: String?

        mutating func cut(_ name: String, at length: Int, of size: Int, because problem: String) {
            log.append("\(name): \(problem); \(size - length) bytes cut after transaction \(namespace.lastTransaction)")
            cuts.append((name, length))
        }
    }

    private func replay(from image: Namespace, edits: [UInt64]) throws(RaFiError) -> Replay {
        var replay = Replay(namespace: image)
        // Files wholly before the image hold nothing to replay: start at the last one that begins by the
        // transaction after it.
        let start = edits.lastIndex { $0 <= image.lastTransaction + 1 } ?? 0
        var stopped = false
        for first in edits[start...] {
            let name = Self.editsName(first)
            let last = replay.namespace.lastTransaction
            if stopped || first > last + 1 {
                replay.log.append("\(name) does not continue transaction \(last); removed")
                replay.removals.append(name)
                stopped = true
                continue
            }
            stopped = try replayFile(name, into: &replay)
            if first > image.lastTransaction { replay.current = name }
        }
        return replay
    }

    /// Applies the file's records after the namespace's last transaction. Returns whether replay stops here: a
    /// record that is undecodable or does not apply is cut off with everything after it.
    private func replayFile(_ name: String, into replay: inout Replay) throws(RaFiError) -> Bool {
        let bytes = try read(name)
        let scan = LogRecord.scan(bytes)
        for (offset, payload) in scan.records {
            let record: JournalRecord
            do throws(CodecError) {
                record = try JournalRecord(canonicalBytes: payload)
            } catch {
                replay.cut(name, at: offset, of: bytes.count, because: "record at byte \(offset) is undecodable (\(error))")
                return true
            }
            guard record.transaction > replay.namespace.lastTransaction else { continue }
            do throws(RaFiError) {
                try replay.namespace.apply(record)
            } catch {
                let reason = if case .journalCorrupt(let why) = error { why } else { error.description }
                replay.cut(name, at: offset, of: bytes.count, because: "transaction \(record.transaction) does not apply (\(reason))")
                return true
            }
        }
        if let problem = scan.problem { replay.cut(name, at: scan.validLength, of: bytes.count, because: problem) }
        return false
    }

    // MARK: Appending and checkpoints

    /// Appends the records (consecutive, after `lastTransaction`) and syncs them: they are durable when this
    /// returns. After a failure the journal's end is unknown: later appends and checkpoints fail with the same
    /// error (the NameNode stops, as HDFS's does when its edits log fails) and the next `load` cuts whatever
    /// was half written.
    public func append(_ records: [JournalRecord]) throws(RaFiError) {
        guard let final = records.last else { return }
        try state.withLock { (state: inout State) throws(RaFiError) in
            precondition(state.isOpen, "load or format the NameNode storage before appending")
            if let failure = state.failure { throw failure }
            var bytes: [UInt8] = []
            for (index, record) in records.enumerated() {
                precondition(record.transaction == state.lastTransaction + 1 + UInt64(index),
                             "journaling transaction \(record.transaction) after \(state.lastTransaction + UInt64(index))")
                bytes += LogRecord.frame(record.canonicalBytes)
            }
            let name = state.edits
            do throws(RaFiError) {
                try appendAndSync(name, bytes)
            } catch {
                state.failure = error
                throw error
            }
            state.lastTransaction = final.transaction
        }
    }

    /// Whether a checkpoint is due with the journal at `lastTransaction`.
    public func checkpointDue(lastTransaction: UInt64) -> Bool {
        lastTransaction >= checkpointTransaction + checkpointInterval
    }

    /// Writes the image of `namespace` (which holds every journaled transaction), starts the edits file for the
    /// next transaction, and removes the images and edits older than the previous checkpoint. A namespace at
    /// the newest image's transaction has nothing to write.
    public func checkpoint(_ namespace: Namespace) throws(RaFiError) {
        try state.withLock { (state: inout State) throws(RaFiError) in
            precondition(state.isOpen, "load or format the NameNode storage before a checkpoint")
            if let failure = state.failure { throw failure }
            precondition(namespace.lastTransaction == state.lastTransaction,
                         "checkpoint of transaction \(namespace.lastTransaction) with the journal at \(state.lastTransaction)")
            let transaction = namespace.lastTransaction
            guard transaction > state.checkpoint else { return }
            try write(Self.imageName(transaction), NamespaceImage.encode(namespace, info: info))
            let previous = state.checkpoint
            state.checkpoint = transaction
            state.edits = Self.editsName(transaction + 1)
            // Keep this image and the previous one with the edits after it; older ones are superseded.
            let files = try listFiles()
            for old in Self.numbers(in: files, prefix: "fsimage_", name: Self.imageName) where old < previous {
                try remove(Self.imageName(old))
            }
            for first in Self.numbers(in: files, prefix: "edits_", name: Self.editsName) where first <= previous {
                try remove(Self.editsName(first))
            }
        }
    }
}
