import AlzaCore
import AlzaField
import AlzaLedger
import AlzaNet
import AlzaNode
import Foundation
import Logging

/// `alza-bench field`, over loopback sockets: the node's own field path end to end. A payer node's `FieldService`
/// sends each payment as a `field` request (`FieldService.request`) through its `Transport` to the leader's node,
/// whose `FieldService` routes it to the `FieldLeader` actor; the leader journals each batch (group commit, fsync)
/// before the receipts answer the requests. Closed loop for the sustained rate, then open loop at 50 % and 90 % of
/// it, latency from each payment's intended send time (DESIGN.md §6; issue 9's goal: p99 ≤ 5 ms over loopback).
enum FieldLoopbackBenchmark {
    static let chainId = Hash.sha256(utf8: "bench chain")

    static func measure(into report: inout BenchReport, limits: PhysicalLimits, quick: Bool, scratchDirectory: String) async throws {
        let fixture = FieldBenchmark.Fixture(participants: 1_024)
        let (leaderService, leaderTransport) = try await node("leader", key: fixture.leaderKey, scratchDirectory: scratchDirectory)
        let (payer, payerTransport) = try await node("payer", key: SigningKey(deterministicLabel: "bench payer node"),
                                                     seeds: [await leaderTransport.boundAddress!], scratchDirectory: scratchDirectory)
        defer {
            Task {
                await payerTransport.stop()
                await leaderTransport.stop()
            }
        }
        var configuration = FieldLeaderCore.Configuration()
        configuration.snapshotEveryPayments = .max
        configuration.snapshotEveryMilliseconds = .max / 2
        var logger = Logger(label: "bench.field-leader")
        logger.logLevel = .critical
        let leader = try await FieldLeader.open(roster: fixture.roster, key: fixture.leaderKey, configuration: configuration,
                                                service: leaderService, logger: logger)
        try await leaderService.attach(leader)
        let address = FieldService.address(ofLeader: fixture.roster.field)
        try await NetworkBenchmark.waitFor(10) { !(await payerTransport.hosts(of: address)).isEmpty }

        let count = quick ? 4_000 : 20_000
        let payments = fixture.payments(count: 3 * count)
        // Sustained: 256 requests in flight (1,024 payers round robin, so no payer has two in flight).
        let start = Monotonic.nanoseconds()
        try await closedLoop(payer, Array(payments[..<count]), address: address, inFlight: 256)
        let rate = Double(count) / (Double(Monotonic.nanoseconds() - start) / 1e9)
        report.add(BenchFigure(key: "loopbackPaymentsPerSecond", label: "Payments/s to a leader node over loopback (requests, fsynced)",
                               value: rate, unit: "/s", limitLabel: "Ed25519 verify, one core",
                               limitValue: limits.ed25519VerifyPerSecondPerCore, ratio: rate / limits.ed25519VerifyPerSecondPerCore))
        for (step, share) in [0.5, 0.9].enumerated() {
            let slice = Array(payments[(count * (step + 1))..<(count * (step + 2))])
            let summary = try await openLoop(payer, slice, address: address, rate: rate * share)
            report.latencies.append(("receipt over loopback at \(Int(share * 100)) % of sustained (\(Int(rate * share))/s)", summary))
            report.add(BenchFigure(key: "loopbackP99At\(Int(share * 100))", label: "Receipt p99 over loopback at \(Int(share * 100)) % of sustained",
                                   value: Double(summary.p99) / 1_000, unit: "ms", limitLabel: "loopback TCP round trip (p50)",
                                   limitValue: limits.loopbackRoundTripMicroseconds / 1_000,
                                   ratio: limits.loopbackRoundTripMicroseconds / Double(max(1, summary.p99))))
        }
        report.notes.append("Loopback: two node shells in this process (Transport, FieldService; the leader's FieldLeader with its "
            + "journal fsynced per group of payments), 1,024 payers round robin; closed loop with 256 payments in flight for the "
            + "rate, then open loop at 50 % and 90 % of it, each payment a field request answered by its receipt; latency from "
            + "the payment's intended send time. The loopback ratio is the round trip's p50 over the receipt's p99.")
    }

    /// A node shell: a transport on 127.0.0.1 and its field service with a journal in a fresh folder.
    static func node(_ label: String, key: SigningKey, seeds: [String] = [], scratchDirectory: String) async throws
        -> (FieldService, Transport) {
        var configuration = NetworkConfiguration(chainId: chainId, nodeKey: key, roles: [.satellite, .fieldLeader],
                                                 listenAddress: "127.0.0.1:0", seeds: seeds)
        var random = SeededRandom(label: label)
        configuration.randomSeed = random.next()
        var logger = Logger(label: "bench.\(label)")
        logger.logLevel = .critical
        let transport = Transport(configuration: configuration, logger: logger)
        let storage = try FileStorage(directory: scratchDirectory + "/field-node-\(label)-\(UUID().uuidString)")
        let service = FieldService(transport: transport, storage: storage, logger: logger)
        try await service.start()
        try await transport.start()
        return (service, transport)
    }

    /// Every payment sent with at most `inFlight` outstanding; each must come back with a receipt.
    static func closedLoop(_ payer: FieldService, _ payments: [SignedFieldPayment], address: ActorAddress, inFlight: Int) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, payment) in payments.enumerated() {
                if index >= inFlight { try await group.next() }
                group.addTask { try await pay(payer, payment, address: address) }
            }
            try await group.waitForAll()
        }
    }

    /// Payments sent on a fixed schedule, each from its own task; latency from its intended send time.
    static func openLoop(_ payer: FieldService, _ payments: [SignedFieldPayment], address: ActorAddress, rate: Double) async throws
        -> LatencySummary {
        let interval = 1e9 / rate
        let start = Monotonic.nanoseconds() + 1_000_000
        let latencies = try await withThrowingTaskGroup(of: UInt64.self) { group in
            for (index, payment) in payments.enumerated() {
                let intended = start + UInt64(Double(index) * interval)
                let now = Monotonic.nanoseconds()
                if intended > now { try await Task.sleep(nanoseconds: intended - now) }
                group.addTask {
                    try await pay(payer, payment, address: address)
                    return Monotonic.nanoseconds() - intended
                }
            }
            var recorder = LatencyRecorder()
            for try await latency in group { recorder.record(nanoseconds: latency) }
            return recorder
        }
        return latencies.summary
    }

    static func pay(_ payer: FieldService, _ payment: SignedFieldPayment, address: ActorAddress) async throws {
        let answer = try await payer.request(.pay(payment), to: address)
        guard case .receipt(let receipt) = answer, receipt.paymentHash == payment.hash else {
            throw BenchError.failed("the leader answered a payment with \(answer)")
        }
    }
}
