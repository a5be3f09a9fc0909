import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The OS processes of a local testnet: one `alza node` per node, logs in `<node>/node.log`, pid in `<node>/pid`.
///
/// Nodes are started with `posix_spawn` directly, so the pid written is the node's own: a detached node gets its
/// own session through `POSIX_SPAWN_SETSID` instead of a `setsid` wrapper (which forks when its caller leads a
/// process group, leaving a pid file that names a process already gone).
public final class TestnetProcesses: Sendable {
    public let directory: String
    public let executable: String
    /// Children of this process that it must reap (a zombie still answers `kill(pid, 0)`).
    private let children = Mutex<[String: pid_t]>([:])
    /// How each child that ended here ended, for start-up failure reports.
    private let endings = Mutex<[String: String]>([:])

    public init(directory: String, executable: String = TestnetProcesses.currentExecutable) {
        // Absolute, so a node's command line names its folder wherever `status` or `down` run from.
        self.directory = URL(fileURLWithPath: directory).standardizedFileURL.path
        self.executable = executable
    }

    /// The running `alza` binary (so nodes run the same build as the CLI that starts them).
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    private func configPath(_ node: TestnetLayout.NodeEntry) -> String { "\(directory)/\(node.config)" }
    public func logPath(of name: String) -> String { "\(directory)/\(name)/node.log" }
    private func pidPath(of name: String) -> String { "\(directory)/\(name)/pid" }

    /// Starts `alza node --config <node>/config.json`, its output appended to the node's log. `detached` puts it
    /// in a new session (it outlives the CLI and its terminal's Ctrl-C).
    public func start(_ node: TestnetLayout.NodeEntry, detached: Bool = false) throws(NodeError) {
        let pid = try Self.spawn(executable, arguments: ["node", "--config", configPath(node)],
                                 output: logPath(of: node.name), newSession: detached)
        children.withLock { $0[node.name] = pid }
        _ = endings.withLock { $0.removeValue(forKey: node.name) }
        do {
            try "\(pid)\n".write(toFile: pidPath(of: node.name), atomically: true, encoding: .utf8)
        } catch {
            throw .startup("\(node.name) started as pid \(pid) but its pid file could not be written: \(error)")
        }
    }

    /// `posix_spawn` with stdin from /dev/null, stdout and stderr appended to `output`, no inherited descriptors
    /// beyond those three, default signal dispositions and an empty mask (the CLI ignores SIGINT while it runs a
    /// testnet, and ignored signals survive exec).
    static func spawn(_ executable: String, arguments: [String], output: String, newSession: Bool) throws(NodeError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        _ = spawnFileActionsCloseFrom(&actions, 3)
        var everySignal = sigset_t()
        sigfillset(&everySignal)
        var noSignal = sigset_t()
        sigemptyset(&noSignal)
        posix_spawnattr_setsigdefault(&attributes, &everySignal)
        posix_spawnattr_setsigmask(&attributes, &noSignal)
        var flags = Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        if newSession { flags |= 0x80 }  // POSIX_SPAWN_SETSID (glibc ≥ 2.26; not visible to Swift's Glibc module)
        posix_spawnattr_setflags(&attributes, Int16(flags))
        let argv = ([executable] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv + [nil], environ)
        guard status == 0 else {
            throw .startup("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        return pid
    }

    /// The pid of a running node started by this or an earlier command. A pid file whose process is gone, or is
    /// now some other program (pids are reused), names nothing.
    public func pid(of name: String) -> Int32? {
        if let child = children.withLock({ $0[name] }) {
            return reapIfEnded(name, child) ? nil : child
        }
        guard let text = try? String(contentsOfFile: pidPath(of: name), encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
              Glibc.kill(pid, 0) == 0, Self.isNode(pid, directory: directory)
        else { return nil }
        return pid
    }

    /// True if `pid` runs `alza node` with a configuration in `directory` (read from /proc/PID/cmdline).
    static func isNode(_ pid: Int32, directory: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard let index = arguments.firstIndex(of: "--config"), index + 1 < arguments.count, arguments.contains("node") else {
            return false
        }
        return URL(fileURLWithPath: arguments[index + 1]).standardizedFileURL.path.hasPrefix(directory + "/")
    }

    /// Collects an ended child of ours; true if it has ended.
    private func reapIfEnded(_ name: String, _ pid: pid_t, blocking: Bool = false) -> Bool {
        var status: Int32 = 0
        let result = waitpid(pid, &status, blocking ? 0 : WNOHANG)
        guard result == pid || (result < 0 && errno == ECHILD) else { return false }
        let ending = result == pid ? Self.describe(status) : "ended"
        children.withLock { _ = $0.removeValue(forKey: name) }
        endings.withLock { $0[name] = ending }
        return true
    }

    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exited with status \((status >> 8) & 0xff)" }
        return "was killed by signal \(signal)"
    }

    public func isRunning(_ name: String) -> Bool { pid(of: name) != nil }

    /// How a node started by this object ended (nil while it runs or if it never ran here).
    public func ending(of name: String) -> String? {
        _ = pid(of: name)
        return endings.withLock { $0[name] }
    }

    /// The last non-empty line of a node's log.
    public func lastLogLine(of name: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: logPath(of: name)) else { return nil }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 4096 ? size - 4096 : 0)
        let tail = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        return tail.split(separator: "\n").last { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map(String.init)
    }

    /// Sends `signal` (SIGKILL by default: a crash) to a node; after SIGKILL, waits until it is gone.
    public func kill(_ name: String, signal: Int32 = SIGKILL) {
        guard let pid = pid(of: name) else { return }
        _ = Glibc.kill(pid, signal)
        if signal == SIGKILL, children.withLock({ $0[name] }) == pid {
            _ = reapIfEnded(name, pid, blocking: true)
        }
    }

    /// SIGTERM to every node, then SIGKILL to those still running after `timeout` seconds. Returns the nodes that
    /// are still running afterwards (empty when every process is gone); pid files are removed only for those gone.
    @discardableResult
    public func stopAll(names: [String], timeout: Double = 15) -> [String] {
        for name in names { kill(name, signal: SIGTERM) }
        var deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline, names.contains(where: isRunning) { usleep(50_000) }
        for name in names where isRunning(name) { kill(name, signal: SIGKILL) }
        // A node that is not our child is reaped by its new parent: give that a moment.
        deadline = Date().addingTimeInterval(5)
        while Date() < deadline, names.contains(where: isRunning) { usleep(20_000) }
        let left = names.filter(isRunning)
        for name in names where !left.contains(name) { try? FileManager.default.removeItem(atPath: pidPath(of: name)) }
        return left
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

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which its headers declare only under _GNU_SOURCE,
/// hidden from Swift's Glibc module. Without it a node would inherit every descriptor of the CLI or test process
/// that lacks FD_CLOEXEC (listening sockets among them, holding their ports).
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func spawnFileActionsCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32
