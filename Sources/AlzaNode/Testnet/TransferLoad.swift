import AlzaCore
import AlzaLedger
import Foundation
import Histogram
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Signs transfers between the testnet's load accounts at a steady rate and submits them in batches, one
/// request in flight per target node (so a sender's nonces, always sent to the same node, arrive in order).
struct LoadGenerator: Sendable {
    let layout: TestnetLayout
    let targets: [NodeClient]
    let tracker: InclusionTracker

    /// Transactions signed for one target and not yet posted.
    /// A signed transfer waiting for its target's submitter.
    struct Signed: Sendable {
        var transaction: SignedTransaction
        var signedAt: Date
    }

    typealias Outbox = LoadOutbox<Signed>

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
                    outboxes[sender % outboxes.count].add(Signed(transaction: transaction, signedAt: now))
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
/// What a load generator has made and not yet posted to one node, taken in batches by its senders; finished when
/// the load stops (the senders then drain it and end).
final class LoadOutbox<Item: Sendable>: Sendable {
    private let pending = Mutex<[Item]>([])
    private let finished = Atomic<Bool>(false)

    func add(_ item: Item) { pending.withLock { $0.append(item) } }

    func take(limit: Int) -> [Item] {
        pending.withLock { queue in
            let batch = Array(queue.prefix(limit))
            queue.removeFirst(batch.count)
            return batch
        }
    }

    func finish() { finished.store(true, ordering: .releasing) }
    var isFinished: Bool { finished.load(ordering: .acquiring) }
}

final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func stop() { flag.store(true, ordering: .relaxed) }
    var isStopped: Bool { flag.load(ordering: .relaxed) }
}
