/// Domain separation for everything Alza signs: the signed message is always
/// `H(chainId || tag || bytes)`, where `tag` is written as a canonical string (LEB128 length, then UTF-8).
/// A signature made for one purpose (a transaction) or one chain can therefore never be replayed as another
/// (a block header, a handshake) or on another chain. The length prefix keeps tags prefix-free.
public struct SigningDomain: Hashable, Sendable, CustomStringConvertible {
    public let tag: String

    public init(_ tag: String) {
        precondition(!tag.isEmpty && tag.utf8.count <= 64, "signing domain tags are 1...64 bytes")
        self.tag = tag
    }

    public var description: String { tag }

    /// The 32-byte digest that is signed for `bytes` in this domain on `chainId`.
    public func digest(chainId: Hash, bytes: UnsafeRawBufferPointer) -> Hash {
        var hasher = SHA256Hasher()
        hasher.update(chainId)
        var prefix = CanonicalEncoder(reservingCapacity: tag.utf8.count + 1)
        prefix.encode(tag)
        hasher.update(prefix.bytes)
        hasher.update(bytes)
        return hasher.finalize()
    }

    public func digest(chainId: Hash, bytes: [UInt8]) -> Hash {
        bytes.withUnsafeBytes { digest(chainId: chainId, bytes: $0) }
    }

    public func digest<Value: CanonicalEncodable>(chainId: Hash, value: Value) -> Hash {
        digest(chainId: chainId, bytes: value.canonicalBytes)
    }
}

extension SigningKey {
    /// Signs `H(chainId || domain || bytes)`.
    public func sign(_ bytes: [UInt8], domain: SigningDomain, chainId: Hash) -> Signature {
        sign(domain.digest(chainId: chainId, bytes: bytes))
    }
}

extension PublicKey {
    /// Checks a signature made by `SigningKey.sign(_:domain:chainId:)`.
    public func isValidSignature(
        _ signature: Signature, for bytes: [UInt8], domain: SigningDomain, chainId: Hash
    ) -> Bool {
        isValidSignature(signature, for: domain.digest(chainId: chainId, bytes: bytes))
    }
}
