import AlzaCore
import AlzaField
import AlzaLedger
import AlzaNetCore

/// Payment fields run off chain by simulated nodes (DESIGN.md §6), beside the on-chain field workload
/// (`Simulation+Fields`): `alza sim --payment-fields N` claims and opens N fields on chain, each led by a
/// satellite's node key (the `fieldleader` role) with three accounts held by satellites' wallets; the accounts pay
/// each other through the leader over the simulated network (payments and close signatures are requests,
/// receipts pushed, proposals, signatures and fully signed snapshots direct messages, `SimulatedFieldHost`);
/// from 70 % of the run the leader closes cooperatively with every participant's close signature. Every actor
/// journals as a node's does before it acts, so a crashed satellite's actors come back from its disk. At the
/// end each settled field is checked against the guarantee of every participant the run holds.
extension Simulation {
    /// One field of the off-chain workload.
    struct PaymentField {
        let index: Int
        let id: FieldId
        let leaderNode: Int
        let accounts: [SigningKey]
        /// The satellite whose wallet holds each account.
        let accountNodes: [Int]
        let addresses: [Address]
    }

    static let paymentFieldDeposit = 1_000 * Amounts.unit
    static let paymentFieldParticipants = 3

    /// Field k is led by satellite k mod S (its node key is the field's leader key); its accounts sit on the next
    /// satellites, so with fewer than four satellites some messages stay on one node, as on a real one.
    static func planPaymentFields(_ configuration: SimulationConfiguration) -> [PaymentField] {
        guard configuration.paymentFields > 0, configuration.satellites > 0 else { return [] }
        let (first, satellites) = (configuration.producers, configuration.satellites)
        return (0..<configuration.paymentFields).map { k in
            let accounts = (0..<paymentFieldParticipants).map { SimulationConfiguration.fieldAccountKey(field: k, participant: $0) }
            return PaymentField(index: k, id: FieldId(leader: SimulationConfiguration.satelliteKey(k % satellites).publicKey, nonce: UInt64(k)),
                                leaderNode: first + k % satellites, accounts: accounts,
                                accountNodes: (0..<paymentFieldParticipants).map { first + (k + 1 + $0) % satellites },
                                addresses: accounts.map { Address($0.publicKey) })
        }
    }

    /// A node's leader core, but proposing at most every 2 s (a node: 500 ms): each snapshot costs every
    /// participant a signature and a check of all the others', which at 500 ms doubled a campaign seed's run time
    /// and adds no path a 2 s cadence does not take. At most 64 payments per journal write.
    static let paymentFieldLeaderConfiguration: FieldLeaderCore.Configuration = {
        var configuration = FieldLeaderCore.Configuration()
        configuration.snapshotEveryMilliseconds = 2_000
        configuration.maximumBatch = 64
        return configuration
    }()

    /// The fields' challenge window: 60 s longer than the longest partition or outage the run has. The guarantee
    /// holds for a participant that can reach the chain within the window (DESIGN.md §6: a day by default); a window
    /// shorter than a partition that cuts the honest watchers off from the majority lets a stale close settle
    /// (campaign seed 573: a 107 s partition over a 60 s window), which is the premise failing, not the protocol.
    static func paymentFieldWindowSeconds(_ configuration: SimulationConfiguration) -> UInt32 {
        let longest = configuration.faults.map { fault -> UInt64 in
            switch fault {
            case .partition(_, let from, let to), .offline(_, let from, let to): to - min(from, to)
            default: 0
            }
        }.max() ?? 0
        return UInt32(min(UInt64(UInt32.max), 60 + (longest + 999) / 1_000))
    }

    /// The off-chain workload's step at the start of `slot`.
    func runPaymentFields(slot: UInt64) {
        for plan in paymentFieldPlans {
            openOnChain(plan, slot: slot)
            for index in Set([plan.leaderNode] + plan.accountNodes).sorted() where nodes[index].core != nil {
                makeActors(of: plan, at: nodes[index])
            }
            if slot < lastSlot * 6 / 10 { pay(in: plan) }
            resendUnanswered(in: plan)
            watchChain(plan)
            if slot >= lastSlot * 7 / 10 {
                if configuration.staleSoloCloses { postStaleSoloClose(plan) } else { close(plan, slot: slot) }
            }
        }
    }

    /// Whether account `position` of a field is the dishonest one (`staleSoloCloses`: the first).
    func isDishonest(_ position: Int) -> Bool { configuration.staleSoloCloses && position == 0 }

    /// Each honest account's chain watcher, as a satellite's: what its core says to do about the field's record on
    /// its node's chain — dispute a stale or omitting close, finalize after the window — submitted once, and again
    /// only when still called for 10 s later.
    private func watchChain(_ plan: PaymentField) {
        guard !configuration.fieldWatchersDown else { return }
        for (position, account) in plan.addresses.enumerated() where !isDishonest(position) {
            let node = nodes[plan.accountNodes[position]]
            let owner = FieldJournalOwner.participant(plan.id, account)
            let local = node.clock.read(at: time)
            guard let fields = node.fields, let record = node.core?.head.fields[plan.id],
                  let payload = fields.participants[owner]?.reaction(to: record, now: local) else { continue }
            if let last = fields.reacted[owner], last.payload == payload, local < last.at + FieldTimings.reactionRepeatMilliseconds { continue }
            fields.reacted[owner] = (payload, local)
            if case .fieldFinalize = payload { fieldCounters.finalizesSubmitted += 1 } else { fieldCounters.disputesSubmitted += 1 }
            submit(payload, by: [plan.accounts[position]], at: node.index, scope: record.participants + [record.leader])
        }
    }

    /// The dishonest first account posts the oldest fully signed snapshot it holds as a solo close, once, and
    /// finalizes it when the window is over (what the honest accounts would do, were it still standing).
    private func postStaleSoloClose(_ plan: PaymentField) {
        let node = nodes[plan.accountNodes[0]]
        let owner = FieldJournalOwner.participant(plan.id, plan.addresses[0])
        let local = node.clock.read(at: time)
        if let fields = node.fields, let record = node.core?.head.fields[plan.id], case .closing(_, let deadline, _) = record.status,
           local >= deadline, local >= (fields.reacted[owner]?.at ?? 0) + FieldTimings.reactionRepeatMilliseconds {
            fields.reacted[owner] = (.fieldFinalize(field: plan.id), local)
            fieldCounters.finalizesSubmitted += 1
            submit(.fieldFinalize(field: plan.id), by: [plan.accounts[0]], at: node.index, scope: record.participants + [record.leader])
        }
        guard let fields = node.fields, fields.reacted[owner] == nil, let record = node.core?.head.fields[plan.id], record.status == .open,
              let stale = fields.firstFullySigned[owner] ?? fields.participants[owner]?.newestFullySigned else { return }
        let payload = MessagePayload.fieldSoloClose(field: plan.id, snapshot: stale)
        fields.reacted[owner] = (payload, node.clock.read(at: time))
        fieldCounters.staleSoloClosesPosted += 1
        staleSnapshotsPosted[plan.id] = stale.snapshot.number
        submit(payload, by: [plan.accounts[0]], at: node.index, scope: record.participants + [record.leader])
    }

    /// Claims the field, then opens it (every participant signs the open), each asked again every 4 slots until
    /// the leader's node sees it done.
    private func openOnChain(_ plan: PaymentField, slot: UInt64) {
        let leader = nodes[plan.leaderNode]
        guard slot >= 2, slot % 4 == 2, let state = leader.core?.head else { return }
        switch state.fields[plan.id]?.status {
        case nil:
            submit(.fieldClaim(nonce: UInt64(plan.index), leaderKey: leader.key.publicKey, bond: Amounts.unit), by: [leader.key], at: leader.index)
        case .claimed?:
            submit(.fieldOpen(field: plan.id, deposits: plan.addresses.map { AmountEntry($0, Self.paymentFieldDeposit) }, challengeSeconds: paymentFieldWindowSeconds),
                   by: [leader.key] + plan.accounts, at: leader.index)
        default:
            break
        }
    }

    /// The field's actors on `node`, made once its chain shows the field opened, from the journal records the node
    /// kept (a restarted node's leader recovers every receipted payment; its participants what they signed).
    private func makeActors(of plan: PaymentField, at node: Node) {
        guard let fields = node.fields, let record = node.core?.head.fields[plan.id], record.status != .claimed else { return }
        let roster = FieldRoster(field: plan.id, chainId: genesis.chainId, leader: record.leaderKey,
                                 participants: record.participants, openingBalances: record.deposits)
        var changed = false
        if plan.leaderNode == node.index, fields.leaders[plan.id] == nil {
            let records = fields.takeRecovered(.leader(plan.id))
            do throws(FieldError) {
                let core = try FieldLeaderCore(roster: roster, key: node.key, configuration: Self.paymentFieldLeaderConfiguration,
                                               now: node.clock.read(at: time), recovering: FieldLeaderRecovery(records: records))
                fields.leaders[plan.id] = SimulatedFieldHost.Leader(core: core)
                if !records.isEmpty { fieldCounters.leaderRecoveries += 1 }
                changed = fields.host(SimulatedFieldHost.leaderAddress(plan.id)) || changed
                armFieldTick(node)
            } catch {
                recoveryLog.append("\(node.name): leader of field \(plan.index) not recovered: \(error.description)")
            }
        }
        for (position, account) in plan.addresses.enumerated() where plan.accountNodes[position] == node.index {
            let owner = FieldJournalOwner.participant(plan.id, account)
            guard fields.participants[owner] == nil else { continue }
            let records = fields.takeRecovered(owner)
            do throws(FieldError) {
                let core = try FieldParticipantCore(roster: roster, key: plan.accounts[position], replaying: records)
                let receipted = Set(core.receipted.values.map(\.receipt.paymentHash))
                fields.unanswered[owner] = core.sent.values.filter { !receipted.contains($0.hash) }.min { $0.payment.sequence < $1.payment.sequence }
                fields.participants[owner] = core
                if !records.isEmpty { fieldCounters.participantReplays += 1 }
                changed = fields.host(SimulatedFieldHost.participantAddress(account)) || changed
            } catch {
                recoveryLog.append("\(node.name): \(account) in field \(plan.index) not replayed: \(error.description)")
            }
        }
        if changed { announceInstances(of: node) }
    }

    // MARK: Paying

    /// Payments of up to 2 ALZA between random participants; an account with a payment unanswered pays nothing new.
    private func pay(in plan: PaymentField) {
        for _ in 0..<configuration.fieldPaymentsPerSlot {
            let payer = Int(random.uniform(0...UInt64(plan.accounts.count - 1)))
            var payee = Int(random.uniform(0...UInt64(plan.accounts.count - 2)))
            if payee >= payer { payee += 1 }
            let node = nodes[plan.accountNodes[payer]]
            let owner = FieldJournalOwner.participant(plan.id, plan.addresses[payer])
            guard let fields = node.fields, fields.participants[owner] != nil, fields.unanswered[owner] == nil else { continue }
            let amount = random.uniform(1...20) * Amounts.unit / 10
            let signed: SignedFieldPayment
            do throws(FieldError) {
                signed = try fields.participants[owner]!.pay(to: plan.addresses[payee], amount: amount)
            } catch {
                fieldCounters.paymentsRefusedByWallet += 1
                continue
            }
            // Durable before it leaves, as a wallet's: a restarted node sends it again rather than forgetting it.
            guard fields.append([FieldParticipantJournalEntry.paid(signed).canonicalBytes], for: owner) else { continue }
            fields.unanswered[owner] = signed
            fieldCounters.paymentsSubmitted += 1
            sendPayment(signed, owner: owner, plan: plan, from: node)
        }
    }

    private func sendPayment(_ signed: SignedFieldPayment, owner: FieldJournalOwner, plan: PaymentField, from node: Node) {
        guard let fields = node.fields, !fields.paymentsOut.contains(owner) else { return }
        if requestField(.pay(signed), to: SimulatedFieldHost.leaderAddress(plan.id), from: node, onlyHost: plan.leaderNode,
                        for: .payment(owner, signed)) {
            fields.paymentsOut.insert(owner)
        }
    }

    /// A payment whose request failed (timed out, its connection closed, no host known) is sent again: the
    /// leader answers a payment it logged with its receipt again.
    private func resendUnanswered(in plan: PaymentField) {
        for (position, account) in plan.addresses.enumerated() {
            let node = nodes[plan.accountNodes[position]]
            let owner = FieldJournalOwner.participant(plan.id, account)
            guard let fields = node.fields, let signed = fields.unanswered[owner], !fields.paymentsOut.contains(owner) else { continue }
            fieldCounters.paymentsResent += 1
            sendPayment(signed, owner: owner, plan: plan, from: node)
        }
    }

    // MARK: Closing

    /// The cooperative close, as a leader node's `POST /v1/fields/{id}/close`: no more payments; once the newest
    /// proposal covers every logged payment and is fully signed, every participant's close signature is asked
    /// for, and the field-close submitted with them. A request that fails, or a close that does not land within 20
    /// slots, is asked again.
    private func close(_ plan: PaymentField, slot: UInt64) {
        let node = nodes[plan.leaderNode]
        guard let fields = node.fields, fields.leaders[plan.id] != nil,
              node.core?.head.fields[plan.id]?.status == .open else { return }
        fields.leaders[plan.id]!.closing = true
        let leader = fields.leaders[plan.id]!
        if let submitted = leader.closeSubmittedAt {
            guard slot >= submitted + 20 else { return }
            fields.leaders[plan.id]!.closeSubmittedAt = nil
            fields.leaders[plan.id]!.closeAsked = nil
        }
        guard fields.leaders[plan.id]!.closeAsked == nil, leader.waiting.isEmpty, let final = leader.core.newestFullySigned,
              final.snapshot.paymentCount == leader.core.durableCount, final.snapshot.number == leader.core.newestSnapshot else { return }
        let closeBy = node.clock.read(at: time) + FieldTimings.closeWindowMilliseconds
        fields.leaders[plan.id]!.closeAsked = (final, closeBy, [:])
        for participant in leader.core.roster.participants {
            guard requestField(.closeRequest(final, participant: participant, closeBy: closeBy),
                               to: SimulatedFieldHost.participantAddress(participant), from: node, for: .closeSignature(plan.id, participant))
            else {
                fields.leaders[plan.id]!.closeAsked = nil
                return
            }
        }
    }

    /// A close signature came: kept when it verifies; with every participant's in, the field-close goes to the
    /// leader's node.
    private func closeSigned(_ answer: FieldWireMessage, field: FieldId, participant: Address, at node: Node) {
        guard let fields = node.fields, let asked = fields.leaders[field]?.closeAsked,
              let roster = fields.leaders[field]?.core.roster else { return }
        let commitment = asked.final.snapshot.closeBytes(participantsHash: roster.participantsHash, closeBy: asked.closeBy)
        guard case .closeSignature(let signer, let signature) = answer, signer == participant,
              participant.publicKey.isValidSignature(signature, for: commitment, domain: FieldDomains.close, chainId: genesis.chainId) else {
            fieldCounters.closeSignaturesRefused += 1
            fields.leaders[field]!.closeAsked = nil
            return
        }
        fields.leaders[field]!.closeAsked!.signatures[participant] = signature
        let signatures = roster.participants.compactMap { fields.leaders[field]!.closeAsked!.signatures[$0] }
        guard signatures.count == roster.participants.count else { return }
        let closing = SignedFieldSnapshot(snapshot: asked.final.snapshot, balances: asked.final.balances, flows: asked.final.flows,
                                          signatures: signatures)
        submit(.fieldClose(field: field, snapshot: closing, closeBy: asked.closeBy), by: [node.key], at: node.index,
               scope: roster.participants + [Address(node.key.publicKey)])
        fields.leaders[field]!.closeSubmittedAt = (time - configuration.genesisTime) / configuration.slotMilliseconds
        fieldCounters.closesSubmitted += 1
    }

    // MARK: Answers

    /// The answer to one of `node`'s requests.
    func answered(_ request: SimulatedFieldHost.Request, with answer: FieldWireMessage, at node: Node) {
        guard let fields = node.fields else { return }
        switch request {
        case .payment(let owner, let signed):
            fields.paymentsOut.remove(owner)
            switch answer {
            case .receipt(let receipt):
                keepReceipt(receipt, for: signed, owner: owner, at: node)
            case .refused:
                // Taken back, so the wallet's next payment reuses its sequence number.
                _ = fields.participants[owner]?.refused(signed)
                fields.append([FieldParticipantJournalEntry.refused(signed).canonicalBytes], for: owner)
                if fields.unanswered[owner]?.hash == signed.hash { fields.unanswered[owner] = nil }
                fieldCounters.paymentsRefused += 1
            default:
                fieldCounters.refusedMessages += 1
            }
        case .closeSignature(let field, let participant):
            closeSigned(answer, field: field, participant: participant, at: node)
        }
    }

    /// A request of `node` got no answer: the payment waits for its resend, the close is asked again.
    func requestFailed(_ request: SimulatedFieldHost.Request, at node: Node, reason: String) {
        guard let fields = node.fields else { return }
        switch request {
        case .payment(let owner, _):
            fields.paymentsOut.remove(owner)
        case .closeSignature(let field, _):
            fields.leaders[field]?.closeAsked = nil
        }
    }

    func keepReceipt(_ receipt: FieldReceipt, for signed: SignedFieldPayment, owner: FieldJournalOwner, at node: Node) {
        guard let fields = node.fields, fields.participants[owner] != nil else { return }
        do throws(FieldError) {
            try fields.participants[owner]!.received(receipt, for: signed)
        } catch {
            fieldCounters.refusedMessages += 1
            return
        }
        fields.append([FieldParticipantJournalEntry.receipted(receipt, signed).canonicalBytes], for: owner)
        if fields.unanswered[owner]?.hash == signed.hash {
            fields.unanswered[owner] = nil
            fieldCounters.paymentsReceipted += 1
        }
    }
}
