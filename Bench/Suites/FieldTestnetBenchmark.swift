import AlzaNode
import Foundation

/// `alza-bench field`, end to end: a 4-SuperNode + 8-satellite testnet of node processes on loopback (issue 9's
/// setup) opens 4 fields of 8 satellite wallets each (cross-field locks included), pays at the offered rate open
/// loop through the satellites' APIs for the step, closes every field and checks each settled balance. Reported:
/// receipted payments/s and the receipt latency from each payment's intended send time, beside the machine's
/// verification capacity (every payment costs the leader one verification, the payer's node its signature).
enum FieldTestnetBenchmark {
    static func measure(into report: inout BenchReport, limits: PhysicalLimits, quick: Bool) async throws {
        let executable = URL(fileURLWithPath: TestnetProcesses.currentExecutable).deletingLastPathComponent()
            .appendingPathComponent("alza").path
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError.setup("the field testnet needs the alza executable beside alza-bench (swift build -c release): \(executable)")
        }
        var options = TestnetRun.Options()
        options.superNodes = 4
        options.satellites = 8
        options.slotMilliseconds = 500
        options.duration = quick ? 15 : 40
        options.paymentRate = quick ? 500 : 2_000
        options.fields = 4
        options.participants = 8
        options.live = false
        options.settleSeconds = 120
        options.executable = executable
        let ports = try LoopbackPorts.claim(span: 1_000 + 12 + 10, used: TestnetLayout.portOffsets(nodes: 12))
        options.basePort = ports.base
        let result = try await TestnetRun(options: options).run()
        withExtendedLifetime(ports) {}
        guard let payments = result.payments else { throw BenchError.failed("the field testnet reported no payments") }
        let receiptedRate = Double(payments.receipted) / result.durationSeconds
        let capacity = limits.ed25519VerifyPerSecondPerCore * Double(limits.cores)
        report.add(BenchFigure(key: "testnetReceiptedPaymentsPerSecond",
                               label: "testnet 4+8, 4 fields: receipted payments/s at \(options.paymentRate)/s offered",
                               value: receiptedRate, unit: "/s", limitLabel: "cores × Ed25519 verify/s",
                               limitValue: capacity, ratio: receiptedRate / capacity))
        let latency = payments.latencyMs
        report.latencies.append(("testnet 4+8 receipt at \(options.paymentRate)/s offered (end to end, HTTP)",
                                 LatencySummary(count: latency.count, p50: UInt64(latency.p50 * 1_000), p99: UInt64(latency.p99 * 1_000),
                                                p999: UInt64(latency.p999 * 1_000), max: UInt64(latency.max * 1_000))))
        let checks = result.balanceChecks.map { "\($0.passed) of \($0.passed + $0.failed) balances checked" } ?? "no balance checks"
        report.notes.append("Field testnet: 4 SuperNodes + 8 satellites as processes on loopback, 500 ms slots, 4 fields of 8 "
            + "wallets (\(result.crossFieldLocks ?? 0) opened with a deposit locked in another field), \(options.paymentRate) payments/s "
            + "offered for \(Int(options.duration)) s through the satellites' APIs in per-node batches: submitted \(payments.submitted), "
            + "receipted \(payments.receipted), settled \(payments.settled), refused \(payments.refused), errors \(payments.errors + result.errors), "
            + "agreed \(result.agreed), \(checks).")
    }
}
