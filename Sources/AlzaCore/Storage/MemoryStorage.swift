import Synchronization

/// `DurableStorage` in memory with a disk's crash semantics: `append` is buffered until `sync`; `crash` keeps
/// what was synced and, for each file, a random prefix of what was not (a torn write). `writeAtomically` is
/// all-or-nothing. The simulator's disks and the tests' use it: a node's storage outlives its crash, so a
/// restarted node recovers from exactly what a real disk would hold.
public final class MemoryStorage: DurableStorage, Sendable {
    private struct File: Sendable {
        var bytes: [UInt8] = []
        var synced = 0
    }

    private let files = Mutex<[String: File]>([:])

    public init() {}

    public func list() throws(StorageError) -> [String] { files.withLock { Array($0.keys).sorted() } }

    public func read(_ name: String) throws(StorageError) -> [UInt8]? { files.withLock { $0[name]?.bytes } }

    public func read(_ name: String, offset: Int, count: Int) throws(StorageError) -> [UInt8] {
        let slice: [UInt8]? = files.withLock { files in
            guard let file = files[name], offset >= 0, offset + count <= file.bytes.count else { return nil }
            return Array(file.bytes[offset..<(offset + count)])
        }
        guard let slice else { throw .io(file: name, operation: "read", reason: "out of range") }
        return slice
    }

    public func size(_ name: String) throws(StorageError) -> Int? { files.withLock { $0[name]?.bytes.count } }

    public func append(_ name: String, _ bytes: [UInt8]) throws(StorageError) {
        files.withLock { $0[name, default: File()].bytes.append(contentsOf: bytes) }
    }

    public func sync(_ name: String) throws(StorageError) {
        files.withLock { files in
            if var file = files[name] {
                file.synced = file.bytes.count
                files[name] = file
            }
        }
    }

    public func truncate(_ name: String, to size: Int) throws(StorageError) {
        files.withLock { files in
            guard var file = files[name] else { return }
            file.bytes.removeSubrange(min(size, file.bytes.count)...)
            file.synced = file.bytes.count
            files[name] = file
        }
    }

    public func writeAtomically(_ name: String, _ bytes: [UInt8]) throws(StorageError) {
        files.withLock { $0[name] = File(bytes: bytes, synced: bytes.count) }
    }

    public func remove(_ name: String) throws(StorageError) {
        _ = files.withLock { $0.removeValue(forKey: name) }
    }

    /// What a power cut that tears nothing leaves: exactly the synced bytes (a file appended to and never synced
    /// stays, empty: its name reached the disk, its bytes did not).
    public func crash() {
        files.withLock { files in
            for name in files.keys.sorted() {
                files[name]!.bytes.removeSubrange(files[name]!.synced...)
            }
        }
    }

    /// What a power cut leaves: synced bytes, plus a torn prefix of the unsynced ones chosen by `random`.
    public func crash<Generator: RandomNumberGenerator>(random: inout Generator) {
        // The torn lengths are drawn outside the lock (in file-name order, so a seed replays the same crash).
        let unsynced = files.withLock { files in files.keys.sorted().map { ($0, files[$0]!.bytes.count - files[$0]!.synced) } }
        var kept: [String: Int] = [:]
        for (name, count) in unsynced {
            kept[name] = count > 0 ? Int.random(in: 0...count, using: &random) : 0
        }
        files.withLock { files in
            for (name, keep) in kept {
                guard var file = files[name] else { continue }
                file.bytes.removeSubrange(min(file.bytes.count, file.synced + keep)...)
                file.synced = file.bytes.count
                files[name] = file
            }
        }
    }

    /// Cuts `count` bytes off the end of `name` (a fault for recovery tests).
    public func chop(_ name: String, bytes count: Int) {
        files.withLock { files in
            guard var file = files[name] else { return }
            file.bytes.removeLast(min(count, file.bytes.count))
            file.synced = min(file.synced, file.bytes.count)
            files[name] = file
        }
    }

    /// Flips one byte of `name` at `offset` (a silent corruption).
    public func corrupt(_ name: String, at offset: Int) {
        files.withLock { files in
            guard var file = files[name], offset < file.bytes.count else { return }
            file.bytes[offset] ^= 0xff
            files[name] = file
        }
    }

    public var totalBytes: Int { files.withLock { $0.values.reduce(0) { $0 + $1.bytes.count } } }
}
