import AlzaCore
import AlzaField
import AlzaLedger
import AlzaNet
import Logging

/// The satellite's side of payment fields (DESIGN.md §6): one `FieldParticipantCore` per field and wallet
/// account in it, made from the chain's record of the field when it opens. Every input of a core is journaled
/// (a payment and a signature durable before they leave; receipts with the next group write), so a restarted
/// satellite replays its journal and holds the receipts and signed snapshots it had. It consents to
/// fields by policy, pays through the leader, and watches the chain for closes it must answer
/// (`FieldParticipantCore.reaction(to:now:)`): the dispute or finalize is submitted from the wallet by itself.
public actor FieldParticipants {
    struct Key: Hashable, Sendable {
        var field: FieldId
        var account: Address
    }

    struct Entry: Sendable {
        var core: FieldParticipantCore
        let journal: FieldJournalWriter
        /// Payments sent whose answer was lost (the leader unreachable): sent again, in order, before the next one.
        var unanswered: [SignedFieldPayment] = []
    }

    /// When the wallet signs a `field-open` for a leader that asks (its consent).
    public struct ConsentPolicy: Sendable, Equatable {
        public var automatic: Bool
        public var maximumDeposit: Amount

        public init(automatic: Bool = false, maximumDeposit: Amount = 0) {
            self.automatic = automatic
            self.maximumDeposit = maximumDeposit
        }
    }

    let keys: [Address: SigningKey]
    let chain: ChainService
    let service: FieldService
    let policy: ConsentPolicy
    let logger: Logger
    var entries: [Key: Entry] = [:]
    private var watcher: Task<Void, Never>?
    /// The newest reaction submitted per field and when, so one is not sent again every round.
    var reacted: [FieldId: (payload: MessagePayload, at: UInt64)] = [:]
    /// Locks being made (target field, account): a second request meanwhile waits for no second exit.
    var locking: Set<Key> = []
    /// Inputs refused, by error code (a forged receipt, a bad proposal, a message for an unknown field…).
    public internal(set) var refusals: [String: UInt64] = [:]

    init(keys: [SigningKey], chain: ChainService, service: FieldService, policy: ConsentPolicy, logger: Logger) {
        self.keys = Dictionary(keys.map { (Address($0.publicKey), $0) }, uniquingKeysWith: { first, _ in first })
        self.chain = chain
        self.service = service
        self.policy = policy
        self.logger = logger
    }

    public nonisolated var accounts: [Address] { keys.keys.sorted() }

    func start() async throws(NodeError) {
        try await service.attach(self, accounts: accounts)
        watcher = Task { [weak self] in
            while !Task.isCancelled {
                await self?.watchChain()
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    func stop() {
        watcher?.cancel()
        watcher = nil
    }

    // MARK: Cores

    /// The core of `account` in `field`, made (and its journal replayed) when the chain shows the field open with
    /// the account in it; nil otherwise.
    func entry(_ field: FieldId, _ account: Address) async -> Key? {
        let key = Key(field: field, account: account)
        if entries[key] != nil { return key }
        guard let signingKey = keys[account], let record = await chain.snapshot().state.fields[field],
              record.status != .claimed, record.participants.contains(account) else { return nil }
        let roster = FieldRoster(field: field, chainId: await chain.chainId, leader: record.leaderKey,
                                 participants: record.participants, openingBalances: record.deposits)
        let (records, writer) = await service.journal(for: .participant(field, account))
        // Another input may have made it while this one awaited (actor reentrancy): one core per key.
        if entries[key] != nil { return key }
        do throws(FieldError) {
            let core = try FieldParticipantCore(roster: roster, key: signingKey, replaying: records)
            entries[key] = Entry(core: core, journal: writer)
            if !records.isEmpty { logger.info("field \(field.hash.short): \(account) replayed \(records.count) journal records") }
            return key
        } catch {
            logger.error("field \(field.hash.short): the journal of \(account) cannot be replayed: \(error.description)")
            return nil
        }
    }

    func refuse(_ code: String, _ what: String) {
        refusals[code, default: 0] += 1
        if refusals[code]!.nonzeroBitCount == 1 { logger.warning("field input refused (\(code)): \(what); \(refusals[code]!) so far") }
    }

    // MARK: Paying

    /// A payment to make: to whom, how much, and an optional memo (sealed to the payee); or an exit (D34) of
    /// the payer's own (`kind` a withdrawal or a lock, `payee` the payer).
    public struct PaymentOrder: Sendable {
        public var payee: Address
        public var amount: Amount
        public var memo: [UInt8]
        public var kind: FieldPaymentKind

        public init(payee: Address, amount: Amount, memo: [UInt8] = [], kind: FieldPaymentKind = .transfer) {
            self.payee = payee
            self.amount = amount
            self.memo = memo
            self.kind = kind
        }
    }

    public typealias PaymentResult = Result<(SignedFieldPayment, FieldReceipt), FieldPaymentFailure>

    /// Signs a payment from `account` (or the wallet's only account in the field), journals it, sends it to the
    /// leader and returns the leader's receipt.
    public func pay(field: FieldId, from account: Address?, to payee: Address, amount: Amount,
                    memo: [UInt8] = []) async throws(FieldPaymentFailure) -> (SignedFieldPayment, FieldReceipt) {
        let results = try await pay(field: field, from: account, [PaymentOrder(payee: payee, amount: amount, memo: memo)])
        return try results[0].get()
    }

    /// Signs `orders` from one account in sequence, journals them in one write and sends them to the leader as
    /// one batch: one round trip, one result per order. An order the core refuses to sign is not sent.
    public func pay(field: FieldId, from account: Address?, _ orders: [PaymentOrder]) async throws(FieldPaymentFailure) -> [PaymentResult] {
        precondition(!orders.isEmpty && orders.count <= FieldWireMessage.maximumBatch, "a batch holds 1...\(FieldWireMessage.maximumBatch) payments")
        let held = await accountsIn(field)
        guard let payer = account ?? held.first, let key = await entry(field, payer) else {
            throw .notHeld(field: field, account: account)
        }
        try await resendUnanswered(key)
        var results: [PaymentResult?] = Array(repeating: nil, count: orders.count)
        var signed: [(position: Int, payment: SignedFieldPayment)] = []
        for (position, order) in orders.enumerated() {
            do throws(FieldError) {
                let payment: SignedFieldPayment
                switch order.kind {
                case .transfer: payment = try entries[key]!.core.pay(to: order.payee, amount: order.amount, memo: order.memo)
                case .withdrawal: payment = try entries[key]!.core.withdraw(amount: order.amount)
                case .lock(let target): payment = try entries[key]!.core.lock(amount: order.amount, for: target)
                }
                signed.append((position, payment))
            } catch {
                results[position] = .failure(.refused(code: error.code, reason: error.description))
            }
        }
        if !signed.isEmpty {
            do throws(StorageError) {
                let journal = entries[key]!.journal
                try await journal.durable(journal.enqueue(signed.map { FieldParticipantJournalEntry.paid($0.payment).canonicalBytes }))
            } catch {
                throw .storage(error.description)
            }
            let answered = await send(signed.map(\.payment), key)
            for (position, payment) in signed { results[position] = answered[payment.hash] }
        }
        // Payments refused only because one before them in the batch was (their sequence numbers skipped ahead)
        // are signed again after it, once.
        let skipped = results.indices.filter { position in
            if case .failure(.refused(code: "field.skipped-sequence", _))? = results[position] { return true }
            return false
        }
        let otherwiseRefused = results.contains { if case .failure(.refused(let code, _))? = $0 { code != "field.skipped-sequence" } else { false } }
        if !skipped.isEmpty && otherwiseRefused && orders.count > 1 {
            let again = try await pay(field: field, from: payer, skipped.map { orders[$0] })
            for (position, result) in zip(skipped, again) { results[position] = result }
        }
        return results.map { $0 ?? .failure(.leaderUnreachable("no answer")) }
    }

    /// Sends a batch (in sequence order) and handles the answers: receipts kept and journaled; a payment
    /// overtaken by its predecessor on the way (a concurrent batch) sent again; refusals taken back from the
    /// newest down, freeing their sequence numbers. An unreachable leader leaves the batch to be sent first next time.
    private func send(_ batch: [SignedFieldPayment], _ key: Key) async -> [Hash: PaymentResult] {
        var results: [Hash: PaymentResult] = [:]
        var pending = batch
        for attempt in 0..<4 where !pending.isEmpty {
            let answer: FieldWireMessage
            do {
                answer = try await service.request(pending.count == 1 ? .pay(pending[0]) : .payBatch(pending),
                                                   to: FieldService.address(ofLeader: key.field),
                                                   onlyHost: entries[key]?.core.roster.leader.hex)
            } catch {
                guard attempt == 3 else {
                    try? await Task.sleep(for: .milliseconds(100 << attempt))
                    continue
                }
                entries[key]?.unanswered += pending
                for payment in pending { results[payment.hash] = .failure(.leaderUnreachable(error.description)) }
                return results
            }
            let answers: [FieldWireMessage]
            switch answer {
            case .answers(let list) where list.count == pending.count: answers = list
            case .receipt where pending.count == 1, .refused where pending.count == 1: answers = [answer]
            default:
                for payment in pending {
                    results[payment.hash] = .failure(.refused(code: "field.unexpected-answer", reason: "the leader answered with \(answer)"))
                }
                return results
            }
            var again: [SignedFieldPayment] = []
            for (payment, answer) in zip(pending, answers) {
                switch answer {
                case .receipt(let receipt):
                    results[payment.hash] = await keep(receipt, for: payment, key)
                case .refused(let code, _) where code == "field.skipped-sequence" && attempt < 3:
                    again.append(payment)
                case .refused(let code, let reason) where code == "field.leader-failed":
                    // The payment may be durable on the leader's side: not taken back, sent again first next time.
                    entries[key]?.unanswered.append(payment)
                    results[payment.hash] = .failure(.leaderUnreachable(reason))
                case .refused(let code, let reason):
                    results[payment.hash] = .failure(.refused(code: code, reason: reason))
                default:
                    results[payment.hash] = .failure(.refused(code: "field.unexpected-answer", reason: "the leader answered with \(answer)"))
                }
            }
            pending = again
            if !again.isEmpty { try? await Task.sleep(for: .milliseconds(10 << attempt)) }
        }
        for payment in batch.reversed() {
            guard case .failure(.refused)? = results[payment.hash], entries[key]!.core.refused(payment) else { continue }
            entries[key]!.journal.enqueue([FieldParticipantJournalEntry.refused(payment).canonicalBytes])
        }
        return results
    }

    private func keep(_ receipt: FieldReceipt, for payment: SignedFieldPayment, _ key: Key) async -> PaymentResult {
        do throws(FieldError) {
            try entries[key]!.core.received(receipt, for: payment)
        } catch {
            refuse(error.code, "receipt \(receipt.index) from the leader of \(key.field.hash.short)")
            return .failure(.refused(code: error.code, reason: error.description))
        }
        // Rides along with the next journal write: the receipt of its own payment is not what keeps the payer's
        // money (the leader's log holds the payment; leaving it out only leaves the payer more).
        entries[key]!.journal.enqueue([FieldParticipantJournalEntry.receipted(receipt, payment).canonicalBytes])
        return .success((payment, receipt))
    }

    private func resendUnanswered(_ key: Key) async throws(FieldPaymentFailure) {
        guard let pending = entries[key]?.unanswered, !pending.isEmpty else { return }
        entries[key]?.unanswered.removeAll()
        let results = await send(pending, key)
        if case .failure(let failure)? = pending.lazy.compactMap({ results[$0.hash] }).first(where: { if case .failure = $0 { true } else { false } }) {
            throw failure
        }
    }

    func accountsIn(_ field: FieldId) async -> [Address] {
        guard let record = await chain.snapshot().state.fields[field] else { return [] }
        return record.participants.filter { keys[$0] != nil }
    }
}

/// Why a payment from this node's wallet was not receipted.
public enum FieldPaymentFailure: AlzaError, Equatable {
    case notHeld(field: FieldId, account: Address?)
    case refused(code: String, reason: String)
    case leaderUnreachable(String)
    case storage(String)

    public var code: String {
        switch self {
        case .notHeld: "field.not-held"
        case .refused(let code, _): code
        case .leaderUnreachable: "field.leader-unreachable"
        case .storage: "storage.io"
        }
    }

    public var description: String {
        switch self {
        case .notHeld(let field, let account):
            "this node's wallet holds \(account.map { "no key of \($0) in" } ?? "no account in") open field \(field)"
        case .refused(_, let reason): reason
        case .leaderUnreachable(let reason): "the field's leader did not answer (the payment is kept and sent again first): \(reason)"
        case .storage(let reason): "the field journal failed: \(reason)"
        }
    }
}
