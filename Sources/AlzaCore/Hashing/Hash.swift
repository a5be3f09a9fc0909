import CSodium

/// A SHA-256 digest. Ids in Alza (blocks, transactions, the chain itself) are hashes of canonical bytes.
public struct Hash: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var bytes32: Bytes32

    public static let byteCount = 32
    /// All zero bytes: the "no parent" of the genesis block and the address of the coinbase account.
    public static let zero = Hash(bytes32: .zero)

    public init(bytes32: Bytes32) {
        self.bytes32 = bytes32
    }

    public init?<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        guard let value = Bytes32(bytes) else { return nil }
        bytes32 = value
    }

    public init(hex: String) throws(HexError) {
        bytes32 = try Bytes32(hex: hex)
    }

    public var bytes: [UInt8] { bytes32.bytes }
    public var hex: String { bytes32.hex }
    /// First 8 hex digits, for log lines.
    public var short: String { String(hex.prefix(8)) }
    public var description: String { hex }

    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try bytes32.withUnsafeBytes(body)
    }

    public static func < (lhs: Hash, rhs: Hash) -> Bool { lhs.bytes32 < rhs.bytes32 }

    // MARK: SHA-256

    /// SHA-256 of `buffer`.
    public static func sha256(_ buffer: UnsafeRawBufferPointer) -> Hash {
        Hash(bytes32: Bytes32 { out in
            _ = crypto_hash_sha256(
                out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                buffer.baseAddress?.assumingMemoryBound(to: UInt8.self),
                UInt64(buffer.count)
            )
        })
    }

    /// SHA-256 of `bytes`.
    public static func sha256(_ bytes: [UInt8]) -> Hash {
        bytes.withUnsafeBytes { sha256($0) }
    }

    /// SHA-256 of the UTF-8 bytes of `text`.
    public static func sha256(utf8 text: String) -> Hash {
        sha256(Array(text.utf8))
    }
}

/// Incremental SHA-256 over several pieces, without concatenating them first.
public struct SHA256Hasher: ~Copyable {
    private var state = crypto_hash_sha256_state()

    public init() {
        crypto_hash_sha256_init(&state)
    }

    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        _ = crypto_hash_sha256_update(
            &state, buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(buffer.count))
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public mutating func update(_ hash: Hash) {
        hash.withUnsafeBytes { update($0) }
    }

    public consuming func finalize() -> Hash {
        var state = self.state
        return Hash(bytes32: Bytes32 { out in
            _ = crypto_hash_sha256_final(&state, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
        })
    }
}
