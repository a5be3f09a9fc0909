import CSodium

/// An Ed25519 public key (32 bytes). Accounts, producers and nodes are named by one.
public struct PublicKey: Hashable, Comparable, Sendable, CustomStringConvertible, CanonicalCodable {
    public var bytes32: Bytes32

    public static let byteCount = 32

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
    public var description: String { hex }

    public static func < (lhs: PublicKey, rhs: PublicKey) -> Bool { lhs.bytes32 < rhs.bytes32 }

    /// True when `signature` is this key's Ed25519 signature of `message` (libsodium rejects non-canonical
    /// signatures and small-order keys, so a valid signature cannot be altered into another valid one).
    public func isValidSignature(_ signature: Signature, for message: UnsafeRawBufferPointer) -> Bool {
        Sodium.ensureReady()
        return signature.bytes64.withUnsafeBytes { sig in
            bytes32.withUnsafeBytes { key in
                crypto_sign_verify_detached(
                    sig.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    UInt64(message.count),
                    key.baseAddress!.assumingMemoryBound(to: UInt8.self)
                ) == 0
            }
        }
    }

    public func isValidSignature(_ signature: Signature, for message: [UInt8]) -> Bool {
        message.withUnsafeBytes { isValidSignature(signature, for: $0) }
    }

    /// Signatures in Alza are over 32-byte digests (see `SigningDomain`).
    public func isValidSignature(_ signature: Signature, for digest: Hash) -> Bool {
        digest.withUnsafeBytes { isValidSignature(signature, for: $0) }
    }

    public func encode(to encoder: inout CanonicalEncoder) { bytes32.encode(to: &encoder) }
    public init(from decoder: inout CanonicalDecoder) throws(CodecError) { bytes32 = try Bytes32(from: &decoder) }
}

/// A detached Ed25519 signature (64 bytes).
public struct Signature: Hashable, Sendable, CustomStringConvertible, CanonicalCodable {
    public var bytes64: Bytes64

    public static let byteCount = 64

    public init(bytes64: Bytes64) {
        self.bytes64 = bytes64
    }

    public init?<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        guard let value = Bytes64(bytes) else { return nil }
        bytes64 = value
    }

    public init(hex: String) throws(HexError) {
        bytes64 = try Bytes64(hex: hex)
    }

    public var bytes: [UInt8] { bytes64.bytes }
    public var hex: String { bytes64.hex }
    public var description: String { hex }

    public func encode(to encoder: inout CanonicalEncoder) { bytes64.encode(to: &encoder) }
    public init(from decoder: inout CanonicalDecoder) throws(CodecError) { bytes64 = try Bytes64(from: &decoder) }
}
