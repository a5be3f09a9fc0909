import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `DurableStorage` on a real folder, with POSIX calls: appends through O_APPEND descriptors kept open,
/// `fsync` for `sync`, and write-to-temporary + fsync + rename + fsync of the folder for `writeAtomically`.
public final class FileStorage: DurableStorage, @unchecked Sendable {
    public let directory: String
    private let lock = NSLock()
    private var descriptors: [String: Int32] = [:]

    public init(directory: String) throws(StorageError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .io(file: directory, operation: "create folder", reason: error.localizedDescription)
        }
    }

    deinit {
        for descriptor in descriptors.values { close(descriptor) }
    }

    private func path(_ name: String) -> String { directory + "/" + name }

    private func failure(_ name: String, _ operation: String) -> StorageError {
        .io(file: path(name), operation: operation, reason: String(cString: strerror(errno)))
    }

    public func list() throws(StorageError) -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw .io(file: directory, operation: "list", reason: error.localizedDescription)
        }
    }

    public func read(_ name: String) throws(StorageError) -> [UInt8]? {
        guard let size = try size(name) else { return nil }
        return try read(name, offset: 0, count: size)
    }

    public func read(_ name: String, offset: Int, count: Int) throws(StorageError) -> [UInt8] {
        let descriptor = open(path(name), O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(name, "open") }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let result = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if result < 0 { throw failure(name, "read") }
            if result == 0 { throw StorageError.io(file: path(name), operation: "read", reason: "file is shorter than expected") }
            done += result
        }
        return bytes
    }

    public func size(_ name: String) throws(StorageError) -> Int? {
        var info = stat()
        guard stat(path(name), &info) == 0 else {
            if errno == ENOENT { return nil }
            throw failure(name, "stat")
        }
        return Int(info.st_size)
    }

    private func descriptor(_ name: String) throws(StorageError) -> Int32 {
        if let existing = descriptors[name] { return existing }
        let created = open(path(name), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard created >= 0 else { throw failure(name, "open") }
        descriptors[name] = created
        return created
    }

    public func append(_ name: String, _ bytes: [UInt8]) throws(StorageError) {
        lock.lock()
        defer { lock.unlock() }
        let fd = try descriptor(name)
        var done = 0
        while done < bytes.count {
            let result = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
            if result < 0 {
                if errno == EINTR { continue }
                throw failure(name, "write")
            }
            done += result
        }
    }

    public func sync(_ name: String) throws(StorageError) {
        lock.lock()
        defer { lock.unlock() }
        let fd = try descriptor(name)
        guard fsync(fd) == 0 else { throw failure(name, "fsync") }
    }

    public func truncate(_ name: String, to size: Int) throws(StorageError) {
        lock.lock()
        defer { lock.unlock() }
        let fd = try descriptor(name)
        guard ftruncate(fd, off_t(size)) == 0, fsync(fd) == 0 else { throw failure(name, "truncate") }
    }

    public func writeAtomically(_ name: String, _ bytes: [UInt8]) throws(StorageError) {
        lock.lock()
        defer { lock.unlock() }
        let temporary = name + ".tmp"
        let fd = open(path(temporary), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(temporary, "open") }
        var done = 0
        while done < bytes.count {
            let result = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
            if result < 0 {
                if errno == EINTR { continue }
                close(fd)
                throw failure(temporary, "write")
            }
            done += result
        }
        guard fsync(fd) == 0 else {
            close(fd)
            throw failure(temporary, "fsync")
        }
        close(fd)
        if let old = descriptors.removeValue(forKey: name) { close(old) }
        guard rename(path(temporary), path(name)) == 0 else { throw failure(name, "rename") }
        try syncDirectory()
    }

    public func remove(_ name: String) throws(StorageError) {
        lock.lock()
        defer { lock.unlock() }
        if let old = descriptors.removeValue(forKey: name) { close(old) }
        guard unlink(path(name)) == 0 || errno == ENOENT else { throw failure(name, "remove") }
        try syncDirectory()
    }

    private func syncDirectory() throws(StorageError) {
        let fd = open(directory, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(".", "open folder") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure(".", "fsync folder") }
    }
}
