import AlzaCore
import Foundation
import Testing

@Suite struct LZ4FrameTests {
    static let limit = 128 << 20

    func roundTrip(_ payload: [UInt8]) throws {
        let frame = LZ4Frame.compress(payload)
        #expect(try LZ4Frame.decompress(frame, maxSize: max(payload.count, 1)) == payload)
    }

    @Test func emptyPayload() throws { try roundTrip([]) }
    @Test func oneBytePayload() throws { try roundTrip([42]) }

    @Test func incompressiblePayloadAcrossSeveralBlocks() throws {
        var random = SeededRandom(seed: 4)
        try roundTrip(random.bytes(count: 3 << 20 | 12345))
    }

    @Test func sixtyFourMebibytePayload() throws {
        var random = SeededRandom(seed: 5)
        let motif = random.bytes(count: 4096)
        var payload = [UInt8]()
        payload.reserveCapacity(64 << 20)
        while payload.count < 64 << 20 {
            payload += motif
            payload.append(UInt8(truncatingIfNeeded: payload.count >> 12))
        }
        payload.removeLast(payload.count - (64 << 20))
        try roundTrip(payload)
    }

    @Test func xxhash32Vectors() {
        #expect(XXHash32.hash([]) == 0x02CC_5D05)
        #expect(XXHash32.hash(Array("abc".utf8)) == 0x32D1_53FF)
    }

    @Test func ourFrameIsReadByTheLz4Command() throws {
        var random = SeededRandom(seed: 6)
        let payload = (0..<700_000).map { UInt8(truncatingIfNeeded: $0 % 251) } + random.bytes(count: 100_000)
        let directory = try TemporaryDirectory()
        let framePath = directory.path + "/payload.lz4"
        try Data(LZ4Frame.compress(payload)).write(to: URL(fileURLWithPath: framePath))
        try runTool(["lz4", "-d", "-q", "-f", framePath, directory.path + "/payload.out"])
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: directory.path + "/payload.out"))) == payload)
    }

    @Test(arguments: [["-1"], ["--content-size"], ["-BD"], ["-B4", "--no-frame-crc"], ["-9"]])
    func frameMadeByTheLz4CommandDecodes(options: [String]) throws {
        var random = SeededRandom(seed: 8)
        let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 / 3) } + random.bytes(count: 50_000)
        let directory = try TemporaryDirectory()
        let inputPath = directory.path + "/in.bin"
        try Data(payload).write(to: URL(fileURLWithPath: inputPath))
        try runTool(["lz4", "-q", "-f"] + options + [inputPath, inputPath + ".lz4"])
        let frame = Array(try Data(contentsOf: URL(fileURLWithPath: inputPath + ".lz4")))
        #expect(try LZ4Frame.decompress(frame, maxSize: payload.count) == payload)
    }

    @Test func frameDeclaringFourGibibytesIsRefusedBeforeAllocation() {
        // Magic, FLG with content size, BD 4 MiB, content size 2^32, header checksum, then nothing.
        var header: [UInt8] = [0x04, 0x22, 0x4D, 0x18, 0b0110_1000, 0x70]
        withUnsafeBytes(of: UInt64(1 << 32).littleEndian) { header.append(contentsOf: $0) }
        header.append(UInt8(truncatingIfNeeded: XXHash32.hash(Array(header[4...])) >> 8))
        #expect(throws: CompressionError.declaredSizeOverLimit(declared: 1 << 32, limit: 1 << 20)) {
            try LZ4Frame.decompress(header + [0, 0, 0, 0], maxSize: 1 << 20)
        }
    }

    /// Within the caller's bound but beyond what LZ4 can expand to: refused before the declared size is allocated
    /// (a 19-byte checkpoint declaring 3 GiB made a node allocate 3 GiB: Tests/Fuzz/regressions/checkpoint/).
    @Test func frameDeclaringMoreThanItCanHoldIsRefusedBeforeAllocation() {
        var header: [UInt8] = [0x04, 0x22, 0x4D, 0x18, 0b0110_1000, 0x70]
        withUnsafeBytes(of: UInt64(3 << 30).littleEndian) { header.append(contentsOf: $0) }
        header.append(UInt8(truncatingIfNeeded: XXHash32.hash(Array(header[4...])) >> 8))
        let frame = header + [0, 0, 0, 0]
        #expect(throws: CompressionError.corrupt(reason: "declares \(3 << 30) bytes of content, more than \(frame.count) bytes of LZ4 can hold")) {
            try LZ4Frame.decompress(frame, maxSize: 4 << 30)
        }
    }

    @Test func undeclaredSizeBombStopsAtTheLimit() throws {
        // 64 MiB of zeros from the lz4 command, which declares no content size by default: a ~260 KB frame.
        let directory = try TemporaryDirectory()
        let inputPath = directory.path + "/zeros.bin"
        try Data(count: 64 << 20).write(to: URL(fileURLWithPath: inputPath))
        try runTool(["lz4", "-q", "-f", inputPath, inputPath + ".lz4"])
        let frame = Array(try Data(contentsOf: URL(fileURLWithPath: inputPath + ".lz4")))
        #expect(frame.count < 1 << 20)
        #expect(throws: CompressionError.decompressedSizeOverLimit(limit: 1 << 20)) {
            try LZ4Frame.decompress(frame, maxSize: 1 << 20)
        }
    }

    @Test func contentLargerThanDeclaredLimitIsRefused() {
        let frame = LZ4Frame.compress([UInt8](repeating: 1, count: 10_000))
        #expect(throws: CompressionError.declaredSizeOverLimit(declared: 10_000, limit: 9_999)) {
            try LZ4Frame.decompress(frame, maxSize: 9_999)
        }
    }

    @Test func corruptTruncatedTrailingAndGarbageInputsAreRefused() {
        var random = SeededRandom(seed: 9)
        let payload = random.bytes(count: 5000) + [UInt8](repeating: 7, count: 5000)
        let frame = LZ4Frame.compress(payload)
        var corrupt = frame
        corrupt[corrupt.count - 20] ^= 0xff
        #expect(throws: CompressionError.corrupt(reason: "ERROR_decompressionFailed")) { try LZ4Frame.decompress(corrupt, maxSize: 1 << 20) }
        var badChecksum = frame
        badChecksum[badChecksum.count - 1] ^= 0x01
        #expect(throws: CompressionError.corrupt(reason: "ERROR_contentChecksum_invalid")) { try LZ4Frame.decompress(badChecksum, maxSize: 1 << 20) }
        #expect(throws: CompressionError.truncated(reason: "the frame ends before its end mark")) {
            try LZ4Frame.decompress(Array(frame.dropLast(9)), maxSize: 1 << 20)
        }
        #expect(throws: CompressionError.trailingBytes(count: 3)) {
            try LZ4Frame.decompress(frame + [1, 2, 3], maxSize: 1 << 20)
        }
        #expect(throws: CompressionError.notAFrame(reason: "ERROR_frameType_unknown")) { try LZ4Frame.decompress(Array("not a frame at all".utf8), maxSize: 1 << 20) }
        #expect(throws: CompressionError.truncated(reason: "2 bytes is shorter than any LZ4 frame header")) { try LZ4Frame.decompress([0x04, 0x22], maxSize: 1 << 20) }
    }

    @Test func randomBytesNeverTrap() {
        var random = SeededRandom(seed: 10)
        let frame = LZ4Frame.compress(random.bytes(count: 2000))
        for _ in 0..<2_000 {
            var mutated = frame
            for _ in 0..<(1 + Int(random.next() % 4)) {
                mutated[Int(random.next() % UInt64(mutated.count))] = UInt8(truncatingIfNeeded: random.next())
            }
            _ = try? LZ4Frame.decompress(mutated, maxSize: 1 << 16)
            _ = try? LZ4Frame.decompress(random.bytes(count: Int(random.next() % 64)), maxSize: 1 << 16)
        }
    }
}

/// A folder under the system temporary directory, removed when the value is released.
final class TemporaryDirectory {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "alza-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs a command line tool from PATH and fails the test if it exits non-zero.
func runTool(_ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "\(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
}
