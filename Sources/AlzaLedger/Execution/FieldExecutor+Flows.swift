import AlzaCore

/// Money in and out of an open field without closing it (D34): top-ups (`field-deposit`), withdrawals paid
/// against a fully signed snapshot that records them (`field-withdraw`), locks that carry part of a balance into
/// another field's opening, anchored by `field-lock-settle`; and the settlement arithmetic that keeps every
/// field's coins whole however those interleave with closes, disputes and annulments.
extension FieldExecutor {
    enum AnchorPurpose { case withdrawals, locks }

    /// A participant adds `amount` from its account to an open field; the leader credits it off chain and its
    /// snapshots count it (a settlement on a snapshot that does not pays it back).
    static func deposit(_ id: FieldId, amount: Amount, message: Message, context: inout TransactionContext) throws(LedgerError) {
        var record = try context.existingField(id)
        try requireMember(message, of: record, leaderAllowed: false)
        guard record.status == .open else { throw .fieldState(field: id, reason: "is \(record.status), not open") }
        guard amount > 0 else { throw .invalidPayload(code: .fieldDeposit, reason: "a deposit must be positive") }
        let sender = message.authorization[0].account
        guard let position = record.position(of: sender) else { preconditionFailure("requireMember checked \(sender)") }
        try debit(sender, amount, context: &context)
        record.flows[position].deposited = try Amounts.add(record.flows[position].deposited, amount)
        try context.setField(record)
    }

    /// A fully signed snapshot newer than the base becomes the base: every withdrawal it records beyond what was
    /// paid goes to its participant's account. A `field-withdraw` must pay something; a `field-lock-settle` must
    /// free some of the leader's bond (a lock the snapshot shows is no longer on the leader's word alone).
    static func anchor(_ id: FieldId, _ signed: SignedFieldSnapshot, releasing purpose: AnchorPurpose, message: Message,
                       context: inout TransactionContext) throws(LedgerError) {
        var record = try context.existingField(id)
        try requireMember(message, of: record, leaderAllowed: true)
        guard record.status == .open else { throw .fieldState(field: id, reason: "is \(record.status), not open") }
        guard signed.snapshot.number > record.base.number else {
            throw .invalidFieldSnapshot(field: id, reason: "snapshot \(signed.snapshot.number) is not newer than the anchored \(record.base.number)")
        }
        try verify(signed, of: record, chainId: context.chainId)
        let collateralBefore = record.collateralInUse
        var paid: Amount = 0
        for position in record.participants.indices {
            let recorded = signed.flows[position].withdrawn
            let already = record.flows[position].withdrawn
            guard recorded > already else { continue }
            try credit(record.participants[position], recorded - already, context: &context)
            paid = try Amounts.add(paid, recorded - already)
            record.flows[position].withdrawn = recorded
        }
        record.base = FieldSettlement(signed)
        switch purpose {
        case .withdrawals:
            guard paid > 0 else {
                throw .nothingToSettle(field: id, reason: "snapshot \(signed.snapshot.number) records no withdrawal beyond what was paid")
            }
        case .locks:
            guard record.collateralInUse < collateralBefore else {
                throw .nothingToSettle(field: id, reason: "snapshot \(signed.snapshot.number) shows no lock the leader's bond answers for")
            }
        }
        try context.setField(record)
    }

    /// The lock `lock` brings `amount` of its participant's balance in its source field into field `target`'s
    /// opening: signed by the participant for this target, receipted by the source's leader beyond the source's
    /// base (a lock an anchored snapshot already counts is settled there, not usable), and within what the source
    /// leader's bond still answers for. The source records the amount as withdrawn.
    static func takeLock(_ lock: FieldLock, into target: FieldId, amount: Amount,
                         context: inout TransactionContext) throws(LedgerError) {
        let source = lock.source
        func refuse(_ reason: String) -> LedgerError { .invalidFieldLock(source: source, reason: reason) }
        guard source != target else { throw refuse("a field cannot lock into itself") }
        var record = try context.existingField(source)
        guard record.status == .open else { throw .fieldState(field: source, reason: "is \(record.status), not open") }
        guard !record.leaderForfeited else { throw refuse("its leader's bond is forfeited") }
        guard lock.payment.payment.kind == .lock(target: target) else { throw refuse("the payment is not a lock for field \(target)") }
        guard lock.amount == amount else {
            throw refuse("the lock is for \(Amounts.format(lock.amount)), the deposit \(Amounts.format(amount))")
        }
        guard let position = record.position(of: lock.participant), lock.payment.payment.payee == lock.participant else {
            throw refuse("\(lock.participant.short) is not a participant there")
        }
        guard lock.payment.isSigned(chainId: context.chainId) else { throw refuse("the participant's signature is not valid") }
        guard lock.receipt.field == source, lock.receipt.paymentHash == lock.payment.hash else {
            throw refuse("the receipt is for another payment")
        }
        if let reason = lock.receipt.refusal(leader: record.leaderKey, chainId: context.chainId) {
            throw refuse("receipt \(lock.receipt.index): \(reason)")
        }
        guard lock.receipt.index >= record.base.paymentCount else {
            throw refuse("payment \(lock.receipt.index) is in the anchored snapshot \(record.base.number): settled there")
        }
        let outstanding = record.collateralInUse
        guard outstanding <= record.bond, amount <= record.bond - outstanding else {
            let total = outstanding > Amount.max - amount ? Amount.max : outstanding + amount
            throw refuse("the locks outstanding would be \(Amounts.format(total)), more than the leader's bond \(Amounts.format(record.bond))")
        }
        record.flows[position].withdrawn = try Amounts.add(record.flows[position].withdrawn, amount)
        try context.setField(record)
    }

    /// The shortfalls of a settlement are within what the leader's bond still holds: `collateralInUse` never exceeds
    /// it, so this holds for every record the codes make; should it ever not, the settlement is refused with the
    /// reason rather than creating coins or stopping the node.
    static func requireCovered(_ shortfall: Amount, by record: FieldRecord) throws(LedgerError) {
        guard shortfall <= record.bond else {
            throw .fieldState(field: record.id, reason: "its shortfall \(Amounts.format(shortfall)) is more than the bond \(Amounts.format(record.bond)) that answers for it")
        }
    }

    /// A snapshot's flows fit the record: only its participants, no withdrawal below the base, no top-up the
    /// chain has not credited.
    static func checkFlows(_ signed: SignedFieldSnapshot, of record: FieldRecord) throws(LedgerError) {
        let id = record.id
        if let highest = signed.flows.highestPosition, highest >= record.participants.count {
            throw .invalidFieldSnapshot(field: id, reason: "flows name participant \(highest) of \(record.participants.count)")
        }
        for position in record.participants.indices {
            let flow = signed.flows[position]
            guard flow.withdrawn >= record.base.flows[position].withdrawn else {
                throw .invalidFieldSnapshot(field: id, reason: "participant \(position) withdrew less than the anchored snapshot \(record.base.number) records")
            }
            guard flow.deposited <= record.flows[position].deposited else {
                throw .invalidFieldSnapshot(field: id, reason: "participant \(position) has top-ups the chain has not credited")
            }
        }
        if record.base.number > 0, signed.snapshot.number == record.base.number,
           record.commitment(of: FieldSettlement(signed)) != record.commitment(of: record.base) {
            throw .invalidFieldSnapshot(field: id, reason: "it is not the anchored snapshot \(record.base.number)")
        }
        guard signed.snapshot.number >= record.base.number else {
            throw .invalidFieldSnapshot(field: id, reason: "snapshot \(signed.snapshot.number) is older than the anchored \(record.base.number)")
        }
    }

    /// An unanswered receipt dispute: the round never happened for the chain. Every participant is owed its line
    /// of the base snapshot (the opening, unless one was anchored) — what a lock brought goes back to its source
    /// field while that is unsettled (the lock undone; the source's leader credits it like a top-up) — and the
    /// disputer gets the bond, less any shortfall.
    static func annul(_ record: inout FieldRecord, disputer: Address, context: inout TransactionContext) throws(LedgerError) {
        let (amounts, shortfall) = try record.owed(on: record.base)
        try requireCovered(shortfall, by: record)
        for (position, amount) in amounts.enumerated() where amount > 0 {
            let participant = record.participants[position]
            if let locked = record.lockedDeposits.first(where: { Int($0.position) == position }),
               var source = try context.field(locked.source), source.status == .open || source.isClosing,
               let there = source.position(of: participant) {
                source.flows[there].deposited = try Amounts.add(source.flows[there].deposited, amount)
                try context.setField(source)
            } else {
                try credit(participant, amount, context: &context)
            }
        }
        let toDisputer = record.bond - shortfall
        if toDisputer > 0 { try credit(disputer, toDisputer, context: &context) }
        record.bond = 0
        record.leaderForfeited = true
        record.status = .annulled(atHeight: context.block.height)
        try context.setField(record)
    }
}
