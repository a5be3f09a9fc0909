/// 32 bytes held inline (no heap allocation): the storage of hashes and public keys.
///
/// Words hold the bytes in memory order, so `withUnsafeBytes` exposes the 32 bytes as they appear on the wire.
/// Ordering is lexicographic over the bytes, which is the order the fork choice uses for "lowest id".
public struct Bytes32: Hashable, Comparable, Sendable {
    public var words: (UInt64, UInt64, UInt64, UInt64)

    public static let count = 32
    public static let zero = Bytes32(words: (0, 0, 0, 0))

    public init(words: (UInt64, UInt64, UInt64, UInt64)) {
        self.words = words
    }

    /// Exactly 32 bytes, or nil.
    public init?<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        guard bytes.count == Self.count else { return nil }
        self = .zero
        withUnsafeMutableBytes { buffer in
            for (offset, byte) in bytes.enumerated() { buffer[offset] = byte }
        }
    }

    /// Fills the 32 bytes through `body` (for C functions that write a digest or key).
    public init(fill body: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        self = .zero
        try withUnsafeMutableBytes(body)
    }

    /// Reads 32 bytes at `offset` of `buffer`; the caller checks the bounds.
    public init(loadingFrom buffer: UnsafeRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && offset + Self.count <= buffer.count, "Bytes32 load out of bounds")
        words = (
            buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self),
            buffer.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self),
            buffer.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self),
            buffer.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self)
        )
    }

    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try Swift.withUnsafeBytes(of: words, body)
    }

    public mutating func withUnsafeMutableBytes<Result>(
        _ body: (UnsafeMutableRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        try Swift.withUnsafeMutableBytes(of: &words, body)
    }

    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
    public var hex: String { withUnsafeBytes { Hex.encode($0) } }

    public init(hex: String) throws(HexError) {
        let decoded = try Hex.decode(hex)
        guard let value = Bytes32(decoded) else { throw .wrongLength(expected: Self.count, actual: decoded.count) }
        self = value
    }

    public static func == (lhs: Bytes32, rhs: Bytes32) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1
            && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
    }

    /// Hashes 16 of the 32 bytes. These values are keys and digests (uniformly random), and `Hasher` is seeded
    /// per process, so colliding on 128 bits would take about 2^64 work: half the hashing, same safety.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.2)
    }

    public static func < (lhs: Bytes32, rhs: Bytes32) -> Bool {
        // Words are in memory order; big-endian reinterpretation turns word order into byte order.
        let left = (UInt64(bigEndian: lhs.words.0), UInt64(bigEndian: lhs.words.1),
                    UInt64(bigEndian: lhs.words.2), UInt64(bigEndian: lhs.words.3))
        let right = (UInt64(bigEndian: rhs.words.0), UInt64(bigEndian: rhs.words.1),
                     UInt64(bigEndian: rhs.words.2), UInt64(bigEndian: rhs.words.3))
        return left < right
    }
}

/// 64 bytes held inline: the storage of Ed25519 signatures and expanded secret keys.
public struct Bytes64: Hashable, Sendable {
    public var low: Bytes32
    public var high: Bytes32

    public static let count = 64
    public static let zero = Bytes64(low: .zero, high: .zero)

    public init(low: Bytes32, high: Bytes32) {
        self.low = low
        self.high = high
    }

    public init?<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        guard bytes.count == Self.count,
              let low = Bytes32(bytes.prefix(32)),
              let high = Bytes32(bytes.dropFirst(32))
        else { return nil }
        self.init(low: low, high: high)
    }

    public init(fill body: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        self = .zero
        try withUnsafeMutableBytes(body)
    }

    public init(loadingFrom buffer: UnsafeRawBufferPointer, at offset: Int) {
        low = Bytes32(loadingFrom: buffer, at: offset)
        high = Bytes32(loadingFrom: buffer, at: offset + 32)
    }

    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try Swift.withUnsafeBytes(of: (low.words, high.words), body)
    }

    public mutating func withUnsafeMutableBytes<Result>(
        _ body: (UnsafeMutableRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        var both = (low.words, high.words)
        defer {
            low = Bytes32(words: both.0)
            high = Bytes32(words: both.1)
        }
        return try Swift.withUnsafeMutableBytes(of: &both, body)
    }

    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
    public var hex: String { withUnsafeBytes { Hex.encode($0) } }

    public init(hex: String) throws(HexError) {
        let decoded = try Hex.decode(hex)
        guard let value = Bytes64(decoded) else { throw .wrongLength(expected: Self.count, actual: decoded.count) }
        self = value
    }
}
