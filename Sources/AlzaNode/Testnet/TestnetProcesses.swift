import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The OS processes of a local testnet: one `alza node` per node, logs in `<node>/node.log`, pid in `<node>/pid`.
public final class TestnetProcesses: Sendable {
    public let directory: String
    public let executable: String
    private let processes = Mutex<[String: Process]>([:])

    public init(directory: String, executable: String = TestnetProcesses.currentExecutable) {
        self.directory = directory
        self.executable = executable
    }

    /// The running `alza` binary (so nodes run the same build as the CLI that starts them).
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Starts `alza node --config <node>/config.json`. `detached` puts it in its own session (it outlives the CLI).
    public func start(_ node: TestnetLayout.NodeEntry, detached: Bool = false) throws {
        let logPath = "\(directory)/\(node.name)/node.log"
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try log.seekToEnd()
        let process = Process()
        let arguments = ["node", "--config", "\(directory)/\(node.config)"]
        if detached, FileManager.default.isExecutableFile(atPath: "/usr/bin/setsid") {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
            process.arguments = [executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? "\(process.processIdentifier)\n".write(toFile: "\(directory)/\(node.name)/pid", atomically: true, encoding: .utf8)
        processes.withLock { $0[node.name] = process }
    }

    /// The pid of a node started by this or an earlier command (from its pid file).
    public func pid(of name: String) -> Int32? {
        if let process = processes.withLock({ $0[name] }), process.isRunning { return process.processIdentifier }
        guard let text = try? String(contentsOfFile: "\(directory)/\(name)/pid", encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { return nil }
        return Glibc.kill(pid, 0) == 0 ? pid : nil
    }

    public func isRunning(_ name: String) -> Bool { pid(of: name) != nil }

    /// Sends `signal` (SIGKILL by default: a crash) to a node.
    public func kill(_ name: String, signal: Int32 = SIGKILL) {
        guard let pid = pid(of: name) else { return }
        _ = Glibc.kill(pid, signal)
        if signal == SIGKILL {
            processes.withLock { $0[name]?.waitUntilExit() }
        }
    }

    /// SIGTERM to every node, then SIGKILL to those still running after `timeout` seconds.
    public func stopAll(names: [String], timeout: Double = 15) {
        for name in names { kill(name, signal: SIGTERM) }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline, names.contains(where: isRunning) { usleep(100_000) }
        for name in names where isRunning(name) { kill(name, signal: SIGKILL) }
        for name in names { try? FileManager.default.removeItem(atPath: "\(directory)/\(name)/pid") }
    }

    /// Resident memory of a node in bytes (from /proc).
    public func residentBytes(of name: String) -> UInt64? {
        guard let pid = pid(of: name),
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        let kilobytes = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { UInt64($0) }
        return kilobytes.map { $0 * 1024 }
    }
}
