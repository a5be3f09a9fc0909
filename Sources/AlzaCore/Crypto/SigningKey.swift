import CSodium

/// An Ed25519 key pair. The secret never appears in `description`; it leaves memory only through `KeyFile`.
public struct SigningKey: Sendable, CustomStringConvertible {
    /// The 32-byte seed the key pair is derived from (what key files store).
    public let seed: Bytes32
    public let publicKey: PublicKey
    /// libsodium's 64-byte secret key (seed followed by the public key).
    private let expandedSecret: Bytes64

    /// A new key pair from the operating system's secure random source.
    public static func generate() -> SigningKey {
        Sodium.ensureReady()
        let seed = Bytes32 { randombytes_buf($0.baseAddress!, 32) }
        return SigningKey(seed: seed)
    }

    /// The key pair determined by `seed` (RFC 8032 §5.1.5).
    public init(seed: Bytes32) {
        Sodium.ensureReady()
        var publicBytes = Bytes32.zero
        var secret = Bytes64.zero
        publicBytes.withUnsafeMutableBytes { pk in
            secret.withUnsafeMutableBytes { sk in
                seed.withUnsafeBytes { seedBytes in
                    _ = crypto_sign_seed_keypair(
                        pk.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        sk.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        seedBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    )
                }
            }
        }
        self.seed = seed
        publicKey = PublicKey(bytes32: publicBytes)
        expandedSecret = secret
    }

    /// A deterministic key for tests, simulations and generated testnets: the seed is SHA-256 of `label`.
    public init(deterministicLabel label: String) {
        self.init(seed: Hash.sha256(utf8: label).bytes32)
    }

    public var description: String { "SigningKey(public: \(publicKey.hex))" }

    /// The detached Ed25519 signature of `message` (deterministic: same key and message, same signature).
    public func sign(_ message: UnsafeRawBufferPointer) -> Signature {
        Signature(bytes64: Bytes64 { out in
            expandedSecret.withUnsafeBytes { sk in
                _ = crypto_sign_detached(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    nil,
                    message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    UInt64(message.count),
                    sk.baseAddress!.assumingMemoryBound(to: UInt8.self)
                )
            }
        })
    }

    public func sign(_ message: [UInt8]) -> Signature {
        message.withUnsafeBytes { sign($0) }
    }

    public func sign(_ digest: Hash) -> Signature {
        digest.withUnsafeBytes { sign($0) }
    }
}
