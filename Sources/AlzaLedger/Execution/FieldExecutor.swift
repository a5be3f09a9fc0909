import AlzaCore

/// The payment-field codes on chain (DESIGN.md §6): claim, open, cooperative close, solo close, disputes (a newer
/// snapshot, or a receipt the leader must answer), respond, finalize (or annul) and leader equivocation. Every coin a field holds is a bond or a deposit taken from an account, and a settlement gives back
/// exactly the deposits (as the final balances) and the bond, plus the leader's reward minted from 0x0.
enum FieldExecutor {
    static func claim(nonce: UInt64, leaderKey: PublicKey, bond: Amount, leader: Address,
                      context: inout TransactionContext) throws(LedgerError) {
        let id = FieldId(leader: leaderKey, nonce: nonce)
        guard try context.field(id) == nil else { throw .fieldExists(id) }
        guard bond >= FieldRules.minimumBond else {
            throw .invalidPayload(code: .fieldClaim, reason: "the bond \(Amounts.format(bond)) is below the minimum \(Amounts.format(FieldRules.minimumBond))")
        }
        try debit(leader, bond, context: &context)
        try context.setField(FieldRecord(id: id, leader: leader, leaderKey: leaderKey, bond: bond,
                                         claimedAtHeight: context.block.height))
    }

    static func open(_ id: FieldId, deposits: [AmountEntry], challengeSeconds: UInt32, locks: [FieldLock], consents: [FieldConsent],
                     message: Message, context: inout TransactionContext) throws(LedgerError) {
        var record = try context.existingField(id)
        guard message.authorization.first?.account == record.leader else {
            throw .missingAuthorization(account: record.leader, code: .fieldOpen)
        }
        guard record.status == .claimed else { throw .fieldState(field: id, reason: "is \(record.status), not claimed") }
        guard (FieldRules.minimumParticipants...FieldRules.maximumParticipants).contains(deposits.count) else {
            throw .invalidPayload(code: .fieldOpen, reason: "a field has \(FieldRules.minimumParticipants)...\(FieldRules.maximumParticipants) participants, not \(deposits.count)")
        }
        guard Set(deposits.map(\.account)).count == deposits.count else {
            throw .invalidPayload(code: .fieldOpen, reason: "a participant appears twice")
        }
        guard (1...FieldRules.maximumChallengeSeconds).contains(challengeSeconds) else {
            throw .invalidPayload(code: .fieldOpen, reason: "the challenge window must be 1...\(FieldRules.maximumChallengeSeconds) s")
        }
        guard Set(locks.map(\.participant)).count == locks.count else {
            throw .invalidPayload(code: .fieldOpen, reason: "a participant brings two locks")
        }
        var lockedDeposits: [FieldLockedDeposit] = []
        for (position, deposit) in deposits.enumerated() {
            guard !deposit.account.isCoinbase else { throw .invalidPayload(code: .fieldOpen, reason: "0x0 cannot join a field") }
            // The participant's authorization of this message is its consent (checked against its permission),
            // or a consent in the payload (D35).
            if !message.authorization.contains(where: { $0.account == deposit.account }) {
                guard let consent = consents.first(where: { $0.account == deposit.account }) else {
                    throw .missingAuthorization(account: deposit.account, code: .fieldOpen)
                }
                try checkConsent(consent, to: FieldConsent.signedBytes(
                    field: id, leader: record.leader, deposits: deposits, challengeSeconds: challengeSeconds, locks: locks,
                    account: deposit.account, expiry: consent.expiry), context: &context)
            }
            guard deposit.amount > 0 else { throw .invalidPayload(code: .fieldOpen, reason: "deposits must be positive") }
            if let lock = locks.first(where: { $0.participant == deposit.account }) {
                try takeLock(lock, into: id, amount: deposit.amount, context: &context)
                lockedDeposits.append(FieldLockedDeposit(position: UInt32(position), source: lock.source))
            } else {
                try debit(deposit.account, deposit.amount, context: &context)
            }
        }
        guard lockedDeposits.count == locks.count else {
            throw .invalidPayload(code: .fieldOpen, reason: "a lock is for no participant of the field")
        }
        record.participants = deposits.map(\.account)
        record.deposits = deposits.map(\.amount)
        record.participantsHash = FieldSnapshot.participantsHash(record.participants)
        record.base = .opening(participants: record.participants, deposits: record.deposits)
        record.lockedDeposits = lockedDeposits
        record.challengeSeconds = challengeSeconds
        record.status = .open
        record.openedAtHeight = context.block.height
        try context.setField(record)
    }

    /// Cooperative close: a snapshot every participant signed *as the last* (domain `field-close`) settles the field
    /// at once. Snapshot signatures (domain `field-commitment`) do not: with them an old snapshot could close a
    /// field with no window to dispute it.
    static func close(_ id: FieldId, _ signed: SignedFieldSnapshot, closeBy: UInt64, message: Message,
                      context: inout TransactionContext) throws(LedgerError) {
        var record = try context.existingField(id)
        try requireMember(message, of: record, leaderAllowed: true)
        guard record.status == .open else { throw .fieldState(field: id, reason: "is \(record.status), not open") }
        guard context.block.time <= closeBy else { throw .fieldState(field: id, reason: "its close signatures expired at \(closeBy)") }
        try verify(signed, of: record, chainId: context.chainId, domain: FieldDomains.close, closeBy: closeBy)
        try settle(&record, FieldSettlement(signed), context: &context)
    }

    /// Solo close: the posted snapshot settles when the challenge window has passed without a newer one.
    static func soloClose(_ id: FieldId, _ signed: SignedFieldSnapshot, message: Message,
                          context: inout TransactionContext) throws(LedgerError) {
        var record = try context.existingField(id)
        try requireMember(message, of: record, leaderAllowed: false)
        guard record.status == .open else { throw .fieldState(field: id, reason: "is \(record.status), not open") }
        try verify(signed, of: record, chainId: context.chainId)
        let deadline = context.block.time + UInt64(record.challengeSeconds) * 1_000
        record.status = .closing(FieldSettlement(signed), deadline: deadline, dispute: nil)
        try context.setField(record)
    }

    /// Within the window: (a) a fully signed snapshot numbered above the posted one replaces it; (b) a leader's
    /// receipt for a payment beyond the posted snapshot waits for the leader's `field-respond`. The deadline
    /// stays: a window is bounded however many disputes come.
    static func dispute(_ id: FieldId, _ claim: FieldDisputeClaim, message: Message,
                        context: inout TransactionContext) throws(LedgerError) {
        var record = try context.existingField(id)
        try requireMember(message, of: record, leaderAllowed: false)
        let (posted, deadline, pending) = try closingWindow(of: record, at: context.block.time)
        switch claim {
        case .newerSnapshot(let signed):
            guard signed.snapshot.number > posted.number else {
                throw .invalidFieldSnapshot(field: id, reason: "snapshot \(signed.snapshot.number) is not newer than the posted \(posted.number)")
            }
            try verify(signed, of: record, chainId: context.chainId)
            // A newer snapshot covering the disputed payment answers the dispute too.
            let answered = pending.map { signed.snapshot.paymentCount > $0.index } ?? true
            record.status = .closing(FieldSettlement(signed), deadline: deadline, dispute: answered ? nil : pending)
        case .receipt(let receipt):
            guard pending == nil else { throw .fieldState(field: id, reason: "a receipt dispute is already waiting for the leader") }
            guard receipt.field == id else { throw .invalidFieldSnapshot(field: id, reason: "the receipt is for field \(receipt.field)") }
            if let reason = receipt.refusal(leader: record.leaderKey, chainId: context.chainId) {
                throw .invalidFieldSnapshot(field: id, reason: "receipt \(receipt.index): \(reason)")
            }
            guard receipt.index >= posted.paymentCount else {
                throw .invalidFieldSnapshot(field: id, reason: "receipt \(receipt.index) is within the posted snapshot's \(posted.paymentCount) payments")
            }
            let dispute = FieldReceiptDispute(index: receipt.index, paymentHash: receipt.paymentHash,
                                              disputer: message.authorization[0].account)
            record.status = .closing(posted, deadline: deadline, dispute: dispute)
        }
        try context.setField(record)
    }

    /// The answer to a receipt dispute: a fully signed snapshot holding the disputed payment at its index.
    static func respond(_ id: FieldId, _ signed: SignedFieldSnapshot, proof: [Hash], message: Message,
                        context: inout TransactionContext) throws(LedgerError) {
        var record = try context.existingField(id)
        try requireMember(message, of: record, leaderAllowed: true)
        let (_, deadline, pending) = try closingWindow(of: record, at: context.block.time)
        guard let dispute = pending else { throw .fieldState(field: id, reason: "no receipt dispute waits for an answer") }
        try verify(signed, of: record, chainId: context.chainId)
        let snapshot = signed.snapshot
        guard snapshot.paymentCount > dispute.index,
              (try? MerkleTree.verifyInclusion(leafHash: FieldSnapshot.paymentLeaf(dispute.paymentHash), index: Int(dispute.index),
                                               treeSize: Int(snapshot.paymentCount), proof: proof, root: snapshot.paymentsRoot)) != nil
        else {
            throw .invalidFieldSnapshot(field: id, reason: "snapshot \(snapshot.number) does not hold payment \(dispute.index) of the disputed receipt")
        }
        record.status = .closing(FieldSettlement(signed), deadline: deadline, dispute: nil)
        try context.setField(record)
    }

    /// After the window: the posted snapshot settles, or an unanswered receipt dispute annuls the field.
    static func finalize(_ id: FieldId, context: inout TransactionContext) throws(LedgerError) {
        var record = try context.existingField(id)
        guard case .closing(let posted, let deadline, let dispute) = record.status else {
            throw .fieldState(field: id, reason: "is \(record.status), not closing")
        }
        guard context.block.time >= deadline else {
            throw .fieldState(field: id, reason: "the challenge window is open until \(deadline)")
        }
        guard let dispute else {
            try settle(&record, posted, context: &context)
            return
        }
        try annul(&record, disputer: dispute.disputer, context: &context)
    }

    /// Two receipts of the leader for one index and different payments. The bond goes to the sender, less what it
    /// still answers for (locks, D34); an open field starts closing from its base snapshot (a window for anyone's
    /// newer fully signed snapshot).
    static func equivocation(_ id: FieldId, _ first: FieldReceipt, _ second: FieldReceipt, message: Message,
                             context: inout TransactionContext) throws(LedgerError) {
        var record = try context.existingField(id)
        guard !record.leaderForfeited else { throw .fieldState(field: id, reason: "its leader's bond is already forfeited") }
        guard first.field == id, second.field == id, first.index == second.index, first.paymentHash != second.paymentHash else {
            throw .invalidFieldSnapshot(field: id, reason: "the receipts are not two payments of this field at one index")
        }
        for receipt in [first, second] {
            if let reason = receipt.refusal(leader: record.leaderKey, chainId: context.chainId) {
                throw .invalidFieldSnapshot(field: id, reason: "receipt \(receipt.index): \(reason)")
            }
        }
        guard let sender = message.authorization.first?.account else {
            throw .invalidPayload(code: .fieldEquivocation, reason: "the message has no authorizer")
        }
        switch record.status {
        case .open:
            let deadline = context.block.time + UInt64(record.challengeSeconds) * 1_000
            record.status = .closing(record.base, deadline: deadline, dispute: nil)
        case .closing:
            break
        case .claimed, .closed, .annulled:
            throw .fieldState(field: id, reason: "is \(record.status)")
        }
        let reserved = min(record.bond, record.collateralInUse)
        if record.bond > reserved { try credit(sender, record.bond - reserved, context: &context) }
        record.bond = reserved
        record.bondClaimant = sender
        record.leaderForfeited = true
        try context.setField(record)
    }

    // MARK: Checks

    /// A consent in the payload: not expired, and signatures of the terms that satisfy the account's active
    /// permission (as an authorization would).
    private static func checkConsent(_ consent: FieldConsent, to terms: [UInt8], context: inout TransactionContext) throws(LedgerError) {
        let account = consent.account
        guard context.block.time <= consent.expiry else {
            throw .invalidPayload(code: .fieldOpen, reason: "the consent of \(account.short) expired at \(consent.expiry)")
        }
        var signers: Set<PublicKey> = []
        for entry in consent.signatures {
            guard entry.key.isValidSignature(entry.signature, for: terms, domain: FieldConsent.domain, chainId: context.chainId) else {
                throw .invalidPayload(code: .fieldOpen, reason: "a signature in the consent of \(account.short) is not valid for the field's terms")
            }
            signers.insert(entry.key)
        }
        guard try context.existingAccount(account).active.isSatisfied(by: signers) else {
            throw .missingAuthorization(account: account, code: .fieldOpen)
        }
    }

    /// The posted snapshot, deadline and pending receipt dispute of a field whose window is open at `time`.
    private static func closingWindow(of record: FieldRecord, at time: UInt64)
        throws(LedgerError) -> (FieldSettlement, UInt64, FieldReceiptDispute?) {
        guard case .closing(let posted, let deadline, let dispute) = record.status else {
            throw .fieldState(field: record.id, reason: "is \(record.status): there is no posted snapshot to dispute")
        }
        guard time < deadline else { throw .fieldState(field: record.id, reason: "the challenge window ended at \(deadline)") }
        return (posted, deadline, dispute)
    }

    static func requireMember(_ message: Message, of record: FieldRecord, leaderAllowed: Bool) throws(LedgerError) {
        guard let sender = message.authorization.first?.account else {
            throw .invalidPayload(code: message.code, reason: "the message has no authorizer")
        }
        guard record.participants.contains(sender) || (leaderAllowed && sender == record.leader) else {
            throw .fieldState(field: record.id, reason: "\(sender.short) is not \(leaderAllowed ? "its leader or " : "")a participant")
        }
    }

    /// Fully signed, consistent and conserving: one balance per participant, balances and withdrawals summing to
    /// the deposits and the top-ups the snapshot counts, the balances hash over them, every participant's signature
    /// on the commitment, and (D34) not behind the anchored base: no earlier number, no withdrawal undone, no top-up
    /// the chain has not seen.
    static func verify(_ signed: SignedFieldSnapshot, of record: FieldRecord, chainId: Hash,
                       domain: SigningDomain = FieldDomains.commitment, closeBy: UInt64 = .max) throws(LedgerError) {
        let id = record.id
        let snapshot = signed.snapshot
        guard snapshot.field == id else { throw .invalidFieldSnapshot(field: id, reason: "it is a snapshot of field \(snapshot.field)") }
        guard signed.balances.count == record.participants.count else {
            throw .invalidFieldSnapshot(field: id, reason: "\(signed.balances.count) balances for \(record.participants.count) participants")
        }
        try checkFlows(signed, of: record)
        // Checked sums: a wrapped total would let lines of huge withdrawals pass as conserving.
        var total: Amount = 0
        for balance in signed.balances { total = try Amounts.add(total, balance) }
        var deposits: Amount = 0
        for deposit in record.deposits { deposits = try Amounts.add(deposits, deposit) }
        for entry in signed.flows.entries {
            total = try Amounts.add(total, entry.flow.withdrawn)
            deposits = try Amounts.add(deposits, entry.flow.deposited)
        }
        guard total == deposits else {
            throw .invalidFieldSnapshot(field: id, reason: "balances and withdrawals sum to \(Amounts.format(total)), the deposits to \(Amounts.format(deposits))")
        }
        let balancesHash = FieldSnapshot.balancesHash(participants: record.participants, balances: signed.balances, flows: signed.flows)
        guard balancesHash == snapshot.balancesHash else {
            throw .invalidFieldSnapshot(field: id, reason: "the balances do not hash to the snapshot's balances hash")
        }
        guard signed.signatures.count == record.participants.count else {
            throw .invalidFieldSnapshot(field: id, reason: "\(signed.signatures.count) signatures for \(record.participants.count) participants")
        }
        if let missing = signed.firstMissingSigner(participants: record.participants, participantsHash: record.participantsHash,
                                                   chainId: chainId, domain: domain, closeBy: closeBy) {
            let what = domain == FieldDomains.close ? "the close of its commitment" : "its commitment"
            throw .invalidFieldSnapshot(field: id, reason: "\(missing.short) did not sign \(what)")
        }
    }

    // MARK: Settlement

    /// Final balances to the participants (D34: with the flows the snapshot does not count), the bond back to the
    /// leader less any shortfall it answers for, with its reward minted from 0x0.
    private static func settle(_ record: inout FieldRecord, _ settlement: FieldSettlement,
                               context: inout TransactionContext) throws(LedgerError) {
        let (amounts, shortfall) = try record.owed(on: settlement)
        try requireCovered(shortfall, by: record)
        for (participant, amount) in zip(record.participants, amounts) where amount > 0 {
            try credit(participant, amount, context: &context)
        }
        let reward = record.leaderForfeited ? 0 : FieldRules.reward(paymentCount: settlement.paymentCount)
        // A forfeited leader's bond kept back for its locks goes, less the shortfall, to whoever proved it.
        let remainder = record.bond - shortfall
        if record.leaderForfeited, let claimant = record.bondClaimant {
            if remainder > 0 { try credit(claimant, remainder, context: &context) }
            if reward > 0 { try credit(record.leader, reward, context: &context) }
        } else {
            let toLeader = try Amounts.add(remainder, reward)
            if toLeader > 0 { try credit(record.leader, toLeader, context: &context) }
        }
        record.bond = 0
        if reward > 0 {
            var chain = context.chain
            chain.totalSupply = try Amounts.add(chain.totalSupply, reward)
            chain.totalRewardsPaid = try Amounts.add(chain.totalRewardsPaid, reward)
            context.setChain(chain)
        }
        record.status = .closed(settlement, atHeight: context.block.height)
        try context.setField(record)
        context.recordSettlement(record.commitment(of: settlement))
    }

    static func debit(_ address: Address, _ amount: Amount, context: inout TransactionContext) throws(LedgerError) {
        var account = try context.existingAccount(address)
        guard account.balance >= amount else {
            throw .insufficientBalance(account: address, needed: amount, available: account.balance)
        }
        account.balance -= amount
        try context.setAccount(account)
    }

    static func credit(_ address: Address, _ amount: Amount, context: inout TransactionContext) throws(LedgerError) {
        var account = try MessageExecutor.accountCreatingIfMissing(address, context: &context)
        account.balance = try Amounts.add(account.balance, amount)
        try context.setAccount(account)
    }
}
