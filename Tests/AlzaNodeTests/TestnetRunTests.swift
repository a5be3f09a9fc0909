import AlzaNode
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `alza testnet run` end to end: one OS process per node on loopback ports, a transfer load, a SuperNode
/// killed with SIGKILL and restarted.
@Suite(.serialized) struct TestnetRunTests {
    /// The `alza` binary built beside this test bundle.
    static var alzaExecutable: String {
        URL(fileURLWithPath: TestnetProcesses.currentExecutable).deletingLastPathComponent().appendingPathComponent("alza").path
    }

    @Test(.timeLimit(.minutes(3)))
    func aLoadedTestnetAgreesFinalizesEverythingAndAKilledNodeCatchesUp() async throws {
        let executable = Self.alzaExecutable
        try #require(FileManager.default.isExecutableFile(atPath: executable),
                     "build the alza executable first (swift build --build-tests builds it): \(executable)")
        var options = TestnetRun.Options()
        options.superNodes = 4
        options.satellites = 1
        options.slotMilliseconds = 200
        options.duration = 20
        options.rate = 40
        options.live = false
        options.settleSeconds = 40
        options.executable = executable
        let ports = try LoopbackPorts.claim(span: 1_010, used: TestnetLayout.portOffsets(nodes: 5))
        options.basePort = ports.base
        options.perturbations = try TestnetRun.Perturbation.parse("kill:supernode-1@5s,restart:supernode-1@10s")
        let report = try await TestnetRun(options: options).run()

        #expect(report.errors == 0, "\(report.errorSamples)")
        #expect(report.submitted > 600)
        #expect(report.included == report.submitted)
        #expect(report.irreversible == report.included)
        #expect(report.libEnd > report.libStart + 50)
        #expect(report.agreed)
        #expect(report.nodes.count == 5)
        for node in report.nodes {
            #expect(node.running, "\(node.name) is running")
            #expect(node.onCommonChain, "\(node.name) holds the common block at height \(report.commonHeadHeight)")
            #expect(node.lib >= report.agreedHeight)
        }
        #expect(report.inclusionLatencyMs.count == UInt64(report.included))
        withExtendedLifetime(ports) {}
    }

    /// `--load payments:RATE --fields F --participants P`: fields opened over the satellites' APIs, paid open loop,
    /// closed, and every settled balance equal to deposit plus the receipted payments.
    @Test(.timeLimit(.minutes(3)))
    func aPaymentLoadOpensPaysClosesAndEveryBalanceAddsUp() async throws {
        var options = TestnetRun.Options()
        options.superNodes = 2
        options.satellites = 3
        options.slotMilliseconds = 200
        options.duration = 6
        options.paymentRate = 100
        options.fields = 2
        options.participants = 3
        options.live = false
        options.settleSeconds = 10
        options.executable = Self.alzaExecutable
        let ports = try LoopbackPorts.claim(span: 1_010, used: TestnetLayout.portOffsets(nodes: 5))
        options.basePort = ports.base
        let report = try await TestnetRun(options: options).run()
        let payments = try #require(report.payments)
        #expect(payments.submitted == 600)
        #expect(payments.receipted == payments.submitted, "\(payments.errorSamples)")
        #expect(payments.settled == payments.receipted)
        #expect(payments.errors == 0 && payments.refused == 0)
        #expect(payments.latencyMs.count == UInt64(payments.receipted))
        #expect(report.fieldsOpened == 2 && report.fieldsClosed == 2)
        #expect(report.crossFieldLocks == 1, "field 1 opens with a deposit locked in field 0")
        #expect(report.balanceChecks?.passed == 6 && report.balanceChecks?.failed == 0)
        #expect(report.agreed)
        withExtendedLifetime(ports) {}
    }

    /// A node process that ends while the testnet starts fails the run at once with its name, its exit status and
    /// its last log line (not a 60 s wait ending in "did not all come up").
    @Test func aNodeThatExitsDuringStartUpIsNamedWithItsLastLogLine() async throws {
        let folder = NSTemporaryDirectory() + "alza-exit-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let script = folder + "/fake-alza"
        try "#!/bin/sh\necho 'cannot listen on 127.0.0.1:1: Address already in use'\nexit 3\n"
            .write(toFile: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        let ports = try LoopbackPorts.claim(span: 1_010, used: TestnetLayout.portOffsets(nodes: 1))
        var options = TestnetRun.Options()
        options.superNodes = 1
        options.satellites = 0
        options.live = false
        options.executable = script
        options.basePort = ports.base
        options.directory = folder + "/net"
        await #expect(throws: NodeError.startup("supernode-0 exited with status 3 during start-up; "
                                                + "last log line: cannot listen on 127.0.0.1:1: Address already in use")) {
            _ = try await TestnetRun(options: options).run()
        }
    }

    /// A port of the testnet already taken is reported before any node starts.
    @Test func aTakenPortIsReportedBeforeAnyNodeStarts() async throws {
        let ports = try LoopbackPorts.claim(span: 1_010, used: TestnetLayout.portOffsets(nodes: 2))
        let blocker = try RawListener(port: ports.base + 1_001)
        var options = TestnetRun.Options()
        options.superNodes = 2
        options.satellites = 0
        options.live = false
        options.basePort = ports.base
        await #expect(throws: NodeError.startup("ports already in use: 127.0.0.1:\(ports.base + 1_001); choose another --base-port")) {
            _ = try await TestnetRun(options: options).run()
        }
        withExtendedLifetime(blocker) {}
    }

    /// A port whose last connection is in TIME_WAIT (the node that listened on it closed it first, as an earlier
    /// testnet's nodes do) is free for the next run; a port with a listener is not.
    @Test func aPortInTimeWaitIsFreeButAListenedPortIsNot() throws {
        let ports = try LoopbackPorts.claim(span: 1_010, used: TestnetLayout.portOffsets(nodes: 1))
        let port = ports.base
        do {
            let listener = try RawListener(port: port)
            let client = try rawConnect(port: port)
            let accepted = accept(listener.fd, nil, nil)
            try #require(accepted >= 0)
            withExtendedLifetime(listener) { #expect(!LoopbackPorts.isFree(port), "a listener holds it") }
            close(accepted)  // The server side closes first: its end of the connection enters TIME_WAIT.
            var byte: UInt8 = 0
            #expect(read(client, &byte, 1) == 0, "the client sees the close")
            close(client)
        }
        #expect(LoopbackPorts.taken(base: port, offsets: [0]).isEmpty, "TIME_WAIT does not keep a node from listening")
    }

    /// Claimed port blocks lie below the ephemeral range and two claims never share a block.
    @Test func claimedPortsAreBelowTheEphemeralRangeAndExclusive() throws {
        let first = try LoopbackPorts.claim(span: 1_010, used: TestnetLayout.portOffsets(nodes: 10))
        let second = try LoopbackPorts.claim(span: 1_010, used: TestnetLayout.portOffsets(nodes: 10))
        #expect(first.base != second.base)
        for block in [first, second] {
            #expect(block.base >= 10_000)
            #expect(Int(block.base) + 1_010 <= Int(LoopbackPorts.ephemeralRangeStart))
        }
        #expect(abs(Int(first.base) - Int(second.base)) >= 1_010)
    }

    /// `alza testnet up` writes the nodes' own pids; `status` shows them; `down` leaves no node process behind.
    @Test(.timeLimit(.minutes(2)))
    func upWritesTruePidsAndDownLeavesNoProcess() async throws {
        let executable = Self.alzaExecutable
        try #require(FileManager.default.isExecutableFile(atPath: executable))
        let folder = NSTemporaryDirectory() + "alza-up-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let ports = try LoopbackPorts.claim(span: 1_010, used: TestnetLayout.portOffsets(nodes: 3))
        _ = try runCommand(executable, ["genesis", "--dir", folder, "--supernodes", "2", "--satellites", "1",
                                        "--slot-ms", "200", "--base-port", "\(ports.base)"])
        _ = try runCommand(executable, ["testnet", "up", "--dir", folder])
        let names = ["supernode-0", "supernode-1", "satellite-0"]
        var pids: [Int32] = []
        for name in names {
            let text = try String(contentsOfFile: "\(folder)/\(name)/pid", encoding: .utf8)
            let pid = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
            let commandLine = try #require(FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"))
            let arguments = commandLine.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            #expect(arguments.dropFirst().prefix(2) == ["node", "--config"], "pid \(pid) of \(name) runs alza node")
            pids.append(pid)
        }
        let status = try runCommand(executable, ["testnet", "status", "--dir", folder])
        for (name, pid) in zip(names, pids) {
            #expect(status.contains { $0.hasPrefix(name) && $0.split(separator: " ").dropFirst().first == "\(pid)" },
                    "status names \(name) with pid \(pid): \(status)")
        }
        let down = try runCommand(executable, ["testnet", "down", "--dir", folder])
        #expect(down.last == "stopped 3 of 3 nodes; no node process of \(folder) is left")
        for pid in pids {
            #expect(!FileManager.default.fileExists(atPath: "/proc/\(pid)/cmdline")
                    || FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")?.isEmpty == true, "pid \(pid) is gone")
        }
        withExtendedLifetime(ports) {}
    }

    @Test func perturbationsAndDurationsParseOrSayWhatIsWrong() throws {
        let parsed = try TestnetRun.Perturbation.parse("kill:supernode-5@10s,restart:supernode-5@1m")
        #expect(parsed == [.init(action: .kill, node: "supernode-5", at: 10), .init(action: .restart, node: "supernode-5", at: 60)])
        for bad in ["explode:supernode-5@10s", "kill:supernode-5", "kill@10s", "kill:supernode-5@soon"] {
            #expect(throws: NodeError.self, "\(bad)") { try TestnetRun.Perturbation.parse(bad) }
        }
        #expect(TestnetRun.Perturbation.seconds("250ms") == 0.25)
        #expect(TestnetRun.Perturbation.seconds("2m") == 120)
        #expect(TestnetRun.Perturbation.seconds("x") == nil)
    }

    @Test func aTestnetFolderIsNotOverwritten() throws {
        let folder = try TestnetFolder(superNodes: 2, satellites: 1)
        #expect(folder.layout.nodes.map(\.name) == ["supernode-0", "supernode-1", "satellite-0"])
        #expect(throws: NodeError.self) {
            try TestnetLayout.create(directory: folder.path, superNodes: 2, satellites: 1, slotMilliseconds: 100, basePort: 20_000)
        }
        let reloaded = try TestnetLayout.load(directory: folder.path)
        #expect(reloaded.chainId == folder.layout.chainId)
        let mode = try FileManager.default.attributesOfItem(atPath: folder.path + "/keys/supernode-0.json")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}

/// Runs the CLI and returns its standard output's lines; throws with its output if it fails.
func runCommand(_ executable: String, _ arguments: [String]) throws -> [String] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    guard process.terminationStatus == 0 else {
        throw NodeError.startup("alza \(arguments.joined(separator: " ")) failed: \(lines.joined(separator: " | "))")
    }
    return lines
}

/// A TCP listener on a given loopback port, closed when released (to occupy a port in a test).
final class RawListener: Sendable {
    let fd: Int32

    /// Set up as a node's listeners are (`TCPListener`, the HTTP server: `SO_REUSEADDR`), so connections of an
    /// earlier test on a reused port block, still in TIME_WAIT, do not keep it from listening.
    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withLoopbackAddress(port: port) { bind(fd, $0, $1) }
        guard bound == 0, listen(fd, 8) == 0 else {
            close(fd)
            throw NodeError.startup("cannot listen on 127.0.0.1:\(port)")
        }
    }

    deinit { close(fd) }
}

/// A blocking TCP connection to `127.0.0.1:port`.
func rawConnect(port: UInt16) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard withLoopbackAddress(port: port, { connect(fd, $0, $1) }) == 0 else {
        close(fd)
        throw NodeError.startup("cannot connect to 127.0.0.1:\(port)")
    }
    return fd
}

/// Calls `body` with `127.0.0.1:port` as a `sockaddr` and its length (for bind and connect).
func withLoopbackAddress(port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}
