import AlzaCore
import AlzaField
import AlzaLedger
import Testing

/// A leader and its participants over many seeds: random payers, amounts (some over the balance), replays, log
/// writes completing at random moments, snapshots signed by random subsets. After every step: the balances add up
/// to the deposits; every participant's newest signed balance is what the leader's durable balances were at that
/// snapshot; and no participant ever signed less than its receipts prove.
@Suite struct FieldSeededRunTests {
    @Test(arguments: 1...24)
    func balancesAreConservedAndEverySignatureMatchesTheLeadersBooks(seed: Int) throws {
        var random = SeededRandom(seed: UInt64(seed))
        let fixture = FieldFixture(participants: 2 + random.next(below: 5))
        let count = fixture.roster.participants.count
        var leader = fixture.leader { $0.snapshotEveryPayments = 1 + random.next(below: 12); $0.maximumBatch = 1 + random.next(below: 8) }
        var participants = fixture.participants()
        var made: [Hash: SignedFieldPayment] = [:]
        var pendingWrite: UInt64?
        var booksAt: [UInt64: [Amount]] = [:]
        var now: UInt64 = 0

        func deliver(_ effects: [FieldLeaderCore.Effect]) throws {
            for effect in effects {
                switch effect {
                case .persist(_, let first): pendingWrite = first
                case .receipt(let receipt, let to): try participants[fixture.roster.position(of: to)!].received(receipt, for: made[receipt.paymentHash]!)
                case .incoming(let payment, let receipt, let to): try participants[fixture.roster.position(of: to)!].received(receipt, for: payment)
                case .propose(let proposal, let to):
                    booksAt[proposal.snapshot.number] = leader.durableBalances
                    // Some participants are away for this snapshot.
                    guard random.next(below: 4) != 0 else { continue }
                    let position = fixture.roster.position(of: to)!
                    let signature = try participants[position].sign(proposal)
                    try deliver(try leader.receivedSignature(signature, snapshot: proposal.snapshot.number, from: to, now: now))
                case .rejected, .fullySigned, .wakeAt: break
                }
            }
        }

        for _ in 0..<300 {
            now += UInt64(random.next(below: 50))
            switch random.next(below: 10) {
            case 0..<6:
                let payer = random.next(below: count)
                var payee = random.next(below: count - 1)
                if payee >= payer { payee += 1 }
                let amount = Amount(1 + random.next(below: 400)) * Amounts.unit
                let payment = try participants[payer].pay(to: fixture.address(payee), amount: amount)
                made[payment.hash] = payment
                let effects = leader.receive(payment, now: now)
                if case .rejected(_, let error, _)? = effects.first {
                    // Over the balance (the only refusal an honest payer meets): its sequence number is free again.
                    guard case .insufficientBalance = error else {
                        Issue.record("seed \(seed): unexpected refusal \(error)")
                        return
                    }
                    let takenBack = participants[payer].refused(payment)
                    #expect(takenBack)
                    continue
                }
                try deliver(effects)
            case 6..<9:
                if let first = pendingWrite {
                    pendingWrite = nil
                    try deliver(leader.persisted(firstIndex: first, now: now))
                }
            default:
                try deliver(leader.tick(now: now))
            }
            #expect(leader.balances.reduce(0, +) == fixture.roster.total)
            #expect(leader.durableBalances.reduce(0, +) == fixture.roster.total)
        }
        for participant in participants {
            guard let signed = participant.newestSigned else { continue }
            #expect(signed.balance == booksAt[signed.snapshot.number]![participant.position],
                    "seed \(seed): \(participant.address) signed its balance in the leader's books")
        }
        if let full = leader.newestFullySigned {
            #expect(full.snapshot.paymentCount <= leader.durableCount)
        }
    }
}
