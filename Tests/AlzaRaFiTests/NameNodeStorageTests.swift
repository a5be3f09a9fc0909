import AlzaCore
import AlzaRaFi
import Synchronization
import XCTest

/// A `MemoryStorage` whose syncs fail while `failing` is set (a disk error under the journal).
private final class FailingDisk: DurableStorage {
    let memory = MemoryStorage()
    let failing = Atomic(false)

    func list() throws(StorageError) -> [String] { try memory.list() }
    func read(_ name: String) throws(StorageError) -> [UInt8]? { try memory.read(name) }
    func read(_ name: String, offset: Int, count: Int) throws(StorageError) -> [UInt8] { try memory.read(name, offset: offset, count: count) }
    func size(_ name: String) throws(StorageError) -> Int? { try memory.size(name) }
    func append(_ name: String, _ bytes: [UInt8]) throws(StorageError) { try memory.append(name, bytes) }
    func truncate(_ name: String, to size: Int) throws(StorageError) { try memory.truncate(name, to: size) }
    func writeAtomically(_ name: String, _ bytes: [UInt8]) throws(StorageError) { try memory.writeAtomically(name, bytes) }
    func remove(_ name: String) throws(StorageError) { try memory.remove(name) }

    func sync(_ name: String) throws(StorageError) {
        if failing.load(ordering: .relaxed) { throw .io(file: name, operation: "fsync", reason: "injected") }
        try memory.sync(name)
    }
}

final class NameNodeStorageTests: XCTestCase {
    private let info = NameNodeHarness.info
    private let firstEdits = "edits_000000000001.log"

    /// A NameNode's journal from a real core: directories, complete files of several blocks, a delete, a
    /// replication change and a file left open.
    private func workload() throws -> [JournalRecord] {
        var harness = NameNodeHarness()
        for index in 0..<4 { harness.addNode("n\(index)", rack: "r\(index % 2)") }
        try harness.write("/chain/c1/segments/s1", blocks: 2)
        try harness.write("/chain/c1/segments/s2", blocks: 1)
        try harness.write("/archive/a1", blocks: 3, replication: 2)
        harness.record(try harness.core.delete(try NamespacePath("/chain/c1/segments/s1"), recursive: false, user: "rafi", now: harness.now))
        harness.record(try harness.core.setReplication(try NamespacePath("/archive/a1"), 3, user: "rafi"))
        harness.record(try harness.core.create(try NamespacePath("/open"), user: "rafi", client: "writer-2", now: harness.now))
        XCTAssertEqual(try replayed(harness.journal), harness.core.namespace)
        return harness.journal
    }

    private func replayed(_ records: some Sequence<JournalRecord>) throws -> Namespace {
        var namespace = Namespace(rootOwner: "rafi")
        for record in records { try namespace.apply(record) }
        return namespace
    }

    /// Appends as the NameNode shell does: one batch per input, three records each here.
    private func append(_ records: ArraySlice<JournalRecord>, to store: NameNodeStorage) throws {
        for start in stride(from: records.startIndex, to: records.endIndex, by: 3) {
            try store.append(Array(records[start..<min(start + 3, records.endIndex)]))
        }
    }

    private func formatted(_ disk: MemoryStorage, interval: UInt64 = 10_000) throws -> NameNodeStorage {
        let store = NameNodeStorage(storage: disk, info: info, checkpointInterval: interval)
        try store.format(rootOwner: "rafi")
        return store
    }

    private func assertThrows<T>(_ expression: @autoclosure () throws -> T, _ expected: RaFiError,
                                 file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            XCTAssertEqual(error as? RaFiError, expected, file: file, line: line)
        }
    }

    func testFormatAppendAndLoadRebuildTheNamespace() throws {
        let journal = try workload()
        XCTAssertEqual(journal.count, 22)
        let disk = MemoryStorage()
        let store = NameNodeStorage(storage: disk, info: info)
        XCTAssertEqual(try store.format(rootOwner: "rafi"), Namespace(rootOwner: "rafi"))
        XCTAssertEqual(try disk.list(), ["fsimage_000000000000"])
        try append(journal[...], to: store)
        XCTAssertEqual(try disk.list(), [firstEdits, "fsimage_000000000000"])
        XCTAssertEqual(store.lastTransaction, 22)

        disk.crash()
        let reopened = NameNodeStorage(storage: disk, info: info)
        let (namespace, log) = try reopened.load()
        XCTAssertEqual(namespace, try replayed(journal))
        XCTAssertEqual(log, [])
        XCTAssertEqual(reopened.lastTransaction, 22)
        XCTAssertEqual(reopened.checkpointTransaction, 0)
    }

    func testACheckpointInTheMiddleKeepsOnePreviousGeneration() throws {
        let journal = try workload()
        let disk = MemoryStorage()
        let store = try formatted(disk, interval: 10)
        try append(journal[..<12], to: store)
        XCTAssertFalse(store.checkpointDue(lastTransaction: 9))
        XCTAssertTrue(store.checkpointDue(lastTransaction: 10))
        try store.checkpoint(try replayed(journal[..<12]))
        XCTAssertEqual(try disk.list(), [firstEdits, "fsimage_000000000000", "fsimage_000000000012"])
        XCTAssertFalse(store.checkpointDue(lastTransaction: 21))
        XCTAssertTrue(store.checkpointDue(lastTransaction: 22))
        try append(journal[12..<20], to: store)

        let reopened = NameNodeStorage(storage: disk, info: info, checkpointInterval: 10)
        let (middle, middleLog) = try reopened.load()
        XCTAssertEqual(middle, try replayed(journal[..<20]))
        XCTAssertEqual(middleLog, [])
        XCTAssertEqual(reopened.checkpointTransaction, 12)
        try reopened.checkpoint(middle)
        try append(journal[20...], to: reopened)
        XCTAssertEqual(try disk.list(), ["edits_000000000013.log", "edits_000000000021.log", "fsimage_000000000012", "fsimage_000000000020"])

        let (namespace, log) = try NameNodeStorage(storage: disk, info: info).load()
        XCTAssertEqual(namespace, try replayed(journal))
        XCTAssertEqual(log, [])
    }

    func testACrashLosesOnlyUnsyncedRecordsAndCutsTheTornTail() throws {
        let journal = try workload()
        let disk = MemoryStorage()
        let store = try formatted(disk)
        try append(journal[..<9], to: store)
        XCTAssertEqual(try disk.size(firstEdits), 543)
        // A batch being written when the power went: its bytes reached the file but were never synced.
        try disk.append(firstEdits, journal[9..<15].flatMap { LogRecord.frame($0.canonicalBytes) })
        var random = SeededRandom(seed: 7)
        disk.crash(random: &random)
        XCTAssertEqual(try disk.size(firstEdits), 673, "the synced 543 bytes, one whole unsynced record and a torn one")

        let reopened = NameNodeStorage(storage: disk, info: info)
        let (namespace, log) = try reopened.load()
        XCTAssertEqual(namespace, try replayed(journal[..<10]))
        XCTAssertEqual(log, ["edits_000000000001.log: record at byte 606 declares 64 bytes, 59 remain; 67 bytes cut after transaction 10"])
        XCTAssertEqual(try disk.size(firstEdits), 606)
        XCTAssertEqual(reopened.lastTransaction, 10)

        // Appends continue right after the last intact record.
        try append(journal[Int(reopened.lastTransaction)...], to: reopened)
        let (after, afterLog) = try NameNodeStorage(storage: disk, info: info).load()
        XCTAssertEqual(after, try replayed(journal))
        XCTAssertEqual(afterLog, [])
    }

    func testAFlippedByteInTheJournalStopsReplayBeforeItAndCutsTheFile() throws {
        let journal = try workload()
        let disk = MemoryStorage()
        let store = try formatted(disk)
        try append(journal[...], to: store)
        let offset = journal[..<10].reduce(0) { $0 + LogRecord.frame($1.canonicalBytes).count }
        XCTAssertEqual(offset, 606)
        disk.corrupt(firstEdits, at: offset + LogRecord.headerSize + 3)

        let (namespace, log) = try NameNodeStorage(storage: disk, info: info).load()
        XCTAssertEqual(namespace, try replayed(journal[..<10]))
        XCTAssertEqual(log, ["edits_000000000001.log: record at byte 606 fails its checksum; 668 bytes cut after transaction 10"])
        XCTAssertEqual(try disk.size(firstEdits), 606)
    }

    func testAGapOrARecordThatDoesNotApplyStopsReplayThere() throws {
        let journal = try workload()
        let disk = MemoryStorage()
        let store = try formatted(disk)
        try append(journal[..<5], to: store)
        XCTAssertEqual(try disk.size(firstEdits), 258)
        var skipping = journal[6]
        skipping.transaction = 7
        try disk.append(firstEdits, LogRecord.frame(skipping.canonicalBytes))
        // A later edits file after a gap: it starts at transaction 9.
        try disk.append("edits_000000000009.log", LogRecord.frame(journal[8].canonicalBytes))

        let (namespace, log) = try NameNodeStorage(storage: disk, info: info).load()
        XCTAssertEqual(namespace, try replayed(journal[..<5]))
        XCTAssertEqual(log, ["edits_000000000001.log: transaction 7 does not apply (transaction 7 follows 5); 63 bytes cut after transaction 5",
                             "edits_000000000009.log does not continue transaction 5; removed"])
        XCTAssertEqual(try disk.size(firstEdits), 258)
        XCTAssertEqual(try disk.list(), [firstEdits, "fsimage_000000000000"])
    }

    func testACorruptNewestImageFallsBackToThePreviousOneAndItsEdits() throws {
        let journal = try workload()
        let disk = MemoryStorage()
        let store = try formatted(disk)
        try append(journal[..<12], to: store)
        try store.checkpoint(try replayed(journal[..<12]))
        try append(journal[12...], to: store)
        disk.corrupt("fsimage_000000000012", at: 40)

        let reopened = NameNodeStorage(storage: disk, info: info)
        let (namespace, log) = try reopened.load()
        XCTAssertEqual(namespace, try replayed(journal))
        XCTAssertEqual(log, ["fsimage_000000000012 is corrupt (checksum mismatch); skipped"])
        XCTAssertEqual(reopened.checkpointTransaction, 0)
        // Appends go on in the newest edits file; the next checkpoint keeps the image it fell back to.
        try reopened.checkpoint(namespace)
        XCTAssertEqual(try disk.list(), [firstEdits, "edits_000000000013.log", "fsimage_000000000000", "fsimage_000000000012",
                                         "fsimage_000000000022"])
    }

    func testACorruptNewestImageWithoutCompleteEditsBeforeItIsNotLoaded() throws {
        let journal = try workload()
        let disk = MemoryStorage()
        let store = try formatted(disk)
        try append(journal[..<12], to: store)
        try store.checkpoint(try replayed(journal[..<12]))
        try append(journal[12...], to: store)
        disk.corrupt("fsimage_000000000012", at: 40)
        disk.corrupt(firstEdits, at: 200)
        XCTAssertEqual(try disk.size(firstEdits), 719)

        assertThrows(try NameNodeStorage(storage: disk, info: info).load(), .imageCorrupt(reason: "fsimage_000000000012 is corrupt (checksum mismatch); skipped; "
                  + "fsimage_000000000000 and its edits reach transaction 4, short of fsimage_000000000012; skipped"))
        XCTAssertEqual(try disk.size(firstEdits), 719, "nothing is repaired when nothing is loaded")
    }

    func testAnImageOfAnotherNamespaceIsRefused() throws {
        let disk = MemoryStorage()
        _ = try formatted(disk)
        assertThrows(try NameNodeStorage(storage: disk, info: NamespaceInfo(namespaceID: 5)).load(), .wrongNamespace(expected: 5, actual: 42))
    }

    func testFormattingTwiceAndLoadingUnformattedStorageAreRefused() throws {
        let disk = MemoryStorage()
        let store = NameNodeStorage(storage: disk, info: info)
        assertThrows(try store.load(), .notFormatted)
        try disk.append("edits_000000000001.log", [1, 2, 3])
        try store.format(rootOwner: "rafi")
        XCTAssertEqual(try disk.list(), ["fsimage_000000000000"], "edits without an image are removed")
        assertThrows(try store.format(rootOwner: "someone"), .alreadyFormatted(image: "fsimage_000000000000"))
        try store.append([JournalRecord(transaction: 1, edit: .mkdir(try NamespacePath("/a"), Permission(owner: "rafi", mode: 0o755), time: 5))])
        try store.checkpoint(try store.load().namespace)
        assertThrows(try store.format(rootOwner: "rafi"), .alreadyFormatted(image: "fsimage_000000000001"))
    }

    func testAFailedAppendFailsEverythingAfterItUntilTheNextLoad() throws {
        let journal = try workload()
        let disk = FailingDisk()
        let store = NameNodeStorage(storage: disk, info: info)
        try store.format(rootOwner: "rafi")
        try store.append(Array(journal[..<3]))
        disk.failing.store(true, ordering: .relaxed)
        let failure = RaFiError.io(file: firstEdits, operation: "fsync", reason: "injected")
        assertThrows(try store.append(Array(journal[3..<5])), failure)
        disk.failing.store(false, ordering: .relaxed)
        assertThrows(try store.append(Array(journal[3..<5])), failure)
        assertThrows(try store.checkpoint(try replayed(journal[..<3])), failure)
        XCTAssertEqual(store.lastTransaction, 3)

        disk.memory.crash()
        let (namespace, log) = try store.load()
        XCTAssertEqual(namespace, try replayed(journal[..<3]))
        XCTAssertEqual(log, [])
        try store.append(Array(journal[3..<5]))
        XCTAssertEqual(try NameNodeStorage(storage: disk, info: info).load().namespace, try replayed(journal[..<5]))
    }
}
