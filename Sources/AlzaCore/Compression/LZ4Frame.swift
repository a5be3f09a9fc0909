import CLZ4

/// LZ4 **frames** (lz4frame.h) with the content checksum on: the format of block payloads on the wire and on disk,
/// so `lz4 -d` reads an exported payload and a frame made by the `lz4` tool decodes here.
///
/// Decompression always takes a bound on the decompressed size. A frame whose header declares more is refused
/// before anything is allocated; a frame that declares nothing is decoded into a buffer grown on demand and
/// refused the moment it would pass the bound. A decompression bomb therefore costs at most `maxSize` bytes.
public enum LZ4Frame {
    /// The linked liblz4's version string, e.g. "1.9.4".
    public static var libraryVersion: String { String(cString: LZ4_versionString()) }

    /// Block size of the frames we write: 256 KiB independent blocks. LZ4's match window is 64 KiB, so
    /// independence costs almost no ratio, and it lets blocks be compressed on several cores at once.
    static let blockSize = 256 * 1024
    /// Inputs below this are compressed on the calling thread only.
    static let parallelThreshold = 2 * blockSize

    /// One LZ4 frame holding `input`: content checksum on, content size declared, 256 KiB independent blocks.
    ///
    /// Large inputs are compressed block by block on all cores while one more task computes the XXH32 content
    /// checksum; the checksum alone costs about a third of single-core compression time.
    /// `parallel: false` keeps all work on the calling thread (for callers already running one task per core).
    public static func compress(_ input: UnsafeRawBufferPointer, parallel: Bool = true) -> [UInt8] {
        let blockCount = max(1, (input.count + blockSize - 1) / blockSize)
        let slot = 4 + Int(LZ4_compressBound(Int32(blockSize)))
        let header = frameHeader(contentSize: input.count)
        var compressedSizes = [Int](repeating: 0, count: blockCount)
        var checksum: UInt32 = 0
        // Each block is compressed into its own slot, then slots are packed behind the header.
        var scratch = [UInt8](unsafeUninitializedCapacity: blockCount * slot) { _, initialized in
            initialized = blockCount * slot
        }
        scratch.withUnsafeMutableBytes { scratchBuffer in
            compressedSizes.withUnsafeMutableBufferPointer { sizesBuffer in
                let sizes = sizesBuffer
                let compressOne = { (index: Int) in
                    let start = index * blockSize
                    let length = min(blockSize, input.count - start)
                    let target = scratchBuffer.baseAddress! + index * slot
                    sizes[index] = compressBlock(
                        source: input.baseAddress.map { $0 + start }, length: length, into: target, capacity: slot)
                }
                if input.count < parallelThreshold || !parallel {
                    for index in 0..<blockCount { compressOne(index) }
                    checksum = XXHash32.hash(input)
                } else {
                    // Task 0 checksums the content; tasks 1... compress blocks.
                    withUnsafeMutablePointer(to: &checksum) { checksumSlot in
                        ParallelLoop.run(iterations: blockCount + 1) { task in
                            if task == 0 {
                                checksumSlot.pointee = XXHash32.hash(input)
                            } else {
                                compressOne(task - 1)
                            }
                        }
                    }
                }
            }
        }
        let total = header.count + compressedSizes.reduce(0, +) + 8
        return [UInt8](unsafeUninitializedCapacity: total) { typedOutput, initialized in
            let output = UnsafeMutableRawBufferPointer(typedOutput)
            var position = 0
            func append(_ bytes: UnsafeRawBufferPointer) {
                UnsafeMutableRawBufferPointer(rebasing: output[position..<(position + bytes.count)]).copyMemory(from: bytes)
                position += bytes.count
            }
            header.withUnsafeBytes { append($0) }
            scratch.withUnsafeBytes { scratchBuffer in
                for index in 0..<blockCount {
                    append(UnsafeRawBufferPointer(rebasing: scratchBuffer[(index * slot)..<(index * slot + compressedSizes[index])]))
                }
            }
            withUnsafeBytes(of: UInt32(0).littleEndian) { append($0) }   // end mark
            withUnsafeBytes(of: checksum.littleEndian) { append($0) }
            initialized = position
        }
    }

    public static func compress(_ input: [UInt8], parallel: Bool = true) -> [UInt8] {
        input.withUnsafeBytes { compress($0, parallel: parallel) }
    }

    /// Magic, FLG (version 01, independent blocks, content size, content checksum), BD (256 KiB blocks),
    /// the content size, and the header checksum byte (second byte of XXH32 of the descriptor).
    private static func frameHeader(contentSize: Int) -> [UInt8] {
        var header: [UInt8] = [0x04, 0x22, 0x4D, 0x18, 0b0110_1100, 0x50]
        withUnsafeBytes(of: UInt64(contentSize).littleEndian) { header.append(contentsOf: $0) }
        let descriptorChecksum = header[4...].withUnsafeBytes { XXHash32.hash($0) }
        header.append(UInt8(truncatingIfNeeded: descriptorChecksum >> 8))
        return header
    }

    /// Writes one data block (4-byte size, then data) at `target`; returns the bytes written. A block that
    /// does not shrink is stored uncompressed (size word with its high bit set), as the format allows.
    private static func compressBlock(
        source: UnsafeRawPointer?, length: Int, into target: UnsafeMutableRawPointer, capacity: Int
    ) -> Int {
        guard let source, length > 0 else { return 0 }
        let compressed = Int(LZ4_compress_default(
            source.assumingMemoryBound(to: CChar.self), (target + 4).assumingMemoryBound(to: CChar.self),
            Int32(length), Int32(capacity - 4)))
        if compressed > 0 && compressed < length {
            target.storeBytes(of: UInt32(compressed).littleEndian, as: UInt32.self)
            return 4 + compressed
        }
        target.storeBytes(of: (UInt32(length) | 0x8000_0000).littleEndian, as: UInt32.self)
        (target + 4).copyMemory(from: source, byteCount: length)
        return 4 + length
    }

    /// The content of one LZ4 frame, at most `maxSize` bytes. The frame must be the whole input.
    public static func decompress(_ frame: UnsafeRawBufferPointer, maxSize: Int) throws(CompressionError) -> [UInt8] {
        guard frame.count >= Int(LZ4F_HEADER_SIZE_MIN) else {
            throw .truncated(reason: "\(frame.count) bytes is shorter than any LZ4 frame header")
        }
        var context: OpaquePointer?
        guard LZ4F_isError(LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))) == 0, let context else {
            throw .corrupt(reason: "could not create an LZ4 decompression context")
        }
        defer { LZ4F_freeDecompressionContext(context) }

        var info = LZ4F_frameInfo_t()
        var consumed = frame.count
        let headerResult = LZ4F_getFrameInfo(context, &info, frame.baseAddress, &consumed)
        if LZ4F_isError(headerResult) != 0 {
            throw .notAFrame(reason: String(cString: LZ4F_getErrorName(headerResult)))
        }
        guard info.frameType == LZ4F_frame else { throw .notAFrame(reason: "skippable frames carry no content") }
        let declared = info.contentSize
        if declared > UInt64(maxSize) { throw .declaredSizeOverLimit(declared: declared, limit: maxSize) }
        // LZ4 expands at most about 255-fold (one extension byte per 255 bytes of match): a frame declaring more
        // than that is corrupt, and is refused before `declared` bytes are allocated for it.
        let expandable = UInt64(frame.count) * 256 + 65_536
        if declared > expandable {
            throw .corrupt(reason: "declares \(declared) bytes of content, more than \(frame.count) bytes of LZ4 can hold")
        }

        // Declared size: allocate exactly that. Unknown size: start small and grow, never past maxSize.
        var capacity = declared > 0 ? Int(declared) : min(maxSize, max(4096, frame.count * 4))
        var output = [UInt8](unsafeUninitializedCapacity: max(capacity, 1)) { _, initialized in
            initialized = max(capacity, 1)
        }
        var produced = 0
        var position = consumed
        while true {
            var outputSize = capacity - produced
            var inputSize = frame.count - position
            let hint = output.withUnsafeMutableBytes { out in
                LZ4F_decompress(context, out.baseAddress! + produced, &outputSize,
                                frame.baseAddress! + position, &inputSize, nil)
            }
            if LZ4F_isError(hint) != 0 {
                throw .corrupt(reason: String(cString: LZ4F_getErrorName(hint)))
            }
            position += inputSize
            produced += outputSize
            if hint == 0 { break }  // frame complete, checksum verified
            if inputSize == 0 && outputSize == 0 {
                if position == frame.count {
                    throw .truncated(reason: "the frame ends before its end mark")
                }
                guard produced == capacity else { throw .corrupt(reason: "decoder made no progress") }
                guard capacity < maxSize else { throw .decompressedSizeOverLimit(limit: maxSize) }
                guard declared == 0 else {
                    throw .corrupt(reason: "content exceeds the declared size of \(declared) bytes")
                }
                capacity = min(maxSize, capacity * 2)
                output.append(contentsOf: repeatElement(0, count: capacity - output.count))  // rare: undeclared size
            }
        }
        guard position == frame.count else { throw .trailingBytes(count: frame.count - position) }
        output.removeSubrange(produced...)
        return output
    }

    public static func decompress(_ frame: [UInt8], maxSize: Int) throws(CompressionError) -> [UInt8] {
        // withUnsafeBytes only rethrows untyped errors, so the typed error crosses it as a Result.
        let result = frame.withUnsafeBytes { buffer in
            Result { () throws(CompressionError) in try decompress(buffer, maxSize: maxSize) }
        }
        return try result.get()
    }
}

/// Why an LZ4 frame was refused.
public enum CompressionError: AlzaError, Equatable {
    case notAFrame(reason: String)
    case truncated(reason: String)
    case corrupt(reason: String)
    case declaredSizeOverLimit(declared: UInt64, limit: Int)
    case decompressedSizeOverLimit(limit: Int)
    case trailingBytes(count: Int)

    public var code: String {
        switch self {
        case .notAFrame: "lz4.not-a-frame"
        case .truncated: "lz4.truncated"
        case .corrupt: "lz4.corrupt"
        case .declaredSizeOverLimit: "lz4.declared-size-over-limit"
        case .decompressedSizeOverLimit: "lz4.decompressed-size-over-limit"
        case .trailingBytes: "lz4.trailing-bytes"
        }
    }

    public var description: String {
        switch self {
        case .notAFrame(let reason): "not an LZ4 frame: \(reason)"
        case .truncated(let reason): "LZ4 frame is truncated: \(reason)"
        case .corrupt(let reason): "LZ4 frame is corrupt: \(reason)"
        case .declaredSizeOverLimit(let declared, let limit):
            "LZ4 frame declares \(declared) bytes of content, over the limit of \(limit)"
        case .decompressedSizeOverLimit(let limit): "LZ4 frame content exceeds the limit of \(limit) bytes"
        case .trailingBytes(let count): "\(count) bytes follow the end of the LZ4 frame"
        }
    }
}
