import AlzaCore
import AlzaField
import AlzaLedger
import Testing

/// The participant's guarantee (DESIGN.md §6) over seeds and faults: whatever the leader and the other participants
/// do, an honest participant that is there at the close ends with at least the balance of the newest fully signed
/// snapshot it holds, plus the payments to it it holds receipts for, less every payment of its own not in that
/// snapshot; or, when the round is annulled, with its deposit back (and the leader's bond if it disputed).
@Suite struct FieldScenarioTests {
    @Test(arguments: 1...20) func cooperativeClose(seed: Int) throws { try run(seed, .cooperative) }
    @Test(arguments: 1...20) func staleSoloCloseIsDefeatedByANewerSnapshot(seed: Int) throws { try run(seed, .staleSoloClose) }
    @Test(arguments: 1...20) func withheldSignatureClosesWithTheLastFullSnapshot(seed: Int) throws { try run(seed, .withheldSignature) }
    @Test(arguments: 1...20) func leaderEquivocationForfeitsItsBond(seed: Int) throws { try run(seed, .leaderEquivocation) }
    @Test(arguments: 1...20) func anOmittedPaymentUnansweredAnnulsTheRound(seed: Int) throws { try run(seed, .silentLeader) }

    /// The faults and outcomes the scenarios name do happen (the suite is not passing by doing nothing).
    @Test func theScenariosExerciseTheirFaultsAndOutcomes() throws {
        var crashes = 0, lost = 0, annulled = 0, replaced = 0, forfeited = 0
        for seed in 1...20 {
            crashes += try run(seed, .cooperative).crashes
            lost += try run(seed, .withheldSignature).lost
            if case .annulled = try run(seed, .silentLeader).record.status { annulled += 1 }
            let stale = try run(seed, .staleSoloClose)
            if case .closed(let settlement, _) = stale.record.status, settlement.number > (stale.fullySignedHeld.flatMap(\.keys).min() ?? 0) {
                replaced += 1
            }
            if try run(seed, .leaderEquivocation).record.leaderForfeited { forfeited += 1 }
        }
        #expect(crashes > 10 && lost > 50)
        #expect(annulled >= 10, "omitted payments annulled: \(annulled) of 20")
        #expect(replaced >= 10, "stale closes replaced by a newer snapshot: \(replaced) of 20")
        #expect(forfeited == 20)
    }

    @discardableResult
    func run(_ seed: Int, _ close: FieldScenario.Close) throws -> FieldScenario {
        var scenario = try FieldScenario(seed: seed, close: close)
        let withholder = close == .withheldSignature ? scenario.random.next(below: scenario.keys.count) : nil
        let dishonest = [.staleSoloClose, .silentLeader].contains(close) ? scenario.random.next(below: scenario.keys.count) : nil
        let steps = 30 + scenario.random.next(below: 50)
        for step in 0..<steps {
            try scenario.payRandomly()
            if scenario.random.next(below: 40) == 0 { try scenario.crashLeader() }
            if scenario.random.next(below: 10) == 0 { try scenario.snapshotNow() }
            if step == steps * 2 / 3, let withholder { scenario.away.insert(withholder) }
        }
        try scenario.resendUnanswered()
        if close == .cooperative || close == .staleSoloClose {
            // An honest leader gets its last snapshot signed by everyone (lost signatures: proposed again).
            for _ in 0..<50 where scenario.leader.newestFullySigned?.snapshot.paymentCount != scenario.leader.durableCount {
                try scenario.snapshotNow()
            }
        } else if close != .silentLeader {
            try scenario.snapshotNow()
        }
        if close == .silentLeader {
            // Receipted payments after the newest fully signed snapshot, that no snapshot will cover.
            for _ in 0..<5 { try scenario.payRandomly() }
        }
        let honest = scenario.participants.indices.filter { $0 != dishonest && $0 != withholder }
        let bounds = honest.map { scenario.participants[$0].guaranteedBalance }
        try closeField(&scenario, dishonest: dishonest)
        try watch(&scenario, honest: honest, leaderAnswers: close != .silentLeader && close != .leaderEquivocation)
        check(scenario, honest: honest, bounds: bounds, seed: seed)
        return scenario
    }

    func closeField(_ scenario: inout FieldScenario, dishonest: Int?) throws {
        let keys = scenario.keys
        switch scenario.close {
        case .cooperative:
            let final = try #require(scenario.leader.newestFullySigned)
            #expect(final.snapshot.paymentCount == scenario.leader.durableCount)
            // Each participant signs the close of its newest snapshot (the leader asks them all).
            let signatures = try scenario.participants.indices.map { try scenario.participants[$0].signClose(final) }
            let closing = SignedFieldSnapshot(snapshot: final.snapshot, balances: final.balances, signatures: signatures)
            try scenario.apply([scenario.sign(.fieldClose(field: scenario.field, snapshot: closing), by: [scenario.leaderAccount])])
        case .staleSoloClose, .silentLeader:
            let poster = try #require(dishonest)
            let held = scenario.fullySignedHeld[poster]
            let pick = scenario.close == .staleSoloClose ? held.keys.min() : held.keys.max()
            guard let number = pick, let snapshot = held[number] else { return }
            try scenario.apply([scenario.sign(.fieldSoloClose(field: scenario.field, snapshot: snapshot), by: [keys[poster]])])
        case .withheldSignature:
            // Nobody here holds a fully signed snapshot: there is nothing to close with, the field stays open.
            guard let poster = scenario.participants.indices.first(where: { !scenario.away.contains($0) && scenario.participants[$0].newestFullySigned != nil }),
                  let snapshot = scenario.participants[poster].newestFullySigned else { return }
            try scenario.apply([scenario.sign(.fieldSoloClose(field: scenario.field, snapshot: snapshot), by: [keys[poster]])])
        case .leaderEquivocation:
            // A receipt the leader signed, and a second one for the same index and another payment.
            let holder = try #require(scenario.participants.indices.first { !scenario.participants[$0].receipted.isEmpty })
            let (index, entry) = try #require(scenario.participants[holder].receipted.min { $0.key < $1.key })
            let second = FieldReceipt.signBatch(field: scenario.field, firstIndex: index, paymentHashes: [Hash.sha256(utf8: "another payment")],
                                                leader: scenario.leaderKey, chainId: scenario.genesis.chainId)[0]
            try scenario.apply([scenario.sign(.fieldEquivocation(field: scenario.field, first: entry.receipt, second: second), by: [keys[holder]])])
            #expect(scenario.record.leaderForfeited)
        }
    }

    /// The honest watchers (and the leader, if it answers) act every block until the field is settled.
    func watch(_ scenario: inout FieldScenario, honest: [Int], leaderAnswers: Bool) throws {
        for _ in 0..<200 where !scenario.record.isClosed {
            var transactions: [SignedTransaction] = []
            for index in honest {
                if let reaction = scenario.participants[index].reaction(to: scenario.record, now: scenario.time) {
                    transactions.append(scenario.sign(reaction, by: [scenario.keys[index]]))
                    break
                }
            }
            if transactions.isEmpty, leaderAnswers, case .closing(_, _, let dispute?) = scenario.record.status,
               let full = scenario.leader.newestFullySigned, full.snapshot.paymentCount > dispute.index {
                let leaves = scenario.leader.paymentHashes[..<Int(full.snapshot.paymentCount)].map(FieldSnapshot.paymentLeaf)
                let proof = try MerkleTree.inclusionProof(index: Int(dispute.index), leafHashes: Array(leaves))
                transactions.append(scenario.sign(.fieldRespond(field: scenario.field, snapshot: full, proof: proof), by: [scenario.leaderAccount]))
            }
            try scenario.apply(transactions, at: scenario.time + 5_000)
        }
    }

    func check(_ scenario: FieldScenario, honest: [Int], bounds: [Amount?], seed: Int) {
        let record = scenario.record
        let label = "seed \(seed), \(scenario.close), \(scenario.crashes) crashes, \(scenario.lost) lost"
        switch record.status {
        case .closed(let settlement, _):
            #expect(settlement.balances.reduce(0, +) == FieldScenario.deposit * Amount(scenario.keys.count), "\(label): settled balances add up")
            for (index, bound) in zip(honest, bounds) {
                guard let bound else { continue }
                #expect(settlement.balances[index] >= bound,
                        "\(label): participant \(index) settled \(settlement.balances[index]), its receipts promise \(bound)")
            }
        case .annulled:
            // Only when a receipted payment is beyond every fully signed snapshot: the leader could not answer.
            #expect([.silentLeader, .leaderEquivocation, .withheldSignature].contains(scenario.close), "\(label): annulled")
        default:
            // A dishonest participant that held no fully signed snapshot could not post one: the field stays open.
            #expect(record.status == .open && scenario.close != .cooperative, "\(label): ended \(record.status)")
        }
        #expect(scenario.state.heldInFields == (record.status == .open ? record.held : 0), "\(label): nothing stays locked")
    }
}
