import AlzaCore
import AlzaField
import AlzaLedger
import AlzaNetCore

/// What a simulated node's field actors do with the messages that reach them, as a node's `FieldLeader` and
/// `FieldParticipants` do: the leader's effects carried out (payment batches journaled before their receipts
/// leave, proposal numbers before proposals), signatures and proposals heard only from whom they must come, and
/// every participant input journaled. The end-of-run check of the participant's guarantee is here too.
extension Simulation {
    /// A direct message for the leader or a wallet account on `node`.
    func fieldDirect(_ message: FieldWireMessage, instance: InstanceId?, at node: Node, from peer: Node) {
        guard let fields = node.fields, let field = message.field else {
            fieldCounters.unroutable += 1
            return
        }
        if instance == InstanceId(field.hash), fields.leaders[field] != nil {
            guard case .signature(_, let number, let signer, let signature) = message else {
                fieldCounters.refusedMessages += 1
                return
            }
            do throws(FieldError) {
                let effects = try fields.leaders[field]!.core.receivedSignature(signature, snapshot: number, from: signer,
                                                                                 now: node.clock.read(at: time))
                if let count = fields.leaders[field]!.core.acknowledgedCount(of: signer) {
                    fields.append([FieldLeaderJournalEntry.acknowledged(participant: signer, paymentCount: count).canonicalBytes], for: .leader(field))
                }
                performLeader(effects, field: field, at: node)
            } catch {
                fieldCounters.refusedMessages += 1
            }
            return
        }
        guard let account = SimulatedFieldHost.account(of: instance), fields.participants[.participant(field, account)] != nil else {
            fieldCounters.unroutable += 1
            return
        }
        do throws(FieldError) {
            try participantDirect(message, owner: .participant(field, account), at: node, from: peer)
        } catch {
            fieldCounters.refusedMessages += 1
        }
    }

    private func participantDirect(_ message: FieldWireMessage, owner: FieldJournalOwner, at node: Node, from peer: Node) throws(FieldError) {
        guard let fields = node.fields, case .participant(let field, let account) = owner else { return }
        switch message {
        case .incoming(let signed, let receipt):
            try fields.participants[owner]!.received(receipt, for: signed)
            fields.append([FieldParticipantJournalEntry.receipted(receipt, signed).canonicalBytes], for: owner)
        case .receipt(let receipt):
            guard let signed = fields.participants[owner]!.sent[receipt.paymentHash] else {
                throw .forgedReceipt(index: receipt.index, reason: "this participant never signed its payment")
            }
            keepReceipt(receipt, for: signed, owner: owner, at: node)
        case .propose(let proposal):
            // Proposals are not signed: only the leader key's node is heard.
            guard peer.key.publicKey == fields.participants[owner]!.roster.leader else { throw .notFromLeader(sender: peer.name) }
            let signature = try fields.participants[owner]!.sign(proposal)
            guard fields.append([FieldParticipantJournalEntry.signed(proposal).canonicalBytes], for: owner) else { return }
            sendField(.signature(field: field, snapshot: proposal.snapshot.number, signer: account, signature: signature),
                      to: SimulatedFieldHost.leaderAddress(field), from: node, onlyHost: peer.index)
        case .fullySigned(let signed):
            try fields.participants[owner]!.receivedFullySigned(signed)
            fields.append([FieldParticipantJournalEntry.fullySigned(signed).canonicalBytes], for: owner)
            if fields.firstFullySigned[owner] == nil { fields.firstFullySigned[owner] = signed }
        default:
            fieldCounters.refusedMessages += 1
        }
    }

    /// A request for an actor on `node`: a payment for a leader, a close request for a wallet account.
    func fieldRequest(_ message: FieldWireMessage, instance: InstanceId?, at node: Node, from peer: Node,
                      reply: SimulatedFieldHost.Reply) {
        guard let fields = node.fields else { return }
        switch message {
        case .pay(let signed):
            let field = signed.payment.field
            guard instance == InstanceId(field.hash), let leader = fields.leaders[field] else {
                respond(reply, with: .refusal(FieldError.unknownFieldHere(field)), from: node)
                return
            }
            if let failure = fields.journalFailure {
                respond(reply, with: .refused(code: "field.leader-failed", reason: "the payment journal failed: \(failure)"), from: node)
                return
            }
            // Closing refuses new payments only: a logged one sent again gets its receipt (as a node's leader).
            guard !leader.closing || leader.core.loggedIndex(of: signed.hash) != nil else {
                respond(reply, with: .refused(code: "field.closing", reason: "field \(field) is closing; no more payments"), from: node)
                return
            }
            fields.leaders[field]!.waiting[signed.hash, default: []].append(reply)
            performLeader(fields.leaders[field]!.core.receive(signed, now: node.clock.read(at: time)), field: field, at: node)
        case .closeRequest(let final, let participant, let closeBy):
            let owner = FieldJournalOwner.participant(final.snapshot.field, participant)
            guard instance == SimulatedFieldHost.participantAddress(participant).instance, let core = fields.participants[owner] else {
                respond(reply, with: .refusal(FieldError.unknownFieldHere(final.snapshot.field)), from: node)
                return
            }
            guard peer.key.publicKey == core.roster.leader else {
                respond(reply, with: .refusal(FieldError.notFromLeader(sender: peer.name)), from: node)
                return
            }
            do throws(FieldError) {
                let signature = try fields.participants[owner]!.signClose(final, closeBy: closeBy)
                // Durable before it leaves: a restarted participant still refuses payments beyond the close it signed.
                guard fields.append([FieldParticipantJournalEntry.closeSigned(final, closeBy: closeBy).canonicalBytes], for: owner) else { return }
                respond(reply, with: .closeSignature(signer: participant, signature), from: node)
            } catch {
                respond(reply, with: .refusal(error), from: node)
            }
        default:
            respond(reply, with: .refused(code: "field.unexpected-request", reason: "simulated field actors answer payments and close requests"),
                    from: node)
        }
    }

    /// Carries out a leader core's effects as `FieldLeader` does.
    func performLeader(_ effects: [FieldLeaderCore.Effect], field: FieldId, at node: Node) {
        guard let fields = node.fields, fields.leaders[field] != nil else { return }
        var pending = effects[...]
        var proposals: [(SnapshotProposal, Address)] = []
        while let effect = pending.popFirst() {
            switch effect {
            case .persist(let batch, let first):
                // Durable before its receipts leave; a failed write leaves them unanswered (the payers send again).
                guard fields.append([FieldLeaderJournalEntry.payments(firstIndex: first, batch).canonicalBytes], for: .leader(field)) else { return }
                pending.append(contentsOf: fields.leaders[field]!.core.persisted(firstIndex: first, now: node.clock.read(at: time)))
            case .receipt(let receipt, let payer):
                let replies = fields.leaders[field]!.waiting.removeValue(forKey: receipt.paymentHash) ?? []
                if replies.isEmpty { sendField(.receipt(receipt), to: SimulatedFieldHost.participantAddress(payer), from: node, everyHost: true) }
                for reply in replies { respond(reply, with: .receipt(receipt), from: node) }
            case .incoming(let signed, let receipt, let payee):
                sendField(.incoming(signed, receipt), to: SimulatedFieldHost.participantAddress(payee), from: node, everyHost: true)
            case .rejected(let hash, let error, _):
                for reply in fields.leaders[field]!.waiting.removeValue(forKey: hash) ?? [] { respond(reply, with: .refusal(error), from: node) }
            case .propose(let proposal, let participant):
                proposals.append((proposal, participant))
            case .fullySigned(let signed):
                fields.append([FieldLeaderJournalEntry.fullySigned(signed).canonicalBytes], for: .leader(field))
                fieldCounters.snapshotsFullySigned += 1
                for participant in fields.leaders[field]!.core.roster.participants {
                    sendField(.fullySigned(signed), to: SimulatedFieldHost.participantAddress(participant), from: node, everyHost: true)
                }
            case .wakeAt:
                break   // the node's field tick runs every 500 ms
            }
        }
        // The number is durable before any participant signs it: a restarted leader goes on above it.
        if let number = proposals.first?.0.snapshot.number,
           fields.append([FieldLeaderJournalEntry.proposed(number: number).canonicalBytes], for: .leader(field)) {
            for (proposal, participant) in proposals {
                sendField(.propose(proposal), to: SimulatedFieldHost.participantAddress(participant), from: node, everyHost: true)
            }
        }
    }

    // MARK: The guarantee

    /// What the off-chain fields did, with each settled field checked on the reference state: its balances add up
    /// to its deposits, and no participant the run holds ends below its guarantee (`guaranteedBalance`).
    func paymentFieldActivity(reference state: LedgerState?) -> PaymentFieldActivity? {
        guard !paymentFieldPlans.isEmpty else { return nil }
        var activity = fieldCounters
        for plan in paymentFieldPlans {
            guard let record = state?.fields[plan.id], record.status != .claimed else { continue }
            activity.opened += 1
            guard case .closed(let settlement, _) = record.status else { continue }
            activity.closed += 1
            if let stale = staleSnapshotsPosted[plan.id], settlement.number > stale { activity.staleClosesReplaced += 1 }
            let at = time - configuration.genesisTime
            if settlement.balances.reduce(0, +) != record.deposits.reduce(0, +) {
                invariants.fieldGuaranteeBroken(field: plan.index, at: at,
                                                detail: "settled balances add up to \(settlement.balances.reduce(0, +)), deposits to \(record.deposits.reduce(0, +))")
            }
            for (position, account) in record.participants.enumerated() {
                guard let index = plan.addresses.firstIndex(of: account), !isDishonest(index),
                      let core = nodes[plan.accountNodes[index]].fields?.participants[.participant(plan.id, account)] else { continue }
                activity.participantsChecked += 1
                let owed = core.guaranteedBalance ?? record.deposits[position]
                if settlement.balances[position] < owed {
                    invariants.fieldGuaranteeBroken(field: plan.index, at: at,
                                                    detail: "\(account) settled with \(settlement.balances[position]), its guarantee is \(owed)")
                }
            }
        }
        return activity
    }
}
