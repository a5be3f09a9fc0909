import AlzaCore
import AlzaLedger
import AlzaNode
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Node logs would drown the test output; the nodes under test log only critical lines.
let quietLogging: Void = NodeLogging.bootstrap(format: "plain", level: "critical")

/// A testnet folder (keys, genesis, configurations) in a temporary directory, removed when released. Tests end
/// with `stopAll()`, so that no node of theirs still writes into the folder once it is gone.
final class TestnetFolder: Sendable {
    let path: String
    let layout: TestnetLayout
    private let started = Mutex<[NodeRuntime]>([])

    init(superNodes: Int, satellites: Int, slotMilliseconds: UInt64 = 100) throws {
        path = NSTemporaryDirectory() + "alza-node-tests-\(UUID().uuidString.prefix(8))"
        layout = try TestnetLayout.create(directory: path, superNodes: superNodes, satellites: satellites,
                                          slotMilliseconds: slotMilliseconds, basePort: 20_000)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var genesis: Genesis { get throws { try Genesis.load(path: path + "/genesis.json") } }

    /// Stops every node started from this folder (stopping one twice is harmless).
    func stopAll() async {
        for runtime in started.withLock({ $0 }) { await runtime.stop() }
    }

    /// A configuration for `name` on ephemeral loopback ports, seeded with `peers`.
    func configuration(_ name: String, peers: [String] = []) throws -> NodeConfiguration {
        let entry = try require(layout.nodes.first { $0.name == name })
        return NodeConfiguration(name: name, roles: entry.roles, keyFile: "\(path)/keys/\(name).json",
                                 dataDirectory: "\(path)/\(name)/data", listen: "127.0.0.1:0", api: "127.0.0.1:0",
                                 peers: peers, genesis: "\(path)/genesis.json")
    }

    /// Builds and starts a node in this process.
    func start(_ name: String, peers: [String] = [], storage: (any DurableStorage)? = nil, roles: [String]? = nil,
               fields: NodeConfiguration.Fields? = nil, catalog: RoleCatalog = .standard) async throws -> RunningNode {
        _ = quietLogging
        var configuration = try configuration(name, peers: peers)
        if let roles { configuration.roles = roles }
        if let fields { configuration.fields = fields }
        let runtime = try NodeRuntime(configuration: configuration, logger: Logger(label: "test.\(name)"),
                                      storage: storage, catalog: catalog)
        let api = try await runtime.start()
        started.withLock { $0.append(runtime) }
        return RunningNode(runtime: runtime, api: api, p2p: await runtime.transport.boundAddress ?? "")
    }
}

/// `#require` outside a test body: throws instead of recording.
private func require<T>(_ value: T?) throws -> T {
    guard let value else { throw NodeError.notFound("test fixture") }
    return value
}

struct RunningNode: Sendable {
    let runtime: NodeRuntime
    let api: String
    let p2p: String

    var client: NodeClient { NodeClient(api: api) }

    func info() async throws -> NodeAPI.ChainInfo { try await client.get("/v1/chain/info") }
}

/// Polls `condition` every 50 ms for at most `seconds`: these tests run real nodes on a real clock.
func eventually(within seconds: Double = 30, _ condition: @Sendable () async -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return await condition()
}

/// Polls `value` until it is non-nil (at most `seconds`), or throws.
func eventuallyValue<T: Sendable>(within seconds: Double = 30, _ value: @Sendable () async -> T?) async throws -> T {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if let found = await value() { return found }
        try await Task.sleep(for: .milliseconds(50))
    }
    guard let found = await value() else { throw NodeError.notFound("a value within \(seconds) s") }
    return found
}

/// One HTTP exchange with full control of method, body and content type (NodeClient only sends well-formed JSON).
func http(_ method: String, _ api: String, _ path: String, body: Data? = nil,
          contentType: String = "application/json") async throws -> (status: Int, body: Data, headers: [String: String]) {
    var request = URLRequest(url: URL(string: "http://\(api)\(path)")!)
    request.httpMethod = method
    request.httpBody = body
    if body != nil { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
    let (data, response) = try await URLSession.shared.data(for: request)
    let reply = response as? HTTPURLResponse
    var headers: [String: String] = [:]
    for (name, value) in reply?.allHeaderFields ?? [:] {
        if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
    }
    return (reply?.statusCode ?? 0, data, headers)
}

/// The `error` code of an API failure body.
func errorCode(_ data: Data) -> String? {
    (try? JSONDecoder().decode(NodeAPI.Failure.self, from: data))?.error
}

/// A signed transfer between two of the testnet's funded load accounts.
func loadTransfer(_ layout: TestnetLayout, from sender: Int, to receiver: Int, amount: UInt64, nonce: UInt64,
                  chainId: Hash? = nil) throws -> SignedTransaction {
    let key = layout.loadKey(sender)
    let from = Address(key.publicKey)
    let to = Address(layout.loadKey(receiver).publicKey)
    let header = TransactionHeader(chainId: try chainId ?? Hash(hex: layout.chainId),
                                   expiration: UInt64(Date().timeIntervalSince1970 * 1000) + 600_000,
                                   nonce: nonce, fee: ChainParameters().minimumFee)
    let message = Message(.transfer(inputs: [AmountEntry(from, amount)], outputs: [AmountEntry(to, amount)], memo: []),
                          authorizer: from)
    return SignedTransaction.sign(Transaction(header: header, messages: [message]), with: [key])
}

/// A node's files that start failing every write on demand (a full or broken disk).
final class FailingStorage: DurableStorage {
    let inner: FileStorage
    private let failing = Atomic<Bool>(false)

    init(directory: String) throws { inner = try FileStorage(directory: directory) }

    func failWrites() { failing.store(true, ordering: .sequentiallyConsistent) }

    private func check(_ name: String, _ operation: String) throws(StorageError) {
        if failing.load(ordering: .sequentiallyConsistent) {
            throw .io(file: name, operation: operation, reason: "No space left on device (injected)")
        }
    }

    func list() throws(StorageError) -> [String] { try inner.list() }
    func read(_ name: String) throws(StorageError) -> [UInt8]? { try inner.read(name) }
    func read(_ name: String, offset: Int, count: Int) throws(StorageError) -> [UInt8] {
        try inner.read(name, offset: offset, count: count)
    }
    func size(_ name: String) throws(StorageError) -> Int? { try inner.size(name) }
    func append(_ name: String, _ bytes: [UInt8]) throws(StorageError) {
        try check(name, "append")
        try inner.append(name, bytes)
    }
    func sync(_ name: String) throws(StorageError) {
        try check(name, "fsync")
        try inner.sync(name)
    }
    func truncate(_ name: String, to size: Int) throws(StorageError) {
        try check(name, "truncate")
        try inner.truncate(name, to: size)
    }
    func writeAtomically(_ name: String, _ bytes: [UInt8]) throws(StorageError) {
        try check(name, "write")
        try inner.writeAtomically(name, bytes)
    }
    func remove(_ name: String) throws(StorageError) {
        try check(name, "remove")
        try inner.remove(name)
    }
}

/// The TCP sockets of this process whose local port is `port`, with their TCP_NODELAY setting (from /proc/self/fd).
func socketsOfThisProcess(boundTo port: UInt16) -> [(descriptor: Int32, noDelay: Bool)] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return entries.compactMap { entry -> (Int32, Bool)? in
        guard let descriptor = Int32(entry),
              (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)"))?.hasPrefix("socket:") == true
        else { return nil }
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0, address.sin_family == sa_family_t(AF_INET), UInt16(bigEndian: address.sin_port) == port else { return nil }
        var value: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &value, &size) == 0 else { return nil }
        return (descriptor, value != 0)
    }
}

/// One kept-alive HTTP/1.1 connection with blocking reads (for tests that must reuse a connection).
final class RawHTTPConnection: Sendable {
    let fd: Int32

    init(address: String) throws {
        let parts = address.split(separator: ":")
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var peer = sockaddr_in()
        peer.sin_family = sa_family_t(AF_INET)
        peer.sin_port = UInt16(parts[1])!.bigEndian
        peer.sin_addr.s_addr = inet_addr(String(parts[0]))
        let connected = withUnsafePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw NodeError.startup("cannot connect to \(address)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends a GET and reads until the whole response (header plus Content-Length bytes) is in.
    func get(_ path: String) throws -> String {
        let request = Array("GET \(path) HTTP/1.1\r\nHost: test\r\nConnection: keep-alive\r\n\r\n".utf8)
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { throw NodeError.startup("send failed") }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { throw NodeError.startup("connection closed after \(received.count) bytes") }
            received += buffer[0..<count]
            let text = String(decoding: received, as: UTF8.self)
            guard let headerEnd = text.range(of: "\r\n\r\n") else { continue }
            let header = text[..<headerEnd.lowerBound].lowercased()
            let length = header.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            if received.count >= text.utf8.distance(from: text.startIndex, to: headerEnd.upperBound) + length { return text }
        }
    }

    func close() { Glibc.close(fd) }
}
