import AlzaCore
import AlzaLedger
import Foundation
import Histogram
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `alza testnet run`: creates a local testnet, starts one process per node, loads it with transfers, applies
/// perturbations (kill and restart nodes), reports and stops it.
public struct TestnetRun: Sendable {
    public struct Options: Sendable {
        public var superNodes = 23
        public var satellites = 4
        public var slotMilliseconds: UInt64 = 500
        public var duration: Double = 40
        /// Transfers per second (0: no load).
        public var rate = 0
        public var perturbations: [Perturbation] = []
        public var directory: String?
        public var basePort: UInt16 = 17_000
        public var keep = false
        public var live = true
        /// Longest wait after the load for submitted transactions to become irreversible.
        public var settleSeconds: Double = 90
        /// The `alza` binary the nodes run (default: the running one).
        public var executable = TestnetProcesses.currentExecutable
        public init() {}
    }

    public struct Perturbation: Sendable, Equatable {
        public enum Action: String, Sendable { case kill, restart }
        public var action: Action
        public var node: String
        public var at: Double

        public init(action: Action, node: String, at: Double) {
            self.action = action
            self.node = node
            self.at = at
        }

        /// Parses `kill:supernode-5@10s,restart:supernode-5@20s`.
        public static func parse(_ text: String) throws(NodeError) -> [Perturbation] {
            try text.split(separator: ",").map { item throws(NodeError) -> Perturbation in
                let parts = item.split(separator: ":", maxSplits: 1)
                let target = parts.count == 2 ? parts[1].split(separator: "@") : []
                guard parts.count == 2, let action = Action(rawValue: String(parts[0])), target.count == 2,
                      let seconds = Self.seconds(String(target[1]))
                else { throw .configuration("perturbation \"\(item)\" must look like kill:supernode-5@10s") }
                return Perturbation(action: action, node: String(target[0]), at: seconds)
            }
        }

        public static func seconds(_ text: String) -> Double? {
            if text.hasSuffix("ms") { return Double(text.dropLast(2)).map { $0 / 1000 } }
            if text.hasSuffix("s") { return Double(text.dropLast()) }
            if text.hasSuffix("m") { return Double(text.dropLast()).map { $0 * 60 } }
            return Double(text)
        }
    }

    public struct Report: Codable, Sendable {
        public struct Node: Codable, Sendable {
            public var name: String
            public var roles: [String]
            public var running: Bool
            public var headHeight: UInt64
            public var headId: String
            public var lib: UInt64
            public var forkSwitches: UInt64
            public var rssBytes: UInt64
            /// Holds the same block as the other nodes at the lowest head height of all running nodes.
            public var onCommonChain: Bool
        }

        public struct Latency: Codable, Sendable {
            public var p50: Double
            public var p99: Double
            public var max: Double
            public var count: UInt64
        }

        public var nodes: [Node]
        public var submitted: Int
        public var included: Int
        public var irreversible: Int
        public var tps: Double
        public var inclusionLatencyMs: Latency
        public var finalityLatencyMs: Latency
        public var forkSwitches: UInt64
        public var errors: Int
        public var errorSamples: [String]
        /// Batch submissions answered 503 `node.overloaded` and sent again after the node's `Retry-After`.
        public var overloadRefusals: Int
        /// Signed transfers not submitted because a node was still overloaded when the load stopped.
        public var unsent: Int
        public var agreed: Bool
        public var agreedHeight: UInt64
        /// The lowest head height among running nodes, where `onCommonChain` was checked.
        public var commonHeadHeight: UInt64
        public var libStart: UInt64
        public var libEnd: UInt64
        public var durationSeconds: Double
        public var directory: String
    }

    public let options: Options

    public init(options: Options) {
        self.options = options
    }

    public func run() async throws -> Report {
        let nodeCount = options.superNodes + options.satellites
        let busy = LoopbackPorts.taken(base: options.basePort, offsets: TestnetLayout.portOffsets(nodes: nodeCount))
        guard busy.isEmpty else {
            throw NodeError.startup("ports already in use: \(busy.prefix(5).joined(separator: ", ")); choose another --base-port")
        }
        let directory = options.directory ?? NSTemporaryDirectory() + "alza-testnet-\(UUID().uuidString.prefix(8))"
        let layout = try TestnetLayout.create(directory: directory, superNodes: options.superNodes,
                                              satellites: options.satellites, slotMilliseconds: options.slotMilliseconds,
                                              basePort: options.basePort)
        let processes = TestnetProcesses(directory: directory, executable: options.executable)
        let names = layout.nodes.map(\.name)
        let interrupted = StopFlag()
        let previousHandler = signal(SIGINT, SIG_IGN)
        let signalSource = DispatchSource.makeSignalSource(signal: SIGINT)
        signalSource.setEventHandler { interrupted.stop() }
        signalSource.resume()
        defer {
            signalSource.cancel()
            signal(SIGINT, previousHandler)
        }
        for node in layout.nodes { try processes.start(node) }
        defer {
            processes.stopAll(names: names)
            if !options.keep && options.directory == nil { try? FileManager.default.removeItem(atPath: directory) }
        }
        let clients = Dictionary(uniqueKeysWithValues: layout.nodes.map { ($0.name, NodeClient(api: $0.api)) })
        if options.live {
            FileHandle.standardError.write(Data("""
                testnet of \(layout.superNodes.count) SuperNodes and \(layout.satellites.count) satellites in \(directory)
                node API (JSON): http://\(layout.nodes[0].api)/v1/chain/info   metrics: http://\(layout.nodes[0].api)/metrics
                logs: \(directory)/<node>/node.log; Ctrl-C stops every node

                """.utf8))
        }
        try await waitUntilUp(layout: layout, clients: clients, processes: processes)

        let tracker = InclusionTracker()
        let load = LoadGenerator(layout: layout, targets: (layout.satellites.isEmpty ? layout.superNodes : layout.satellites)
                                 .map { clients[$0.name]! }, tracker: tracker)
        let start = Date()
        let libStart = (try? await clients[layout.nodes[0].name]!.get("/v1/chain/info", as: NodeAPI.ChainInfo.self))?.lib.height ?? 0
        let observer = Task { await observeBlocks(layout: layout, clients: clients, processes: processes, tracker: tracker) }
        let loadTask = Task { await load.run(rate: options.rate, seconds: options.duration, interrupted: interrupted) }
        var pending = options.perturbations.sorted { $0.at < $1.at }
        while Date().timeIntervalSince(start) < options.duration && !interrupted.isStopped {
            let elapsed = Date().timeIntervalSince(start)
            while let next = pending.first, next.at <= elapsed {
                pending.removeFirst()
                apply(next, layout: layout, processes: processes)
            }
            if options.live { await printStatus(elapsed: elapsed, layout: layout, clients: clients, tracker: tracker) }
            try? await Task.sleep(for: .milliseconds(500))
        }
        await loadTask.value
        let loadSeconds = Date().timeIntervalSince(start)
        // Settle: wait for what was submitted to be included and then to become irreversible, applying the
        // perturbations scheduled after the load at their times.
        let settleStart = Date()
        while Date().timeIntervalSince(settleStart) < options.settleSeconds && !interrupted.isStopped {
            let elapsed = Date().timeIntervalSince(start)
            while let next = pending.first, next.at <= elapsed {
                pending.removeFirst()
                apply(next, layout: layout, processes: processes)
            }
            let counts = tracker.counts
            if pending.isEmpty && counts.included >= counts.accepted && counts.irreversible >= counts.included { break }
            if options.live { await printStatus(elapsed: Date().timeIntervalSince(start), layout: layout, clients: clients, tracker: tracker) }
            try? await Task.sleep(for: .milliseconds(500))
        }
        observer.cancel()
        if options.live { FileHandle.standardError.write(Data("\n".utf8)) }
        return await report(layout: layout, clients: clients, processes: processes, tracker: tracker,
                            libStart: libStart, loadSeconds: loadSeconds, directory: directory)
    }

    private func apply(_ perturbation: Perturbation, layout: TestnetLayout, processes: TestnetProcesses) {
        guard let node = layout.nodes.first(where: { $0.name == perturbation.node }) else { return }
        switch perturbation.action {
        case .kill: processes.kill(node.name)
        case .restart:
            guard !processes.isRunning(node.name) else { break }
            do { try processes.start(node) } catch {
                FileHandle.standardError.write(Data("\nrestart of \(node.name) failed: \(error)\n".utf8))
            }
        }
        if options.live {
            FileHandle.standardError.write(Data("\n\(perturbation.action) \(node.name) at \(perturbation.at) s\n".utf8))
        }
    }

    /// Waits until every node answers with at least one peer. A node process that ends meanwhile fails the
    /// start at once, naming the node, how it ended and its last log line.
    private func waitUntilUp(layout: TestnetLayout, clients: [String: NodeClient], processes: TestnetProcesses) async throws {
        let deadline = Date().addingTimeInterval(60)
        var waiting = layout.nodes.map(\.name)
        while Date() < deadline {
            for name in waiting {
                if let ending = processes.ending(of: name) {
                    let line = processes.lastLogLine(of: name) ?? "(its log is empty)"
                    throw NodeError.startup("\(name) \(ending) during start-up; last log line: \(line)")
                }
            }
            var stillWaiting: [String] = []
            for name in waiting {
                let info = try? await clients[name]!.get("/v1/chain/info", as: NodeAPI.ChainInfo.self)
                if (info?.peers ?? 0) == 0 { stillWaiting.append(name) }
            }
            waiting = stillWaiting
            if waiting.isEmpty { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw NodeError.startup("not up within 60 s (no answer with a peer): \(waiting.joined(separator: ", ")); "
            + "logs in each node's node.log")
    }

    /// Follows the chain on the first running node: records when each submitted transaction is seen in a block
    /// and when that block becomes irreversible.
    private func observeBlocks(layout: TestnetLayout, clients: [String: NodeClient], processes: TestnetProcesses,
                               tracker: InclusionTracker) async {
        var next: UInt64 = 1
        while !Task.isCancelled {
            guard let node = layout.nodes.first(where: { processes.isRunning($0.name) }),
                  let client = clients[node.name],
                  let info = try? await client.get("/v1/chain/info", as: NodeAPI.ChainInfo.self)
            else {
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            while next <= info.head.height, !Task.isCancelled {
                guard let block = try? await client.get("/v1/blocks/\(next)?transactions=ids", as: NodeAPI.BlockView.self) else { break }
                tracker.included(block.transactionIds, height: block.height)
                next += 1
            }
            tracker.irreversible(upTo: info.lib.height)
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    private func printStatus(elapsed: Double, layout: TestnetLayout, clients: [String: NodeClient], tracker: InclusionTracker) async {
        let info = try? await clients[layout.nodes[0].name]!.get("/v1/chain/info", as: NodeAPI.ChainInfo.self)
        let counts = tracker.counts
        let line = String(format: "\r%5.1fs  head %-6llu lib %-6llu peers %-3d  submitted %-7d included %-7d final %-7d errors %-4d ",
                          elapsed, info?.head.height ?? 0, info?.lib.height ?? 0, info?.peers ?? 0, counts.submitted,
                          counts.included, counts.irreversible, counts.errors)
        FileHandle.standardError.write(Data(line.utf8))
    }

    private func report(layout: TestnetLayout, clients: [String: NodeClient], processes: TestnetProcesses,
                        tracker: InclusionTracker, libStart: UInt64, loadSeconds: Double, directory: String) async -> Report {
        var nodes: [Report.Node] = []
        var forkSwitches: UInt64 = 0
        for node in layout.nodes {
            let running = processes.isRunning(node.name)
            let info = running ? try? await clients[node.name]!.get("/v1/chain/info", as: NodeAPI.ChainInfo.self) : nil
            forkSwitches += info?.forkSwitches ?? 0
            nodes.append(Report.Node(name: node.name, roles: node.roles, running: running && info != nil,
                                     headHeight: info?.head.height ?? 0, headId: info?.head.id ?? "",
                                     lib: info?.lib.height ?? 0, forkSwitches: info?.forkSwitches ?? 0,
                                     rssBytes: processes.residentBytes(of: node.name) ?? 0, onCommonChain: false))
        }
        var live = nodes.filter(\.running)
        let lowestLib = live.map(\.lib).min() ?? 0
        let commonHead = live.map(\.headHeight).min() ?? 0
        var commonIds: [String: String] = [:]
        for node in live where commonHead > 0 {
            commonIds[node.name] = try? await clients[node.name]!.get("/v1/blocks/\(commonHead)?transactions=ids", as: NodeAPI.BlockView.self).id
        }
        let majorityId = Dictionary(grouping: commonIds.values, by: { $0 }).max { $0.value.count < $1.value.count }?.key
        for index in nodes.indices {
            nodes[index].onCommonChain = nodes[index].running && majorityId != nil && commonIds[nodes[index].name] == majorityId
        }
        live = nodes.filter(\.running)
        var ids = Set<String>()
        for node in live where lowestLib > 0 {
            if let block = try? await clients[node.name]!.get("/v1/blocks/\(lowestLib)?transactions=ids", as: NodeAPI.BlockView.self) {
                ids.insert(block.id)
            } else {
                ids.insert("missing:\(node.name)")
            }
        }
        let counts = tracker.counts
        let overload = tracker.overload
        return Report(nodes: nodes, submitted: counts.accepted, included: counts.included, irreversible: counts.irreversible,
                      tps: loadSeconds > 0 ? Double(counts.included) / loadSeconds : 0,
                      inclusionLatencyMs: tracker.inclusionLatency, finalityLatencyMs: tracker.finalityLatency,
                      forkSwitches: forkSwitches, errors: counts.errors, errorSamples: tracker.errorSamples,
                      overloadRefusals: overload.refusals, unsent: overload.unsent,
                      agreed: !live.isEmpty && live.count == nodes.count && ids.count == 1 && lowestLib > 0,
                      agreedHeight: lowestLib, commonHeadHeight: commonHead, libStart: libStart, libEnd: live.map(\.lib).max() ?? 0,
                      durationSeconds: loadSeconds, directory: options.keep || options.directory != nil ? directory : "")
    }
}

/// Submitted transactions and when they were included and finalized.
final class InclusionTracker: Sendable {
    private struct State {
        var submittedAt: [String: Date] = [:]
        var includedAt: [String: (height: UInt64, date: Date)] = [:]
        var finalized = Set<String>()
        var submitted = 0
        var errors = 0
        var errorSamples: [String] = []
        var overloadRefusals = 0
        var unsent = 0
        var inclusion = Histogram<UInt64>(highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: .three)
        var finality = Histogram<UInt64>(highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: .three)
        var pendingFinality: [UInt64: [String]] = [:]
    }

    private let state = Mutex(State())

    func submitted(_ id: String, at date: Date) {
        state.withLock {
            $0.submitted += 1
            $0.submittedAt[id] = date
        }
    }

    func failed(_ reason: String) {
        state.withLock {
            $0.submitted += 1
            $0.errors += 1
            if $0.errorSamples.count < 5 { $0.errorSamples.append(reason) }
        }
    }

    /// A submission answered 503 `node.overloaded` (to be retried).
    func refusedAsOverloaded() { state.withLock { $0.overloadRefusals += 1 } }

    /// Signed transfers never accepted: a node was still overloaded when the load stopped.
    func unsent(_ count: Int) { state.withLock { $0.unsent += count } }

    func included(_ ids: [String], height: UInt64) {
        let now = Date()
        state.withLock { state in
            for id in ids where state.includedAt[id] == nil {
                guard let submitted = state.submittedAt[id] else { continue }
                state.includedAt[id] = (height, now)
                _ = state.inclusion.record(UInt64(max(1, now.timeIntervalSince(submitted) * 1000)))
                state.pendingFinality[height, default: []].append(id)
            }
        }
    }

    func irreversible(upTo height: UInt64) {
        let now = Date()
        state.withLock { state in
            for pendingHeight in state.pendingFinality.keys where pendingHeight <= height {
                for id in state.pendingFinality.removeValue(forKey: pendingHeight) ?? [] {
                    guard let submitted = state.submittedAt[id] else { continue }
                    state.finalized.insert(id)
                    _ = state.finality.record(UInt64(max(1, now.timeIntervalSince(submitted) * 1000)))
                }
            }
        }
    }

    var counts: (submitted: Int, accepted: Int, included: Int, irreversible: Int, errors: Int) {
        state.withLock { ($0.submitted, $0.submittedAt.count, $0.includedAt.count, $0.finalized.count, $0.errors) }
    }

    var errorSamples: [String] { state.withLock { $0.errorSamples } }
    var overload: (refusals: Int, unsent: Int) { state.withLock { ($0.overloadRefusals, $0.unsent) } }

    var inclusionLatency: TestnetRun.Report.Latency { state.withLock { Self.summary($0.inclusion) } }
    var finalityLatency: TestnetRun.Report.Latency { state.withLock { Self.summary($0.finality) } }

    private static func summary(_ histogram: Histogram<UInt64>) -> TestnetRun.Report.Latency {
        guard histogram.totalCount > 0 else { return .init(p50: 0, p99: 0, max: 0, count: 0) }
        return .init(p50: Double(histogram.valueAtPercentile(50)), p99: Double(histogram.valueAtPercentile(99)),
                     max: Double(histogram.max), count: histogram.totalCount)
    }
}

/// Signs transfers between the testnet's load accounts at a steady rate and submits them in batches, one
/// request in flight per target node (so a sender's nonces, always sent to the same node, arrive in order).
struct LoadGenerator: Sendable {
    let layout: TestnetLayout
    let targets: [NodeClient]
    let tracker: InclusionTracker

    /// Transactions signed for one target and not yet posted.
    final class Outbox: Sendable {
        private let pending = Mutex<[(transaction: SignedTransaction, signedAt: Date)]>([])
        private let finished = Atomic<Bool>(false)

        func add(_ transaction: SignedTransaction, at date: Date) { pending.withLock { $0.append((transaction, date)) } }
        func take(limit: Int) -> [(transaction: SignedTransaction, signedAt: Date)] {
            pending.withLock { queue in
                let batch = Array(queue.prefix(limit))
                queue.removeFirst(batch.count)
                return batch
            }
        }
        func finish() { finished.store(true, ordering: .releasing) }
        var isFinished: Bool { finished.load(ordering: .acquiring) }
    }

    func run(rate: Int, seconds: Double, interrupted: StopFlag) async {
        guard rate > 0, !targets.isEmpty else { return }
        guard let chainId = try? Hash(hex: layout.chainId) else { return }
        let keys = (0..<layout.loadAccounts).map(layout.loadKey)
        let outboxes = targets.map { _ in Outbox() }
        await withTaskGroup(of: Void.self) { group in
            for (client, outbox) in zip(targets, outboxes) {
                group.addTask { await Self.submit(from: outbox, to: client, tracker: tracker) }
            }
            var nonces = [UInt64](repeating: 0, count: keys.count)
            let start = Date()
            var sent = 0
            var random = SeededRandom(seed: 7)
            while Date().timeIntervalSince(start) < seconds && !interrupted.isStopped {
                let due = Int(Date().timeIntervalSince(start) * Double(rate))
                while sent < due {
                    let sender = sent % keys.count
                    var receiver = Int(random.next() % UInt64(keys.count))
                    if receiver == sender { receiver = (receiver + 1) % keys.count }
                    let from = Address(keys[sender].publicKey)
                    let to = Address(keys[receiver].publicKey)
                    let amount = 1 + random.next() % 100_000
                    let now = Date()
                    let header = TransactionHeader(chainId: chainId, expiration: UInt64(now.timeIntervalSince1970 * 1000) + 600_000,
                                                   nonce: nonces[sender], fee: ChainParameters().minimumFee)
                    nonces[sender] += 1
                    let message = Message(.transfer(inputs: [AmountEntry(from, amount)], outputs: [AmountEntry(to, amount)], memo: []),
                                          authorizer: from)
                    let transaction = SignedTransaction.sign(Transaction(header: header, messages: [message]), with: [keys[sender]])
                    outboxes[sender % outboxes.count].add(transaction, at: now)
                    sent += 1
                }
                try? await Task.sleep(for: .milliseconds(10))
            }
            for outbox in outboxes { outbox.finish() }
        }
    }

    /// Posts whatever the outbox holds as one batch, waits for the answer, repeats; ends when the outbox is
    /// finished and empty.
    private static func submit(from outbox: Outbox, to client: NodeClient, tracker: InclusionTracker) async {
        while true {
            let batch = outbox.take(limit: APIServer.maximumBatch)
            if batch.isEmpty {
                if outbox.isFinished { return }
                try? await Task.sleep(for: .milliseconds(5))
                continue
            }
            let request = NodeAPI.BatchSubmitRequest(transactions: batch.map { Hex.encode($0.transaction.canonicalBytes) })
            while true {
                do {
                    let answer = try await client.post("/v1/transactions/batch", request, as: NodeAPI.BatchSubmitted.self)
                    for (entry, outcome) in zip(batch, answer.results) {
                        if let id = outcome.id {
                            tracker.submitted(id, at: entry.signedAt)
                        } else {
                            tracker.failed("\(outcome.error ?? "?"): \(outcome.message ?? "")")
                        }
                    }
                } catch let failure as NodeClient.Failure where failure.status == 503 && failure.code == "node.overloaded" {
                    // Back off as the node asks and send the same batch again: skipping it would leave gaps
                    // in its senders' nonces, and their later transfers could never apply. Once the load has
                    // stopped, what is left is not sent.
                    tracker.refusedAsOverloaded()
                    if outbox.isFinished {
                        tracker.unsent(batch.count + outbox.take(limit: .max).count)
                        return
                    }
                    try? await Task.sleep(for: .seconds(1))
                    continue
                } catch {
                    for _ in batch { tracker.failed("\(error)") }
                }
                break
            }
        }
    }
}

/// Set once (by Ctrl-C) and read by the loops that must stop.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func stop() { flag.store(true, ordering: .relaxed) }
    var isStopped: Bool { flag.load(ordering: .relaxed) }
}
