import AlzaCore
import AlzaLedger
import Testing

/// Receipt disputes, the leader's answer, annulment and leader equivocation (DESIGN.md §6): a participant holding
/// the leader's receipt for a payment the posted snapshot leaves out forces the leader to show a fully signed
/// snapshot with it, or the round is annulled and the disputer takes the bond.
@Suite struct FieldDisputeTests {
    var lifecycle: FieldLifecycleTests
    var field: FieldId { lifecycle.field }
    let leaderKey = FieldLifecycleTests.leaderKey

    init() throws {
        lifecycle = try FieldLifecycleTests()
    }

    /// Payment hashes of a log of `count` payments, and receipts the leader signed for all of them in one batch.
    func log(_ count: Int) -> (hashes: [Hash], receipts: [FieldReceipt]) {
        let hashes = (0..<count).map { Hash.sha256(utf8: "payment \($0)") }
        return (hashes, FieldReceipt.signBatch(field: field, firstIndex: 0, paymentHashes: hashes, leader: leaderKey,
                                               chainId: lifecycle.fixture.chainId))
    }

    /// A fully signed snapshot over the first `count` payments of `hashes`.
    func snapshot(_ number: UInt64, hashes: [Hash], count: Int, alice: Amount, bob: Amount) -> SignedFieldSnapshot {
        var signed = lifecycle.snapshot(number, payments: UInt64(count), alice: alice, bob: bob)
        signed.snapshot.paymentsRoot = MerkleTree.root(leafHashes: hashes.prefix(count).map(FieldSnapshot.paymentLeaf))
        let commitment = signed.snapshot.commitment(participantsHash: FieldSnapshot.participantsHash([Keys.alice.address, Keys.bob.address]))
        signed.signatures = [Keys.alice, Keys.bob].map { $0.sign(commitment.bytes, domain: FieldDomains.commitment, chainId: lifecycle.fixture.chainId) }
        return signed
    }

    func status() -> FieldRecord.Status? { lifecycle.fixture.state.fields[field]?.status }

    /// Alice solo-closes with snapshot 1 (2 payments) though the leader receipted 4; Bob disputes with receipt 3.
    mutating func disputeBeyondThePostedSnapshot() throws -> (hashes: [Hash], deadline: UInt64) {
        try lifecycle.openField()
        let (hashes, receipts) = log(4)
        let old = snapshot(1, hashes: hashes, count: 2, alice: 12 * Amounts.unit, bob: 3 * Amounts.unit)
        try lifecycle.fixture.apply(lifecycle.settlement(.fieldSoloClose(field: field, snapshot: old), from: Keys.alice))
        let deadline = lifecycle.fixture.time + UInt64(FieldLifecycleTests.window) * 1_000
        try lifecycle.fixture.apply(lifecycle.settlement(.fieldDispute(field: field, claim: .receipt(receipts[3])), from: Keys.bob))
        return (hashes, deadline)
    }

    @Test mutating func anUnansweredReceiptDisputeAnnulsTheFieldAndPaysTheBondToTheDisputer() throws {
        let (_, deadline) = try disputeBeyondThePostedSnapshot()
        guard case .closing(_, _, let dispute?)? = status() else {
            Issue.record("the dispute was not recorded: \(String(describing: status()))")
            return
        }
        #expect(dispute.index == 3)
        #expect(dispute.disputer == Keys.bob.address)
        let carolBefore = lifecycle.fixture.balance(Keys.carol)
        let bobBefore = lifecycle.fixture.balance(Keys.bob)
        let result = try lifecycle.fixture.apply(lifecycle.settlement(.fieldFinalize(field: field), from: Keys.dave), at: deadline)
        #expect(status() == .annulled(atHeight: lifecycle.fixture.height))
        #expect(lifecycle.fixture.balance(Keys.alice) == LedgerFixture.startingBalance - LedgerFixture.fee)
        #expect(lifecycle.fixture.balance(Keys.bob) == bobBefore + FieldLifecycleTests.bobDeposit + FieldLifecycleTests.bond)
        #expect(lifecycle.fixture.balance(Keys.carol) == carolBefore)
        #expect(lifecycle.fixture.state.chain.totalRewardsPaid == 0)
        #expect(result.settledCommitments.isEmpty)
        #expect(lifecycle.heldEverywhere() == lifecycle.fixture.state.chain.totalSupply)
    }

    @Test mutating func theLeadersAnswerWithTheDisputedPaymentSettlesTheNewSnapshot() throws {
        let (hashes, deadline) = try disputeBeyondThePostedSnapshot()
        let covering = snapshot(2, hashes: hashes, count: 4, alice: 9 * Amounts.unit, bob: 6 * Amounts.unit)
        let leaves = hashes.map(FieldSnapshot.paymentLeaf)
        let wrongProof = try MerkleTree.inclusionProof(index: 2, leafHashes: leaves)
        #expect(throws: LedgerError.invalidFieldSnapshot(field: field, reason: "snapshot 2 does not hold payment 3 of the disputed receipt")) {
            try lifecycle.fixture.apply(lifecycle.settlement(.fieldRespond(field: field, snapshot: covering, proof: wrongProof), from: Keys.carol))
        }
        let proof = try MerkleTree.inclusionProof(index: 3, leafHashes: leaves)
        try lifecycle.fixture.apply(lifecycle.settlement(.fieldRespond(field: field, snapshot: covering, proof: proof), from: Keys.carol))
        guard case .closing(let posted, deadline, nil)? = status() else {
            Issue.record("the answer did not clear the dispute: \(String(describing: status()))")
            return
        }
        #expect(posted.number == 2)
        try lifecycle.fixture.apply(lifecycle.settlement(.fieldFinalize(field: field), from: Keys.dave), at: deadline)
        guard case .closed(let settled, _)? = status() else {
            Issue.record("not settled: \(String(describing: status()))")
            return
        }
        #expect(settled.balances == [9 * Amounts.unit, 6 * Amounts.unit])
        #expect(lifecycle.fixture.state.chain.totalRewardsPaid == FieldRules.reward(paymentCount: 4))
    }

    @Test mutating func aReceiptWithinThePostedSnapshotOrNotTheLeadersIsNoDispute() throws {
        try lifecycle.openField()
        let (hashes, receipts) = log(4)
        let posted = snapshot(1, hashes: hashes, count: 3, alice: 12 * Amounts.unit, bob: 3 * Amounts.unit)
        try lifecycle.fixture.apply(lifecycle.settlement(.fieldSoloClose(field: field, snapshot: posted), from: Keys.alice))
        #expect(throws: LedgerError.invalidFieldSnapshot(field: field, reason: "receipt 1 is within the posted snapshot's 3 payments")) {
            try lifecycle.fixture.apply(lifecycle.settlement(.fieldDispute(field: field, claim: .receipt(receipts[1])), from: Keys.bob))
        }
        let forged = FieldReceipt.signBatch(field: field, firstIndex: 5, paymentHashes: [Hash.sha256(utf8: "invented")],
                                            leader: Keys.bob, chainId: lifecycle.fixture.chainId)[0]
        #expect(throws: LedgerError.invalidFieldSnapshot(field: field, reason: "receipt 5: the batch signature is not the leader's")) {
            try lifecycle.fixture.apply(lifecycle.settlement(.fieldDispute(field: field, claim: .receipt(forged)), from: Keys.bob))
        }
        #expect(throws: LedgerError.fieldState(field: field, reason: "no receipt dispute waits for an answer")) {
            try lifecycle.fixture.apply(lifecycle.settlement(.fieldRespond(field: field, snapshot: posted, proof: []), from: Keys.carol))
        }
    }

    @Test mutating func twoReceiptsForOneIndexForfeitTheBondAndCloseFromTheOpeningBalances() throws {
        try lifecycle.openField()
        let first = log(3).receipts[2]
        let second = FieldReceipt.signBatch(field: field, firstIndex: 2, paymentHashes: [Hash.sha256(utf8: "another payment")],
                                            leader: leaderKey, chainId: lifecycle.fixture.chainId)[0]
        let daveBefore = lifecycle.fixture.balance(Keys.dave)
        try lifecycle.fixture.apply(lifecycle.fixture.sign(.fieldEquivocation(field: field, first: first, second: second), by: Keys.dave))
        #expect(lifecycle.fixture.balance(Keys.dave) == daveBefore + FieldLifecycleTests.bond - LedgerFixture.fee)
        let record = try #require(lifecycle.fixture.state.fields[field])
        #expect(record.leaderForfeited)
        #expect(record.bond == 0)
        guard case .closing(let posted, let deadline, nil) = record.status else {
            Issue.record("the field did not start closing: \(record.status)")
            return
        }
        #expect(posted == .opening(participants: [Keys.alice.address, Keys.bob.address],
                                   deposits: [FieldLifecycleTests.aliceDeposit, FieldLifecycleTests.bobDeposit]))
        #expect(throws: LedgerError.fieldState(field: field, reason: "its leader's bond is already forfeited")) {
            try lifecycle.fixture.apply(lifecycle.fixture.sign(.fieldEquivocation(field: field, first: first, second: second), by: Keys.dave))
        }
        // A newer fully signed snapshot still wins in the window; the leader earns nothing.
        let carolBefore = lifecycle.fixture.balance(Keys.carol)
        let newer = lifecycle.snapshot(4, payments: 5, alice: 11 * Amounts.unit, bob: 4 * Amounts.unit)
        try lifecycle.fixture.apply(lifecycle.settlement(.fieldDispute(field: field, claim: .newerSnapshot(newer)), from: Keys.alice))
        try lifecycle.fixture.apply(lifecycle.settlement(.fieldFinalize(field: field), from: Keys.dave), at: deadline)
        #expect(lifecycle.fixture.balance(Keys.carol) == carolBefore)
        #expect(lifecycle.fixture.state.chain.totalRewardsPaid == 0)
        #expect(lifecycle.heldEverywhere() == lifecycle.fixture.state.chain.totalSupply)
    }

    @Test mutating func receiptsOfOnePaymentOrOfTwoIndicesAreNoEquivocation() throws {
        try lifecycle.openField()
        let receipts = log(3).receipts
        for (first, second) in [(receipts[1], receipts[1]), (receipts[1], receipts[2])] {
            #expect(throws: LedgerError.invalidFieldSnapshot(field: field, reason: "the receipts are not two payments of this field at one index")) {
                try lifecycle.fixture.apply(lifecycle.fixture.sign(.fieldEquivocation(field: field, first: first, second: second), by: Keys.dave))
            }
        }
    }
}
