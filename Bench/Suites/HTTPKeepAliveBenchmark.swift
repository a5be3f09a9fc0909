import AlzaNode
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The node's HTTP API on one kept-alive connection: `GET /health` answered by a real node in this process,
/// closed loop (requests/s) and open loop at half that rate (latency from each request's intended send time).
/// Before TCP_NODELAY each request on a kept-alive connection waited for the client's delayed ACK: 44 ms.
enum HTTPKeepAliveBenchmark {
    struct Result {
        var requestsPerSecond: Double
        var closedLoop: LatencySummary
        var openLoop: LatencySummary
        var openLoopRate: Double
    }

    static func run(quick: Bool) async throws -> Result {
        let folder = NSTemporaryDirectory() + "alza-bench-http-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let layout = try TestnetLayout.create(directory: folder, superNodes: 1, satellites: 0, slotMilliseconds: 500,
                                              basePort: 20_000)
        let name = layout.nodes[0].name
        var logger = Logger(label: "bench.http")
        logger.logLevel = .critical
        let runtime = try NodeRuntime(
            configuration: NodeConfiguration(name: name, roles: ["supernode"], keyFile: "\(folder)/keys/\(name).json",
                                             dataDirectory: "\(folder)/\(name)/data", listen: "127.0.0.1:0",
                                             api: "127.0.0.1:0", peers: [], genesis: "\(folder)/genesis.json"),
            logger: logger)
        let api = try await runtime.start()
        let requests = quick ? 2_000 : 20_000
        // Blocking socket I/O runs on a thread of its own, never on the cooperative pool the server needs.
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Swift.Result<Result, any Error>, Never>) in
            Thread.detachNewThread {
                continuation.resume(returning: Swift.Result { try measure(api: api, requests: requests) })
            }
        }
        await runtime.stop()
        return try outcome.get()
    }

    private static func measure(api: String, requests: Int) throws -> Result {
        let connection = try KeepAliveConnection(address: api)
        defer { connection.close() }
        for _ in 0..<200 { try connection.get("/health") }  // warm-up
        var closed = LatencyRecorder()
        let start = Monotonic.nanoseconds()
        for _ in 0..<requests {
            let sent = Monotonic.nanoseconds()
            try connection.get("/health")
            closed.record(nanoseconds: Monotonic.nanoseconds() - sent)
        }
        let rate = Double(requests) / (Double(Monotonic.nanoseconds() - start) / 1e9)
        // Open loop: request i is due at start + i / (rate / 2); its latency counts from when it was due, so a
        // stall delays every request queued behind it instead of hiding them.
        let openRate = rate / 2
        let interval = 1e9 / openRate
        var open = LatencyRecorder()
        let openStart = Monotonic.nanoseconds()
        for index in 0..<requests {
            let due = openStart + UInt64(Double(index) * interval)
            while Monotonic.nanoseconds() < due {}
            try connection.get("/health")
            open.record(nanoseconds: Monotonic.nanoseconds() - due)
        }
        return Result(requestsPerSecond: rate, closedLoop: closed.summary, openLoop: open.summary, openLoopRate: openRate)
    }
}

/// One HTTP/1.1 connection kept alive across requests, with blocking reads.
final class KeepAliveConnection {
    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 16_384)

    init(address: String) throws {
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { throw BenchError.setup("bad address \(address)") }
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var peer = sockaddr_in()
        peer.sin_family = sa_family_t(AF_INET)
        peer.sin_port = port.bigEndian
        peer.sin_addr.s_addr = inet_addr(String(parts[0]))
        let connected = withUnsafePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw BenchError.setup("cannot connect to \(address)")
        }
    }

    /// Sends a GET and reads the whole response (header and Content-Length bytes of body).
    func get(_ path: String) throws {
        let request = Array("GET \(path) HTTP/1.1\r\nHost: bench\r\n\r\n".utf8)
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { throw BenchError.setup("send failed") }
        var received: [UInt8] = []
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { throw BenchError.setup("the server closed the connection") }
            received += buffer[0..<count]
            if let total = Self.responseLength(received), received.count >= total { return }
        }
    }

    /// Header length plus Content-Length, once the header is complete.
    static func responseLength(_ bytes: [UInt8]) -> Int? {
        guard let end = bytes.indices.dropLast(3).first(where: {
            bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10
        }) else { return nil }
        let header = String(decoding: bytes[..<end], as: UTF8.self).lowercased()
        let length = header.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        return end + 4 + length
    }

    func close() { Glibc.close(fd) }
}
