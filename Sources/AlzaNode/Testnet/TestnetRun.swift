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
        /// Field payments per second (0: no fields), in `fields` fields of `participants` satellite wallets each.
        public var paymentRate = 0
        public var fields = 0
        public var participants = 0
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
            public var p999: Double
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
        /// The payment-field load, when one ran (`--load payments:RATE`).
        public var payments: Payments?
        public var fieldsOpened: Int?
        /// Fields that opened with a deposit locked in another field (D34).
        public var crossFieldLocks: Int?
        public var fieldsClosed: Int?
        /// Every participant's settled balance against its deposit plus its receipted payments.
        public var balanceChecks: BalanceChecks?
    }

    public let options: Options
    static let loadAnswerTimeoutSeconds: TimeInterval = 30

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
        // In their own sessions: a Ctrl-C reaches the runner alone, which closes the fields before it stops every node.
        for node in layout.nodes { try processes.start(node, detached: true) }
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
        var payments: PaymentLoad?
        if options.paymentRate > 0 {
            if options.live { FileHandle.standardError.write(Data("opening \(options.fields) fields of \(options.participants) satellite wallets…\n".utf8)) }
            payments = try await PaymentLoad.open(fields: options.fields, participants: options.participants, layout: layout)
        }

        let tracker = InclusionTracker()
        // The load's own clients wait up to 30 s for a batch's answer (the API's default is 5 s): a timed-out batch
        // is counted as failed although the node may have taken it, and on an oversubscribed machine (a testnet's
        // processes beside the parallel test suites on 2 cores) one answer took longer than 5 s in 1 of 12 runs. A
        // slow answer still shows, in the inclusion latency measured from each transfer's signing.
        let load = LoadGenerator(layout: layout, targets: (layout.satellites.isEmpty ? layout.superNodes : layout.satellites)
                                 .map { NodeClient(api: $0.api, timeout: Self.loadAnswerTimeoutSeconds) }, tracker: tracker)
        let start = Date()
        let libStart = (try? await clients[layout.nodes[0].name]!.get("/v1/chain/info", as: NodeAPI.ChainInfo.self))?.lib.height ?? 0
        let observer = Task { await observeBlocks(layout: layout, clients: clients, processes: processes, tracker: tracker) }
        let loadTask = Task { await load.run(rate: options.rate, seconds: options.duration, interrupted: interrupted) }
        let paymentTask = Task { [payments, options] in
            await payments?.run(rate: options.paymentRate, seconds: options.duration, interrupted: interrupted)
        }
        var pending = options.perturbations.sorted { $0.at < $1.at }
        while Date().timeIntervalSince(start) < options.duration && !interrupted.isStopped {
            let elapsed = Date().timeIntervalSince(start)
            while let next = pending.first, next.at <= elapsed {
                pending.removeFirst()
                apply(next, layout: layout, processes: processes)
            }
            if options.live { await printStatus(elapsed: elapsed, layout: layout, clients: clients, tracker: tracker, payments: payments) }
            try? await Task.sleep(for: .milliseconds(500))
        }
        await loadTask.value
        await paymentTask.value
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
            if options.live {
                await printStatus(elapsed: Date().timeIntervalSince(start), layout: layout, clients: clients, tracker: tracker, payments: payments)
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
        observer.cancel()
        if options.live { FileHandle.standardError.write(Data("\n".utf8)) }
        var report = await report(layout: layout, clients: clients, processes: processes, tracker: tracker,
                                  libStart: libStart, loadSeconds: loadSeconds, directory: directory)
        if let payments {
            if options.live { FileHandle.standardError.write(Data("closing \(payments.fields.count) fields…\n".utf8)) }
            let outcome = await payments.closeAndCheck(chain: clients[layout.nodes[0].name]!)
            report.payments = outcome.payments
            report.fieldsOpened = outcome.fieldsOpened
            report.crossFieldLocks = outcome.crossFieldLocks
            report.fieldsClosed = outcome.fieldsClosed
            report.balanceChecks = outcome.balanceChecks
        }
        return report
    }

    private func apply(_ perturbation: Perturbation, layout: TestnetLayout, processes: TestnetProcesses) {
        guard let node = layout.nodes.first(where: { $0.name == perturbation.node }) else { return }
        switch perturbation.action {
        case .kill: processes.kill(node.name)
        case .restart:
            guard !processes.isRunning(node.name) else { break }
            do { try processes.start(node, detached: true) } catch {
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
        var branch = ObservedBranch()
        while !Task.isCancelled {
            guard let node = layout.nodes.first(where: { processes.isRunning($0.name) }),
                  let client = clients[node.name],
                  let info = try? await client.get("/v1/chain/info", as: NodeAPI.ChainInfo.self)
            else {
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            while branch.next <= info.head.height, !Task.isCancelled {
                guard let block = try? await client.get("/v1/blocks/\(branch.next)?transactions=ids", as: NodeAPI.BlockView.self),
                      block.height == branch.next else { break }
                switch branch.read(height: block.height, id: block.id, previous: block.previous, lib: info.lib.height) {
                case .include: tracker.included(block.transactionIds, height: block.height)
                case .rewind(let from): tracker.reverted(from: from)
                }
            }
            tracker.irreversible(upTo: info.lib.height)
            branch.finalized(upTo: info.lib.height)
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    private func printStatus(elapsed: Double, layout: TestnetLayout, clients: [String: NodeClient], tracker: InclusionTracker,
                             payments: PaymentLoad?) async {
        let info = try? await clients[layout.nodes[0].name]!.get("/v1/chain/info", as: NodeAPI.ChainInfo.self)
        let counts = tracker.counts
        var line = String(format: "\r%5.1fs  head %-6llu lib %-6llu peers %-3d  submitted %-7d included %-7d final %-7d errors %-4d ",
                          elapsed, info?.head.height ?? 0, info?.lib.height ?? 0, info?.peers ?? 0, counts.submitted,
                          counts.included, counts.irreversible, counts.errors)
        if let recent = payments?.recent() {
            line += String(format: " payments %6.0f/s receipt p50 %6.2f ms ", recent.rate, recent.p50Milliseconds)
        }
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
