import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An Ed25519 key pair on disk: JSON holding the public key and the secret seed in hex, written with mode 0600
/// (created that way, never widened later) and refused on load when any other user may read it.
///
/// ```json
/// {"algorithm":"ed25519","publicKey":"<64 hex>","secretSeed":"<64 hex>"}
/// ```
public enum KeyFile {
    struct Contents: Codable {
        var algorithm: String
        var publicKey: String
        var secretSeed: String
    }

    /// The JSON text of a key file for `key`.
    public static func encode(_ key: SigningKey) -> [UInt8] {
        let contents = Contents(algorithm: "ed25519", publicKey: key.publicKey.hex, secretSeed: key.seed.hex)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding three strings cannot fail.
        return Array((try? encoder.encode(contents)) ?? Data()) + [0x0a]
    }

    /// Parses key-file JSON and checks that the public key matches the seed.
    public static func decode(_ bytes: [UInt8], path: String = "<memory>") throws(KeyFileError) -> SigningKey {
        let contents: Contents
        do {
            contents = try JSONDecoder().decode(Contents.self, from: Data(bytes))
        } catch {
            throw .malformed(path: path, reason: "not a key file (\(error.localizedDescription))")
        }
        guard contents.algorithm == "ed25519" else {
            throw .malformed(path: path, reason: "algorithm is \"\(contents.algorithm)\", expected \"ed25519\"")
        }
        let seed: Bytes32
        do {
            seed = try Bytes32(hex: contents.secretSeed)
        } catch {
            throw .malformed(path: path, reason: "secretSeed: \(error.description)")
        }
        let key = SigningKey(seed: seed)
        guard key.publicKey.hex == contents.publicKey.lowercased() else {
            throw .publicKeyMismatch(path: path)
        }
        return key
    }

    /// Writes `key` to `path` with mode 0600. Refuses to replace an existing file unless `overwrite`.
    /// The file is written to a temporary name in the same folder (created 0600), synced, then renamed, so a
    /// crash leaves either no key file or a complete one.
    public static func write(_ key: SigningKey, to path: String, overwrite: Bool = false) throws(KeyFileError) {
        if !overwrite && FileManager.default.fileExists(atPath: path) {
            throw .alreadyExists(path: path)
        }
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
        let bytes = encode(key)
        let written = bytes.withUnsafeBytes { posixWrite(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0 else {
            unlink(temporary)
            throw .io(path: path, reason: "could not write the key file")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .io(path: path, reason: reason)
        }
    }

    /// Reads a key file, refusing one that group or other users can access (as ssh does).
    public static func read(from path: String) throws(KeyFileError) -> SigningKey {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { throw .notFound(path: path) }
            throw .io(path: path, reason: String(cString: strerror(errno)))
        }
        let mode = UInt32(info.st_mode) & 0o777
        guard mode & 0o077 == 0 else { throw .insecurePermissions(path: path, mode: mode) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .io(path: path, reason: "could not read the file")
        }
        return try decode(Array(data), path: path)
    }
}

#if canImport(Glibc)
private let posixWrite = Glibc.write
#elseif canImport(Darwin)
private let posixWrite = Darwin.write
#endif

/// Why a key file could not be written or read.
public enum KeyFileError: AlzaError, Equatable {
    case notFound(path: String)
    case alreadyExists(path: String)
    case insecurePermissions(path: String, mode: UInt32)
    case malformed(path: String, reason: String)
    case publicKeyMismatch(path: String)
    case io(path: String, reason: String)

    public var code: String {
        switch self {
        case .notFound: "keyfile.not-found"
        case .alreadyExists: "keyfile.already-exists"
        case .insecurePermissions: "keyfile.insecure-permissions"
        case .malformed: "keyfile.malformed"
        case .publicKeyMismatch: "keyfile.public-key-mismatch"
        case .io: "keyfile.io"
        }
    }

    public var description: String {
        switch self {
        case .notFound(let path): "key file \(path) does not exist"
        case .alreadyExists(let path): "key file \(path) already exists; refusing to overwrite a key"
        case .insecurePermissions(let path, let mode):
            "key file \(path) is accessible by other users (mode \(String(mode, radix: 8))); run: chmod 600 \(path)"
        case .malformed(let path, let reason): "key file \(path) is malformed: \(reason)"
        case .publicKeyMismatch(let path):
            "key file \(path): publicKey does not match the key derived from secretSeed"
        case .io(let path, let reason): "key file \(path): \(reason)"
        }
    }
}
