import CSodium

/// Anonymous public-key encryption to an Alza key (libsodium `crypto_box_seal`): a field payment's memo is sealed
/// to its payee (DESIGN.md §6). The payee's Ed25519 key is converted to its X25519 form
/// (`crypto_sign_ed25519_pk_to_curve25519`), so no second key is published; only the holder of the signing key can
/// open it. A sealed box is the plaintext plus 48 bytes (an ephemeral key and a MAC).
public enum SealedBox {
    public static let overhead = 48

    /// Seals `plaintext` to `recipient`.
    public static func seal(_ plaintext: [UInt8], to recipient: PublicKey) throws(SealedBoxError) -> [UInt8] {
        Sodium.ensureReady()
        var curve = [UInt8](repeating: 0, count: 32)
        let converted = recipient.bytes32.withUnsafeBytes { key in
            crypto_sign_ed25519_pk_to_curve25519(&curve, key.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard converted == 0 else { throw .notACurvePoint }
        var sealed = [UInt8](repeating: 0, count: plaintext.count + overhead)
        // An empty message still passes a valid pointer (libsodium copies zero bytes from it).
        let input = plaintext.isEmpty ? [0] : plaintext
        let status = input.withUnsafeBufferPointer { message in
            crypto_box_seal(&sealed, message.baseAddress, UInt64(plaintext.count), curve)
        }
        guard status == 0 else { throw .sealFailed }
        return sealed
    }

    /// Opens a box sealed to `key`'s public key.
    public static func open(_ sealed: [UInt8], with key: SigningKey) throws(SealedBoxError) -> [UInt8] {
        Sodium.ensureReady()
        guard sealed.count >= overhead else { throw .tooShort(bytes: sealed.count) }
        var publicCurve = [UInt8](repeating: 0, count: 32)
        var secretCurve = [UInt8](repeating: 0, count: 32)
        defer { sodium_memzero(&secretCurve, 32) }
        let publicStatus = key.publicKey.bytes32.withUnsafeBytes { pk in
            crypto_sign_ed25519_pk_to_curve25519(&publicCurve, pk.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        var expanded = key.seed.bytes + key.publicKey.bytes
        defer { sodium_memzero(&expanded, expanded.count) }
        let secretStatus = crypto_sign_ed25519_sk_to_curve25519(&secretCurve, expanded)
        guard publicStatus == 0, secretStatus == 0 else { throw .notACurvePoint }
        var plaintext = [UInt8](repeating: 0, count: max(1, sealed.count - overhead))
        let status = crypto_box_seal_open(&plaintext, sealed, UInt64(sealed.count), publicCurve, secretCurve)
        guard status == 0 else { throw .notForThisKey }
        return Array(plaintext.prefix(sealed.count - overhead))
    }
}

public enum SealedBoxError: AlzaError, Equatable {
    case notACurvePoint
    case sealFailed
    case tooShort(bytes: Int)
    case notForThisKey

    public var code: String {
        switch self {
        case .notACurvePoint: "sealed-box.not-a-curve-point"
        case .sealFailed: "sealed-box.seal-failed"
        case .tooShort: "sealed-box.too-short"
        case .notForThisKey: "sealed-box.not-for-this-key"
        }
    }

    public var description: String {
        switch self {
        case .notACurvePoint: "the key has no X25519 form (not a valid Ed25519 point)"
        case .sealFailed: "libsodium could not seal the message"
        case .tooShort(let bytes): "a sealed box has at least \(SealedBox.overhead) bytes, this one \(bytes)"
        case .notForThisKey: "the box was not sealed to this key, or it was altered"
        }
    }
}
