import AlzaCore
import AlzaLedger
import Testing

/// Consents carried in the `field-open` payload (D35): a field opens with more participants than a message has
/// authorizations, each consent checked against its account's active permission, the terms and its expiry.
@Suite struct FieldConsentTests {
    static let leaderKey = Keys.named("consent-field-leader-key")
    static let participants = 12
    var fixture: LedgerFixture
    let field = FieldId(leader: FieldConsentTests.leaderKey.publicKey, nonce: 3)
    let keys = (0..<FieldConsentTests.participants).map(LedgerFixture.userKey)

    init() throws {
        fixture = try LedgerFixture(users: Self.participants)
        try fixture.apply(fixture.sign(.fieldClaim(nonce: 3, leaderKey: Self.leaderKey.publicKey, bond: Amounts.unit), by: Keys.carol))
    }

    var deposits: [AmountEntry] { keys.map { AmountEntry($0.address, 10 * Amounts.unit) } }
    var expiry: UInt64 { fixture.nextTime + 60_000 }

    func consent(_ key: SigningKey, account: Address? = nil, deposits: [AmountEntry]? = nil, expiry: UInt64? = nil) -> FieldConsent {
        let account = account ?? key.address
        let expiry = expiry ?? self.expiry
        let signature = FieldConsent.sign(field: field, leader: Keys.carol.address, deposits: deposits ?? self.deposits, challengeSeconds: 60,
                                          locks: [], account: account, expiry: expiry, key: key, chainId: fixture.chainId)
        return FieldConsent(account: account, expiry: expiry, signatures: [signature])
    }

    func open(_ consents: [FieldConsent]) -> SignedTransaction {
        let payload = MessagePayload.fieldOpen(field: field, deposits: deposits, challengeSeconds: 60, consents: consents)
        return fixture.sign([Message(payload, authorizer: Keys.carol.address)], by: [Keys.carol])
    }

    @Test mutating func aFieldOfMoreParticipantsThanAuthorizationsOpensWithConsentsInItsPayload() throws {
        let message = Message(.fieldOpen(field: field, deposits: deposits, challengeSeconds: 60, consents: keys.map { consent($0) }),
                              authorizer: Keys.carol.address)
        #expect(message.authorization.map(\.account) == [Keys.carol.address], "only the leader authorizes")
        try fixture.apply(open(keys.map { consent($0) }))
        let record = try #require(fixture.state.fields[field])
        #expect(record.status == .open && record.participants.count == 12)
        #expect(fixture.balance(keys[11]) == LedgerFixture.userBalance - 10 * Amounts.unit)
    }

    @Test mutating func consentsThatDoNotHoldAreRefusedWithTheirReasons() throws {
        let root = fixture.state.root()
        var consents = keys.map { consent($0) }
        consents[3] = consent(keys[3], expiry: fixture.nextTime - 1)
        #expect(throws: LedgerError.invalidPayload(code: .fieldOpen, reason: "the consent of \(keys[3].address.short) expired at \(fixture.nextTime - 1)")) {
            try fixture.apply(open(consents))
        }
        consents[3] = consent(keys[3], deposits: deposits.map { AmountEntry($0.account, Amounts.unit) })
        #expect(throws: LedgerError.invalidPayload(code: .fieldOpen, reason: "a signature in the consent of \(keys[3].address.short) is not valid for the field's terms")) {
            try fixture.apply(open(consents))
        }
        // Signed by a key that is not in the account's active permission.
        consents[3] = consent(Keys.dave, account: keys[3].address)
        #expect(throws: LedgerError.missingAuthorization(account: keys[3].address, code: .fieldOpen)) { try fixture.apply(open(consents)) }
        // Without a consent the participant must authorize the message, and its signature is missing.
        consents.remove(at: 3)
        #expect(throws: LedgerError.unauthorized(account: keys[3].address, permission: .active)) { try fixture.apply(open(consents)) }
        #expect(fixture.state.root() == root)
    }
}
