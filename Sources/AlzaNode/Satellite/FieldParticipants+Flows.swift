import AlzaCore
import AlzaField
import AlzaLedger

/// Money in and out of the wallet's open fields (D34): top-ups from the wallet's account (`field-deposit`),
/// withdrawals (an exit payment, then `field-withdraw` once a fully signed snapshot records it, submitted by the
/// chain watcher), and locks a target field's leader asks for when it opens with one of the wallet's accounts.
extension FieldParticipants {
    /// Submits `field-deposit` of `amount` from `account` (or the wallet's only account) in `field`.
    func deposit(field: FieldId, from account: Address?, amount: Amount) async -> Result<Hash, FieldPaymentFailure> {
        guard let record = await chain.snapshot().state.fields[field] else {
            return .failure(.refused(code: LedgerError.unknownField(field).code, reason: LedgerError.unknownField(field).description))
        }
        guard let payer = account ?? record.participants.first(where: { keys[$0] != nil }), keys[payer] != nil,
              record.participants.contains(payer) else {
            return .failure(.notHeld(field: field, account: account))
        }
        return await submit(.fieldDeposit(field: field, amount: amount), from: payer, record: record)
    }

    /// Signs an exit of `kind` for `amount` from `account` in `field` and returns the leader's receipt.
    func exit(field: FieldId, from account: Address?, kind: FieldPaymentKind, amount: Amount) async throws(FieldPaymentFailure)
        -> (SignedFieldPayment, FieldReceipt) {
        precondition(kind.isExit, "an exit is a withdrawal or a lock")
        let held = await accountsIn(field)
        guard let payer = account ?? held.first else { throw .notHeld(field: field, account: account) }
        let results = try await pay(field: field, from: payer, [PaymentOrder(payee: payer, amount: amount, kind: kind)])
        return try results[0].get()
    }

    /// A target field's leader asks for a lock of `participant`'s balance in `source` (D34): given by the same
    /// policy as consents, only to the leader that claimed `target` on chain, as the exit payment and its receipt.
    func answerLock(source: FieldId, target: FieldId, participant: Address, amount: Amount, account: Address,
                    from peer: String) async -> FieldWireMessage {
        guard participant == account, keys[account] != nil else {
            return .refused(code: "field.not-held", reason: "this node's wallet holds no key of \(participant)")
        }
        guard policy.automatic else {
            return .refused(code: "field.consent-declined", reason: "this wallet locks for fields only when configured to (fieldConsent)")
        }
        guard amount <= policy.maximumDeposit else {
            return .refused(code: "field.consent-declined",
                            reason: "a lock of \(Amounts.format(amount)) ALZA is over this wallet's limit of \(Amounts.format(policy.maximumDeposit))")
        }
        // Asked again (the open was retried, or answers were lost): the same lock, never a second exit.
        if let given = ownLocks(for: target, account: account).first {
            guard await chain.snapshot().state.fields[target]?.leaderKey.hex == peer else {
                return .refusal(FieldError.notFromLeader(sender: peer))
            }
            guard given.source == source, given.amount == amount else {
                return .refused(code: "field.consent-declined", reason: "\(account) already locked \(Amounts.format(given.amount)) ALZA in field \(given.source) for field \(target)")
            }
            return .lock(given)
        }
        // The leader saw its claim in a block this node may not have yet: give the chain a few slots.
        var record = await chain.snapshot().state.fields[target]
        let deadline = ChainService.now() + 10_000
        while record?.status != .claimed && ChainService.now() < deadline {
            try? await Task.sleep(for: .milliseconds(100))
            record = await chain.snapshot().state.fields[target]
        }
        guard let record, record.status == .claimed else {
            return .refused(code: "field.consent-declined", reason: "field \(target) is not claimed on chain")
        }
        guard peer == record.leaderKey.hex else { return .refusal(FieldError.notFromLeader(sender: peer)) }
        let making = Key(field: target, account: account)
        guard !locking.contains(making), ownLocks(for: target, account: account).isEmpty else {
            return .refused(code: "field.lock-in-progress", reason: "a lock of \(account) for field \(target) is being made; ask again")
        }
        locking.insert(making)
        defer { locking.remove(making) }
        do throws(FieldPaymentFailure) {
            let (payment, receipt) = try await exit(field: source, from: account, kind: .lock(target: target), amount: amount)
            logger.info("locked \(Amounts.format(amount)) ALZA of \(account) in field \(source.hash.short) for field \(target.hash.short)")
            return .lock(FieldLock(payment: payment, receipt: receipt))
        } catch {
            return .refused(code: error.code, reason: error.description)
        }
    }

    /// The receipted locks `account` made for field `target`, in any field this wallet takes part in.
    func ownLocks(for target: FieldId, account: Address) -> [FieldLock] {
        entries.filter { $0.key.account == account }.flatMap { _, entry in
            entry.core.receipted.values.filter { $0.payment.payment.payer == account && $0.payment.payment.kind == .lock(target: target) }
                .map { FieldLock(payment: $0.payment, receipt: $0.receipt) }
        }
    }

    /// Why a `field-open` for `target` must not be signed for `account` as far as its locks go: a lock it carries
    /// for the account that this wallet did not make, or one this wallet made for the target that it leaves out
    /// (the account would pay its deposit twice, from its account and from the source field).
    func lockRefusal(locks: [FieldLock], target: FieldId, account: Address) -> String? {
        let carried = locks.filter { $0.participant == account }
        let own = ownLocks(for: target, account: account)
        if let foreign = carried.first(where: { lock in !own.contains { $0.payment.hash == lock.payment.hash } }) {
            return "the field-open carries a lock of \(account) in field \(foreign.source) this wallet did not make"
        }
        if carried.isEmpty, let left = own.first {
            return "the field-open leaves out the lock \(account) made in field \(left.source) for it"
        }
        return nil
    }

    /// For the wallet's accounts in an open field: the chain's top-ups to their cores as of the last irreversible
    /// block (`final`; journaled first, so a replayed signature finds them), and the `field-withdraw` their newest
    /// fully signed snapshot calls for.
    func followFlows(_ record: FieldRecord, state: LedgerState, final: FieldRecord?, finalBlockTime: UInt64) async {
        for account in record.participants where keys[account] != nil {
            guard let key = await entry(record.id, account), let position = record.position(of: account),
                  var core = entries[key]?.core else { continue }
            // A close signed and lapsed (the final block is past its closeBy, the field still open): journaled,
            // and payments beyond it count again (D36).
            if let signed = core.closeSignedAt, signed.closeBy != .max, finalBlockTime > signed.closeBy, final?.status == .open {
                entries[key]!.journal.enqueue([FieldParticipantJournalEntry.closeLapsed(finalBlockTime: finalBlockTime).canonicalBytes])
                _ = core.closeLapsed(finalBlockTime: finalBlockTime)
                _ = entries[key]!.core.closeLapsed(finalBlockTime: finalBlockTime)
                logger.info("field \(record.id.hash.short): the close \(account) signed lapsed at \(signed.closeBy)")
            }
            let credited = final?.flows[position].deposited ?? 0
            if credited > core.creditedOnChain {
                entries[key]!.journal.enqueue([FieldParticipantJournalEntry.credited(depositedTotal: credited).canonicalBytes])
                core.credited(depositedTotal: credited)
                entries[key]!.core.credited(depositedTotal: credited)
            }
            guard let claim = core.withdrawalClaim(record: record, lockPending: { state.fields[$0]?.status == .claimed }) else { continue }
            let now = ChainService.now()
            if let last = reacted[record.id], last.payload == claim, now < last.at + FieldTimings.reactionRepeatMilliseconds { continue }
            reacted[record.id] = (claim, now)
            await submit(claim, from: account, record: record)
        }
    }
}
