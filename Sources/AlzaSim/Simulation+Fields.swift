import AlzaCore
import AlzaLedger

/// The payment-field workload (DESIGN.md §6 on chain): every `fieldEverySlots` slots field k starts — user 3k
/// claims it, users 3k+1 and 3k+2 open it two slots later with deposits of 100 and 50 ALZA; two slots later user
/// 3k+1 tops up 10 ALZA (`field-deposit`) and a slot after that user 3k+2 withdraws 5 against snapshot 1
/// (`field-withdraw`, D34). Then the field ends one of four ways, by k mod 4: a cooperative close with snapshot 2
/// (which moves 33 ALZA and does not count the top-up, paid back by the close); a stale solo close with snapshot
/// 1 replaced by snapshot 2 in a dispute and finalized after the window; a solo close with a receipt dispute
/// nobody answers, annulled at the finalize (the bond to the disputer); the leader's equivocation proven (the
/// bond to the prover), finalized from the base after the window. Each step is valid whether or not the ones
/// before it landed (a step that no longer applies is refused like any transaction). Under the campaign's
/// crashes, partitions and fork switches the field records are written, reverted and replayed like any other,
/// and supply conservation counts the coins they hold.
extension Simulation {
    func submitFieldWorkload(slot: UInt64) {
        guard let every = configuration.fieldEverySlots, every > 0 else { return }
        let window = (UInt64(Self.fieldWindowSeconds) * 1_000 + configuration.slotMilliseconds - 1) / configuration.slotMilliseconds
        for (step, offset) in [UInt64(0), 2, 4, 5, 6, 7, 8 + window].enumerated() where slot >= offset && (slot - offset) % every == 0 {
            submitFieldStep(step, field: (slot - offset) / every)
        }
    }

    static let fieldWindowSeconds: UInt32 = 60

    private func submitFieldStep(_ step: Int, field k: UInt64) {
        let users = UInt64(configuration.userAccounts)
        let keys = (0..<UInt64(3)).map { SimulationConfiguration.userKey(Int((3 * k + $0) % users)) }
        let (leader, first, second) = (Address(keys[0].publicKey), Address(keys[1].publicKey), Address(keys[2].publicKey))
        let leaderKey = SigningKey(deterministicLabel: "alza-sim-field-leader-\(k)")
        let field = FieldId(leader: leaderKey.publicKey, nonce: k)
        let scope = [first, second, leader]
        let (payer, payerUser) = (keys[1], Int((3 * k + 1) % users))
        let withdrawn = fieldSnapshot(field, number: 1, balances: [100 * Amounts.unit, 45 * Amounts.unit], keys: keys, domain: FieldDomains.commitment)
        switch (step, k % 4) {
        case (0, _):
            fieldsStarted += 1
            submit(.fieldClaim(nonce: k, leaderKey: leaderKey.publicKey, bond: Amounts.unit), by: [keys[0]], user: Int((3 * k) % users))
        case (1, _):
            submit(.fieldOpen(field: field, deposits: [AmountEntry(first, 100 * Amounts.unit), AmountEntry(second, 50 * Amounts.unit)],
                              challengeSeconds: Self.fieldWindowSeconds),
                   by: keys, user: Int((3 * k) % users))
        case (2, _):
            submit(.fieldDeposit(field: field, amount: 10 * Amounts.unit), by: [payer], user: payerUser)
        case (3, _):
            submit(.fieldWithdraw(field: field, snapshot: withdrawn), by: [keys[2]], user: Int((3 * k + 2) % users), scope: scope)
        case (4, 0):
            let final = fieldSnapshot(field, number: 2, balances: [67 * Amounts.unit, 78 * Amounts.unit], keys: keys, domain: FieldDomains.close)
            submit(.fieldClose(field: field, snapshot: final), by: [payer], user: payerUser, scope: scope)
        case (4, 1), (4, 2):
            submit(.fieldSoloClose(field: field, snapshot: withdrawn), by: [payer], user: payerUser, scope: scope)
        case (4, _):
            let receipts = [Hash.sha256(utf8: "sim payment \(k) a"), Hash.sha256(utf8: "sim payment \(k) b")].map {
                FieldReceipt.signBatch(field: field, firstIndex: 2, paymentHashes: [$0], leader: leaderKey, chainId: genesis.chainId)[0]
            }
            submit(.fieldEquivocation(field: field, first: receipts[0], second: receipts[1]), by: [keys[2]],
                   user: Int((3 * k + 2) % users), scope: scope)
        case (5, 1):
            let newer = fieldSnapshot(field, number: 2, balances: [67 * Amounts.unit, 78 * Amounts.unit], keys: keys, domain: FieldDomains.commitment)
            submit(.fieldDispute(field: field, claim: .newerSnapshot(newer)), by: [keys[2]], user: Int((3 * k + 2) % users), scope: scope)
        case (5, 2):
            let beyond = FieldReceipt.signBatch(field: field, firstIndex: 4, paymentHashes: [Hash.sha256(utf8: "sim payment \(k) c")],
                                                leader: leaderKey, chainId: genesis.chainId)[0]
            submit(.fieldDispute(field: field, claim: .receipt(beyond)), by: [keys[2]], user: Int((3 * k + 2) % users), scope: scope)
        case (6, 1), (6, 2), (6, 3):
            submit(.fieldFinalize(field: field), by: [payer], user: payerUser, scope: scope)
        default:
            break
        }
    }

    /// Snapshot `number` of the workload's field with the second participant's 5 ALZA withdrawn, signed by both.
    private func fieldSnapshot(_ field: FieldId, number: UInt64, balances: [Amount], keys: [SigningKey],
                               domain: SigningDomain) -> SignedFieldSnapshot {
        let participants = keys[1...].map { Address($0.publicKey) }
        var flows = FieldFlows()
        flows[1] = FieldFlow(withdrawn: 5 * Amounts.unit)
        let snapshot = FieldSnapshot(field: field, number: number, paymentCount: 1 + 2 * number,
                                     paymentsRoot: Hash.sha256(utf8: "sim field \(field) \(number)"),
                                     balancesHash: FieldSnapshot.balancesHash(participants: participants, balances: balances, flows: flows))
        let commitment = snapshot.commitment(participantsHash: FieldSnapshot.participantsHash(participants))
        let signatures = keys[1...].map { $0.sign(commitment.bytes, domain: domain, chainId: genesis.chainId) }
        return SignedFieldSnapshot(snapshot: snapshot, balances: balances, flows: flows, signatures: signatures)
    }

    /// Signs `payload` (the first key pays) and hands it to the user's node (`entryNode(forUser:)`).
    private func submit(_ payload: MessagePayload, by signers: [SigningKey], user: Int, scope: [Address] = []) {
        guard let index = entryNode(forUser: user) else { return }
        submit(payload, by: signers, at: index, scope: scope)
    }

    /// Signs `payload` (the first key pays, its nonce from the node's mempool) and hands it to node `index`.
    func submit(_ payload: MessagePayload, by signers: [SigningKey], at index: Int, scope: [Address] = []) {
        guard let core = nodes[index].core else { return }
        let payer = Address(signers[0].publicKey)
        let header = TransactionHeader(chainId: genesis.chainId, expiration: time + 600_000,
                                       nonce: core.mempool.nextNonce(for: payer, state: core.head), fee: genesis.parameters.minimumFee)
        let transaction = SignedTransaction.sign(
            Transaction(header: header, messages: [Message(payload, authorizer: payer, extraScope: scope)]), with: signers)
        queue.schedule(.submit(node: index, transaction: transaction), at: time + 200)
    }
}
