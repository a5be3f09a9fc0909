import AlzaCore
import AlzaLedger
import Foundation
import Histogram
import Synchronization

/// `alza testnet run --load payments:RATE --fields F --participants P` (DESIGN.md §6, §9): opens F fields of P
/// satellite wallets each (field k led by satellite k, its participants the P satellites from k on, so wallets
/// sit in several fields; field k ≥ 1 brings its first participant's deposit as a cross-field lock from field 0,
/// D34), pays at the offered rate open loop — latency from each payment's intended send time,
/// so a slow leader shows in the figures instead of slowing the load — closes every field at the end, and checks
/// each account's settled balance against its deposit plus the receipted payments.
final class PaymentLoad: Sendable {
    struct Field: Sendable {
        var id: String
        var leader: TestnetLayout.NodeEntry
        var participants: [TestnetLayout.NodeEntry]
    }

    static let deposit = 10_000 * Amounts.unit
    /// A deposit locked in field 0 for another field (field 0's leader bond answers for every one of them).
    static let lockedDeposit = 1_000 * Amounts.unit
    static let amount: Amount = Amounts.unit / 100

    private struct State {
        var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        var submitted = 0
        var receipted = 0
        var refused = 0
        var errors = 0
        var errorSamples: [String] = []
        /// Per field, the net of the receipted payments per account (address text).
        var net: [String: [String: Int64]] = [:]
        var window: [(at: Date, latencyMicroseconds: UInt64)] = []
    }

    let fields: [Field]
    /// Fields opened with a deposit locked in field 0.
    let locks: Int
    private let clients: [String: NodeClient]
    private let state = Mutex(State())

    private init(fields: [Field], locks: Int, clients: [String: NodeClient]) {
        self.fields = fields
        self.locks = locks
        self.clients = clients
    }

    /// Opens the fields (all at once, each through its leader's API) and returns the load, or why it cannot run.
    static func open(fields count: Int, participants: Int, layout: TestnetLayout) async throws(NodeError) -> PaymentLoad {
        let satellites = layout.satellites
        guard count >= 1, participants >= FieldRules.minimumParticipants, participants <= satellites.count else {
            throw .configuration("--fields \(count) --participants \(participants) needs 2...\(satellites.count) participants (one per satellite) and a field")
        }
        let plans = (0..<count).map { k in
            Field(id: "", leader: satellites[k % satellites.count],
                  participants: (0..<participants).map { satellites[(k + $0) % satellites.count] })
        }
        let clients = Dictionary(uniqueKeysWithValues: satellites.map { ($0.name, NodeClient(api: $0.api, timeout: 30)) })
        // Field k's first participant (satellite k) is in field 0 when k < P: its deposit there is locked in field 0.
        let locked = Array(1..<max(1, min(count, participants)))
        let source = try await openField(plans[0], bond: lockedDeposit * Amount(locked.count) + FieldRules.minimumBond, lockFrom: nil,
                                         index: 0).get()
        let opened = await withTaskGroup(of: (Int, Result<String, NodeError>).self) { group in
            for index in plans.indices.dropFirst() {
                let lockFrom = locked.contains(index) ? source : nil
                group.addTask { (index, await openField(plans[index], bond: nil, lockFrom: lockFrom, index: index)) }
            }
            var results: [Int: Result<String, NodeError>] = [:]
            for await (index, result) in group { results[index] = result }
            return results
        }
        var fields = [Field(id: source, leader: plans[0].leader, participants: plans[0].participants)]
        for index in plans.indices.dropFirst() {
            switch opened[index] {
            case .success(let id)?: fields.append(Field(id: id, leader: plans[index].leader, participants: plans[index].participants))
            case .failure(let error)?: throw error
            case nil: throw .startup("field \(index) did not open")
            }
        }
        return PaymentLoad(fields: fields, locks: locked.count, clients: clients)
    }

    /// Opens one field through its leader's API; `lockFrom` brings its first participant's deposit from that field.
    private static func openField(_ plan: Field, bond: Amount?, lockFrom: String?, index: Int) async -> Result<String, NodeError> {
        let request = NodeAPI.FieldOpenRequest(
            participants: plan.participants.enumerated().map { position, entry in
                position == 0 && lockFrom != nil
                    ? .init(account: entry.address, deposit: Amounts.format(lockedDeposit), lockFrom: lockFrom)
                    : .init(account: entry.address, deposit: Amounts.format(deposit))
            },
            challengeSeconds: 600, bond: bond.map(Amounts.format))
        do {
            let opened: NodeAPI.FieldOpened = try await NodeClient(api: plan.leader.api, timeout: 90).post("/v1/fields", request)
            return .success(opened.id)
        } catch {
            return .failure(.startup("field \(index) (led by \(plan.leader.name)) did not open: \(error)"))
        }
    }

    /// A payment due at `due` and not yet posted.
    struct Due: Sendable {
        var field: Field
        var payer: TestnetLayout.NodeEntry
        var payee: TestnetLayout.NodeEntry
        var due: Date
    }

    /// The payments due for one satellite node, taken in batches by its senders.
    typealias Outbox = LoadOutbox<Due>

    /// Requests in flight per satellite node: what waits meanwhile goes in the next batch (the wallet's group
    /// commit), so a busy node gets fewer, larger requests.
    static let sendersPerNode = 2

    /// Pays at `rate` per second for `seconds`: payment i is due at start + i/rate, in field i mod F, between
    /// two of its participants drawn from a seeded generator, and posted to the payer's node.
    func run(rate: Int, seconds: Double, interrupted: StopFlag) async {
        guard rate > 0 else { return }
        let nodes = Set(fields.flatMap(\.participants).map(\.name))
        let outboxes = Dictionary(uniqueKeysWithValues: nodes.map { ($0, Outbox()) })
        await withTaskGroup(of: Void.self) { group in
            for (name, outbox) in outboxes {
                for _ in 0..<Self.sendersPerNode { group.addTask { await self.send(from: outbox, to: self.clients[name]!) } }
            }
            let start = Date()
            var random = SeededRandom(seed: 11)
            var index = 0
            while !interrupted.isStopped {
                let elapsed = Date().timeIntervalSince(start)
                // `seconds` is infinite for `--duration forever`.
                let due = Int(min(elapsed, seconds) * Double(rate))
                while index < due {
                    let field = fields[index % fields.count]
                    let payer = Int(random.next() % UInt64(field.participants.count))
                    let offset = 1 + Int(random.next() % UInt64(field.participants.count - 1))
                    let payment = Due(field: field, payer: field.participants[payer],
                                      payee: field.participants[(payer + offset) % field.participants.count],
                                      due: start.addingTimeInterval(Double(index) / Double(rate)))
                    outboxes[payment.payer.name]!.add(payment)
                    index += 1
                }
                if elapsed >= seconds { break }
                try? await Task.sleep(for: .milliseconds(2))
            }
            for outbox in outboxes.values { outbox.finish() }
        }
    }

    private func send(from outbox: Outbox, to client: NodeClient) async {
        while true {
            let batch = outbox.take(limit: 1_024)
            if batch.isEmpty {
                if outbox.isFinished { return }
                try? await Task.sleep(for: .milliseconds(2))
                continue
            }
            state.withLock { $0.submitted += batch.count }
            let request = NodeAPI.FieldPaymentBatchRequest(payments: batch.map { payment in
                .init(field: payment.field.id, payment: .init(to: payment.payee.address, amount: Amounts.format(Self.amount),
                                                              from: payment.payer.address))
            })
            do {
                let answer: NodeAPI.FieldPaymentBatchResult = try await client.post("/v1/fields/payments", request)
                let now = Date()
                for (payment, result) in zip(batch, answer.results) {
                    if result.receipt != nil {
                        receipted(payment, latencyMicroseconds: UInt64(max(0, now.timeIntervalSince(payment.due)) * 1_000_000), at: now)
                    } else {
                        record(refused: result.error?.hasPrefix("field.") == true, "\(result.error ?? "-"): \(result.message ?? "")")
                    }
                }
            } catch {
                for _ in batch { record(refused: false, "\(error)") }
            }
        }
    }

    private func receipted(_ payment: Due, latencyMicroseconds micros: UInt64, at now: Date) {
        state.withLock { state in
            state.receipted += 1
            _ = state.latency.record(micros)
            state.window.append((now, micros))
            state.net[payment.field.id, default: [:]][payment.payer.address, default: 0] -= Int64(Self.amount)
            state.net[payment.field.id, default: [:]][payment.payee.address, default: 0] += Int64(Self.amount)
        }
    }

    private func record(refused: Bool, _ sample: String) {
        state.withLock { state in
            if refused { state.refused += 1 } else { state.errors += 1 }
            if state.errorSamples.count < 5 { state.errorSamples.append(sample) }
        }
    }

    /// Receipted payments per second and median receipt latency (ms) over the last `seconds`.
    func recent(seconds: Double = 2) -> (rate: Double, p50Milliseconds: Double) {
        state.withLock { state in
            let since = Date().addingTimeInterval(-seconds)
            state.window.removeAll { $0.at < since.addingTimeInterval(-seconds) }
            let recent = state.window.filter { $0.at >= since }.map(\.latencyMicroseconds).sorted()
            return (Double(recent.count) / seconds, recent.isEmpty ? 0 : Double(recent[recent.count / 2]) / 1_000)
        }
    }

    /// Closes every field through its leader, waits until the chain settles each, and checks every balance.
    func closeAndCheck(chain: NodeClient, timeoutSeconds: Double = 60) async -> PaymentOutcome {
        for field in fields {
            do {
                let _: NodeAPI.FieldCloseSubmitted = try await NodeClient(api: field.leader.api, timeout: 30)
                    .post("/v1/fields/\(field.id)/close", [String: String]())
            } catch {
                record(refused: false, "close of \(field.id.prefix(8)): \(error)")
            }
        }
        var closed: [String: NodeAPI.FieldView] = [:]
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while closed.count < fields.count && Date() < deadline {
            for field in fields where closed[field.id] == nil {
                if let view = try? await chain.get("/v1/fields/\(field.id)", as: NodeAPI.FieldView.self), view.status == "closed" {
                    closed[field.id] = view
                }
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return state.withLock { state in
            var passed = 0
            var failed: [String] = []
            for field in fields {
                guard let view = closed[field.id] else { continue }
                for participant in view.participants {
                    // Top-ups and exits that moved on chain (a lock other fields took) count beside the payments.
                    let expected = Int64(participant.deposit) + (state.net[field.id]?[participant.address] ?? 0)
                        + Int64(participant.toppedUp) - Int64(participant.withdrawn)
                    if let final = participant.finalBalance, Int64(final) == expected {
                        passed += 1
                    } else if failed.count < 5 {
                        failed.append("\(field.id.prefix(8)) \(participant.address): settled \(participant.finalBalance.map(String.init) ?? "-"), expected \(expected)")
                    } else {
                        failed.append("")
                    }
                }
            }
            // Each lock is an exit in field 0's log, not a payment of the load.
            let settled = closed.values.reduce(0) { $0 + Int($1.snapshot?.paymentCount ?? 0) } - (closed[fields[0].id] == nil ? 0 : locks)
            let latency = state.latency
            func ms(_ micros: UInt64) -> Double { Double(micros) / 1_000 }
            let payments = TestnetRun.Report.Payments(
                submitted: state.submitted, receipted: state.receipted, settled: settled, refused: state.refused,
                errors: state.errors, errorSamples: state.errorSamples,
                latencyMs: latency.totalCount == 0 ? .init(p50: 0, p99: 0, p999: 0, max: 0, count: 0)
                    : .init(p50: ms(latency.valueAtPercentile(50)), p99: ms(latency.valueAtPercentile(99)),
                            p999: ms(latency.valueAtPercentile(99.9)), max: ms(latency.max), count: latency.totalCount))
            return PaymentOutcome(payments: payments, fieldsOpened: fields.count, fieldsClosed: closed.count, crossFieldLocks: locks,
                                  balanceChecks: .init(passed: passed, failed: failed.count, samples: failed.filter { !$0.isEmpty }))
        }
    }
}
