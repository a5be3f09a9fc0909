import AlzaCore
import AlzaLedger
import Testing

/// The payment-field codes on chain (DESIGN.md §6): a leader claims, the participants consent and deposit, and a
/// fully signed snapshot settles the field — cooperatively at once, or after a solo close's challenge window,
/// replaced by a newer snapshot in a dispute. Coins are conserved throughout; the leader's reward is minted.
@Suite struct FieldLifecycleTests {
    static let leaderKey = Keys.named("field-leader-key")
    static let bond = 2 * Amounts.unit
    static let aliceDeposit = 10 * Amounts.unit
    static let bobDeposit = 5 * Amounts.unit
    static let window: UInt32 = 60

    var fixture: LedgerFixture
    let field = FieldId(leader: FieldLifecycleTests.leaderKey.publicKey, nonce: 1)

    init() throws {
        fixture = try LedgerFixture()
    }

    /// Carol leads; Alice and Bob are in, in that order.
    mutating func openField() throws {
        try fixture.apply(fixture.sign(.fieldClaim(nonce: 1, leaderKey: Self.leaderKey.publicKey, bond: Self.bond), by: Keys.carol))
        try fixture.apply(openTransaction())
    }

    func openTransaction(deposits: [AmountEntry]? = nil, signers: [SigningKey] = [Keys.carol, Keys.alice, Keys.bob]) -> SignedTransaction {
        let payload = MessagePayload.fieldOpen(
            field: field,
            deposits: deposits ?? [AmountEntry(Keys.alice.address, Self.aliceDeposit), AmountEntry(Keys.bob.address, Self.bobDeposit)],
            challengeSeconds: Self.window)
        return fixture.sign([Message(payload, authorizer: Keys.carol.address)], by: signers)
    }

    /// Snapshot `number` after `payments` payments with these balances, signed by `signers` (in participant order).
    func snapshot(_ number: UInt64, payments: UInt64, alice: Amount, bob: Amount,
                  signers: [SigningKey] = [Keys.alice, Keys.bob], domain: SigningDomain = FieldDomains.commitment) -> SignedFieldSnapshot {
        let participants = [Keys.alice.address, Keys.bob.address]
        let balances = [alice, bob]
        let snapshot = FieldSnapshot(field: field, number: number, paymentCount: payments,
                                     paymentsRoot: Hash.sha256(Array("payments \(payments)".utf8)),
                                     balancesHash: FieldSnapshot.balancesHash(participants: participants, balances: balances))
        let commitment = snapshot.commitment(participantsHash: FieldSnapshot.participantsHash(participants))
        let signatures = signers.map { $0.sign(commitment.bytes, domain: domain, chainId: fixture.chainId) }
        return SignedFieldSnapshot(snapshot: snapshot, balances: balances, signatures: signatures)
    }

    /// A settlement message from `sender`, scoped to the participants and the leader it credits.
    func settlement(_ payload: MessagePayload, from sender: SigningKey) -> SignedTransaction {
        let scope = [Keys.alice.address, Keys.bob.address, Keys.carol.address]
        return fixture.sign([Message(payload, authorizer: sender.address, extraScope: scope)], by: [sender])
    }

    func heldEverywhere() -> Amount {
        fixture.state.accounts.values.reduce(Amount(0)) { $0 + $1.balance + $1.staked + $1.unbondingTotal } + fixture.state.heldInFields
    }

    @Test mutating func openingLocksTheDepositsAndTheBondAndRecordsTheParticipants() throws {
        let carolBefore = fixture.balance(Keys.carol)
        try openField()
        let record = try #require(fixture.state.fields[field])
        #expect(record.status == .open)
        #expect(record.participants == [Keys.alice.address, Keys.bob.address])
        #expect(record.deposits == [Self.aliceDeposit, Self.bobDeposit])
        #expect(record.participantsHash == FieldSnapshot.participantsHash([Keys.alice.address, Keys.bob.address]))
        #expect(record.leader == Keys.carol.address)
        #expect(fixture.balance(Keys.carol) == carolBefore - Self.bond - 2 * LedgerFixture.fee)
        #expect(fixture.balance(Keys.alice) == LedgerFixture.startingBalance - Self.aliceDeposit)
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance - Self.bobDeposit)
        #expect(fixture.state.heldInFields == Self.bond + Self.aliceDeposit + Self.bobDeposit)
        #expect(heldEverywhere() == fixture.state.chain.totalSupply)
    }

    @Test mutating func cooperativeCloseSettlesTheFinalBalancesAndMintsTheLeadersReward() throws {
        try openField()
        let carolBefore = fixture.balance(Keys.carol)
        let supplyBefore = fixture.state.chain.totalSupply
        let signed = snapshot(3, payments: 4, alice: 7 * Amounts.unit, bob: 8 * Amounts.unit, domain: FieldDomains.close)
        let result = try fixture.apply(settlement(.fieldClose(field: field, snapshot: signed), from: Keys.alice))
        // The block's field root is over the commitment it settled.
        let commitment = signed.snapshot.commitment(participantsHash: FieldSnapshot.participantsHash([Keys.alice.address, Keys.bob.address]))
        #expect(result.settledCommitments == [commitment])
        #expect(result.fieldRoot == MerkleTree.root(leafHashes: [MerkleTree.leafHash(commitment.bytes)]))
        // 4 payments: a tree of 7 nodes, 10 base units each.
        #expect(FieldRules.reward(paymentCount: 4) == 70)
        #expect(fixture.balance(Keys.alice) == LedgerFixture.startingBalance - Self.aliceDeposit + 7 * Amounts.unit - LedgerFixture.fee)
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance - Self.bobDeposit + 8 * Amounts.unit)
        #expect(fixture.balance(Keys.carol) == carolBefore + Self.bond + 70)
        #expect(fixture.state.chain.totalSupply == supplyBefore + 70)
        #expect(fixture.state.chain.totalRewardsPaid == 70)
        #expect(fixture.state.heldInFields == 0)
        #expect(heldEverywhere() == fixture.state.chain.totalSupply)
        guard case .closed(let settled, let height)? = fixture.state.fields[field]?.status else {
            Issue.record("the field is \(String(describing: fixture.state.fields[field]?.status)), not closed")
            return
        }
        #expect(settled.number == 3)
        #expect(settled.balances == [7 * Amounts.unit, 8 * Amounts.unit])
        #expect(height == fixture.height)
    }

    @Test func theRewardIsCappedPerField() {
        #expect(FieldRules.reward(paymentCount: 0) == 0)
        #expect(FieldRules.reward(paymentCount: 1) == 10)
        #expect(FieldRules.reward(paymentCount: UInt64.max / 2) == FieldRules.maximumReward)
    }

    @Test mutating func aCloseMissingASignatureIsRefusedAndChangesNothing() throws {
        try openField()
        let root = fixture.state.root()
        let forged = snapshot(1, payments: 2, alice: 15 * Amounts.unit, bob: 0, signers: [Keys.alice, Keys.erin], domain: FieldDomains.close)
        #expect(throws: LedgerError.invalidFieldSnapshot(field: field, reason: "\(Keys.bob.address.short) did not sign the close of its commitment")) {
            try fixture.apply(settlement(.fieldClose(field: field, snapshot: forged), from: Keys.alice))
        }
        // A snapshot's own signatures (made when it was proposed) do not close: an old one would settle at once.
        let old = snapshot(1, payments: 2, alice: 15 * Amounts.unit, bob: 0)
        #expect(throws: LedgerError.invalidFieldSnapshot(field: field, reason: "\(Keys.alice.address.short) did not sign the close of its commitment")) {
            try fixture.apply(settlement(.fieldClose(field: field, snapshot: old), from: Keys.alice))
        }
        let unsigned = snapshot(1, payments: 2, alice: 15 * Amounts.unit, bob: 0, signers: [Keys.alice], domain: FieldDomains.close)
        #expect(throws: LedgerError.invalidFieldSnapshot(field: field, reason: "1 signatures for 2 participants")) {
            try fixture.apply(settlement(.fieldClose(field: field, snapshot: unsigned), from: Keys.alice))
        }
        #expect(fixture.state.root() == root)
    }

    @Test mutating func aCloseThatCreatesCoinsOrMisstatesItsBalancesIsRefused() throws {
        try openField()
        let inflated = snapshot(1, payments: 2, alice: 15 * Amounts.unit, bob: 1, domain: FieldDomains.close)
        #expect(throws: LedgerError.invalidFieldSnapshot(field: field, reason: "balances and withdrawals sum to 15.00000001, the deposits to 15.00000000")) {
            try fixture.apply(settlement(.fieldClose(field: field, snapshot: inflated), from: Keys.alice))
        }
        var misstated = snapshot(1, payments: 2, alice: 7 * Amounts.unit, bob: 8 * Amounts.unit, domain: FieldDomains.close)
        misstated.balances = [8 * Amounts.unit, 7 * Amounts.unit]
        #expect(throws: LedgerError.invalidFieldSnapshot(field: field, reason: "the balances do not hash to the snapshot's balances hash")) {
            try fixture.apply(settlement(.fieldClose(field: field, snapshot: misstated), from: Keys.alice))
        }
    }

    @Test mutating func onlyTheLeaderOrAParticipantCloses() throws {
        try openField()
        let signed = snapshot(1, payments: 1, alice: 10 * Amounts.unit, bob: 5 * Amounts.unit)
        #expect(throws: LedgerError.fieldState(field: field, reason: "\(Keys.dave.address.short) is not its leader or a participant")) {
            try fixture.apply(settlement(.fieldClose(field: field, snapshot: signed), from: Keys.dave))
        }
    }

    @Test mutating func openingNeedsEveryParticipantsConsentAndAClaimedField() throws {
        try fixture.apply(fixture.sign(.fieldClaim(nonce: 1, leaderKey: Self.leaderKey.publicKey, bond: Self.bond), by: Keys.carol))
        #expect(throws: LedgerError.unauthorized(account: Keys.bob.address, permission: .active)) {
            try fixture.apply(openTransaction(signers: [Keys.carol, Keys.alice]))
        }
        let tooMuch = [AmountEntry(Keys.alice.address, LedgerFixture.startingBalance + 1), AmountEntry(Keys.bob.address, 1)]
        #expect(throws: LedgerError.insufficientBalance(account: Keys.alice.address, needed: LedgerFixture.startingBalance + 1,
                                                        available: LedgerFixture.startingBalance)) {
            try fixture.apply(openTransaction(deposits: tooMuch))
        }
        try fixture.apply(openTransaction())
        #expect(throws: LedgerError.fieldState(field: field, reason: "is open, not claimed")) {
            try fixture.apply(openTransaction())
        }
        #expect(throws: LedgerError.fieldExists(field)) {
            try fixture.apply(fixture.sign(.fieldClaim(nonce: 1, leaderKey: Self.leaderKey.publicKey, bond: Self.bond), by: Keys.dave))
        }
    }

    @Test mutating func aSoloCloseSettlesAfterTheWindowUnlessANewerSnapshotReplacesIt() throws {
        try openField()
        let old = snapshot(2, payments: 3, alice: 12 * Amounts.unit, bob: 3 * Amounts.unit)
        try fixture.apply(settlement(.fieldSoloClose(field: field, snapshot: old), from: Keys.alice))
        let posted = fixture.time
        guard case .closing(_, let deadline, nil)? = fixture.state.fields[field]?.status else {
            Issue.record("the solo close did not open a window")
            return
        }
        #expect(deadline == posted + UInt64(Self.window) * 1_000)
        #expect(throws: LedgerError.fieldState(field: field, reason: "the challenge window is open until \(deadline)")) {
            try fixture.apply(settlement(.fieldFinalize(field: field), from: Keys.dave))
        }
        let stale = snapshot(1, payments: 1, alice: 14 * Amounts.unit, bob: 1 * Amounts.unit)
        #expect(throws: LedgerError.invalidFieldSnapshot(field: field, reason: "snapshot 1 is not newer than the posted 2")) {
            try fixture.apply(settlement(.fieldDispute(field: field, claim: .newerSnapshot(stale)), from: Keys.bob))
        }
        let newer = snapshot(5, payments: 6, alice: 6 * Amounts.unit, bob: 9 * Amounts.unit)
        try fixture.apply(settlement(.fieldDispute(field: field, claim: .newerSnapshot(newer)), from: Keys.bob))
        let finalized = try fixture.apply(settlement(.fieldFinalize(field: field), from: Keys.dave), at: deadline)
        #expect(finalized.settledCommitments.count == 1)
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance - Self.bobDeposit + 9 * Amounts.unit - LedgerFixture.fee)
        #expect(fixture.state.chain.totalRewardsPaid == FieldRules.reward(paymentCount: 6))
        #expect(heldEverywhere() == fixture.state.chain.totalSupply)
    }

    @Test mutating func aDisputeAfterTheWindowIsRefused() throws {
        try openField()
        try fixture.apply(settlement(.fieldSoloClose(field: field, snapshot: snapshot(1, payments: 1, alice: 10 * Amounts.unit,
                                                                                     bob: 5 * Amounts.unit)), from: Keys.alice))
        let deadline = fixture.time + UInt64(Self.window) * 1_000
        let newer = snapshot(2, payments: 2, alice: 9 * Amounts.unit, bob: 6 * Amounts.unit)
        #expect(throws: LedgerError.fieldState(field: field, reason: "the challenge window ended at \(deadline)")) {
            try fixture.apply(settlement(.fieldDispute(field: field, claim: .newerSnapshot(newer)), from: Keys.bob), at: deadline)
        }
    }

    @Test mutating func aSettlementMissingAParticipantInItsScopeIsRefused() throws {
        try openField()
        let signed = snapshot(1, payments: 1, alice: 10 * Amounts.unit, bob: 5 * Amounts.unit, domain: FieldDomains.close)
        let narrow = fixture.sign([Message(.fieldClose(field: field, snapshot: signed), authorizer: Keys.alice.address,
                                           extraScope: [Keys.alice.address, Keys.carol.address])], by: [Keys.alice])
        #expect(throws: LedgerError.outOfScope(account: Keys.bob.address, code: .fieldClose)) { try fixture.apply(narrow) }
    }

    @Test func aFieldRecordRoundTripsAndAnUnknownStatusIsRefused() throws {
        let fixture = try LedgerFixture()
        let signed = FieldLifecycleTests.sampleSnapshot(fixture: fixture, field: FieldId(leader: Self.leaderKey.publicKey, nonce: 9))
        var record = FieldRecord(id: signed.snapshot.field, leader: Keys.carol.address, leaderKey: Self.leaderKey.publicKey,
                                 bond: 7, claimedAtHeight: 3)
        record.status = .closing(FieldSettlement(signed), deadline: 99,
                                 dispute: FieldReceiptDispute(index: 4, paymentHash: .zero, disputer: Keys.bob.address))
        #expect(try FieldRecord(canonicalBytes: record.canonicalBytes) == record)
        var bytes = record.canonicalBytes
        var prefix = CanonicalEncoder()
        prefix.encode(record.id)
        prefix.encode(record.leader)
        prefix.encode(record.leaderKey)
        prefix.encode(record.bond)
        prefix.encode(record.participants)
        prefix.encode(record.deposits)
        prefix.encode(record.participantsHash)
        prefix.encode(record.challengeSeconds)
        let statusOffset = prefix.bytes.count
        #expect(bytes[statusOffset] == 2)
        bytes[statusOffset] = 7
        #expect(throws: CodecError.unknownTag(offset: statusOffset, tag: 7, type: "FieldRecord.Status")) {
            _ = try FieldRecord(canonicalBytes: bytes)
        }
    }

    static func sampleSnapshot(fixture: LedgerFixture, field: FieldId) -> SignedFieldSnapshot {
        let snapshot = FieldSnapshot(field: field, number: 1, paymentCount: 2, paymentsRoot: .zero, balancesHash: .zero)
        return SignedFieldSnapshot(snapshot: snapshot, balances: [1, 2],
                                   signatures: [Keys.alice.sign(snapshot.canonicalBytes, domain: FieldDomains.commitment,
                                                                chainId: fixture.chainId)])
    }
}
