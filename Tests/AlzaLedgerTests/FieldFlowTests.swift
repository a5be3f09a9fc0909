import AlzaCore
import AlzaLedger
import Testing

/// Money in and out of an open field (D34): `field-deposit` top-ups, `field-withdraw` against a fully signed
/// snapshot that records the withdrawal, and the anchored base no later settlement may go behind. Field A is
/// `FieldLifecycleTests`' field: Carol leads (bond 2), Alice deposits 10 and Bob 5.
@Suite struct FieldFlowTests {
    var lifecycle: FieldLifecycleTests
    var field: FieldId { lifecycle.field }
    var fixture: LedgerFixture {
        get { lifecycle.fixture }
        set { lifecycle.fixture = newValue }
    }

    init() throws {
        lifecycle = try FieldLifecycleTests()
        try lifecycle.openField()
    }

    var record: FieldRecord { fixture.state.fields[field]! }

    /// A fully signed snapshot of field A with these balances and flows (domain `field-commitment` unless told).
    func snapshot(_ number: UInt64, alice: Amount, bob: Amount, flows: [(Int, FieldFlow)],
                  domain: SigningDomain = FieldDomains.commitment) -> SignedFieldSnapshot {
        var signed = lifecycle.snapshot(number, payments: number * 2, alice: alice, bob: bob, domain: domain)
        for (position, flow) in flows { signed.flows[position] = flow }
        let participants = [Keys.alice.address, Keys.bob.address]
        signed.snapshot.balancesHash = FieldSnapshot.balancesHash(participants: participants, balances: signed.balances, flows: signed.flows)
        let commitment = signed.snapshot.commitment(participantsHash: FieldSnapshot.participantsHash(participants))
        signed.signatures = [Keys.alice, Keys.bob].map { $0.sign(commitment.bytes, domain: domain, chainId: fixture.chainId) }
        return signed
    }

    func deposit(_ amount: Amount, by key: SigningKey = Keys.alice) -> SignedTransaction {
        fixture.sign(.fieldDeposit(field: field, amount: amount), by: key)
    }

    @Test mutating func aTopUpIsHeldByTheFieldAndASnapshotCountingItSettlesIt() throws {
        try fixture.apply(deposit(3 * Amounts.unit))
        #expect(record.flows[0] == FieldFlow(deposited: 3 * Amounts.unit))
        #expect(fixture.balance(Keys.alice) == LedgerFixture.startingBalance - FieldLifecycleTests.aliceDeposit - 3 * Amounts.unit - LedgerFixture.fee)
        #expect(fixture.state.heldInFields == FieldLifecycleTests.bond + 18 * Amounts.unit)
        let counted = snapshot(1, alice: 11 * Amounts.unit, bob: 7 * Amounts.unit,
                               flows: [(0, FieldFlow(deposited: 3 * Amounts.unit))], domain: FieldDomains.close)
        let aliceBefore = fixture.balance(Keys.alice), bobBefore = fixture.balance(Keys.bob)
        try fixture.apply(lifecycle.settlement(.fieldClose(field: field, snapshot: counted), from: Keys.bob))
        #expect(fixture.balance(Keys.alice) == aliceBefore + 11 * Amounts.unit)
        #expect(fixture.balance(Keys.bob) == bobBefore + 7 * Amounts.unit - LedgerFixture.fee)
        #expect(lifecycle.heldEverywhere() == fixture.state.chain.totalSupply)
    }

    @Test mutating func aSettlementOnASnapshotThatMissedATopUpPaysItBack() throws {
        try fixture.apply(deposit(3 * Amounts.unit))
        let missed = snapshot(1, alice: 9 * Amounts.unit, bob: 6 * Amounts.unit, flows: [], domain: FieldDomains.close)
        let aliceBefore = fixture.balance(Keys.alice)
        try fixture.apply(lifecycle.settlement(.fieldClose(field: field, snapshot: missed), from: Keys.bob))
        #expect(fixture.balance(Keys.alice) == aliceBefore + 12 * Amounts.unit)
        #expect(fixture.state.heldInFields == 0)
        #expect(lifecycle.heldEverywhere() == fixture.state.chain.totalSupply)
    }

    @Test mutating func aSnapshotCountingATopUpTheChainNeverCreditedIsRefused() throws {
        let invented = snapshot(1, alice: 13 * Amounts.unit, bob: 5 * Amounts.unit,
                                flows: [(0, FieldFlow(deposited: 3 * Amounts.unit))], domain: FieldDomains.close)
        let root = fixture.state.root()
        #expect(throws: LedgerError.invalidFieldSnapshot(field: field, reason: "participant 0 has top-ups the chain has not credited")) {
            try fixture.apply(lifecycle.settlement(.fieldClose(field: field, snapshot: invented), from: Keys.bob))
        }
        #expect(fixture.state.root() == root)
    }

    @Test mutating func badTopUpsAreRefusedWithTheirReasons() throws {
        let root = fixture.state.root()
        #expect(throws: LedgerError.fieldState(field: field, reason: "\(Keys.dave.address.short) is not a participant")) {
            try fixture.apply(deposit(Amounts.unit, by: Keys.dave))
        }
        #expect(throws: LedgerError.invalidPayload(code: .fieldDeposit, reason: "a deposit must be positive")) {
            try fixture.apply(deposit(0))
        }
        let available = fixture.balance(Keys.alice) - LedgerFixture.fee
        #expect(throws: LedgerError.insufficientBalance(account: Keys.alice.address, needed: 10_000 * Amounts.unit, available: available)) {
            try fixture.apply(deposit(10_000 * Amounts.unit))
        }
        #expect(fixture.state.root() == root)
        try fixture.apply(lifecycle.settlement(.fieldClose(field: field, snapshot: snapshot(1, alice: 10 * Amounts.unit, bob: 5 * Amounts.unit,
                                                                                         flows: [], domain: FieldDomains.close)),
                                               from: Keys.bob))
        #expect(throws: LedgerError.fieldState(field: field, reason: "is \(record.status), not open")) {
            try fixture.apply(deposit(Amounts.unit))
        }
    }

    @Test mutating func aWithdrawalIsPaidOnceAgainstTheSnapshotRecordingItWhichBecomesTheBase() throws {
        let withdrawn = snapshot(2, alice: 6 * Amounts.unit, bob: 5 * Amounts.unit, flows: [(0, FieldFlow(withdrawn: 4 * Amounts.unit))])
        let aliceBefore = fixture.balance(Keys.alice)
        try fixture.apply(lifecycle.settlement(.fieldWithdraw(field: field, snapshot: withdrawn), from: Keys.bob))
        #expect(fixture.balance(Keys.alice) == aliceBefore + 4 * Amounts.unit)
        #expect(record.flows[0].withdrawn == 4 * Amounts.unit && record.base.number == 2 && record.status == .open)
        #expect(lifecycle.heldEverywhere() == fixture.state.chain.totalSupply)

        let root = fixture.state.root()
        #expect(throws: LedgerError.invalidFieldSnapshot(field: field, reason: "snapshot 2 is not newer than the anchored 2")) {
            try fixture.apply(lifecycle.settlement(.fieldWithdraw(field: field, snapshot: withdrawn), from: Keys.bob))
        }
        let nothingNew = snapshot(3, alice: 5 * Amounts.unit, bob: 6 * Amounts.unit, flows: [(0, FieldFlow(withdrawn: 4 * Amounts.unit))])
        #expect(throws: LedgerError.nothingToSettle(field: field, reason: "snapshot 3 records no withdrawal beyond what was paid")) {
            try fixture.apply(lifecycle.settlement(.fieldWithdraw(field: field, snapshot: nothingNew), from: Keys.bob))
        }
        let older = snapshot(1, alice: 10 * Amounts.unit, bob: 5 * Amounts.unit, flows: [])
        #expect(throws: LedgerError.invalidFieldSnapshot(field: field, reason: "participant 0 withdrew less than the anchored snapshot 2 records")) {
            try fixture.apply(lifecycle.settlement(.fieldSoloClose(field: field, snapshot: older), from: Keys.alice))
        }
        let undone = snapshot(4, alice: 10 * Amounts.unit, bob: 5 * Amounts.unit, flows: [])
        #expect(throws: LedgerError.invalidFieldSnapshot(field: field, reason: "participant 0 withdrew less than the anchored snapshot 2 records")) {
            try fixture.apply(lifecycle.settlement(.fieldSoloClose(field: field, snapshot: undone), from: Keys.alice))
        }
        #expect(fixture.state.root() == root)

        // The close pays the line, not the withdrawal again.
        let final = snapshot(5, alice: 2 * Amounts.unit, bob: 9 * Amounts.unit, flows: [(0, FieldFlow(withdrawn: 4 * Amounts.unit))],
                             domain: FieldDomains.close)
        let aliceAtClose = fixture.balance(Keys.alice)
        try fixture.apply(lifecycle.settlement(.fieldClose(field: field, snapshot: final), from: Keys.bob))
        #expect(fixture.balance(Keys.alice) == aliceAtClose + 2 * Amounts.unit)
        #expect(lifecycle.heldEverywhere() == fixture.state.chain.totalSupply)
    }

    @Test mutating func aSnapshotWhoseWithdrawalsBreakConservationIsRefused() throws {
        let inflated = snapshot(1, alice: 10 * Amounts.unit, bob: 5 * Amounts.unit, flows: [(1, FieldFlow(withdrawn: Amounts.unit))])
        #expect(throws: LedgerError.invalidFieldSnapshot(field: field, reason: "balances and withdrawals sum to 16.00000000, the deposits to 15.00000000")) {
            try fixture.apply(lifecycle.settlement(.fieldWithdraw(field: field, snapshot: inflated), from: Keys.bob))
        }
        var stranger = snapshot(1, alice: 10 * Amounts.unit, bob: 5 * Amounts.unit, flows: [])
        stranger.flows[2] = FieldFlow(withdrawn: 1)
        #expect(throws: LedgerError.invalidFieldSnapshot(field: field, reason: "flows name participant 2 of 2")) {
            try fixture.apply(lifecycle.settlement(.fieldWithdraw(field: field, snapshot: stranger), from: Keys.bob))
        }
    }

    @Test mutating func withdrawalsWhoseSumWouldWrapAreRefusedNotWrapped() throws {
        // 10 + 5 in balances, and withdrawals of 2^64 − 2^40 and 2^40: a wrapping sum would make them 15 + 0.
        let huge = Amount.max - (1 << 40) + 1
        let wrapping = snapshot(1, alice: 10 * Amounts.unit, bob: 5 * Amounts.unit,
                                flows: [(0, FieldFlow(withdrawn: huge)), (1, FieldFlow(withdrawn: 1 << 40))], domain: FieldDomains.close)
        let root = fixture.state.root()
        let error = #expect(throws: LedgerError.self) {
            try fixture.apply(lifecycle.settlement(.fieldClose(field: field, snapshot: wrapping), from: Keys.bob))
        }
        #expect(error?.description.contains("overflow") == true, "\(String(describing: error))")
        #expect(fixture.state.root() == root)
    }

    @Test mutating func aCloseIsTakenOnlyUntilTheTimeItsSignaturesCover() throws {
        // Signatures of the close with a limit (D36): the commitment and closeBy.
        var final = snapshot(1, alice: 8 * Amounts.unit, bob: 7 * Amounts.unit, flows: [])
        let participants = [Keys.alice.address, Keys.bob.address]
        let closeBy = fixture.nextTime + 5_000
        let bytes = final.snapshot.closeBytes(participantsHash: FieldSnapshot.participantsHash(participants), closeBy: closeBy)
        final.signatures = [Keys.alice, Keys.bob].map { $0.sign(bytes, domain: FieldDomains.close, chainId: fixture.chainId) }
        let root = fixture.state.root()
        #expect(throws: LedgerError.invalidFieldSnapshot(field: field, reason: "\(Keys.alice.address.short) did not sign the close of its commitment"),
                "signatures of one limit do not close with another") {
            try fixture.apply(lifecycle.settlement(.fieldClose(field: field, snapshot: final, closeBy: closeBy + 1), from: Keys.bob))
        }
        #expect(throws: LedgerError.fieldState(field: field, reason: "its close signatures expired at \(closeBy)")) {
            try fixture.apply(lifecycle.settlement(.fieldClose(field: field, snapshot: final, closeBy: closeBy), from: Keys.bob), at: closeBy + 1)
        }
        #expect(fixture.state.root() == root)
        try fixture.apply(lifecycle.settlement(.fieldClose(field: field, snapshot: final, closeBy: closeBy), from: Keys.bob), at: closeBy)
        #expect(record.isClosed)
    }

    @Test func flowsDecodeOnlyInTheirCanonicalForm() throws {
        var flows = FieldFlows()
        flows[3] = FieldFlow(deposited: 1)
        flows[1] = FieldFlow(withdrawn: 2)
        #expect(flows.entries.map(\.position) == [1, 3])
        #expect(try FieldFlows(canonicalBytes: flows.canonicalBytes) == flows)
        flows[3] = .zero
        #expect(flows.entries.map(\.position) == [1] && flows[3] == .zero)
        // Two entries out of order, and a zero entry: both well-formed bytes, neither canonical.
        var encoder = CanonicalEncoder()
        encoder.encodeLength(2)
        for position in [UInt32(3), 1] {
            encoder.encode(position)
            encoder.encode(FieldFlow(deposited: 1))
        }
        #expect(throws: CodecError.self) { try FieldFlows(canonicalBytes: encoder.bytes) }
        var zero = CanonicalEncoder()
        zero.encodeLength(1)
        zero.encode(UInt32(0))
        zero.encode(FieldFlow.zero)
        #expect(throws: CodecError.invalidValue(offset: 1, reason: "field flows must be non-zero, in ascending participant position")) {
            try FieldFlows(canonicalBytes: zero.bytes)
        }
    }
}
