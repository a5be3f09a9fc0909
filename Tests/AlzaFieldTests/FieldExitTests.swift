import AlzaCore
import AlzaField
import AlzaLedger
import Testing

/// Top-ups, withdrawals and locks in the cores (D34): an exit is a payment of its payer to itself that leaves its
/// balance and shows in its snapshot line as withdrawn; a top-up the chain credited is added by the leader and
/// checked by the participant against what its watcher read.
@Suite struct FieldExitTests {
    let fixture = FieldFixture()
    let target = FieldId(leader: SigningKey(deterministicLabel: "another leader").publicKey, nonce: 2)

    /// `signed` through the leader to durability; its receipt to the payer.
    func log(_ signed: SignedFieldPayment, _ leader: inout FieldLeaderCore, _ participant: inout FieldParticipantCore) throws -> [FieldLeaderCore.Effect] {
        let persist = try #require(leader.receive(signed, now: 1).persists.first)
        let effects = leader.persisted(firstIndex: persist.firstIndex, now: 2)
        try participant.received(try #require(effects.receipts.first).receipt, for: signed)
        return effects
    }

    /// The next snapshot, signed by every participant; the leader's fully signed copy.
    func signRound(_ leader: inout FieldLeaderCore, _ participants: inout [FieldParticipantCore], now: UInt64) throws -> SignedFieldSnapshot? {
        var full: SignedFieldSnapshot?
        for (proposal, to) in leader.tick(now: now).proposals {
            let position = fixture.roster.position(of: to)!
            let signature = try participants[position].sign(proposal)
            for case .fullySigned(let signed) in try leader.receivedSignature(signature, snapshot: proposal.snapshot.number, from: to, now: now) {
                full = signed
            }
        }
        return full
    }

    @Test func aWithdrawalLeavesTheBalanceAndIsRecordedAsWithdrawnInTheNextSnapshot() throws {
        var leader = fixture.leader()
        var participants = fixture.participants()
        let exit = try participants[0].withdraw(amount: 100 * Amounts.unit)
        #expect(exit.payment.kind == .withdrawal && exit.payment.payee == fixture.address(0))
        let effects = try log(exit, &leader, &participants[0])
        #expect(effects.incoming.count == 1, "the payer is its own payee: it is told as any payee is")
        #expect(leader.durableBalances[0] == 900 * Amounts.unit)
        #expect(leader.durableFlows[0] == FieldFlow(withdrawn: 100 * Amounts.unit))
        let full = try #require(try signRound(&leader, &participants, now: 1_000))
        #expect(full.balances == [900, 1_000, 1_000].map { $0 * Amounts.unit })
        #expect(full.flows[0] == FieldFlow(withdrawn: 100 * Amounts.unit) && full.flows[1] == .zero)
        #expect(full.snapshot.balancesHash
            == FieldSnapshot.balancesHash(participants: fixture.roster.participants, balances: full.balances, flows: full.flows))
        try participants[1].receivedFullySigned(full)
        #expect(participants[1].newestFullySigned == full)
    }

    @Test func aLockedAmountCannotBeSpentAgainInTheSourceField() throws {
        var leader = fixture.leader()
        var participants = fixture.participants()
        let lock = try participants[0].lock(amount: 800 * Amounts.unit, for: target)
        #expect(lock.payment.kind == .lock(target: target))
        _ = try log(lock, &leader, &participants[0])
        let spend = try participants[0].pay(to: fixture.address(1), amount: 300 * Amounts.unit)
        #expect(leader.receive(spend, now: 3).rejections
            == [.insufficientBalance(payer: fixture.address(0), balance: 200 * Amounts.unit, amount: 300 * Amounts.unit)])
        let relock = fixture.payment(from: 0, to: 0, amount: 800 * Amounts.unit, sequence: 1)
        var twice = relock.payment
        twice.kind = .lock(target: FieldId(leader: SigningKey(deterministicLabel: "a third leader").publicKey, nonce: 1))
        let signed = SignedFieldPayment.sign(twice, with: fixture.keys[0], chainId: fixture.chainId)
        #expect(leader.receive(signed, now: 4).rejections
            == [.insufficientBalance(payer: fixture.address(0), balance: 200 * Amounts.unit, amount: 800 * Amounts.unit)],
                "the same balance locked for a second field")
    }

    @Test func exitsThatAreNotTheirPayersOwnOrLockIntoTheirOwnFieldAreRefused() throws {
        var leader = fixture.leader()
        var participants = fixture.participants()
        var toOther = fixture.payment(from: 0, to: 1, amount: 1, sequence: 0).payment
        toOther.kind = .withdrawal
        #expect(leader.receive(SignedFieldPayment.sign(toOther, with: fixture.keys[0], chainId: fixture.chainId), now: 1).rejections
            == [.invalidExit(reason: "a withdrawal is paid by its payer to itself")])
        var intoItself = fixture.payment(from: 0, to: 0, amount: 1, sequence: 0).payment
        intoItself.kind = .lock(target: fixture.roster.field)
        #expect(leader.receive(SignedFieldPayment.sign(intoItself, with: fixture.keys[0], chainId: fixture.chainId), now: 1).rejections
            == [.invalidExit(reason: "a field cannot lock into itself")])
        #expect(throws: FieldError.invalidExit(reason: "a field cannot lock into itself")) {
            try participants[0].lock(amount: 1, for: fixture.roster.field)
        }
        #expect(throws: FieldError.zeroAmount) { try participants[0].withdraw(amount: 0) }
    }

    @Test func aTopUpIsSignedOnlyOnceTheParticipantsWatcherSawTheChainCreditIt() throws {
        var leader = fixture.leader()
        var participants = fixture.participants()
        try leader.credited(fixture.address(0), depositedTotal: 50 * Amounts.unit)
        try leader.credited(fixture.address(0), depositedTotal: 20 * Amounts.unit)
        #expect(leader.balances[0] == 1_050 * Amounts.unit, "an older total changes nothing")
        _ = try log(participants[0].pay(to: fixture.address(1), amount: 1_020 * Amounts.unit), &leader, &participants[0])
        let proposal = try #require(leader.tick(now: 1_000).proposals.first { $0.to == fixture.address(0) }).proposal
        #expect(proposal.flow == FieldFlow(deposited: 50 * Amounts.unit) && proposal.balance == 30 * Amounts.unit)
        #expect(throws: FieldError.flowMismatch(snapshot: 1, reason: "it counts 50.00000000 ALZA of top-ups, the chain credited 0.00000000")) {
            try participants[0].sign(proposal)
        }
        participants[0].credited(depositedTotal: 50 * Amounts.unit)
        _ = try participants[0].sign(proposal)
        #expect(participants[0].newestSigned?.flow == FieldFlow(deposited: 50 * Amounts.unit))
        let outsider = Address(SigningKey(deterministicLabel: "outsider").publicKey)
        #expect(throws: FieldError.notParticipant(outsider)) { try leader.credited(outsider, depositedTotal: 1) }
    }

    @Test func aProposalMisstatingThisParticipantsExitsIsRefused() throws {
        var leader = fixture.leader()
        var participants = fixture.participants()
        _ = try log(participants[0].withdraw(amount: 10 * Amounts.unit), &leader, &participants[0])
        var proposal = try #require(leader.tick(now: 1_000).proposals.first { $0.to == fixture.address(0) }).proposal
        proposal.flow.withdrawn = 0
        proposal.balance += 10 * Amounts.unit
        #expect(throws: FieldError.flowMismatch(snapshot: 1, reason: "it records 0.00000000 ALZA withdrawn, this participant's exits in it are 10.00000000")) {
            try participants[0].sign(proposal)
        }
        #expect(participants[0].newestSigned == nil)
    }

    @Test func aLeaderRestartsWithTheTopUpsItsJournalCreditedBeforeThePaymentsTheyPaidFor() throws {
        var leader = fixture.leader()
        var participants = fixture.participants()
        var journal: [[UInt8]] = [FieldLeaderJournalEntry.credited(participant: fixture.address(2), depositedTotal: 500 * Amounts.unit).canonicalBytes]
        try leader.credited(fixture.address(2), depositedTotal: 500 * Amounts.unit)
        let large = try participants[2].pay(to: fixture.address(0), amount: 1_400 * Amounts.unit)
        let persist = try #require(leader.receive(large, now: 1).persists.first)
        journal.append(FieldLeaderJournalEntry.payments(firstIndex: 0, persist.payments).canonicalBytes)
        _ = leader.persisted(firstIndex: 0, now: 2)
        let recovered = try FieldLeaderCore(roster: fixture.roster, key: fixture.leaderKey, now: 3,
                                            recovering: FieldLeaderRecovery(records: journal))
        #expect(recovered.durableBalances == leader.durableBalances)
        #expect(recovered.durableFlows == leader.durableFlows)
        #expect(throws: FieldError.journalInconsistent(
            reason: "logged payment 0 no longer applies: \(FieldError.insufficientBalance(payer: fixture.address(2), balance: 1_000 * Amounts.unit, amount: 1_400 * Amounts.unit).description)")) {
            try FieldLeaderCore(roster: fixture.roster, key: fixture.leaderKey, now: 3, recovering: FieldLeaderRecovery(records: [journal[1]]))
        }
    }

    @Test func aSignedCloseThatLapsedLetsPaymentsBeyondItCountAgainAndSurvivesARestart() throws {
        var leader = fixture.leader()
        var participants = fixture.participants()
        var journal: [[UInt8]] = []   // participant 1's, as its node writes it
        let first = try participants[0].pay(to: fixture.address(1), amount: Amounts.unit)
        let effects = try log(first, &leader, &participants[0])
        let push = try #require(effects.incoming.first { $0.to == fixture.address(1) })
        try participants[1].received(push.receipt, for: first)
        journal.append(FieldParticipantJournalEntry.receipted(push.receipt, first).canonicalBytes)
        var full: SignedFieldSnapshot?
        for (proposal, to) in leader.tick(now: 1_000).proposals {
            let position = fixture.roster.position(of: to)!
            let signature = try participants[position].sign(proposal)
            if position == 1 { journal.append(FieldParticipantJournalEntry.signed(proposal).canonicalBytes) }
            for case .fullySigned(let signed) in try leader.receivedSignature(signature, snapshot: proposal.snapshot.number, from: to, now: 1_000) {
                full = signed
            }
        }
        let final = try #require(full)
        try participants[1].receivedFullySigned(final)
        journal.append(FieldParticipantJournalEntry.fullySigned(final).canonicalBytes)
        let closeBy: UInt64 = 1_750_000_060_000
        let signature = try participants[1].signClose(final, closeBy: closeBy)
        journal.append(FieldParticipantJournalEntry.closeSigned(final, closeBy: closeBy).canonicalBytes)
        let bytes = final.snapshot.closeBytes(participantsHash: fixture.roster.participantsHash, closeBy: closeBy)
        #expect(fixture.address(1).publicKey.isValidSignature(signature, for: bytes, domain: FieldDomains.close, chainId: fixture.chainId))

        // A payment to it beyond the signed close is refused until the close lapses, also after a restart.
        let later = try participants[0].pay(to: fixture.address(1), amount: Amounts.unit)
        let persist = try #require(leader.receive(later, now: 2_000).persists.first)
        let beyond = try #require(leader.persisted(firstIndex: persist.firstIndex, now: 2_001).incoming.first { $0.to == fixture.address(1) })
        var restarted = try FieldParticipantCore(roster: fixture.roster, key: fixture.keys[1], replaying: journal)
        #expect(restarted.closeSignedAt?.closeBy == closeBy)
        #expect(throws: FieldError.closeSigned(snapshot: final.snapshot.number)) { try restarted.received(beyond.receipt, for: later) }
        let early = restarted.closeLapsed(finalBlockTime: closeBy)
        #expect(!early, "not lapsed at its own time")
        let lapsed = restarted.closeLapsed(finalBlockTime: closeBy + 1)
        #expect(lapsed)
        try restarted.received(beyond.receipt, for: later)
        #expect(restarted.receipted.count == 2)
        journal.append(FieldParticipantJournalEntry.closeLapsed(finalBlockTime: closeBy + 1).canonicalBytes)
        #expect(try FieldParticipantCore(roster: fixture.roster, key: fixture.keys[1], replaying: journal).closeSignedAt == nil)
    }
}
