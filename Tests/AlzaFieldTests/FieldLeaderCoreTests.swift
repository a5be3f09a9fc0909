import AlzaCore
import AlzaField
import AlzaLedger
import Testing

@Suite struct FieldLeaderCoreTests {
    @Test func aPaymentIsLoggedBeforeItsReceiptAndItsPayeeHearsOfIt() throws {
        let fixture = FieldFixture()
        var leader = fixture.leader()
        var payer = fixture.participants()[0]
        let payment = try payer.pay(to: fixture.address(1), amount: 10 * Amounts.unit)
        let accepted = leader.receive(payment, now: 5)
        #expect(accepted.persists.map(\.firstIndex) == [0])
        #expect(accepted.receipts.isEmpty, "no receipt before the log is durable")
        #expect(leader.balances == [990, 1_010, 1_000].map { $0 * Amounts.unit })
        #expect(leader.durableBalances == fixture.roster.openingBalances)
        let durable = leader.persisted(firstIndex: 0, now: 6)
        #expect(durable.receipts.map(\.to) == [fixture.address(0)])
        #expect(durable.incoming.map(\.to) == [fixture.address(1)])
        let receipt = try #require(durable.receipts.first?.receipt)
        #expect(receipt.index == 0 && receipt.paymentHash == payment.hash)
        try receipt.verify(leader: fixture.leaderKey.publicKey, chainId: fixture.chainId)
        #expect(leader.durableBalances == leader.balances)
    }

    /// Payments that arrive while a write is in flight go to the log together, and are receipted under one
    /// signature.
    @Test func paymentsWaitingForTheLogAreWrittenAndSignedAsOneBatch() throws {
        let fixture = FieldFixture()
        var leader = fixture.leader()
        var payers = fixture.participants()
        _ = leader.receive(try payers[0].pay(to: fixture.address(1), amount: 1), now: 0)
        var queued: [FieldLeaderCore.Effect] = []
        for _ in 0..<5 { queued += leader.receive(try payers[1].pay(to: fixture.address(2), amount: 1), now: 1) }
        #expect(queued.persists.isEmpty, "the first write is still in flight")
        let next = leader.persisted(firstIndex: 0, now: 2)
        #expect(next.persists.map(\.firstIndex) == [1])
        #expect(next.persists.first?.payments.count == 5)
        let batch = leader.persisted(firstIndex: 1, now: 3).receipts.map(\.receipt)
        #expect(batch.map(\.index) == [1, 2, 3, 4, 5])
        #expect(Set(batch.map(\.signature)).count == 1, "one signature for the batch")
        for receipt in batch { try receipt.verify(leader: fixture.leaderKey.publicKey, chainId: fixture.chainId) }
    }

    @Test func everyKindOfBadPaymentIsRefusedWithItsReasonAndChangesNothing() {
        let fixture = FieldFixture()
        var leader = fixture.leader()
        let other = FieldId(leader: fixture.leaderKey.publicKey, nonce: 2)
        let outsider = SigningKey(deterministicLabel: "outsider")
        let cases: [(SignedFieldPayment, FieldError)] = [
            (fixture.payment(from: 0, to: 1, amount: 1, sequence: 0, field: other),
             .wrongField(expected: fixture.roster.field, actual: other)),
            (fixture.payment(from: 0, to: 1, amount: 1, sequence: 0, key: outsider), .badPaymentSignature(payer: fixture.address(0))),
            (fixture.payment(from: 0, to: 1, amount: 1, sequence: 1),
             .skippedSequence(payer: fixture.address(0), expected: 0, actual: 1)),
            (fixture.payment(from: 0, to: 1, amount: 1_001 * Amounts.unit, sequence: 0),
             .insufficientBalance(payer: fixture.address(0), balance: 1_000 * Amounts.unit, amount: 1_001 * Amounts.unit)),
            (fixture.payment(from: 0, to: 1, amount: 0, sequence: 0), .zeroAmount),
            (fixture.payment(from: 0, to: 0, amount: 1, sequence: 0), .paymentToSelf(fixture.address(0))),
        ]
        for (payment, error) in cases {
            #expect(leader.receive(payment, now: 1).rejections == [error])
        }
        let stranger = FieldPayment(field: fixture.roster.field, payer: Address(outsider.publicKey), payee: fixture.address(0),
                                    amount: 1, sequence: 0)
        let strangerPayment = SignedFieldPayment.sign(stranger, with: outsider, chainId: fixture.chainId)
        #expect(leader.receive(strangerPayment, now: 1).rejections == [.notParticipant(Address(outsider.publicKey))])
        #expect(leader.balances == fixture.roster.openingBalances)
        // Another payment with a sequence number already used is refused.
        let first = fixture.payment(from: 0, to: 1, amount: 1, sequence: 0)
        #expect(leader.receive(first, now: 2).persists.count == 1)
        let reused = fixture.payment(from: 0, to: 1, amount: 2, sequence: 0)
        #expect(leader.receive(reused, now: 3).rejections == [.replayedSequence(payer: fixture.address(0), expected: 1, actual: 0)])
    }

    @Test func aPaymentSentAgainWaitsForItsReceiptOrGetsItAgainOnceDurable() throws {
        let fixture = FieldFixture()
        var leader = fixture.leader()
        let payment = fixture.payment(from: 0, to: 1, amount: 5, sequence: 0)
        #expect(leader.receive(payment, now: 1).persists.count == 1)
        // In flight: the original's receipt answers the copy too; nothing is logged twice.
        #expect(leader.receive(payment, now: 2).isEmpty)
        let receipts = leader.persisted(firstIndex: 0, now: 3).receipts
        #expect(receipts.map(\.receipt.index) == [0])
        // Durable: a receipt for the same index, signed again, and the books unchanged.
        let again = leader.receive(payment, now: 4)
        #expect(again.receipts.map(\.receipt.index) == [0])
        #expect(again.receipts.first?.receipt.paymentHash == payment.hash)
        #expect(again.receipts.first.map { $0.receipt.refusal(leader: fixture.roster.leader, chainId: fixture.chainId) } == .some(nil))
        #expect(leader.durableBalances == [fixture.roster.openingBalances[0] - 5, fixture.roster.openingBalances[1] + 5]
                    + fixture.roster.openingBalances.dropFirst(2))
    }

    @Test func aRecoveredLeaderGoesOnFromItsJournalAndRefusesAJournalThatNoLongerApplies() throws {
        let fixture = FieldFixture()
        var leader = fixture.leader()
        var journal: [[UInt8]] = []
        for sequence in 0..<3 {
            let payment = fixture.payment(from: 0, to: 1, amount: 10, sequence: UInt64(sequence))
            let first = try #require(leader.receive(payment, now: 1).persists.first)
            journal.append(FieldLeaderJournalEntry.payments(firstIndex: first.firstIndex, first.payments).canonicalBytes)
            _ = leader.persisted(firstIndex: first.firstIndex, now: 2)
        }
        journal.append(FieldLeaderJournalEntry.proposed(number: 4).canonicalBytes)
        journal.append(FieldLeaderJournalEntry.acknowledged(participant: fixture.address(1), paymentCount: 2).canonicalBytes)
        let recovery = try FieldLeaderRecovery(records: journal)
        #expect(recovery.payments.count == 3)
        #expect(recovery.newestProposed == 4)
        var recovered = try FieldLeaderCore(roster: fixture.roster, key: fixture.leaderKey, now: 10, recovering: recovery)
        #expect(recovered.durableBalances == leader.durableBalances)
        #expect(recovered.paymentHashes == leader.paymentHashes)
        #expect(recovered.acknowledgedCount(of: fixture.address(1)) == 2)
        // The payer's next sequence is 3; the next snapshot is number 5.
        #expect(recovered.receive(fixture.payment(from: 0, to: 1, amount: 1, sequence: 3), now: 11).persists.first?.firstIndex == 3)
        _ = recovered.persisted(firstIndex: 3, now: 12)
        #expect(recovered.tick(now: 10_000).proposals.first?.proposal.snapshot.number == 5)

        // A batch out of order, a record that does not decode, a payment that no longer applies.
        #expect(throws: FieldError.journalInconsistent(reason: "record 1 starts at payment 0, the log holds 1")) {
            try FieldLeaderRecovery(records: [journal[0], journal[0]])
        }
        #expect(throws: FieldError.self) { try FieldLeaderRecovery(records: [[0xFF, 1, 2]]) }
        var twice = FieldLeaderRecovery()
        twice.payments = try FieldLeaderRecovery(records: [journal[0]]).payments + FieldLeaderRecovery(records: [journal[0]]).payments
        #expect(throws: FieldError.self) {
            try FieldLeaderCore(roster: fixture.roster, key: fixture.leaderKey, now: 0, recovering: twice)
        }
    }

    @Test func aSnapshotIsProposedAfterItsPaymentCountAndEveryParticipantSignsIt() throws {
        let fixture = FieldFixture()
        var leader = fixture.leader { $0.snapshotEveryPayments = 2 }
        var participants = fixture.participants()
        var effects: [FieldLeaderCore.Effect] = []
        for index in 0..<2 {
            let payment = try participants[index].pay(to: fixture.address(2), amount: 5 * Amounts.unit)
            _ = leader.receive(payment, now: 10)
            effects = leader.persisted(firstIndex: UInt64(index), now: 11)
            for (receipt, to) in effects.receipts where to == fixture.address(index) {
                try participants[index].received(receipt, for: payment)
            }
            for (payment, receipt, _) in effects.incoming { try participants[2].received(receipt, for: payment) }
        }
        let proposals = effects.proposals
        #expect(proposals.map(\.to) == fixture.roster.participants)
        let snapshot = try #require(proposals.first?.proposal.snapshot)
        #expect(snapshot.number == 1 && snapshot.paymentCount == 2)
        #expect(leader.unsigned(snapshot: 1) == fixture.roster.participants)
        var finished: [FieldLeaderCore.Effect] = []
        for (position, proposal) in proposals.map(\.proposal).enumerated() {
            let signature = try participants[position].sign(proposal)
            finished = try leader.receivedSignature(signature, snapshot: 1, from: fixture.address(position), now: 12)
            if position < 2 { #expect(finished.isEmpty) }
        }
        #expect(finished == [.fullySigned(SignedFieldSnapshot(snapshot: snapshot, balances: leader.durableBalances,
                                                              signatures: participants.map { $0.newestSigned!.signature }))])
        #expect(leader.newestFullySigned?.snapshot == snapshot)
        #expect(leader.unsigned(snapshot: 1) == [])
        #expect(participants[2].newestSigned?.balance == 1_010 * Amounts.unit)
    }

    @Test func aSignatureOnAnotherCommitmentOrFromAnOutsiderIsRefused() throws {
        let fixture = FieldFixture()
        var leader = fixture.leader { $0.snapshotEveryPayments = 1 }
        _ = leader.receive(fixture.payment(from: 0, to: 1, amount: 1, sequence: 0), now: 0)
        #expect(leader.persisted(firstIndex: 0, now: 1).proposals.count == 3)
        let wrong = fixture.keys[0].sign(Hash.sha256(utf8: "something else").bytes, domain: FieldDomains.commitment, chainId: fixture.chainId)
        #expect(throws: FieldError.badSnapshotSignature(snapshot: 1, signer: fixture.address(0))) {
            try leader.receivedSignature(wrong, snapshot: 1, from: fixture.address(0), now: 2)
        }
        #expect(throws: FieldError.unknownSnapshot(7)) { try leader.receivedSignature(wrong, snapshot: 7, from: fixture.address(0), now: 2) }
        let outsider = Address(SigningKey(deterministicLabel: "outsider").publicKey)
        #expect(throws: FieldError.notParticipant(outsider)) { try leader.receivedSignature(wrong, snapshot: 1, from: outsider, now: 2) }
        #expect(leader.unsigned(snapshot: 1)?.count == 3)
    }

    @Test func anIdleLeaderProposesAfterTheSnapshotIntervalAndSaysWhenToWake() throws {
        let fixture = FieldFixture()
        var leader = fixture.leader { $0.snapshotEveryMilliseconds = 1_000 }
        #expect(leader.tick(now: 500) == [.wakeAt(1_000)])
        _ = leader.receive(fixture.payment(from: 0, to: 1, amount: 1, sequence: 0), now: 600)
        _ = leader.persisted(firstIndex: 0, now: 601)
        #expect(leader.tick(now: 999).proposals.isEmpty)
        let due = leader.tick(now: 1_000)
        #expect(due.proposals.count == 3)
        #expect(due.last == .wakeAt(2_000))
        #expect(leader.tick(now: 2_500).proposals.map(\.proposal.snapshot.number) == [2, 2, 2],
                "no new payments, but nobody signed: proposed again under a new number")
        #expect(leader.tick(now: 2_600).proposals.isEmpty, "not before the interval")
        // Nobody ever signs: the leader keeps only the newest proposals waiting.
        for round in 3...20 { _ = leader.tick(now: UInt64(round) * 1_000) }
        #expect(leader.newestSnapshot == 19, "one proposal a second from 4 s on")
        #expect(leader.unsigned(snapshot: 11) == nil)
        #expect(leader.unsigned(snapshot: 12)?.count == 3)
        #expect(leader.unsigned(snapshot: 19)?.count == 3)
    }
}
