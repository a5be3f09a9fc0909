import AlzaCore
import AlzaLedger
import Foundation
import Testing

/// A role's journal file: records come back in order; a torn or corrupt tail is cut off and said.
@Suite struct RecordLogTests {
    func folder() throws -> FileStorage {
        try FileStorage(directory: NSTemporaryDirectory() + "alza-record-log-\(UUID().uuidString.prefix(8))")
    }

    @Test func recordsComeBackInOrderAfterReopening() throws {
        let storage = try folder()
        let log = RecordLog(storage: storage, name: "journal")
        try log.append([[1, 2, 3], [], [4]])
        try log.append([[5]])
        try log.sync()
        let opened = try RecordLog(storage: storage, name: "journal").open()
        #expect(opened.records == [[1, 2, 3], [], [4], [5]])
        #expect(opened.repair == nil)
        #expect(try RecordLog(storage: storage, name: "missing").open().records.isEmpty)
    }

    @Test func aRewrittenLogHoldsTheKeptRecordsAndTakesAppendsAfterThem() throws {
        let storage = try folder()
        let log = RecordLog(storage: storage, name: "journal")
        try log.append([[1], [2, 2], [3, 3, 3]])
        try log.sync()
        try log.rewrite([[2, 2]])
        try log.append([[4]])
        try log.sync()
        #expect(try RecordLog(storage: storage, name: "journal").open().records == [[2, 2], [4]])
        try log.rewrite([])
        #expect(try storage.size("journal") == 0)
    }

    @Test func aTornTailIsCutAndTheRecordsBeforeItKept() throws {
        let storage = try folder()
        let log = RecordLog(storage: storage, name: "journal")
        try log.append([[1, 2, 3], [4, 5]])
        try log.sync()
        let intact = try #require(try storage.size("journal"))
        try storage.append("journal", [9, 0, 0, 0, 1, 2])   // a header announcing 9 bytes, then a crash
        try storage.sync("journal")
        let opened = try log.open()
        #expect(opened.records == [[1, 2, 3], [4, 5]])
        #expect(opened.repair == "journal: incomplete record header at byte \(intact); 6 bytes cut")
        #expect(try storage.size("journal") == intact)
        // Appending goes on after the intact records.
        try log.append([[6]])
        try log.sync()
        #expect(try log.open().records == [[1, 2, 3], [4, 5], [6]])
    }

    @Test func aRecordFailingItsChecksumEndsTheIntactPart() throws {
        let storage = try folder()
        let log = RecordLog(storage: storage, name: "journal")
        try log.append([[1, 2, 3], [4, 5, 6]])
        try log.sync()
        var bytes = try #require(try storage.read("journal"))
        bytes[bytes.count - 1] ^= 0xFF
        try storage.writeAtomically("journal", bytes)
        let opened = try log.open()
        #expect(opened.records == [[1, 2, 3]])
        #expect(opened.repair == "journal: record at byte 11 fails its checksum; 11 bytes cut")
    }
}
