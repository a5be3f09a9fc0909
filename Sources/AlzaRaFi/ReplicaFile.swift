import AlzaCore

/// The on-disk form of one replica (HDFS's finalized replica): a data file `blk_<id>` holding the block's bytes
/// as they are, and a meta file `blk_<id>_<generation stamp>.meta` holding a header and one CRC32C per 512-byte
/// chunk of the data (the last chunk may be partial).
///
/// Crash safety: a DataNode writes the data, syncs it, and writes the meta file atomically last. So a replica
/// is good only with a complete meta file; a data file without one (or with one shorter than the data implies)
/// is a torn write, deleted at start-up and never reported (`ReplicaInventory`).
public enum ReplicaFile {
    /// The first bytes of every meta file.
    public static let magic: [UInt8] = Array("ALZAMETA".utf8)
    public static let version: UInt16 = 1
    /// Magic (8), version (2), chunk size (4), generation stamp (8), data length (8).
    public static let headerBytes = 30
    public static let chunkBytes = RaFiLimits.checksumChunkBytes

    static let dataPrefix = "blk_"
    static let metaSuffix = ".meta"

    /// `blk_<id>`.
    public static func dataFileName(_ id: BlockID) -> String { "\(dataPrefix)\(id.rawValue)" }

    /// `blk_<id>_<generation stamp>.meta`.
    public static func metaFileName(_ block: ExtendedBlock) -> String {
        "\(dataPrefix)\(block.id.rawValue)_\(block.generationStamp)\(metaSuffix)"
    }

    /// Chunks covering `length` bytes (the last one partial).
    public static func chunkCount(forLength length: UInt64) -> Int {
        Int((length + UInt64(chunkBytes) - 1) / UInt64(chunkBytes))
    }

    /// One CRC32C per 512-byte chunk of `data`.
    public static func checksums(of data: [UInt8]) -> [UInt32] {
        data.withUnsafeBytes { checksums(of: $0) }
    }

    public static func checksums(of data: ArraySlice<UInt8>) -> [UInt32] {
        data.withUnsafeBytes { checksums(of: $0) }
    }

    static func checksums(of buffer: UnsafeRawBufferPointer) -> [UInt32] {
        var sums: [UInt32] = []
        sums.reserveCapacity(chunkCount(forLength: UInt64(buffer.count)))
        var start = 0
        while start < buffer.count {
            let end = min(start + chunkBytes, buffer.count)
            sums.append(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buffer[start..<end])))
            start = end
        }
        return sums
    }

    /// The meta file of a replica holding `data`.
    public static func meta(for data: [UInt8], generationStamp: UInt64) -> [UInt8] {
        ReplicaMeta(generationStamp: generationStamp, dataLength: UInt64(data.count), checksums: checksums(of: data)).bytes
    }

    /// Checks a whole replica: its meta file is readable, is of `block`'s generation stamp, covers exactly
    /// `block.length` bytes, and every chunk of `data` matches its checksum (the first bad chunk is named).
    public static func verify(data: [UInt8], meta: [UInt8], block: ExtendedBlock) throws(RaFiError) {
        let parsed = try ReplicaMeta(parsing: meta, block: block.id)
        try parsed.check(against: block)
        guard UInt64(data.count) == parsed.dataLength else {
            throw .lengthMismatch(block: block.id, expected: parsed.dataLength, actual: UInt64(data.count))
        }
        try parsed.verify(data[...], at: 0, block: block.id)
    }

    /// Checks `data`, the replica's bytes from `offset` on: `offset` starts a chunk, and `data` ends at a chunk
    /// boundary or at the end of the replica. What reads and the block scanner check, a range at a time.
    public static func verify(range data: ArraySlice<UInt8>, at offset: UInt64, meta: [UInt8],
                              block: ExtendedBlock) throws(RaFiError) {
        let parsed = try ReplicaMeta(parsing: meta, block: block.id)
        try parsed.check(against: block)
        try parsed.verify(data, at: offset, block: block.id)
    }
}

/// A parsed meta file.
public struct ReplicaMeta: Hashable, Sendable {
    public var generationStamp: UInt64
    public var dataLength: UInt64
    /// One per chunk of the data.
    public var checksums: [UInt32]

    public init(generationStamp: UInt64, dataLength: UInt64, checksums: [UInt32]) {
        precondition(checksums.count == ReplicaFile.chunkCount(forLength: dataLength), "one checksum per chunk")
        self.generationStamp = generationStamp
        self.dataLength = dataLength
        self.checksums = checksums
    }

    /// Reads a meta file of `block`; any flaw (short, bad magic, version or chunk size, fewer or more checksums
    /// than its length implies) is `metaCorrupt`.
    public init(parsing bytes: [UInt8], block: BlockID) throws(RaFiError) {
        let header = try Self.header(of: bytes, block: block)
        let expected = Self.fileSize(forLength: header.dataLength)
        guard bytes.count == expected else {
            throw .metaCorrupt(block: block, reason: "\(bytes.count) bytes, a meta file for \(header.dataLength) data bytes has \(expected)")
        }
        generationStamp = header.generationStamp
        dataLength = header.dataLength
        checksums = (0..<ReplicaFile.chunkCount(forLength: dataLength)).map {
            Self.littleEndian(bytes, at: ReplicaFile.headerBytes + $0 * 4, as: UInt32.self)
        }
    }

    /// The header alone (its first `ReplicaFile.headerBytes` bytes are enough): what start-up reads, without the
    /// checksums.
    public static func header(of bytes: [UInt8], block: BlockID) throws(RaFiError) -> (generationStamp: UInt64, dataLength: UInt64) {
        func corrupt(_ reason: String) -> RaFiError { .metaCorrupt(block: block, reason: reason) }
        guard bytes.count >= ReplicaFile.headerBytes else {
            throw corrupt("\(bytes.count) bytes, shorter than the \(ReplicaFile.headerBytes)-byte header")
        }
        guard Array(bytes[0..<ReplicaFile.magic.count]) == ReplicaFile.magic else { throw corrupt("bad magic") }
        let version = littleEndian(bytes, at: 8, as: UInt16.self)
        guard version == ReplicaFile.version else { throw corrupt("version \(version), this code reads \(ReplicaFile.version)") }
        let chunk = littleEndian(bytes, at: 10, as: UInt32.self)
        guard chunk == UInt32(ReplicaFile.chunkBytes) else { throw corrupt("chunk size \(chunk), expected \(ReplicaFile.chunkBytes)") }
        let length = littleEndian(bytes, at: 22, as: UInt64.self)
        guard length <= UInt64(RaFiLimits.maximumBlockBytes) else {
            throw corrupt("data length \(length) exceeds \(RaFiLimits.maximumBlockBytes)")
        }
        return (littleEndian(bytes, at: 14, as: UInt64.self), length)
    }

    /// Bytes of the meta file of a replica of `length` bytes.
    public static func fileSize(forLength length: UInt64) -> Int {
        ReplicaFile.headerBytes + ReplicaFile.chunkCount(forLength: length) * 4
    }

    private static func littleEndian<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, as _: T.Type) -> T {
        T(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) })
    }

    public var bytes: [UInt8] {
        var encoder = CanonicalEncoder(reservingCapacity: ReplicaFile.headerBytes + checksums.count * 4)
        encoder.encodeRaw(ReplicaFile.magic)
        encoder.encode(ReplicaFile.version)
        encoder.encode(UInt32(ReplicaFile.chunkBytes))
        encoder.encode(generationStamp)
        encoder.encode(dataLength)
        for sum in checksums { encoder.encode(sum) }
        return encoder.bytes
    }

    /// The meta file belongs to `block`: same generation stamp, same length.
    public func check(against block: ExtendedBlock) throws(RaFiError) {
        guard generationStamp == block.generationStamp else {
            throw .staleGenerationStamp(block.id, expected: block.generationStamp, actual: generationStamp)
        }
        guard dataLength == block.length else {
            throw .lengthMismatch(block: block.id, expected: block.length, actual: dataLength)
        }
    }

    /// Checks `data`, the bytes from `offset` on, against the stored checksums.
    public func verify(_ data: ArraySlice<UInt8>, at offset: UInt64, block: BlockID) throws(RaFiError) {
        let chunk = UInt64(ReplicaFile.chunkBytes)
        precondition(offset % chunk == 0, "a verified range starts at a chunk")
        let end = offset + UInt64(data.count)
        guard end <= dataLength else { throw .lengthMismatch(block: block, expected: dataLength, actual: end) }
        precondition(end % chunk == 0 || end == dataLength, "a verified range ends at a chunk or at the end of the replica")
        let first = Int(offset / chunk)
        let sums = ReplicaFile.checksums(of: data)
        for (index, sum) in sums.enumerated() where sum != checksums[first + index] {
            throw .checksumMismatch(block: block, chunk: first + index)
        }
    }
}

/// A replica file's name parsed back: `blk_<id>` (the data, `generationStamp` nil) or
/// `blk_<id>_<generation stamp>.meta`. Numbers are plain decimal without leading zeros, so each parsed name
/// prints back to itself; anything else is not a replica file.
public struct ReplicaFileName: Hashable, Sendable {
    public var id: BlockID
    /// The meta file's generation stamp; nil for a data file.
    public var generationStamp: UInt64?

    public init(id: BlockID, generationStamp: UInt64?) {
        self.id = id
        self.generationStamp = generationStamp
    }

    public var isMeta: Bool { generationStamp != nil }

    public static func parse(_ name: String) -> ReplicaFileName? {
        guard name.hasPrefix(ReplicaFile.dataPrefix) else { return nil }
        var rest = Substring(name.dropFirst(ReplicaFile.dataPrefix.count))
        let isMeta = rest.hasSuffix(ReplicaFile.metaSuffix)
        if isMeta { rest = rest.dropLast(ReplicaFile.metaSuffix.count) }
        let parts = rest.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == (isMeta ? 2 : 1), let id = decimal(parts[0]) else { return nil }
        guard isMeta else { return ReplicaFileName(id: BlockID(id), generationStamp: nil) }
        guard let stamp = decimal(parts[1]) else { return nil }
        return ReplicaFileName(id: BlockID(id), generationStamp: stamp)
    }

    private static func decimal(_ text: Substring) -> UInt64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              text == "0" || text.first != "0" else { return nil }
        return UInt64(text)
    }
}
