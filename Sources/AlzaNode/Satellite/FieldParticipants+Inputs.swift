import AlzaCore
import AlzaField
import AlzaLedger
import Logging

/// What reaches the participants from the leader (pushes, proposals, fully signed snapshots), consent requests,
/// and the chain watcher.
extension FieldParticipants {
    func receiveDirect(_ message: FieldWireMessage, account: Address, from peer: String) async {
        guard let field = message.field, let key = await entry(field, account) else {
            refuse(FieldError.unknownFieldHere(message.field ?? FieldId(hash: .zero)).code, "\(message) for \(account)")
            return
        }
        do {
            switch message {
            case .incoming(let signed, let receipt):
                try entries[key]!.core.received(receipt, for: signed)
                entries[key]!.journal.enqueue([FieldParticipantJournalEntry.receipted(receipt, signed).canonicalBytes])
            case .receipt(let receipt):
                guard let signed = entries[key]!.core.sent[receipt.paymentHash] else {
                    throw FieldError.forgedReceipt(index: receipt.index, reason: "this participant never signed its payment")
                }
                try entries[key]!.core.received(receipt, for: signed)
                entries[key]!.journal.enqueue([FieldParticipantJournalEntry.receipted(receipt, signed).canonicalBytes])
            case .propose(let proposal):
                // Proposals are not signed: only the leader's node (its key is the field's leader key) is heard.
                guard peer == entries[key]!.core.roster.leader.hex else { throw FieldError.notFromLeader(sender: peer) }
                let signature = try entries[key]!.core.sign(proposal)
                // Durable before it leaves: a restarted participant knows what it signed.
                let journal = entries[key]!.journal
                try await journal.durable(journal.enqueue([FieldParticipantJournalEntry.signed(proposal).canonicalBytes]))
                let sent = await service.send(.signature(field: field, snapshot: proposal.snapshot.number, signer: account,
                                                         signature: signature), to: FieldService.address(ofLeader: field),
                                              onlyHost: peer)
                if !sent { logger.warning("field \(field.hash.short): the leader is unreachable; signature on snapshot \(proposal.snapshot.number) not sent") }
            case .fullySigned(let signed):
                try entries[key]!.core.receivedFullySigned(signed)
                entries[key]!.journal.enqueue([FieldParticipantJournalEntry.fullySigned(signed).canonicalBytes])
            case .pay, .payBatch, .answers, .refused, .signature, .consentRequest, .consent, .closeRequest, .closeSignature,
                 .lockRequest, .lock:
                refuse("field.unexpected-message", "\(message) for participant \(account) from \(peer.prefix(16))")
            }
        } catch let error as FieldError {
            refuse(error.code, "\(error.description) (from \(peer.prefix(16)))")
        } catch {
            logger.error("field \(field.hash.short): the journal of \(account) failed: \(error)")
        }
    }

    /// Answers a leader's request for this wallet's consent to a `field-open` (its signature of the transaction).
    func answer(_ message: FieldWireMessage, account: Address, from peer: String) async -> FieldWireMessage {
        if case .closeRequest(let final, let participant, let closeBy) = message {
            guard participant == account, let key = await entry(final.snapshot.field, account) else {
                return .refusal(FieldError.unknownFieldHere(final.snapshot.field))
            }
            guard peer == entries[key]!.core.roster.leader.hex else {
                refuse(FieldError.notFromLeader(sender: peer).code, "close request for \(final.snapshot.field.hash.short)")
                return .refusal(FieldError.notFromLeader(sender: peer))
            }
            let signature: Signature
            do throws(FieldError) {
                signature = try entries[key]!.core.signClose(final, closeBy: closeBy)
            } catch {
                refuse(error.code, "close of snapshot \(final.snapshot.number) of \(final.snapshot.field.hash.short)")
                return .refusal(error)
            }
            // Durable before it leaves: a restarted participant still refuses payments beyond the close it signed.
            do throws(StorageError) {
                let journal = entries[key]!.journal
                try await journal.durable(journal.enqueue([FieldParticipantJournalEntry.closeSigned(final, closeBy: closeBy).canonicalBytes]))
            } catch {
                logger.error("field \(final.snapshot.field.hash.short): the journal of \(account) failed: \(error.description)")
                return .refused(code: "storage.io", reason: "the close signature could not be journaled: \(error.description)")
            }
            return .closeSignature(signer: account, signature)
        }
        if case .lockRequest(let source, let target, let participant, let amount) = message {
            return await answerLock(source: source, target: target, participant: participant, amount: amount, account: account, from: peer)
        }
        guard case .consentRequest(let transaction, let participant) = message else {
            return .refused(code: "field.unexpected-request", reason: "a participant answers consent, lock and close requests only")
        }
        guard participant == account, let key = keys[account] else {
            return .refused(code: "field.not-held", reason: "this node's wallet holds no key of \(participant)")
        }
        if let refusal = await consentRefusal(transaction, participant: participant) {
            return .refused(code: "field.consent-declined", reason: refusal)
        }
        // The consent signs the opening's terms (D35), not the transaction: it rides in the payload, so a field
        // may have more participants than a message has authorizations.
        guard let message = transaction.messages.first, let leader = message.authorization.first?.account,
              case .fieldOpen(let field, let deposits, let challengeSeconds, let locks, _)? = try? message.payload() else {
            return .refused(code: "field.consent-declined", reason: "the transaction is not a single field-open")
        }
        logger.info("consented to field-open for \(participant)")
        return .consent(FieldConsent.sign(field: field, leader: leader, deposits: deposits, challengeSeconds: challengeSeconds,
                                          locks: locks, account: participant, expiry: transaction.header.expiration, key: key,
                                          chainId: transaction.header.chainId))
    }

    private func consentRefusal(_ transaction: Transaction, participant: Address) async -> String? {
        guard policy.automatic else { return "this wallet consents to fields only when configured to (fieldConsent)" }
        guard transaction.header.chainId == (await chain.chainId) else { return "the transaction is for another chain" }
        guard transaction.messages.count == 1, let message = transaction.messages.first,
              case .fieldOpen(let field, let deposits, _, let locks, _)? = try? message.payload()
        else { return "the transaction is not a single field-open" }
        if let refusal = lockRefusal(locks: locks, target: field, account: participant) { return refusal }
        guard let deposit = deposits.first(where: { $0.account == participant }) else { return "\(participant) is not among the deposits" }
        guard deposit.amount <= policy.maximumDeposit else {
            return "a deposit of \(Amounts.format(deposit.amount)) ALZA is over this wallet's limit of \(Amounts.format(policy.maximumDeposit))"
        }
        // The leader saw its claim in a block this node may not have yet: give the chain a few slots.
        var record = await chain.snapshot().state.fields[field]
        let deadline = ChainService.now() + 10_000
        while record?.status != .claimed && ChainService.now() < deadline {
            try? await Task.sleep(for: .milliseconds(100))
            record = await chain.snapshot().state.fields[field]
        }
        guard let record, record.status == .claimed else { return "field \(field) is not claimed on chain" }
        guard message.authorization.first?.account == record.leader else { return "the field-open is not authorized by the field's leader" }
        return nil
    }

    // MARK: Chain watcher

    /// For every field the wallet takes part in, what its core says to do about the chain's record (DESIGN.md
    /// §6): dispute a stale or omitting close, finalize after the window. A reaction is submitted once, and again
    /// only if the record still calls for it 10 s later (the first may have been lost or refused).
    func watchChain() async {
        let state = await chain.snapshot().state
        let committed = await chain.committedState()
        let finalBlockTime = committed.slotStart(await chain.snapshot().lib.slot)
        let now = ChainService.now()
        for (field, record) in state.fields where !record.isClosed && record.status != .claimed {
            if record.status == .open {
                await followFlows(record, state: state, final: committed.fields[field], finalBlockTime: finalBlockTime)
            }
            for account in record.participants where keys[account] != nil {
                guard let key = await entry(field, account),
                      let payload = entries[key]?.core.reaction(to: record, now: now) else { continue }
                if let last = reacted[field], last.payload == payload, now < last.at + FieldTimings.reactionRepeatMilliseconds { continue }
                reacted[field] = (payload, now)
                await submit(payload, from: account, record: record)
            }
        }
    }

    /// What `POST /v1/fields/{id}/dispute` does at once for the wallet's accounts in `field`: on an open field, a
    /// solo close with the newest fully signed snapshot (the leader or a participant went silent); on a closing
    /// one, the watcher's reaction (dispute or finalize). The transaction id, or why there is nothing to do.
    func actNow(on field: FieldId) async -> Result<(MessagePayload, Hash), FieldPaymentFailure> {
        guard let record = await chain.snapshot().state.fields[field] else {
            return .failure(.refused(code: LedgerError.unknownField(field).code, reason: LedgerError.unknownField(field).description))
        }
        for account in record.participants where keys[account] != nil {
            guard let key = await entry(field, account), let core = entries[key]?.core else { continue }
            let payload: MessagePayload?
            if record.status == .open {
                payload = core.newestFullySigned.map { MessagePayload.fieldSoloClose(field: field, snapshot: $0) }
            } else {
                payload = core.reaction(to: record, now: ChainService.now())
            }
            guard let payload else { continue }
            reacted[field] = (payload, ChainService.now())
            return await submit(payload, from: account, record: record).map { (payload, $0) }
        }
        let reason = record.status == .open ? "no account of this wallet holds a fully signed snapshot of field \(field)"
            : "field \(field) is \(record.status.name) and the snapshots this wallet holds call for nothing"
        return .failure(.refused(code: "field.nothing-to-do", reason: reason))
    }

    @discardableResult
    func submit(_ payload: MessagePayload, from account: Address, record: FieldRecord) async -> Result<Hash, FieldPaymentFailure> {
        guard let key = keys[account] else { return .failure(.notHeld(field: record.id, account: account)) }
        switch await chain.submitFieldMessage(payload, signedBy: key, record: record) {
        case .success(let id):
            logger.notice("field \(record.id.hash.short): \(payload.code) submitted by \(account) (\(id.short))")
            return .success(id)
        case .failure(let error):
            logger.warning("field \(record.id.hash.short): \(payload.code) by \(account) refused: \(error.description)")
            return .failure(.refused(code: error.code, reason: error.description))
        }
    }

    // MARK: Views

    func views(of field: FieldId) -> [FieldLocalView.Participant] {
        entries.filter { $0.key.field == field }.sorted { $0.key.account < $1.key.account }.map { key, entry in
            let core = entry.core
            return FieldLocalView.Participant(
                account: key.account.description, signedBalance: core.newestSigned?.balance,
                signedDeposited: core.newestSigned?.flow.deposited, signedWithdrawn: core.newestSigned?.flow.withdrawn,
                newestSigned: core.newestSigned?.snapshot.number ?? 0,
                newestFullySigned: core.newestFullySigned?.snapshot.number ?? 0,
                paymentsSent: core.sent.count, receipts: core.receipted.count)
        }
    }

    /// The newest fully signed snapshot one of the wallet's accounts holds for `field`.
    func newestFullySigned(_ field: FieldId) -> SignedFieldSnapshot? {
        entries.filter { $0.key.field == field }.compactMap(\.value.core.newestFullySigned).max { $0.snapshot.number < $1.snapshot.number }
    }
}
