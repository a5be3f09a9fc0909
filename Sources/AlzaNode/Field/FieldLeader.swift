import AlzaCore
import AlzaField
import AlzaLedger
import AlzaNet
import Logging

/// The leader of one payment field (DESIGN.md §6): the shell of `FieldLeaderCore`. Payment batches are made
/// durable in its journal (group commit) before their receipts leave, each snapshot number before its proposals
/// leave; receipts answer the payers' requests, balance pushes, proposals and fully signed snapshots go to the
/// participants through the `FieldService`. Restarted, it recovers every receipted payment from the journal.
public actor FieldLeader {
    public nonisolated let field: FieldId
    public nonisolated let roster: FieldRoster
    private var core: FieldLeaderCore
    private let journal: FieldJournalWriter
    private let service: FieldService
    private let logger: Logger
    /// Requests waiting for a payment's receipt or refusal, by payment hash (a payment sent twice waits twice).
    private var waiting: [Hash: [FieldReply]] = [:]
    private var tickTask: Task<Void, Never>?
    /// Set when the journal failed: the leader then refuses payments (it cannot promise them any more).
    private var failure: String?
    /// Set by the cooperative close: payments are refused from then on, so the final snapshot covers them all.
    private var closing = false
    private(set) var counters = Counters()
    /// Said once at start: what recovery found.
    public nonisolated let recovered: UInt64

    struct UnsignedParticipants: Error {
        var accounts: [Address]
    }

    struct Counters: Sendable {
        var refused: UInt64 = 0
        var unreachable: UInt64 = 0
        var badSignatures: UInt64 = 0
    }

    /// Opens the leader of `roster`'s field, recovering from what the node's field journal holds for it.
    public static func open(roster: FieldRoster, key: SigningKey, configuration: FieldLeaderCore.Configuration = .init(),
                            service: FieldService, logger: Logger) async throws(NodeError) -> FieldLeader {
        let owner = FieldJournalOwner.leader(roster.field)
        let (records, writer) = await service.journal(for: owner)
        do throws(FieldError) {
            let recovery = try FieldLeaderRecovery(records: records)
            let core = try FieldLeaderCore(roster: roster, key: key, configuration: configuration, now: ChainService.now(),
                                           recovering: recovery)
            return FieldLeader(roster: roster, core: core, journal: writer, service: service, logger: logger)
        } catch {
            throw .startup("field \(roster.field.hash.short) journal: \(error.description)")
        }
    }

    private init(roster: FieldRoster, core: FieldLeaderCore, journal: FieldJournalWriter, service: FieldService, logger: Logger) {
        field = roster.field
        self.roster = roster
        self.core = core
        self.journal = journal
        self.service = service
        self.logger = logger
        recovered = core.durableCount
    }

    /// Starts proposing snapshots on the core's cadence.
    public func start() {
        precondition(tickTask == nil, "a field leader starts once")
        tickTask = Task { [weak self] in
            while !Task.isCancelled {
                guard let wake = await self?.tick() else { return }
                let delay = wake > ChainService.now() ? wake - ChainService.now() : 1
                try? await Task.sleep(for: .milliseconds(min(delay, 1_000)))
            }
        }
    }

    public func stop() {
        tickTask?.cancel()
        tickTask = nil
    }

    /// The chain's top-ups of the field's participants (its record's flows, D34): each new total is journaled
    /// before the core credits it, so a payment it pays for never reaches the journal ahead of it.
    func credit(_ flows: FieldFlows) {
        for entry in flows.entries where Int(entry.position) < roster.participants.count {
            let participant = roster.participants[Int(entry.position)]
            guard entry.flow.deposited > core.durableFlows[Int(entry.position)].deposited else { continue }
            journal.enqueue([FieldLeaderJournalEntry.credited(participant: participant, depositedTotal: entry.flow.deposited).canonicalBytes])
            do throws(FieldError) {
                try core.credited(participant, depositedTotal: entry.flow.deposited)
                logger.info("field \(field.hash.short): \(participant) topped up to \(Amounts.format(entry.flow.deposited)) ALZA")
            } catch {
                preconditionFailure("a participant of the roster: \(error.description)")
            }
        }
    }

    private func tick() async -> UInt64 {
        var effects = core.tick(now: ChainService.now())
        var wake = ChainService.now() + core.configuration.snapshotEveryMilliseconds
        effects.removeAll { effect in
            if case .wakeAt(let at) = effect { wake = at; return true }
            return false
        }
        await perform(effects)
        return wake
    }

    // MARK: Inputs

    func receiveRequest(_ message: FieldWireMessage, from peer: String, reply: FieldReply) async {
        let payments: [SignedFieldPayment]
        let replies: [FieldReply]
        switch message {
        case .pay(let signed):
            payments = [signed]
            replies = [reply]
        case .payBatch(let batch):
            // One answer for the batch, once every payment in it is receipted or refused.
            let collector = AnswerCollector(count: batch.count, reply: reply)
            payments = batch
            replies = batch.indices.map { position in FieldReply { await collector.set(position, $0) } }
        default:
            await reply.send(.refused(code: "field.unexpected-request", reason: "a field leader answers payments only"))
            return
        }
        if let failure {
            for reply in replies { await reply.send(.refused(code: "field.leader-failed", reason: failure)) }
            return
        }
        var effects: [FieldLeaderCore.Effect] = []
        let now = ChainService.now()
        for (signed, reply) in zip(payments, replies) {
            // Closing refuses new payments only: a logged one sent again (its receipt was lost) gets its receipt, or
            // its payer would take back a payment the final snapshot pays out (D38).
            if closing && core.loggedIndex(of: signed.hash) == nil {
                await reply.send(.refused(code: "field.closing", reason: "field \(field) is closing; no more payments"))
                continue
            }
            waiting[signed.hash, default: []].append(reply)
            effects += core.receive(signed, now: now)
        }
        await perform(effects)
    }

    func receiveDirect(_ message: FieldWireMessage, from peer: String) async {
        guard case .signature(_, let number, let signer, let signature) = message else {
            logger.warning("field \(field.hash.short): unexpected \(message) from \(peer.prefix(16)); ignored")
            return
        }
        do {
            let effects = try core.receivedSignature(signature, snapshot: number, from: signer, now: ChainService.now())
            if let count = core.acknowledgedCount(of: signer) {
                journal.enqueue([FieldLeaderJournalEntry.acknowledged(participant: signer, paymentCount: count).canonicalBytes])
            }
            await perform(effects)
        } catch {
            counters.badSignatures += 1
            logger.warning("field \(field.hash.short): signature of \(signer) on snapshot \(number) refused: \(error.description)")
        }
    }

    // MARK: Effects

    private func perform(_ effects: [FieldLeaderCore.Effect]) async {
        var proposals: [(SnapshotProposal, Address)] = []
        for effect in effects {
            switch effect {
            case .persist(let batch, let first):
                // Appended now, in order; its receipts leave once the write holding it is durable.
                let ticket = journal.enqueue([FieldLeaderJournalEntry.payments(firstIndex: first, batch).canonicalBytes])
                let journal = self.journal
                Task {
                    do throws(StorageError) {
                        try await journal.durable(ticket)
                        await self.persisted(first)
                    } catch {
                        await self.failJournal(error.description)
                    }
                }
            case .receipt(let receipt, let payer):
                let replies = waiting.removeValue(forKey: receipt.paymentHash) ?? []
                if replies.isEmpty { await deliver(.receipt(receipt), to: payer) }
                for reply in replies { await reply.send(.receipt(receipt)) }
            case .incoming(let signed, let receipt, let payee):
                await deliver(.incoming(signed, receipt), to: payee)
            case .rejected(let hash, let error, let payer):
                counters.refused += 1
                let replies = waiting.removeValue(forKey: hash) ?? []
                if replies.isEmpty { logger.info("field \(field.hash.short): payment of \(payer) refused: \(error.description)") }
                for reply in replies { await reply.send(.refusal(error)) }
            case .propose(let proposal, let participant):
                proposals.append((proposal, participant))
            case .fullySigned(let signed):
                journal.enqueue([FieldLeaderJournalEntry.fullySigned(signed).canonicalBytes])
                for participant in roster.participants { await deliver(.fullySigned(signed), to: participant) }
            case .wakeAt:
                break
            }
        }
        if let number = proposals.first?.0.snapshot.number {
            // The number is durable before any participant signs it: a restarted leader goes on above it.
            do {
                try await journal.durable(journal.enqueue([FieldLeaderJournalEntry.proposed(number: number).canonicalBytes]))
            } catch {
                journalFailed(error.description)
                return
            }
            for (proposal, participant) in proposals { await deliver(.propose(proposal), to: participant) }
        }
    }

    private func persisted(_ first: UInt64) async {
        await perform(core.persisted(firstIndex: first, now: ChainService.now()))
    }

    private func failJournal(_ reason: String) async { journalFailed(reason) }

    private func journalFailed(_ reason: String) {
        guard failure == nil else { return }
        failure = "the payment journal failed: \(reason)"
        logger.critical("field \(field.hash.short): \(failure!); no more payments are accepted")
        for (_, replies) in waiting {
            for reply in replies { Task { await reply.send(.refused(code: "field.leader-failed", reason: self.failure ?? reason)) } }
        }
        waiting.removeAll()
    }

    private func deliver(_ message: FieldWireMessage, to participant: Address) async {
        guard await service.send(message, to: FieldService.address(ofParticipant: participant), everyHost: true) else {
            counters.unreachable += 1
            if counters.unreachable.nonzeroBitCount == 1 {
                logger.warning("field \(field.hash.short): no connected node hosts \(participant); \(counters.unreachable) messages undelivered so far")
            }
            return
        }
    }

    // MARK: Views

    /// The leader's off-chain view of its field (`GET /v1/fields/{id}/local`).
    func view() -> FieldLocalView.Leader {
        let newest = core.newestSnapshot
        return FieldLocalView.Leader(
            payments: core.durableCount, newestSnapshot: newest,
            newestFullySigned: core.newestFullySigned?.snapshot.number ?? 0,
            unsigned: (core.unsigned(snapshot: newest) ?? []).map(\.description),
            balances: zip(roster.participants, core.durableBalances).map { FieldLocalView.Line(account: $0.description, balance: $1) },
            refused: counters.refused, undelivered: counters.unreachable, recovered: recovered, failure: failure)
    }

    var newestFullySigned: SignedFieldSnapshot? { core.newestFullySigned }

    /// The answer to a receipt dispute (DESIGN.md §6, `field-respond`): the newest fully signed snapshot, with the
    /// inclusion proof of the disputed payment in its payments tree; nil (and said why) while no fully signed
    /// snapshot covers that index yet (proposals go on, so one will) or when the log holds another payment there.
    func response(to dispute: FieldReceiptDispute) -> Result<MessagePayload, ResponseUnavailable> {
        guard let full = core.newestFullySigned, full.snapshot.paymentCount > dispute.index else {
            return .failure(.init(reason: "no fully signed snapshot covers payment \(dispute.index) yet"))
        }
        let hashes = core.paymentHashes
        guard Int(dispute.index) < hashes.count, hashes[Int(dispute.index)] == dispute.paymentHash else {
            return .failure(.init(reason: "the log holds another payment at index \(dispute.index): the receipt is not this leader's"))
        }
        let leaves = hashes[..<Int(full.snapshot.paymentCount)].map(FieldSnapshot.paymentLeaf)
        guard let proof = try? MerkleTree.inclusionProof(index: Int(dispute.index), leafHashes: Array(leaves)) else {
            return .failure(.init(reason: "payment \(dispute.index) is outside snapshot \(full.snapshot.number)"))
        }
        return .success(.fieldRespond(field: field, snapshot: full, proof: proof))
    }

    struct ResponseUnavailable: Error {
        var reason: String
    }

    /// Stops taking payments and waits until a snapshot covering every durable payment is fully signed; the
    /// participants that have not signed the newest snapshot when the time is up otherwise.
    func finalSnapshot(timeoutMilliseconds: UInt64) async -> Result<SignedFieldSnapshot, UnsignedParticipants> {
        closing = true
        let deadline = ChainService.now() + timeoutMilliseconds
        while ChainService.now() < deadline {
            // The newest proposal itself, so every participant's newest signed snapshot is the one closed.
            if waiting.isEmpty, let full = core.newestFullySigned, full.snapshot.paymentCount == core.durableCount,
               full.snapshot.number == core.newestSnapshot {
                return .success(full)
            }
            _ = await tick()
            try? await Task.sleep(for: .milliseconds(50))
        }
        closing = false
        return .failure(UnsignedParticipants(accounts: core.unsigned(snapshot: core.newestSnapshot) ?? roster.participants))
    }

    /// A cooperative close that did not go through: payments are taken again.
    func reopen() {
        closing = false
    }
    var durableCount: UInt64 { core.durableCount }
}

/// Gathers the answers to a payment batch, in order, and sends them as one `.answers` when the last is in.
actor AnswerCollector {
    private var answers: [FieldWireMessage?]
    private var remaining: Int
    private let reply: FieldReply

    init(count: Int, reply: FieldReply) {
        precondition(count > 0, "a batch holds a payment")
        answers = Array(repeating: nil, count: count)
        remaining = count
        self.reply = reply
    }

    func set(_ position: Int, _ answer: FieldWireMessage) async {
        guard answers[position] == nil else { return }   // a payment sent twice in one batch is answered once
        answers[position] = answer
        remaining -= 1
        if remaining == 0 { await reply.send(.answers(answers.compactMap { $0 })) }
    }
}
