import AlzaCore
import AlzaField
import AlzaLedger
import Foundation
import Synchronization

/// Many fields on all cores (issue 9: ≥ 0.85 × cores × verify/s): one leader core per field, one field per core,
/// each on its own thread with its own payment log fsynced per batch, every payment offered at once. The figure
/// is the payments all of them receipted per second of wall time, beside cores × one core's verify rate.
enum FieldAggregateBenchmark {
    static func measure(into report: inout BenchReport, limits: PhysicalLimits, quick: Bool, scratchDirectory: String) throws {
        let cores = max(1, limits.cores)
        let perField = quick ? 10_000 : 100_000
        let fields = (0..<cores).map { FieldBenchmark.Fixture(participants: 16, nonce: UInt64(100 + $0)) }
        let payments = fields.map { $0.payments(count: perField) }
        let failures = Mutex<[String]>([])
        let begin = Monotonic.nanoseconds()
        DispatchQueue.concurrentPerform(iterations: cores) { index in
            do {
                try run(fields[index], payments[index], scratchDirectory: scratchDirectory)
            } catch {
                failures.withLock { $0.append("field \(index): \(error)") }
            }
        }
        let seconds = Double(Monotonic.nanoseconds() - begin) / 1e9
        let failed = failures.withLock { $0 }
        guard failed.isEmpty else { throw BenchError.failed(failed.joined(separator: "; ")) }
        let rate = Double(cores * perField) / seconds
        let limit = Double(cores) * limits.ed25519VerifyPerSecondPerCore
        report.add(BenchFigure(key: "aggregateLeaderPaymentsPerSecond", label: "Payments/s through \(cores) fields, one leader core per core",
                               value: rate, unit: "/s", limitLabel: "Ed25519 verify × \(cores) cores", limitValue: limit,
                               ratio: rate / limit))
    }

    /// One field's leader core over `payments`, batches logged and fsynced before their receipts.
    private static func run(_ fixture: FieldBenchmark.Fixture, _ payments: [SignedFieldPayment], scratchDirectory: String) throws {
        let log = try FieldBenchmark.PaymentLog(directory: scratchDirectory)
        var leader = fixture.leader()
        var effects: [FieldLeaderCore.Effect] = []
        var receipts = 0
        for payment in payments { effects += leader.receive(payment, now: 0) }
        while let write = effects.lazy.compactMap({ effect -> (UInt64, [SignedFieldPayment])? in
            if case .persist(let batch, let first) = effect { return (first, batch) }
            return nil
        }).first {
            try log.append(write.1)
            effects = leader.persisted(firstIndex: write.0, now: 0)
            receipts += effects.reduce(0) { if case .receipt = $1 { $0 + 1 } else { $0 } }
        }
        guard receipts == payments.count else { throw BenchError.failed("\(receipts) of \(payments.count) receipted") }
    }
}
