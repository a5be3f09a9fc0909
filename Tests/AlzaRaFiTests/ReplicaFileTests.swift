import AlzaCore
import AlzaRaFi
import XCTest

final class ReplicaFileTests: XCTestCase {
    func testFileNamesAndTheirParsing() {
        let block = ExtendedBlock(id: BlockID(42), generationStamp: 7, length: 0)
        XCTAssertEqual(ReplicaFile.dataFileName(block.id), "blk_42")
        XCTAssertEqual(ReplicaFile.metaFileName(block), "blk_42_7.meta")
        XCTAssertEqual(ReplicaFileName.parse("blk_42"), ReplicaFileName(id: BlockID(42), generationStamp: nil))
        XCTAssertEqual(ReplicaFileName.parse("blk_42_7.meta"), ReplicaFileName(id: BlockID(42), generationStamp: 7))
        XCTAssertEqual(ReplicaFileName.parse("blk_0_0.meta"), ReplicaFileName(id: BlockID(0), generationStamp: 0))
        XCTAssertEqual(ReplicaFileName.parse("blk_18446744073709551615"), ReplicaFileName(id: BlockID(.max), generationStamp: nil))
        for name in ["blk_", "blk_042", "blk_42_", "blk_42_7", "blk_42.meta", "blk_42_07.meta", "blk_-1", "blk_+1",
                     "blk_42_7.meta.tmp", "xblk_42", "BLK_42", "blk_18446744073709551616", "blk_1_2_3.meta", "blk_ 1",
                     "blk__1.meta", "blk_1_.meta", "VERSION", ""] {
            XCTAssertNil(ReplicaFileName.parse(name), name)
        }
    }

    func testTheMetaFileLayout() throws {
        let data = DataPath.bytes(1_000)
        let meta = ReplicaFile.meta(for: data, generationStamp: 0x0102)
        XCTAssertEqual(meta.count, 30 + 2 * 4)
        XCTAssertEqual(Array(meta[0..<8]), Array("ALZAMETA".utf8))
        XCTAssertEqual(Array(meta[8..<10]), [1, 0], "version 1, little-endian")
        XCTAssertEqual(Array(meta[10..<14]), [0, 2, 0, 0], "chunk size 512")
        XCTAssertEqual(Array(meta[14..<22]), [2, 1, 0, 0, 0, 0, 0, 0], "generation stamp")
        XCTAssertEqual(Array(meta[22..<30]), [0xe8, 3, 0, 0, 0, 0, 0, 0], "data length 1000")
        let first = CRC32C.checksum(Array(data[0..<512]))
        let second = CRC32C.checksum(Array(data[512...]))
        XCTAssertEqual(ReplicaFile.checksums(of: data), [first, second])
        XCTAssertEqual(Array(meta[30..<34]), withUnsafeBytes(of: first.littleEndian, Array.init))
        let parsed = try ReplicaMeta(parsing: meta, block: BlockID(1))
        XCTAssertEqual(parsed, ReplicaMeta(generationStamp: 0x0102, dataLength: 1_000, checksums: [first, second]))
        XCTAssertEqual(parsed.bytes, meta)
        XCTAssertEqual(ReplicaFile.meta(for: [], generationStamp: 1).count, 30, "an empty replica has no chunk")
    }

    func testAnIntactReplicaVerifies() throws {
        let data = DataPath.bytes(5_000)
        let block = ExtendedBlock(id: BlockID(3), generationStamp: 2, length: 5_000)
        try ReplicaFile.verify(data: data, meta: ReplicaFile.meta(for: data, generationStamp: 2), block: block)
        let empty = ExtendedBlock(id: BlockID(4), generationStamp: 1, length: 0)
        try ReplicaFile.verify(data: [], meta: ReplicaFile.meta(for: [], generationStamp: 1), block: empty)
    }

    func testAFlippedByteNamesItsChunk() {
        let data = DataPath.bytes(5_000)
        let meta = ReplicaFile.meta(for: data, generationStamp: 2)
        let block = ExtendedBlock(id: BlockID(3), generationStamp: 2, length: 5_000)
        for (offset, chunk) in [(0, 0), (511, 0), (512, 1), (1_300, 2), (4_607, 8), (4_608, 9), (4_999, 9)] {
            var flipped = data
            flipped[offset] ^= 0x01
            assertFails(with: .checksumMismatch(block: BlockID(3), chunk: chunk)) {
                try ReplicaFile.verify(data: flipped, meta: meta, block: block)
            }
        }
        var corruptSum = meta
        corruptSum[30 + 4 * 6] ^= 0x80
        assertFails(with: .checksumMismatch(block: BlockID(3), chunk: 6)) {
            try ReplicaFile.verify(data: data, meta: corruptSum, block: block)
        }
    }

    func testABrokenMetaFileIsMetaCorrupt() {
        let data = DataPath.bytes(1_000)
        let meta = ReplicaFile.meta(for: data, generationStamp: 2)
        let block = ExtendedBlock(id: BlockID(9), generationStamp: 2, length: 1_000)
        let id = BlockID(9)
        assertFails(with: .metaCorrupt(block: id, reason: "34 bytes, a meta file for 1000 data bytes has 38")) {
            try ReplicaFile.verify(data: data, meta: Array(meta.dropLast(4)), block: block)
        }
        assertFails(with: .metaCorrupt(block: id, reason: "42 bytes, a meta file for 1000 data bytes has 38")) {
            try ReplicaFile.verify(data: data, meta: meta + [0, 0, 0, 0], block: block)
        }
        assertFails(with: .metaCorrupt(block: id, reason: "29 bytes, shorter than the 30-byte header")) {
            try ReplicaFile.verify(data: data, meta: Array(meta.prefix(29)), block: block)
        }
        var badMagic = meta
        badMagic[0] = UInt8(ascii: "X")
        assertFails(with: .metaCorrupt(block: id, reason: "bad magic")) { try ReplicaFile.verify(data: data, meta: badMagic, block: block) }
        var badVersion = meta
        badVersion[8] = 2
        assertFails(with: .metaCorrupt(block: id, reason: "version 2, this code reads 1")) {
            try ReplicaFile.verify(data: data, meta: badVersion, block: block)
        }
        var badChunk = meta
        badChunk[11] = 4
        assertFails(with: .metaCorrupt(block: id, reason: "chunk size 1024, expected 512")) {
            try ReplicaFile.verify(data: data, meta: badChunk, block: block)
        }
    }

    func testLengthAndGenerationStampMustMatch() {
        let data = DataPath.bytes(1_000)
        let meta = ReplicaFile.meta(for: data, generationStamp: 2)
        let block = ExtendedBlock(id: BlockID(9), generationStamp: 2, length: 1_000)
        assertFails(with: .lengthMismatch(block: BlockID(9), expected: 1_000, actual: 999)) {
            try ReplicaFile.verify(data: Array(data.dropLast()), meta: meta, block: block)
        }
        assertFails(with: .lengthMismatch(block: BlockID(9), expected: 1_024, actual: 1_000)) {
            try ReplicaFile.verify(data: data, meta: meta, block: ExtendedBlock(id: BlockID(9), generationStamp: 2, length: 1_024))
        }
        assertFails(with: .staleGenerationStamp(BlockID(9), expected: 3, actual: 2)) {
            try ReplicaFile.verify(data: data, meta: meta, block: ExtendedBlock(id: BlockID(9), generationStamp: 3, length: 1_000))
        }
    }

    func testARangeAlignedToChunksVerifiesAlone() throws {
        let data = DataPath.bytes(5_000)
        let meta = ReplicaFile.meta(for: data, generationStamp: 1)
        let block = ExtendedBlock(id: BlockID(5), generationStamp: 1, length: 5_000)
        try ReplicaFile.verify(range: data[1_024..<2_560], at: 1_024, meta: meta, block: block)
        try ReplicaFile.verify(range: data[4_608...], at: 4_608, meta: meta, block: block)
        var flipped = data
        flipped[2_000] ^= 0xff
        assertFails(with: .checksumMismatch(block: BlockID(5), chunk: 3)) {
            try ReplicaFile.verify(range: flipped[1_024..<2_560], at: 1_024, meta: meta, block: block)
        }
        // The flipped byte lies outside this range, so the range is intact.
        try ReplicaFile.verify(range: flipped[2_560..<3_072], at: 2_560, meta: meta, block: block)
        assertFails(with: .lengthMismatch(block: BlockID(5), expected: 5_000, actual: 5_120)) {
            try ReplicaFile.verify(range: (data + Array(repeating: 0, count: 120))[4_608...], at: 4_608, meta: meta, block: block)
        }
    }
}
