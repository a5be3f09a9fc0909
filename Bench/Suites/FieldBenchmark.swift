import AlzaCore
import AlzaField
import AlzaLedger
import Foundation

/// `alza-bench field`: one payment field's leader core, as its shell runs it: each payment's signature verified,
/// each batch appended to a payment log file and fsynced before its receipts (one signature per batch) go out.
/// Reported beside one core's Ed25519 verify rate, the cost floor of a payment (DESIGN.md §6, issue 9).
enum FieldBenchmark {
    static func run(limits: PhysicalLimits, quick: Bool, scratchDirectory: String) throws -> BenchReport {
        var report = BenchReport(suite: "field", limits: limits)
        let participants = 16
        let fixture = Fixture(participants: participants)
        let count = quick ? 20_000 : 200_000
        let payments = fixture.payments(count: count)

        // The verify rate on these very payments, right before and after the leader's run (this VM's speed drifts
        // ±15 % within seconds; the limit measured at the start of the run is a second, coarser comparison).
        func verifyRate() -> Double {
            let begin = Monotonic.nanoseconds()
            for payment in payments { precondition(payment.isSigned(chainId: fixture.roster.chainId)) }
            return Double(payments.count) / (Double(Monotonic.nanoseconds() - begin) / 1e9)
        }
        let verifyBefore = verifyRate()

        // Sustained: every payment offered at once, batches as large as the group commit makes them.
        let log = try PaymentLog(directory: scratchDirectory)
        var leader = fixture.leader()
        let start = Monotonic.nanoseconds()
        var receipts = 0
        var effects: [FieldLeaderCore.Effect] = []
        for payment in payments { effects += leader.receive(payment, now: 0) }
        while let write = effects.lazy.compactMap({ effect -> (UInt64, [SignedFieldPayment])? in
            if case .persist(let batch, let first) = effect { return (first, batch) }
            return nil
        }).first {
            try log.append(write.1)
            effects = leader.persisted(firstIndex: write.0, now: 0)
            receipts += effects.reduce(0) { if case .receipt = $1 { $0 + 1 } else { $0 } }
        }
        let seconds = Double(Monotonic.nanoseconds() - start) / 1e9
        precondition(receipts == count, "every payment is receipted (\(receipts) of \(count))")
        let rate = Double(count) / seconds
        let verifyAround = (verifyBefore + verifyRate()) / 2
        report.add(BenchFigure(key: "leaderPaymentsPerSecond", label: "Payments/s through one leader core",
                               value: rate, unit: "/s", limitLabel: "Ed25519 verify, one core",
                               limitValue: limits.ed25519VerifyPerSecondPerCore,
                               ratio: rate / limits.ed25519VerifyPerSecondPerCore))
        report.add(BenchFigure(key: "verifyPerSecondSamePayments", label: "Verify/s of the same payments, before and after",
                               value: verifyAround, unit: "/s"))
        report.add(BenchFigure(key: "leaderVsVerifyRatio", label: "Leader payments/s ÷ verify/s of the same payments",
                               value: rate / verifyAround, unit: "ratio"))
        report.add(BenchFigure(key: "logFsyncsPerSecond", label: "Payment log fsyncs/s at that rate",
                               value: Double(log.syncs) / seconds, unit: "/s"))

        // Open loop at 50 % and 90 % of the sustained rate: latency from each payment's intended arrival time to
        // its receipt, the log fsynced per batch.
        // And the core alone (the log kept in memory): the leader's own share of the latency.
        let sample = Array(payments.prefix(quick ? 5_000 : 40_000))
        for durable in [true, false] {
            for share in [0.5, 0.9] {
                let offered = rate * share
                let log = try PaymentLog(directory: scratchDirectory, durable: durable)
                let label = "receipt at \(Int(share * 100)) % of sustained (\(Int(offered))/s)" + (durable ? ", log fsynced" : ", core only")
                report.latencies.append((label, try openLoop(fixture: fixture, payments: sample, rate: offered, log: log)))
                if durable && share == 0.5 { report.latencies.append(("payment log append + fsync", log.writes.summary)) }
            }
        }
        try FieldAggregateBenchmark.measure(into: &report, limits: limits, quick: quick, scratchDirectory: scratchDirectory)
        FieldCloseCostBenchmark.measure(into: &report, quick: quick)
        return report
    }

    /// Payments arrive at `rate` on a fixed schedule; the leader takes every payment due, writes and fsyncs the
    /// waiting batch, and each receipt's latency counts from its payment's intended arrival.
    static func openLoop(fixture: Fixture, payments: [SignedFieldPayment], rate: Double, log: PaymentLog) throws -> LatencySummary {
        var leader = fixture.leader()
        var recorder = LatencyRecorder()
        let interval = 1e9 / rate
        let start = Monotonic.nanoseconds()
        func intended(_ index: Int) -> UInt64 { start + UInt64(Double(index) * interval) }
        var next = 0
        var write: (first: UInt64, batch: [SignedFieldPayment])?
        var receipted = 0
        while receipted < payments.count {
            let now = Monotonic.nanoseconds()
            while next < payments.count && intended(next) <= now {
                for case .persist(let batch, let first) in leader.receive(payments[next], now: 0) { write = (first, batch) }
                next += 1
            }
            guard let pending = write else {
                if next < payments.count { while Monotonic.nanoseconds() < intended(next) {} }
                continue
            }
            write = nil
            try log.append(pending.batch)
            for effect in leader.persisted(firstIndex: pending.first, now: 0) {
                switch effect {
                case .receipt(let receipt, _):
                    recorder.record(nanoseconds: Monotonic.nanoseconds() - intended(Int(receipt.index)))
                    receipted += 1
                case .persist(let batch, let first):
                    write = (first, batch)
                default:
                    break
                }
            }
        }
        return recorder.summary
    }

    /// A field of `participants` accounts with enough balance for every payment, paying round robin.
    struct Fixture {
        let roster: FieldRoster
        let keys: [SigningKey]
        let leaderKey = SigningKey(deterministicLabel: "bench leader")

        init(participants: Int, nonce: UInt64 = 1) {
            keys = (0..<participants).map { SigningKey(deterministicLabel: "bench participant \($0)") }
            roster = FieldRoster(field: FieldId(leader: leaderKey.publicKey, nonce: nonce), chainId: Hash.sha256(utf8: "bench chain"),
                                 leader: leaderKey.publicKey, participants: keys.map { Address($0.publicKey) },
                                 openingBalances: Array(repeating: 1_000_000 * Amounts.unit, count: participants))
        }

        func leader() -> FieldLeaderCore {
            var configuration = FieldLeaderCore.Configuration()
            configuration.snapshotEveryPayments = .max
            configuration.snapshotEveryMilliseconds = .max / 2
            return FieldLeaderCore(roster: roster, key: leaderKey, configuration: configuration, now: 0)
        }

        func payments(count: Int) -> [SignedFieldPayment] {
            var participants = keys.map { FieldParticipantCore(roster: roster, key: $0) }
            return (0..<count).map { index in
                let payer = index % keys.count
                return try! participants[payer].pay(to: roster.participants[(payer + 1) % keys.count], amount: 1)
            }
        }
    }

    /// The payment log as a leader keeps it: batches appended to one file, fsynced before their receipts.
    /// `durable` false: the batches are encoded and kept in memory (the core's own cost, without the disk).
    final class PaymentLog {
        let storage: FileStorage
        let durable: Bool
        private(set) var syncs = 0
        private(set) var memory: [[UInt8]] = []
        /// Time of each append + fsync.
        private(set) var writes = LatencyRecorder()

        init(directory: String, durable: Bool = true) throws {
            let folder = directory + "/field-log-\(UUID().uuidString)"
            storage = try FileStorage(directory: folder)
            self.durable = durable
        }

        func append(_ batch: [SignedFieldPayment]) throws {
            var encoder = CanonicalEncoder()
            for payment in batch { encoder.encode(payment) }
            guard durable else {
                memory.append(encoder.bytes)
                return
            }
            let start = Monotonic.nanoseconds()
            try storage.append("payments.log", encoder.bytes)
            try storage.sync("payments.log")
            writes.record(nanoseconds: Monotonic.nanoseconds() - start)
            syncs += 1
        }
    }
}
