
/// A folder of files with the few operations the block log, journal and checkpoints need, and the durability
/// contract they rely on: data reaches the disk only through `sync` or `writeAtomically`; after a crash a file
/// holds at least what was synced (and possibly a torn piece of what was not).
///
/// `FileStorage` implements it on the real file system; the simulator implements it in memory with crash
/// semantics (unsynced data lost or torn), so the same recovery code is tested under simulated crashes.
public protocol DurableStorage: AnyObject, Sendable {
    /// Names of the files in the folder.
    func list() throws(StorageError) -> [String]
    /// The whole file, or nil if it does not exist.
    func read(_ name: String) throws(StorageError) -> [UInt8]?
    /// `count` bytes at `offset`.
    func read(_ name: String, offset: Int, count: Int) throws(StorageError) -> [UInt8]
    func size(_ name: String) throws(StorageError) -> Int?
    /// Appends to the file, creating it if needed.
    func append(_ name: String, _ bytes: [UInt8]) throws(StorageError)
    /// Makes everything appended so far durable.
    func sync(_ name: String) throws(StorageError)
    /// Cuts the file to `size` bytes, durably.
    func truncate(_ name: String, to size: Int) throws(StorageError)
    /// Replaces the file's content all at once: after a crash it holds the old or the new content, never a mix.
    func writeAtomically(_ name: String, _ bytes: [UInt8]) throws(StorageError)
    func remove(_ name: String) throws(StorageError)
}

/// An I/O failure of the storage.
public enum StorageError: AlzaError, Equatable {
    case io(file: String, operation: String, reason: String)

    public var code: String { "storage.io" }

    public var description: String {
        switch self {
        case .io(let file, let operation, let reason): "\(operation) \(file): \(reason)"
        }
    }
}
