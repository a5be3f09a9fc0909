import AlzaCore
import AlzaLedger
import Testing

/// Cross-field locks on chain (D34): Alice, in field A (`FieldLifecycleTests`' field, Carol leads with a bond of
/// 2), locks part of her A balance for field B (Dave leads), and B opens with the lock as her deposit. The lock is
/// taken on A's leader's receipt and answered for by its bond until a fully signed A snapshot shows it
/// (`field-lock-settle`); an annulled B gives the amount back to A's side.
@Suite struct FieldLockTests {
    static let targetLeaderKey = Keys.named("field-b-leader-key")
    var flow: FieldFlowTests
    var fixture: LedgerFixture {
        get { flow.lifecycle.fixture }
        set { flow.lifecycle.fixture = newValue }
    }

    var source: FieldId { flow.field }
    let target = FieldId(leader: FieldLockTests.targetLeaderKey.publicKey, nonce: 7)

    init() throws {
        flow = try FieldFlowTests()
        try fixture.apply(fixture.sign(.fieldClaim(nonce: 7, leaderKey: Self.targetLeaderKey.publicKey, bond: Amounts.unit), by: Keys.dave))
    }

    func record(_ id: FieldId) -> FieldRecord { fixture.state.fields[id]! }

    /// Alice's lock payment in A for `field` and A's leader's receipt for it at `index`.
    func lock(_ amount: Amount, for field: FieldId? = nil, index: UInt64 = 0, receiptKey: SigningKey = FieldLifecycleTests.leaderKey) -> FieldLock {
        let payment = SignedFieldPayment.sign(
            FieldPayment(field: source, payer: Keys.alice.address, payee: Keys.alice.address, amount: amount, sequence: index,
                         kind: .lock(target: field ?? target)),
            with: Keys.alice, chainId: fixture.chainId)
        let receipt = FieldReceipt.signBatch(field: source, firstIndex: index, paymentHashes: [payment.hash], leader: receiptKey,
                                             chainId: fixture.chainId)[0]
        return FieldLock(payment: payment, receipt: receipt)
    }

    /// B's opening: Alice's deposit of `deposit` through `lock`, Bob's 3 from his account.
    func openTarget(_ lock: FieldLock, deposit: Amount? = nil) -> SignedTransaction {
        let payload = MessagePayload.fieldOpen(
            field: target, deposits: [AmountEntry(Keys.alice.address, deposit ?? lock.amount), AmountEntry(Keys.bob.address, 3 * Amounts.unit)],
            challengeSeconds: FieldLifecycleTests.window, locks: [lock])
        return fixture.sign([Message(payload, authorizer: Keys.dave.address)], by: [Keys.dave, Keys.alice, Keys.bob])
    }

    @Test mutating func aLockBringsPartOfABalanceInAnotherFieldIntoTheOpening() throws {
        let aliceBefore = fixture.balance(Keys.alice)
        let heldBefore = fixture.state.heldInFields
        try fixture.apply(openTarget(lock(2 * Amounts.unit)))
        #expect(record(source).flows[0] == FieldFlow(withdrawn: 2 * Amounts.unit))
        #expect(record(source).collateralInUse == 2 * Amounts.unit)
        #expect(record(target).deposits == [2 * Amounts.unit, 3 * Amounts.unit])
        #expect(record(target).lockedDeposits == [FieldLockedDeposit(position: 0, source: source)])
        #expect(fixture.balance(Keys.alice) == aliceBefore, "the deposit came from field A, not from Alice's account")
        #expect(fixture.state.heldInFields == heldBefore + 3 * Amounts.unit)
        #expect(flow.lifecycle.heldEverywhere() == fixture.state.chain.totalSupply)
    }

    @Test mutating func locksTheChainCannotTakeAreRefusedWithTheirReasons() throws {
        let root = fixture.state.root()
        func refused(_ transaction: SignedTransaction, _ reason: String) {
            #expect(throws: LedgerError.invalidFieldLock(source: source, reason: reason)) { try fixture.apply(transaction) }
        }
        refused(openTarget(lock(3 * Amounts.unit)), "the locks outstanding would be 3.00000000, more than the leader's bond 2.00000000")
        refused(openTarget(lock(Amount.max - 5)), "the locks outstanding would be \(Amounts.format(Amount.max - 5)), more than the leader's bond 2.00000000")
        refused(openTarget(lock(2 * Amounts.unit), deposit: Amounts.unit), "the lock is for 2.00000000, the deposit 1.00000000")
        let elsewhere = FieldId(leader: Keys.frank.publicKey, nonce: 1)
        refused(openTarget(lock(Amounts.unit, for: elsewhere)), "the payment is not a lock for field \(target)")
        let forged = lock(Amounts.unit, receiptKey: Keys.frank)
        refused(openTarget(forged), "receipt 0: the batch signature is not the leader's")
        var tampered = lock(Amounts.unit)
        tampered.payment.payment.amount = 2 * Amounts.unit
        refused(openTarget(tampered), "the participant's signature is not valid")
        var anotherPayment = lock(Amounts.unit)
        anotherPayment.receipt = lock(Amounts.unit, index: 1).receipt
        refused(openTarget(anotherPayment), "the receipt is for another payment")
        #expect(fixture.state.root() == root)
    }

    @Test mutating func aFullySignedSourceSnapshotShowingTheLockSettlesItAndFreesTheBond() throws {
        try fixture.apply(openTarget(lock(2 * Amounts.unit)))
        let shows = flow.snapshot(1, alice: 8 * Amounts.unit, bob: 5 * Amounts.unit, flows: [(0, FieldFlow(withdrawn: 2 * Amounts.unit))])
        let aliceBefore = fixture.balance(Keys.alice)
        try fixture.apply(flow.lifecycle.settlement(.fieldLockSettle(field: source, snapshot: shows), from: Keys.bob))
        #expect(record(source).collateralInUse == 0 && record(source).base.number == 1)
        #expect(fixture.balance(Keys.alice) == aliceBefore, "a lock other fields took is not paid out again")
        let again = flow.snapshot(2, alice: 8 * Amounts.unit, bob: 5 * Amounts.unit, flows: [(0, FieldFlow(withdrawn: 2 * Amounts.unit))])
        #expect(throws: LedgerError.nothingToSettle(field: source, reason: "snapshot 2 shows no lock the leader's bond answers for")) {
            try fixture.apply(flow.lifecycle.settlement(.fieldLockSettle(field: source, snapshot: again), from: Keys.bob))
        }
        // A lock the base already counts cannot open another field: it was settled in A.
        try fixture.apply(fixture.sign(.fieldClaim(nonce: 8, leaderKey: Self.targetLeaderKey.publicKey, bond: Amounts.unit), by: Keys.dave))
        let other = FieldId(leader: Self.targetLeaderKey.publicKey, nonce: 8)
        let counted = lock(2 * Amounts.unit, for: other, index: 1)
        let payload = MessagePayload.fieldOpen(field: other, deposits: [AmountEntry(Keys.alice.address, 2 * Amounts.unit),
                                                                        AmountEntry(Keys.bob.address, Amounts.unit)],
                                               challengeSeconds: 60, locks: [counted])
        #expect(throws: LedgerError.invalidFieldLock(source: source, reason: "payment 1 is in the anchored snapshot 1: settled there")) {
            try fixture.apply(fixture.sign([Message(payload, authorizer: Keys.dave.address)], by: [Keys.dave, Keys.alice, Keys.bob]))
        }
        // The close pays Alice her line: the 2 went to B.
        let final = flow.snapshot(3, alice: 8 * Amounts.unit, bob: 5 * Amounts.unit, flows: [(0, FieldFlow(withdrawn: 2 * Amounts.unit))],
                                  domain: FieldDomains.close)
        let aliceAtClose = fixture.balance(Keys.alice)
        try fixture.apply(flow.lifecycle.settlement(.fieldClose(field: source, snapshot: final), from: Keys.bob))
        #expect(fixture.balance(Keys.alice) == aliceAtClose + 8 * Amounts.unit)
        #expect(flow.lifecycle.heldEverywhere() == fixture.state.chain.totalSupply)
    }

    @Test mutating func aSourceSettlingWithoutTheLockTakesItFromTheLineAndTheBondCoversAShortfall() throws {
        try fixture.apply(openTarget(lock(2 * Amounts.unit)))
        // A's leader let Alice spend what she had locked: her line shows 1 and no lock.
        let blind = flow.snapshot(1, alice: 1 * Amounts.unit, bob: 14 * Amounts.unit, flows: [], domain: FieldDomains.close)
        let (aliceBefore, bobBefore, carolBefore) = (fixture.balance(Keys.alice), fixture.balance(Keys.bob), fixture.balance(Keys.carol))
        try fixture.apply(flow.lifecycle.settlement(.fieldClose(field: source, snapshot: blind), from: Keys.bob))
        #expect(fixture.balance(Keys.alice) == aliceBefore, "her line less the lock is below zero: nothing")
        #expect(fixture.balance(Keys.bob) == bobBefore + 14 * Amounts.unit - LedgerFixture.fee, "the honest participant is whole")
        let reward = FieldRules.reward(paymentCount: 2)
        #expect(fixture.balance(Keys.carol) == carolBefore + FieldLifecycleTests.bond - Amounts.unit + reward, "the bond paid the shortfall of 1")
        #expect(flow.lifecycle.heldEverywhere() == fixture.state.chain.totalSupply)
    }

    @Test mutating func aLeaderThatEquivocatesWithLocksOutstandingLosesTheReservedBondToTheProverToo() throws {
        try fixture.apply(openTarget(lock(2 * Amounts.unit)))
        let hashes = [Hash.sha256(utf8: "one"), Hash.sha256(utf8: "two")]
        let first = FieldReceipt.signBatch(field: source, firstIndex: 5, paymentHashes: [hashes[0]], leader: FieldLifecycleTests.leaderKey,
                                           chainId: fixture.chainId)[0]
        let second = FieldReceipt.signBatch(field: source, firstIndex: 5, paymentHashes: [hashes[1]], leader: FieldLifecycleTests.leaderKey,
                                            chainId: fixture.chainId)[0]
        let proverBefore = fixture.balance(Keys.dave)
        try fixture.apply(fixture.sign([Message(.fieldEquivocation(field: source, first: first, second: second), authorizer: Keys.dave.address,
                                                extraScope: record(source).settlementScope)], by: [Keys.dave]))
        #expect(record(source).bond == 2 * Amounts.unit && record(source).bondClaimant == Keys.dave.address,
                "the whole bond answers for the lock: kept back")
        #expect(fixture.balance(Keys.dave) == proverBefore - LedgerFixture.fee)
        // A closes from its base (the opening): Alice's line less the lock B took; the kept bond goes to Dave.
        let (aliceBefore, carolBefore, daveBefore) = (fixture.balance(Keys.alice), fixture.balance(Keys.carol), fixture.balance(Keys.dave))
        try fixture.apply(fixture.sign([Message(.fieldFinalize(field: source), authorizer: Keys.bob.address,
                                                extraScope: record(source).settlementScope)], by: [Keys.bob]),
                          at: fixture.time + UInt64(FieldLifecycleTests.window) * 1_000)
        #expect(record(source).isClosed)
        #expect(fixture.balance(Keys.alice) == aliceBefore + 8 * Amounts.unit)
        #expect(fixture.balance(Keys.dave) == daveBefore + 2 * Amounts.unit)
        #expect(fixture.balance(Keys.carol) == carolBefore, "a forfeited leader gets neither bond nor reward")
        #expect(flow.lifecycle.heldEverywhere() == fixture.state.chain.totalSupply)
    }

    @Test mutating func anAnnulledTargetUndoesTheLockBackToTheSourceSide() throws {
        try fixture.apply(openTarget(lock(2 * Amounts.unit)))
        // B: Alice solo-closes with snapshot 1 though B's leader receipted payment 2; Bob disputes; nobody answers.
        let participants = [Keys.alice.address, Keys.bob.address]
        let balances = [Amounts.unit, 4 * Amounts.unit]
        let hashes = (0..<3).map { Hash.sha256(utf8: "b payment \($0)") }
        let snapshot = FieldSnapshot(field: target, number: 1, paymentCount: 1, paymentsRoot: MerkleTree.root(leafHashes: [FieldSnapshot.paymentLeaf(hashes[0])]),
                                     balancesHash: FieldSnapshot.balancesHash(participants: participants, balances: balances))
        let commitment = snapshot.commitment(participantsHash: FieldSnapshot.participantsHash(participants))
        let signed = SignedFieldSnapshot(snapshot: snapshot, balances: balances, signatures: [Keys.alice, Keys.bob].map {
            $0.sign(commitment.bytes, domain: FieldDomains.commitment, chainId: fixture.chainId)
        })
        let scope = record(target).settlementScope
        func send(_ payload: MessagePayload, _ key: SigningKey, at time: UInt64? = nil) throws {
            try fixture.apply(fixture.sign([Message(payload, authorizer: key.address, extraScope: scope)], by: [key]), at: time)
        }
        try send(.fieldSoloClose(field: target, snapshot: signed), Keys.alice)
        let deadline = fixture.time + UInt64(FieldLifecycleTests.window) * 1_000
        let receipt = FieldReceipt.signBatch(field: target, firstIndex: 0, paymentHashes: hashes, leader: Self.targetLeaderKey,
                                             chainId: fixture.chainId)[2]
        try send(.fieldDispute(field: target, claim: .receipt(receipt)), Keys.bob)
        let bobBefore = fixture.balance(Keys.bob)
        try send(.fieldFinalize(field: target), Keys.carol, at: deadline)
        #expect(record(target).status == .annulled(atHeight: fixture.height))
        #expect(record(source).flows[0] == FieldFlow(deposited: 2 * Amounts.unit, withdrawn: 2 * Amounts.unit), "the 2 went back to A")
        #expect(fixture.balance(Keys.bob) == bobBefore + 3 * Amounts.unit + Amounts.unit, "Bob's deposit and B's bond")
        // A closes on a snapshot that shows the lock: Alice's line plus the 2 back from B.
        let final = flow.snapshot(1, alice: 8 * Amounts.unit, bob: 5 * Amounts.unit, flows: [(0, FieldFlow(withdrawn: 2 * Amounts.unit))],
                                  domain: FieldDomains.close)
        let aliceBefore = fixture.balance(Keys.alice)
        try fixture.apply(flow.lifecycle.settlement(.fieldClose(field: source, snapshot: final), from: Keys.bob))
        #expect(fixture.balance(Keys.alice) == aliceBefore + 10 * Amounts.unit)
        #expect(flow.lifecycle.heldEverywhere() == fixture.state.chain.totalSupply)
    }
}
