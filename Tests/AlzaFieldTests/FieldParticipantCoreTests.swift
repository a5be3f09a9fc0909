import AlzaCore
import AlzaField
import AlzaLedger
import Testing

@Suite struct FieldParticipantCoreTests {
    /// Participant 0 pays participant 1 `amount` through `leader`; returns the payment and the leader's effects.
    func pay(_ fixture: FieldFixture, _ leader: inout FieldLeaderCore, _ participants: inout [FieldParticipantCore],
             amount: Amount = 7 * Amounts.unit) throws -> (SignedFieldPayment, [FieldLeaderCore.Effect]) {
        let payment = try participants[0].pay(to: fixture.address(1), amount: amount)
        let first = leader.receive(payment, now: 1).persists.first!.firstIndex
        let effects = leader.persisted(firstIndex: first, now: 2)
        try participants[0].received(effects.receipts.first!.receipt, for: payment)
        try participants[1].received(effects.incoming.first!.receipt, for: payment)
        return (payment, effects)
    }

    @Test func aReceiptNotSignedByTheLeaderOrNotInItsBatchIsRefused() throws {
        let fixture = FieldFixture()
        var leader = fixture.leader()
        var participants = fixture.participants()
        let payment = try participants[0].pay(to: fixture.address(1), amount: 1)
        _ = leader.receive(payment, now: 0)
        let genuine = leader.persisted(firstIndex: 0, now: 1).receipts.first!.receipt
        let forgedBatch = FieldReceipt.signBatch(field: fixture.roster.field, firstIndex: 0, paymentHashes: [payment.hash],
                                                 leader: SigningKey(deterministicLabel: "impostor"), chainId: fixture.chainId)[0]
        #expect(throws: FieldError.forgedReceipt(index: 0, reason: "the batch signature is not the leader's")) {
            try participants[0].received(forgedBatch, for: payment)
        }
        var moved = genuine
        moved.index = 3
        #expect(throws: FieldError.forgedReceipt(index: 3, reason: "not in the signed batch (the proof does not lead to the expected root)")) {
            try participants[0].received(moved, for: payment)
        }
        let other = try participants[0].pay(to: fixture.address(2), amount: 1)
        #expect(throws: FieldError.receiptForAnotherPayment(index: 0)) { try participants[0].received(genuine, for: other) }
        #expect(participants[0].receipted.isEmpty)
        try participants[0].received(genuine, for: payment)
        #expect(participants[0].receipted[0]?.payment == payment)
    }

    @Test func aSnapshotIsSignedOnlyWhenItsHashesRootReceiptsAndBalanceHoldUp() throws {
        let fixture = FieldFixture()
        var leader = fixture.leader { $0.snapshotEveryPayments = 1 }
        var participants = fixture.participants()
        let (_, effects) = try pay(fixture, &leader, &participants)
        let proposal = effects.proposals.first { $0.to == fixture.address(1) }!.proposal
        #expect(proposal.balance == 1_007 * Amounts.unit)

        var wrongRoot = proposal
        wrongRoot.snapshot.paymentsRoot = Hash.sha256(utf8: "another root")
        #expect(throws: FieldError.paymentsRootMismatch(snapshot: 1)) { try participants[1].sign(wrongRoot) }

        var swapped = proposal
        swapped.paymentHashes = [Hash.sha256(utf8: "another payment")]
        var accumulator = MerkleAccumulator()
        accumulator.append(leafHash: FieldSnapshot.paymentLeaf(swapped.paymentHashes[0]))
        swapped.snapshot.paymentsRoot = accumulator.root
        #expect(throws: FieldError.receiptNotInSnapshot(index: 0, snapshot: 1)) { try participants[1].sign(swapped) }

        var short = proposal
        short.balance = 1_000 * Amounts.unit
        #expect(throws: FieldError.balanceMismatch(snapshot: 1, expected: 1_007 * Amounts.unit, claimed: 1_000 * Amounts.unit)) {
            try participants[1].sign(short)
        }
        var inflated = proposal
        inflated.balance = 1_100 * Amounts.unit   // more than its payments give, but not what the balances hash holds
        #expect(throws: FieldError.balanceProofInvalid(snapshot: 1)) { try participants[1].sign(inflated) }

        var elsewhere = proposal
        elsewhere.snapshot.field = FieldId(leader: fixture.leaderKey.publicKey, nonce: 9)
        #expect(throws: FieldError.wrongField(expected: fixture.roster.field, actual: elsewhere.snapshot.field)) {
            try participants[1].sign(elsewhere)
        }
        #expect(participants[1].newestSigned == nil, "nothing changed by a refusal")

        _ = try participants[1].sign(proposal)
        #expect(participants[1].coveredCount == 1)
        #expect(throws: FieldError.staleSnapshot(number: 1, newest: 1)) { try participants[1].sign(proposal) }
    }

    /// A proposal that does not start where this participant's newest signed snapshot ended cannot be checked.
    @Test func aProposalWithAGapIsRefused() throws {
        let fixture = FieldFixture()
        var leader = fixture.leader { $0.snapshotEveryPayments = 1 }
        var participants = fixture.participants()
        let (_, effects) = try pay(fixture, &leader, &participants)
        var gap = effects.proposals.first { $0.to == fixture.address(1) }!.proposal
        gap.firstIndex = 1
        #expect(throws: FieldError.snapshotOutOfOrder(paymentCount: 1, known: 0)) { try participants[1].sign(gap) }
    }

    /// The leader keeps a participant that has not signed a snapshot in the next one from where it stopped.
    @Test func aParticipantThatMissedASnapshotChecksTheNextFromItsOwnNewest() throws {
        let fixture = FieldFixture()
        var leader = fixture.leader { $0.snapshotEveryPayments = 1 }
        var participants = fixture.participants()
        _ = try pay(fixture, &leader, &participants)
        let (_, second) = try pay(fixture, &leader, &participants)
        let proposal = second.proposals.first { $0.to == fixture.address(2) }!.proposal
        #expect(proposal.snapshot.number == 2 && proposal.firstIndex == 0 && proposal.paymentHashes.count == 2)
        let signature = try participants[2].sign(proposal)
        #expect(try leader.receivedSignature(signature, snapshot: 2, from: fixture.address(2), now: 3).isEmpty)
        #expect(leader.unsigned(snapshot: 2) == [fixture.address(0), fixture.address(1)])
    }

    @Test func onlyTheNewestPaymentCanBeTakenBackAfterARefusal() throws {
        let fixture = FieldFixture()
        var participant = fixture.participants()[0]
        let first = try participant.pay(to: fixture.address(1), amount: 1)
        let second = try participant.pay(to: fixture.address(1), amount: 2)
        let takenFirst = participant.refused(first)
        #expect(!takenFirst, "a later payment was signed after it")
        let takenSecond = participant.refused(second)
        #expect(takenSecond)
        #expect(try participant.pay(to: fixture.address(2), amount: 3).payment.sequence == 1, "its sequence number is reused")
        #expect(participant.sent[second.hash] == nil)
    }

    /// Found by the simulator (D38): a payment's receipt is lost, the participant signs a snapshot holding the
    /// payment, then its copy sent again is refused by the now closing leader. The payment is the participant's in
    /// that snapshot: it is not taken back, and it still counts against the participant's guarantee.
    @Test func aPaymentASignedSnapshotHoldsIsNotTakenBackOnARefusal() throws {
        let fixture = FieldFixture()
        var leader = fixture.leader()
        var participants = fixture.participants()
        let payment = try participants[0].pay(to: fixture.address(1), amount: 7 * Amounts.unit)
        let first = leader.receive(payment, now: 1).persists.first!.firstIndex
        _ = leader.persisted(firstIndex: first, now: 2)   // its receipt never reaches the payer
        #expect(leader.loggedIndex(of: payment.hash) == 0)
        #expect(leader.loggedIndex(of: Hash.sha256(utf8: "never sent")) == nil)
        let proposal = try #require(leader.tick(now: 10_000).proposals.first { $0.to == fixture.address(0) }?.proposal)
        _ = try participants[0].sign(proposal)
        let takenBack = participants[0].refused(payment)
        #expect(!takenBack, "the signed snapshot holds it")
        #expect(participants[0].sent[payment.hash] == payment)
        #expect(try participants[0].pay(to: fixture.address(2), amount: 1).payment.sequence == 1, "its sequence number stays used")
    }

    @Test func aPaymentToAnOutsiderOrOfNothingIsNotSigned() {
        let fixture = FieldFixture()
        var participant = fixture.participants()[0]
        let outsider = Address(SigningKey(deterministicLabel: "outsider").publicKey)
        #expect(throws: FieldError.notParticipant(outsider)) { try participant.pay(to: outsider, amount: 1) }
        #expect(throws: FieldError.zeroAmount) { try participant.pay(to: fixture.address(1), amount: 0) }
        #expect(throws: FieldError.paymentToSelf(fixture.address(0))) { try participant.pay(to: fixture.address(0), amount: 1) }
        #expect(participant.sent.isEmpty)
    }

    @Test func aMemoIsSealedToThePayeeAndOnlyThePayeeReadsIt() throws {
        let fixture = FieldFixture()
        var participants = fixture.participants()
        let payment = try participants[0].pay(to: fixture.address(1), amount: 1, memo: Array("table 4".utf8))
        #expect(payment.payment.memo.count == 7 + SealedBox.overhead)
        #expect(try participants[1].memo(of: payment) == Array("table 4".utf8))
        #expect(throws: FieldError.memoUnreadable(reason: "the payment is to \(fixture.address(1))")) {
            try participants[2].memo(of: payment)
        }
        let limit = FieldParticipantCore.maximumMemoText
        #expect(throws: FieldError.memoTooLarge(bytes: limit + 1, limit: limit)) {
            try participants[0].pay(to: fixture.address(1), amount: 1, memo: Array(repeating: 0, count: limit + 1))
        }
        #expect(try participants[0].pay(to: fixture.address(1), amount: 1, memo: Array(repeating: 7, count: limit)).payment.memo.count
                    == FieldPayment.maximumMemoBytes)
    }

    @Test func paymentsReceiptsAndSnapshotsSurviveTheirCanonicalBytes() throws {
        let fixture = FieldFixture()
        var leader = fixture.leader { $0.snapshotEveryPayments = 1 }
        var participants = fixture.participants()
        let (payment, effects) = try pay(fixture, &leader, &participants)
        #expect(try SignedFieldPayment(canonicalBytes: payment.canonicalBytes) == payment)
        let receipt = effects.receipts[0].receipt
        #expect(try FieldReceipt(canonicalBytes: receipt.canonicalBytes) == receipt)
        let proposal = effects.proposals[0].proposal
        #expect(try SnapshotProposal(canonicalBytes: proposal.canonicalBytes) == proposal)
        var oversized = payment.payment
        oversized.memo = Array(repeating: 1, count: FieldPayment.maximumMemoBytes + 1)
        // The memo's length sits after the field, payer, payee (32 bytes each), amount and sequence (8 each).
        #expect(throws: CodecError.lengthOverLimit(offset: 112, length: 1_025, limit: 1_024)) {
            try FieldPayment(canonicalBytes: oversized.canonicalBytes)
        }
    }

    @Test func aParticipantReplayedFromItsJournalHoldsWhatItHadAndRefusesAJournalThatDoesNotReplay() throws {
        let fixture = FieldFixture()
        var leader = fixture.leader { $0.snapshotEveryPayments = 1 }
        var participants = fixture.participants()
        var journal: [[UInt8]] = []
        let payment = try participants[0].pay(to: fixture.address(1), amount: 3 * Amounts.unit, memo: Array("rent".utf8))
        journal.append(FieldParticipantJournalEntry.paid(payment).canonicalBytes)
        _ = leader.receive(payment, now: 1)
        let effects = leader.persisted(firstIndex: 0, now: 2)
        let receipt = effects.receipts[0].receipt
        try participants[0].received(receipt, for: payment)
        journal.append(FieldParticipantJournalEntry.receipted(receipt, payment).canonicalBytes)
        let proposal = effects.proposals.first { $0.to == fixture.address(0) }!.proposal
        _ = try participants[0].sign(proposal)
        journal.append(FieldParticipantJournalEntry.signed(proposal).canonicalBytes)

        var replayed = try FieldParticipantCore(roster: fixture.roster, key: fixture.keys[0], replaying: journal)
        #expect(replayed.newestSigned?.snapshot == participants[0].newestSigned?.snapshot)
        #expect(replayed.newestSigned?.balance == 997 * Amounts.unit)
        #expect(replayed.receipted[0]?.receipt == receipt)
        #expect(replayed.sent[payment.hash] == payment)
        // Its next payment takes the next sequence number.
        #expect(try replayed.pay(to: fixture.address(2), amount: 1).payment.sequence == 1)

        // A receipt before its payment, and a record that is not an entry, are refused with the position.
        #expect(throws: FieldError.self) {
            try FieldParticipantCore(roster: fixture.roster, key: fixture.keys[0], replaying: [journal[1]])
        }
        #expect(throws: FieldError.self) {
            try FieldParticipantCore(roster: fixture.roster, key: fixture.keys[0], replaying: [[9, 9]])
        }
    }

    @Test func aProposalFromAnEarlierSignedSnapshotIsSignedAndOneFromNowhereIsNot() throws {
        let fixture = FieldFixture()
        var leader = fixture.leader { $0.snapshotEveryPayments = 1 }
        var participants = fixture.participants()
        // The leader hears no signature, so every proposal starts at 0; participant 1 signs only the second.
        _ = try pay(fixture, &leader, &participants, amount: Amounts.unit)
        let (_, second) = try pay(fixture, &leader, &participants, amount: Amounts.unit)
        _ = try participants[1].sign(second.proposals.first { $0.to == fixture.address(1) }!.proposal)
        #expect(participants[1].coveredCount == 2)
        let (_, third) = try pay(fixture, &leader, &participants, amount: Amounts.unit)
        let fromStart = third.proposals.first { $0.to == fixture.address(1) }!.proposal
        #expect(fromStart.firstIndex == 0)
        // From a payment count it never signed at: refused.
        var fromNowhere = fromStart
        fromNowhere.firstIndex = 1
        fromNowhere.paymentHashes = Array(fromStart.paymentHashes[1...])
        #expect(throws: FieldError.snapshotOutOfOrder(paymentCount: 3, known: 2)) { try participants[1].sign(fromNowhere) }
        // From 0 (what a restarted leader that lost the acknowledgements sends): every hash checked anew, signed.
        _ = try participants[1].sign(fromStart)
        #expect(participants[1].coveredCount == 3)
    }

    @Test func aCloseIsSignedOnlyForTheNewestSignedSnapshotWithNoReceiptBeyondIt() throws {
        let fixture = FieldFixture()
        var leader = fixture.leader { $0.snapshotEveryPayments = 1 }
        var participants = fixture.participants()
        var fulls: [SignedFieldSnapshot] = []
        for _ in 0..<2 {
            let (_, effects) = try pay(fixture, &leader, &participants, amount: Amounts.unit)
            var queue = effects.proposals
            while let (proposal, to) = queue.first {
                queue.removeFirst()
                let position = fixture.roster.position(of: to)!
                let signature = try participants[position].sign(proposal)
                for case .fullySigned(let full) in try leader.receivedSignature(signature, snapshot: proposal.snapshot.number, from: to, now: 3) {
                    fulls.append(full)
                }
            }
        }
        #expect(fulls.map(\.snapshot.number) == [1, 2])
        let closeSignature = try participants[1].signClose(fulls[1])
        let commitment = fulls[1].snapshot.commitment(participantsHash: fixture.roster.participantsHash)
        #expect(PublicKey(bytes32: fixture.address(1).bytes32).isValidSignature(closeSignature, for: commitment.bytes,
                                                                               domain: FieldDomains.close, chainId: fixture.chainId))
        #expect(throws: FieldError.staleSnapshot(number: 1, newest: 2)) { try participants[1].signClose(fulls[0]) }
        var misstated = fulls[1]
        misstated.balances.swapAt(0, 1)
        #expect(throws: FieldError.self) { try participants[1].signClose(misstated) }
        // Participant 1 signed the close of snapshot 2: a payment to it receipted beyond no longer counts for it.
        let payment = try participants[0].pay(to: fixture.address(1), amount: Amounts.unit)
        let receipt = FieldReceipt.signBatch(field: fixture.roster.field, firstIndex: 2, paymentHashes: [payment.hash],
                                             leader: fixture.leaderKey, chainId: fixture.chainId)[0]
        #expect(throws: FieldError.closeSigned(snapshot: 2)) { try participants[1].received(receipt, for: payment) }
        // Participant 2 holds a receipt beyond snapshot 2: it will not sign the close of snapshot 2.
        let toTwo = try participants[0].pay(to: fixture.address(2), amount: Amounts.unit)
        let beyond = FieldReceipt.signBatch(field: fixture.roster.field, firstIndex: 2, paymentHashes: [toTwo.hash],
                                            leader: fixture.leaderKey, chainId: fixture.chainId)[0]
        try participants[2].received(beyond, for: toTwo)
        #expect(throws: FieldError.receiptNotInSnapshot(index: 2, snapshot: 2)) { try participants[2].signClose(fulls[1]) }
    }
}
