import AlzaCore
import AlzaNet
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

let testChainId = Hash.sha256(utf8: "alza-net-tests")

/// A transport listening on an ephemeral loopback port.
func makeTransport(label: String, seeds: [String] = [], chainId: Hash = testChainId,
                   adjust: (inout NetworkConfiguration) -> Void = { _ in }) async throws -> Transport {
    var configuration = NetworkConfiguration(chainId: chainId, nodeKey: SigningKey(deterministicLabel: "net-\(label)"),
                                             roles: .superNode, listenAddress: "127.0.0.1:0", seeds: seeds)
    var labelRandom = SeededRandom(label: label)
    configuration.randomSeed = labelRandom.next()
    adjust(&configuration)
    var logger = Logger(label: "test.\(label)")
    logger.logLevel = .critical
    let transport = Transport(configuration: configuration, logger: logger)
    try await transport.start()
    return transport
}

/// The protocol the transport tests speak unless they say otherwise.
let testProtocol = ProtocolRegistration(.chain, priority: .consensus, topics: [.blocks, .transactions])

/// Registers a protocol with a transport and collects its inbox in the background. Peers connected before the
/// registration are reported first, so creating the log after `start` misses no connection.
final class EventLog: Sendable {
    private final class Store: Sendable {
        let events = Mutex<[TransportEvent]>([])
    }

    private let store = Store()
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    init(_ transport: Transport, registration: ProtocolRegistration = testProtocol,
         onEvent: (@Sendable (TransportEvent) async -> Void)? = nil) async throws {
        let stream = try await transport.register(registration)
        let store = self.store
        let task = Task {
            for await event in stream {
                store.events.withLock { $0.append(event) }
                await onEvent?(event)
            }
        }
        self.task.withLock { $0 = task }
    }

    var all: [TransportEvent] { store.events.withLock { $0 } }

    var refusals: [NetworkError] {
        all.compactMap { if case .refused(_, let error) = $0 { return error } else { return nil } }
    }

    var connectedPeers: [PeerInfo] {
        all.compactMap { if case .peerConnected(let peer) = $0 { return peer } else { return nil } }
    }

    var directs: [(payload: [UInt8], instance: InstanceId?, from: String)] {
        all.compactMap { if case .direct(let payload, let instance, let from) = $0 { (payload, instance, from) } else { nil } }
    }

    var gossip: [(GossipMessage, Hash)] {
        all.compactMap { if case .gossip(let message, let id, _) = $0 { return (message, id) } else { return nil } }
    }
}

/// Polls `condition` every 20 ms for at most `seconds` (the network is real; there is no virtual clock here).
func eventually(within seconds: Double = 10, _ condition: @Sendable () async -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

/// A plain TCP client for feeding a transport bytes of our choosing. Its blocking reads run on a thread of
/// their own: blocking a task would hold one of the few cooperative threads the transport under test needs.
final class RawClient: Sendable {
    let fd: Int32

    init(address: String) throws {
        let parts = address.split(separator: ":")
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(parts[1])!).bigEndian
        addr.sin_addr.s_addr = inet_addr(String(parts[0]))
        let result = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw NetworkError.socket("connect failed") }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func write(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads frames until `count` arrived or the peer closed.
    func readFrames(count: Int, maximumPayload: Int = 1 << 20) async -> [Frame] {
        await Self.onOwnThread { self.readFramesBlocking(count: count, maximumPayload: maximumPayload) }
    }

    /// True once the peer closed the connection (a read returns 0 or fails).
    func waitForClose() async -> Bool {
        await Self.onOwnThread { self.waitForCloseBlocking() }
    }

    private static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: body()) }.start()
        }
    }

    private func readFramesBlocking(count: Int, maximumPayload: Int) -> [Frame] {
        var decoder = FrameDecoder(maximumPayload: maximumPayload)
        var frames: [Frame] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while frames.count < count {
            let received = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard received > 0 else { break }
            guard let decoded = try? decoder.append(Array(buffer[0..<received])) else { break }
            frames += decoded
        }
        return frames
    }

    private func waitForCloseBlocking() -> Bool {
        var byte: UInt8 = 0
        while true {
            let received = recv(fd, &byte, 1, 0)
            if received == 0 { return true }
            if received < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        }
    }
}
