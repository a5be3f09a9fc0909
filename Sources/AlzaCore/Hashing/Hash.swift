import CAlzaSHA
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

    /// SHA-256 of `buffer`, on the CPU's SHA extensions when it has them (see `SHA256Implementation`).
    public static func sha256(_ buffer: UnsafeRawBufferPointer) -> Hash {
        sha256(buffer, using: .preferred)
    }

    /// SHA-256 of `buffer` with a chosen implementation (for tests and benchmarks comparing the two).
    public static func sha256(_ buffer: UnsafeRawBufferPointer, using implementation: SHA256Implementation) -> Hash {
        Hash(bytes32: Bytes32 { out in
            let input = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
            let output = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
            switch implementation {
            case .hardware: alza_sha256(input, buffer.count, output)
            case .portable: _ = crypto_hash_sha256(output, input, UInt64(buffer.count))
            }
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

/// The two SHA-256 implementations: libsodium's portable C (the reference, and the fallback) and Alza's use of
/// the x86 SHA extensions, about eight times faster (docs/decisions.md, D1). Both give identical digests.
public enum SHA256Implementation: Sendable, CaseIterable, CustomStringConvertible {
    case hardware
    case portable

    /// Whether this CPU has the SHA extensions.
    public static let hardwareAvailable = alza_sha256_hardware_available() != 0
    /// The implementation `Hash.sha256` uses.
    public static let preferred: SHA256Implementation = hardwareAvailable ? .hardware : .portable

    public var description: String { self == .hardware ? "x86 SHA extensions" : "libsodium (portable C)" }
}

/// Incremental SHA-256 over several pieces, without concatenating them first.
public struct SHA256Hasher: ~Copyable {
    private var hardware = alza_sha256_context()
    private var portable = crypto_hash_sha256_state()
    private let implementation: SHA256Implementation

    public init(using implementation: SHA256Implementation = .preferred) {
        self.implementation = implementation
        switch implementation {
        case .hardware: alza_sha256_init(&hardware)
        case .portable: crypto_hash_sha256_init(&portable)
        }
    }

    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        let input = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
        switch implementation {
        case .hardware: alza_sha256_update(&hardware, input, buffer.count)
        case .portable: _ = crypto_hash_sha256_update(&portable, input, UInt64(buffer.count))
        }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public mutating func update(_ hash: Hash) {
        hash.withUnsafeBytes { update($0) }
    }

    public consuming func finalize() -> Hash {
        var hardware = self.hardware
        var portable = self.portable
        let implementation = self.implementation
        return Hash(bytes32: Bytes32 { out in
            let output = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
            switch implementation {
            case .hardware: alza_sha256_final(&hardware, output)
            case .portable: _ = crypto_hash_sha256_final(&portable, output)
            }
        })
    }
}
