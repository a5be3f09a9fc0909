import AlzaCore
import AlzaRaFi
import XCTest

/// Shared by the DataNode-side tests: locations, seeded bytes, finalized replicas in a store, and typed-error
/// assertions.
enum DataPath {
    static let namespace = NamespaceInfo(namespaceID: 42)

    static func location(_ name: String, rack: String = "/rack-a", address: String? = nil) -> DataNodeLocation {
        DataNodeLocation(storageID: StorageID("DS-\(name)"), address: address ?? "\(name):9866", rack: rack)
    }

    static func bytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var random = SeededRandom(seed: seed)
        return random.bytes(count: count)
    }

    /// Writes a finalized replica as a DataNode does: data, sync, meta atomically last.
    @discardableResult
    static func storeReplica(_ data: [UInt8], id: UInt64, generationStamp: UInt64 = 1, in store: MemoryStorage) throws -> ExtendedBlock {
        let block = ExtendedBlock(id: BlockID(id), generationStamp: generationStamp, length: UInt64(data.count))
        try store.append(ReplicaFile.dataFileName(block.id), data)
        try store.sync(ReplicaFile.dataFileName(block.id))
        try store.writeAtomically(ReplicaFile.metaFileName(block), ReplicaFile.meta(for: data, generationStamp: generationStamp))
        return block
    }

    /// What a DataNode shell does for `.verify`: read the replica's files and check them.
    static func verify(_ block: ExtendedBlock, in store: MemoryStorage) -> Result<Void, RaFiError> {
        ReplicaFolder(storage: store).verify(block)
    }
}

/// Fails unless `body` throws exactly `expected`.
func assertFails(with expected: RaFiError, file: StaticString = #filePath, line: UInt = #line,
                 _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected \(expected), nothing was thrown", file: file, line: line)
    } catch {
        XCTAssertEqual(error as? RaFiError, expected, file: file, line: line)
    }
}

/// Fails unless decoding `bytes` as `Value` throws exactly `expected`.
func assertDecodeFails<Value: CanonicalDecodable>(_: Value.Type, _ bytes: [UInt8], with expected: CodecError,
                                                  file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try Value(canonicalBytes: bytes)
        XCTFail("expected \(expected), decoding succeeded", file: file, line: line)
    } catch {
        XCTAssertEqual(error, expected, file: file, line: line)
    }
}

extension Array where Element == DataNodeCore.Effect {
    var reports: [DataNodeReport] { compactMap { if case .send(let report) = $0 { report } else { nil } } }
    var verifies: [ExtendedBlock] { compactMap { if case .verify(let block) = $0 { block } else { nil } } }
    var transfers: [ExtendedBlock] { compactMap { if case .transfer(let block, _) = $0 { block } else { nil } } }
    var removals: [ExtendedBlock] { compactMap { if case .remove(let block) = $0 { block } else { nil } } }
    var wakeTimes: [UInt64] { compactMap { if case .wakeAt(let time) = $0 { time } else { nil } } }
    var logLines: [String] { compactMap { if case .log(let line) = $0 { line } else { nil } } }
    var heartbeats: [DataNodeHeartbeat] { reports.compactMap { if case .heartbeat(let beat) = $0 { beat } else { nil } } }
    var blockReports: [[ExtendedBlock]] { reports.compactMap { if case .blockReport(_, let blocks) = $0 { blocks } else { nil } } }
}
