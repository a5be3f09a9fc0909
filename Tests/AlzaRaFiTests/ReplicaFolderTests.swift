import AlzaCore
import AlzaRaFi
import XCTest

/// `ReplicaFolder`: the replica and identity files a DataNode's shell (and the simulator) reads and writes.
final class ReplicaFolderTests: XCTestCase {
    private let block = ExtendedBlock(id: BlockID(7), generationStamp: 3, length: 1_500)

    func testAStoredReplicaReadsBackCheckedAndAFlippedByteIsNamed() throws {
        let storage = MemoryStorage()
        let folder = ReplicaFolder(storage: storage)
        var random = SeededRandom(seed: 1)
        let data = random.bytes(count: 1_500)
        try folder.store(block, data: data)
        XCTAssertEqual(try folder.read(block), data)
        XCTAssertEqual(try folder.read(block, offset: 512, count: 10), Array(data[512..<522]))
        XCTAssertThrowsError(try folder.read(block, offset: 1_495, count: 10)) { error in
            XCTAssertEqual(error as? RaFiError, .proofRangeInvalid(block: BlockID(7), offset: 1_495, length: 10, blockLength: 1_500))
        }
        storage.corrupt("blk_7", at: 1_030)
        XCTAssertThrowsError(try folder.read(block)) { error in
            XCTAssertEqual(error as? RaFiError, .checksumMismatch(block: BlockID(7), chunk: 2))
        }
        guard case .failure(.checksumMismatch(block: BlockID(7), chunk: 2)) = folder.verify(block) else {
            return XCTFail("the scanner's check names the chunk")
        }
    }

    func testAReplicaWithoutItsMetaFileIsMissingAndRemovalTakesEveryFileOfTheBlock() throws {
        let storage = MemoryStorage()
        let folder = ReplicaFolder(storage: storage)
        try folder.prepare(block, keepingBytes: 0)
        try folder.append(block.id, [1, 2, 3])
        XCTAssertThrowsError(try folder.read(block)) { XCTAssertEqual($0 as? RaFiError, .replicaMissing(BlockID(7))) }
        XCTAssertEqual(try folder.prefix(of: block.id, count: 2), [1, 2])
        XCTAssertNil(try folder.prefix(of: block.id, count: 4), "it holds only 3 bytes")
        try folder.store(ExtendedBlock(id: BlockID(8), generationStamp: 1, length: 2), data: [9, 9])
        try folder.remove(block)
        XCTAssertEqual(try storage.list(), ["blk_8", "blk_8_1.meta"])
    }

    func testPreparingARecoveryKeepsTheAckedBytesAndDropsTheOldMetaFile() throws {
        let storage = MemoryStorage()
        let folder = ReplicaFolder(storage: storage)
        let data = [UInt8](repeating: 4, count: 1_500)
        try folder.store(block, data: data)
        let recovered = ExtendedBlock(id: block.id, generationStamp: 4, length: 1_024)
        try folder.prepare(recovered, keepingBytes: 1_024)
        XCTAssertEqual(try storage.list(), ["blk_7"], "the old generation's meta file is gone")
        XCTAssertEqual(try storage.size("blk_7"), 1_024)
    }

    func testTheIdentityFileRoundTripsAndACorruptOneIsAnError() throws {
        let storage = MemoryStorage()
        let folder = ReplicaFolder(storage: storage)
        XCTAssertNil(try folder.identity())
        try folder.saveIdentity(StorageID("DS-1-2-ab"), NamespaceInfo(namespaceID: 99))
        let identity = try XCTUnwrap(try folder.identity())
        XCTAssertEqual(identity.0, StorageID("DS-1-2-ab"))
        XCTAssertEqual(identity.1, NamespaceInfo(namespaceID: 99))
        try storage.writeAtomically(ReplicaFolder.identityFile, Array("not a version file".utf8))
        XCTAssertThrowsError(try folder.identity()) { error in
            guard case .io(file: "VERSION", operation: "decode", _) = error as? RaFiError else { return XCTFail("\(error)") }
        }
    }
}
