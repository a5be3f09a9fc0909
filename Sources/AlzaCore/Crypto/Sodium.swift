import CSodium

/// libsodium's one-time initialisation (`sodium_init`), done before the first key or signature operation.
/// Swift runs a global's initialiser once, thread-safely, so `Sodium.ready` is the guard every entry point reads.
enum Sodium {
    static let ready: Bool = {
        // sodium_init returns 0 on success, 1 if already initialised, -1 on failure (no usable entropy source).
        let status = sodium_init()
        precondition(status >= 0, "libsodium could not initialise (no entropy source?)")
        return true
    }()

    @inline(__always)
    static func ensureReady() {
        _ = ready
    }

    /// The linked libsodium's version string, e.g. "1.0.18".
    static var version: String { String(cString: sodium_version_string()) }
}

/// Cryptographically secure random bytes from libsodium (getrandom on Linux).
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) }
        return out
    }

    public static func uint64() -> UInt64 {
        Sodium.ensureReady()
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { randombytes_buf($0.baseAddress!, 8) }
        return value
    }
}

/// Versions of the C libraries Alza links, for `alza version` and bug reports.
public enum LinkedLibraries {
    public static var libsodiumVersion: String { Sodium.version }
    public static var lz4Version: String { LZ4Frame.libraryVersion }
}
