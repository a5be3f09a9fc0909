import AlzaCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What this machine can do at best, measured in the same run as every benchmark, so each figure is reported
/// as a ratio to a limit instead of an absolute number that means nothing on another machine.
struct PhysicalLimits: Codable {
    /// Ed25519 signature verifications per second on one core (libsodium).
    var ed25519VerifyPerSecondPerCore: Double
    /// SHA-256 throughput on 1 MiB inputs, MB/s (10^6 bytes), one core.
    var sha256MBPerSecond: Double
    /// SHA-256 hashes per second of 64-byte inputs (one Merkle node), one core.
    var sha256SmallPerSecond: Double
    /// TCP round trip of one byte over 127.0.0.1, microseconds (p50).
    var loopbackRoundTripMicroseconds: Double
    /// Sequential write with a final fsync, MB/s, in the folder the benchmark writes to.
    var sequentialDiskWriteMBPerSecond: Double
    var cores: Int

    static func measure(scratchDirectory: String, quick: Bool) -> PhysicalLimits {
        let seconds = quick ? 0.2 : 0.6
        let key = SigningKey(deterministicLabel: "limits")
        let message = [UInt8](repeating: 7, count: 32)
        let signature = key.sign(message)
        let verify = measureRate(minimumSeconds: seconds, batch: 64) { batch in
            for _ in 0..<batch { precondition(key.publicKey.isValidSignature(signature, for: message)) }
        }
        let big = [UInt8](repeating: 0x5a, count: 1 << 20)
        let sha = measureRate(minimumSeconds: seconds, batch: 4) { batch in
            for _ in 0..<batch { _ = Hash.sha256(big) }
        } * Double(big.count) / 1e6
        let small = [UInt8](repeating: 1, count: 64)
        let shaSmall = measureRate(minimumSeconds: seconds, batch: 1024) { batch in
            for _ in 0..<batch { _ = Hash.sha256(small) }
        }
        return PhysicalLimits(
            ed25519VerifyPerSecondPerCore: verify,
            sha256MBPerSecond: sha,
            sha256SmallPerSecond: shaSmall,
            loopbackRoundTripMicroseconds: LoopbackProbe.roundTripMicroseconds(samples: quick ? 2000 : 10000),
            sequentialDiskWriteMBPerSecond: DiskProbe.sequentialWriteMBPerSecond(
                directory: scratchDirectory, megabytes: quick ? 64 : 256),
            cores: ProcessInfo.processInfo.activeProcessorCount)
    }
}

/// A one-byte TCP ping-pong over loopback between two threads.
enum LoopbackProbe {
    static func roundTripMicroseconds(samples: Int) -> Double {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { precondition(bind(listener, $0, length) == 0) }
        }
        precondition(listen(listener, 1) == 0)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(listener, $0, &length) }
        }
        let echo = Thread {
            let peer = accept(listener, nil, nil)
            guard peer >= 0 else { return }
            setNoDelay(peer)
            var byte: UInt8 = 0
            while recv(peer, &byte, 1, 0) == 1 { _ = send(peer, &byte, 1, 0) }
            close(peer)
        }
        echo.start()
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                precondition(connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0)
            }
        }
        setNoDelay(client)
        var recorder = LatencyRecorder()
        var byte: UInt8 = 1
        for index in 0..<(samples + 200) {
            let start = Monotonic.nanoseconds()
            _ = send(client, &byte, 1, 0)
            _ = recv(client, &byte, 1, 0)
            if index >= 200 { recorder.record(nanoseconds: Monotonic.nanoseconds() - start) }
        }
        return Double(recorder.summary.p50)
    }

    private static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }
}

/// Sequential 1 MiB writes of `megabytes` MiB then fsync, in `directory`.
enum DiskProbe {
    static func sequentialWriteMBPerSecond(directory: String, megabytes: Int) -> Double {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/disk-probe-\(getpid()).tmp"
        defer { unlink(path) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0xa5, count: 1 << 20)
        let seconds = Monotonic.seconds {
            for _ in 0..<megabytes { _ = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
            fsync(fd)
        }
        return Double(megabytes) * Double(1 << 20) / 1e6 / seconds
    }
}
