import AlzaCore
import AlzaNet
import AlzaNode
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `alza-bench net`: the transport between two nodes against raw TCP on the same loopback, gossip
/// dissemination over a 50-node mesh, and `alza testnet run` at increasing load to find the sustained TPS of
/// 23 SuperNodes (and 4 satellites) on this machine.
enum NetworkBenchmark {
    static let chainId = Hash.sha256(utf8: "alza-bench-net")

    static func run(limits: PhysicalLimits, quick: Bool, loads: [Int]?, stepSeconds: Double?,
                    testnet: Bool) async throws -> BenchReport {
        var report = BenchReport(suite: "network", limits: limits)
        report.notes.append("Two-node figures: one Transport sends direct frames to another over 127.0.0.1 with at most "
            + "8 MiB in flight (the receiver's count is the credit), through framing, the bounded send queue and the "
            + "event stream. Two raw baselines move the same bytes from one thread to another over a plain TCP socket: "
            + "one send() per frame (frames/s), and 256 KiB writes (MB/s, the loopback limit in this run).")
        for size in quick ? [256, 65_536] : [256, 16_384, 1 << 20] {
            let total = quick ? 64 << 20 : 512 << 20
            let count = max(200, min(400_000, total / size))
            let frameBytes = size + Frame.headerSize
            let raw = RawSocketBaseline.megabytesPerSecond(bytes: count * frameBytes, writeSize: 256 << 10)
            let rawPerFrame = RawSocketBaseline.megabytesPerSecond(bytes: count * frameBytes, writeSize: frameBytes)
                * 1e6 / Double(frameBytes)
            let measured = try await twoNodeThroughput(payloadSize: size, frames: count)
            let label = size >= 1 << 20 ? "\(size >> 20) MiB" : size >= 1024 ? "\(size >> 10) KiB" : "\(size) B"
            report.add(BenchFigure(key: "directFramesPerSecond\(size)", label: "direct frames of \(label), frames/s",
                                   value: measured.framesPerSecond, unit: "/s", limitLabel: "raw send() per frame /s",
                                   limitValue: rawPerFrame, ratio: measured.framesPerSecond / rawPerFrame))
            report.add(BenchFigure(key: "directMBPerSecond\(size)", label: "direct frames of \(label), MB/s",
                                   value: measured.megabytesPerSecond, unit: "MB/s", limitLabel: "raw TCP MB/s",
                                   limitValue: raw, ratio: measured.megabytesPerSecond / raw))
        }

        let gossip = try await gossipDissemination(nodes: quick ? 20 : 50, messages: quick ? 60 : 300)
        report.latencies.append(("gossip: publish to each node (\(gossip.nodes) nodes)", gossip.perNode))
        report.latencies.append(("gossip: publish to the last node", gossip.toAll))
        report.add(BenchFigure(key: "gossipDeliveredFraction", label: "gossip deliveries / (messages × receivers)",
                               value: gossip.deliveredFraction, unit: "", limitLabel: "every node once", limitValue: 1,
                               ratio: gossip.deliveredFraction))
        report.add(BenchFigure(key: "gossipDuplicatesPerDelivery", label: "gossip full copies received per delivery",
                               value: gossip.copiesPerDelivery, unit: ""))
        report.notes.append("Gossip: \(gossip.nodes) transports in one process, each seeded with 3 random earlier nodes "
            + "(peer exchange connects the rest); \(gossip.messages) messages of 512 B from random origins, 20 ms apart; "
            + "each node forwards a message once it is delivered, as the chain service does after validating it. "
            + "Latency from publish to delivery, loopback round trip \(format(limits.loopbackRoundTripMicroseconds)) µs.")

        let http = try await HTTPKeepAliveBenchmark.run(quick: quick)
        report.add(BenchFigure(key: "httpKeepAliveRequestsPerSecond", label: "HTTP GET /health on one kept-alive connection, /s",
                               value: http.requestsPerSecond, unit: "/s", limitLabel: "1 / loopback round trip",
                               limitValue: 1e6 / limits.loopbackRoundTripMicroseconds,
                               ratio: http.requestsPerSecond * limits.loopbackRoundTripMicroseconds / 1e6))
        report.latencies.append(("HTTP keep-alive GET /health, closed loop", http.closedLoop))
        report.latencies.append(("HTTP keep-alive GET /health, open loop at \(Int(http.openLoopRate))/s", http.openLoop))
        report.notes.append("HTTP: one node in this process answers GET /health on one kept-alive connection (a client "
            + "thread with blocking sockets): closed loop for the rate, then open loop at half of it, latency counted from "
            + "each request's intended send time. Goal: p50 under 1 ms (44 ms before TCP_NODELAY).")

        if testnet {
            try await sweep(into: &report, limits: limits, quick: quick, loads: loads, stepSeconds: stepSeconds)
        }
        return report
    }

    // MARK: Two nodes

    /// A started transport speaking the chain protocol, and that protocol's inbox (registered before the start).
    static func makeTransport(_ label: String, seeds: [String] = [], adjust: (inout NetworkConfiguration) -> Void = { _ in })
        async throws -> (Transport, AsyncStream<TransportEvent>) {
        var configuration = NetworkConfiguration(chainId: chainId, nodeKey: SigningKey(deterministicLabel: "bench-\(label)"),
                                                 roles: .superNode, listenAddress: "127.0.0.1:0", seeds: seeds)
        var labelRandom = SeededRandom(label: label)
        configuration.randomSeed = labelRandom.next()
        adjust(&configuration)
        var logger = Logger(label: "bench.\(label)")
        logger.logLevel = .critical
        let transport = Transport(configuration: configuration, logger: logger)
        let events = try await transport.register(ProtocolRegistration(.chain, priority: .consensus, topics: [.blocks, .transactions]))
        try await transport.start()
        return (transport, events)
    }

    static func waitFor(_ seconds: Double, _ condition: () async -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !(await condition()) {
            guard Date() < deadline else { throw BenchError.setup("network setup did not complete within \(seconds) s") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    static func twoNodeThroughput(payloadSize: Int, frames: Int) async throws
        -> (framesPerSecond: Double, megabytesPerSecond: Double) {
        let (receiver, receiverEvents) = try await makeTransport("receiver-\(payloadSize)")
        let (sender, _) = try await makeTransport("sender-\(payloadSize)", seeds: [await receiver.boundAddress!])
        try await waitFor(10) {
            let senderPeers = await sender.peers.count
            let receiverPeers = await receiver.peers.count
            return senderPeers == 1 && receiverPeers == 1
        }
        let receiverId = receiver.nodeId
        let received = Atomic<Int>(0)
        let counting = Task {
            for await event in receiverEvents {
                if case .direct = event {
                    if received.add(1, ordering: .relaxed).newValue == frames { return }
                }
            }
        }
        let payload = [UInt8](repeating: 0x42, count: payloadSize)
        // Credit: at most 8 MiB and half the send queue's frame bound in flight, so the sender never overruns
        // its own queue (which would drop the receiver as a slow peer).
        let window = max(2, min((8 << 20) / (payloadSize + Frame.headerSize), sender.configuration.sendQueueLimitFrames / 2))
        let start = Monotonic.nanoseconds()
        var sent = 0
        var lastProgress = (count: 0, at: start)
        while sent < frames || received.load(ordering: .relaxed) < frames {
            let arrived = received.load(ordering: .relaxed)
            if arrived != lastProgress.count {
                lastProgress = (arrived, Monotonic.nanoseconds())
            } else if Monotonic.nanoseconds() - lastProgress.at > 10_000_000_000 {
                counting.cancel()
                await sender.stop()
                await receiver.stop()
                throw BenchError.setup("two-node transfer stalled at \(arrived) of \(frames) frames (connection lost?)")
            }
            if sent < frames && sent - arrived < window {
                sender.post(.direct(payload, to: receiverId, address: ActorAddress(.chain)))
                sent += 1
            } else {
                await Task.yield()
            }
        }
        await counting.value
        let seconds = Double(Monotonic.nanoseconds() - start) / 1e9
        await sender.stop()
        await receiver.stop()
        return (Double(frames) / seconds, Double(frames * (payloadSize + Frame.headerSize)) / 1e6 / seconds)
    }

    // MARK: Gossip

    struct GossipResult {
        var nodes: Int
        var messages: Int
        var perNode: LatencySummary
        var toAll: LatencySummary
        var deliveredFraction: Double
        var copiesPerDelivery: Double
    }

    static func gossipDissemination(nodes count: Int, messages: Int) async throws -> GossipResult {
        var random = SeededRandom(seed: 50)
        var transports: [Transport] = []
        var inboxes: [AsyncStream<TransportEvent>] = []
        for index in 0..<count {
            var seeds: [String] = []
            for _ in 0..<min(3, index) {
                seeds.append(await transports[random.next(below: index)].boundAddress!)
            }
            let (transport, events) = try await makeTransport("mesh-\(index)", seeds: seeds) { $0.connections.maximumPeers = 24 }
            transports.append(transport)
            inboxes.append(events)
        }
        try await waitFor(60) {
            for transport in transports where await transport.meshPeers.count < 4 { return false }
            return true
        }
        let log = DeliveryLog()
        var consumers: [Task<Void, Never>] = []
        for (transport, events) in zip(transports, inboxes) {
            consumers.append(Task {
                for await event in events {
                    guard case .gossip(let message, let id, _) = event else { continue }
                    log.delivered(id)
                    transport.post(.publish(message.topic, message.payload))
                }
            })
        }
        var before: UInt64 = 0
        for transport in transports {
            let statistics = await transport.statistics
            before += statistics.gossipReceived + statistics.gossipDuplicates
        }
        var ids: [Hash] = []
        for index in 0..<messages {
            let origin = transports[random.next(below: count)]
            var payload = random.bytes(count: 512)
            withUnsafeBytes(of: UInt64(index)) { payload.replaceSubrange(0..<8, with: $0) }
            let message = GossipMessage(topic: .transactions, payload: payload)
            log.published.withLock { $0[message.id] = Monotonic.nanoseconds() }
            ids.append(message.id)
            await origin.publish(message.topic, payload: message.payload)
            try await Task.sleep(for: .milliseconds(20))
        }
        // Let the last messages spread (lazy announcements take a heartbeat or two).
        let expected = messages * (count - 1)
        let deadline = Date().addingTimeInterval(10)
        while log.recorder.withLock({ $0.count }) < UInt64(expected), Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        var after: UInt64 = 0
        for transport in transports {
            let statistics = await transport.statistics
            after += statistics.gossipReceived + statistics.gossipDuplicates
        }
        for consumer in consumers { consumer.cancel() }
        for transport in transports { await transport.stop() }
        var toAll = LatencyRecorder()
        let deliveries = log.lastDelivery.withLock { $0 }
        let starts = log.published.withLock { $0 }
        for id in ids {
            if let last = deliveries[id], last.count == count - 1, let at = starts[id] { toAll.record(nanoseconds: last.at - at) }
        }
        let delivered = log.recorder.withLock { $0.count }
        return GossipResult(nodes: count, messages: messages, perNode: log.recorder.withLock { $0.summary }, toAll: toAll.summary,
                            deliveredFraction: Double(delivered) / Double(expected),
                            copiesPerDelivery: Double(after - before) / Double(max(1, delivered)))
    }

    /// Publish times by message id, and each delivery's latency.
    final class DeliveryLog: Sendable {
        let published = Mutex<[Hash: UInt64]>([:])
        let recorder = Mutex(LatencyRecorder())
        let lastDelivery = Mutex<[Hash: (count: Int, at: UInt64)]>([:])

        func delivered(_ id: Hash) {
            let now = Monotonic.nanoseconds()
            guard let at = published.withLock({ $0[id] }) else { return }
            recorder.withLock { $0.record(nanoseconds: now - at) }
            lastDelivery.withLock { $0[id] = (($0[id]?.count ?? 0) + 1, now) }
        }
    }

    // MARK: Testnet sweep

    static func sweep(into report: inout BenchReport, limits: PhysicalLimits, quick: Bool, loads: [Int]?,
                      stepSeconds: Double?) async throws {
        let executable = URL(fileURLWithPath: TestnetProcesses.currentExecutable).deletingLastPathComponent()
            .appendingPathComponent("alza").path
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError.setup("the testnet sweep needs the alza executable beside alza-bench (swift build -c release): \(executable)")
        }
        let superNodes = quick ? 4 : 23
        let satellites = quick ? 1 : 4
        let rates = loads ?? (quick ? [50, 100] : [100, 200, 300, 400, 500, 600, 800])
        let seconds = stepSeconds ?? (quick ? 10 : 30)
        // Every node verifies every transaction once: the machine's verification capacity shared by all nodes.
        let verifyBound = limits.ed25519VerifyPerSecondPerCore * Double(limits.cores) / Double(superNodes + satellites)
        var sustained = 0.0
        var points: [(offered: Double, achieved: Double, p99: Double)] = []
        for rate in rates {
            var options = TestnetRun.Options()
            options.superNodes = superNodes
            options.satellites = satellites
            options.slotMilliseconds = 500
            options.duration = seconds
            options.rate = rate
            options.live = false
            options.settleSeconds = 120
            options.executable = executable
            // A block of ports claimed like the tests' (free, below the ephemeral range, locked against other
            // runs): a fixed base collided with a test testnet's sockets still in TIME_WAIT.
            let ports = try LoopbackPorts.claim(span: 1_000 + superNodes + satellites + 10,
                                                used: TestnetLayout.portOffsets(nodes: superNodes + satellites))
            options.basePort = ports.base
            let result = try await TestnetRun(options: options).run()
            withExtendedLifetime(ports) {}   // the lock is held until the step's nodes are gone
            let submittedRate = Double(result.submitted) / result.durationSeconds
            // Sustained: the generator's rate was offered, everything was included and finalized without errors,
            // and inclusion latency stayed bounded (no backlog growing through the step).
            let kept = result.errors == 0 && result.agreed && result.included == result.submitted
                && result.irreversible == result.included && submittedRate >= 0.95 * Double(rate)
                && result.inclusionLatencyMs.p99 <= 3_000
            if kept { sustained = max(sustained, Double(rate)) }
            points.append((Double(rate), result.tps, result.inclusionLatencyMs.p99))
            report.notes.append("testnet \(superNodes)+\(satellites) at \(rate)/s for \(Int(seconds)) s: submitted \(result.submitted), "
                + "included \(result.included), irreversible \(result.irreversible), \(format(result.tps)) tps, inclusion p50/p99 "
                + "\(Int(result.inclusionLatencyMs.p50))/\(Int(result.inclusionLatencyMs.p99)) ms, finality p50/p99 "
                + "\(Int(result.finalityLatencyMs.p50))/\(Int(result.finalityLatencyMs.p99)) ms, errors \(result.errors), "
                + "503 overload refusals \(result.overloadRefusals), unsent \(result.unsent), "
                + "agreed \(result.agreed), RSS max \(format(Double(result.nodes.map(\.rssBytes).max() ?? 0) / 1e6)) MB"
                + (kept ? "" : " (not sustained)"))
            if !kept { break }
        }
        report.add(BenchFigure(key: "testnetSustainedTPS", label: "testnet \(superNodes)+\(satellites) sustained transfers/s",
                               value: sustained, unit: "/s", limitLabel: "cores × verify/s ÷ nodes", limitValue: verifyBound,
                               ratio: sustained / verifyBound))
        report.curves.append(BenchCurve(
            title: "testnet \(superNodes) SuperNodes + \(satellites) satellites: achieved vs offered transfers/s",
            xLabel: "offered /s", series: [("achieved /s", points.map { ($0.offered, $0.achieved) }),
                                           ("inclusion p99 (ms)", points.map { ($0.offered, $0.p99) })]))
    }
}

/// A blast of bytes over a plain loopback TCP socket, thread to thread: the transport's physical limit.
enum RawSocketBaseline {
    static func megabytesPerSecond(bytes total: Int, writeSize: Int) -> Double {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { precondition(bind(listener, $0, length) == 0) }
        }
        precondition(listen(listener, 1) == 0)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(listener, $0, &length) }
        }
        let done = DispatchSemaphore(value: 0)
        let reader = Thread {
            let peer = accept(listener, nil, nil)
            var buffer = [UInt8](repeating: 0, count: 1 << 18)
            var received = 0
            while received < total {
                let count = buffer.withUnsafeMutableBytes { recv(peer, $0.baseAddress, $0.count, 0) }
                if count <= 0 { break }
                received += count
            }
            close(peer)
            done.signal()
        }
        reader.start()
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                precondition(connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0)
            }
        }
        var one: Int32 = 1
        setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let chunk = [UInt8](repeating: 0x42, count: writeSize)
        let start = Monotonic.nanoseconds()
        var sent = 0
        while sent < total {
            let count = chunk.withUnsafeBytes { send(client, $0.baseAddress, min($0.count, total - sent), Int32(MSG_NOSIGNAL)) }
            if count <= 0 { break }
            sent += count
        }
        done.wait()
        return Double(total) / 1e6 / (Double(Monotonic.nanoseconds() - start) / 1e9)
    }
}
