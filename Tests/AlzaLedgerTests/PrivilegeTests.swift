import AlzaCore
import AlzaLedger
import Testing

/// The Privilege and Membership modules: only privileged accounts may act, and every use is audited on chain.
@Suite struct PrivilegeTests {
    @Test func genesisGrantsTheListedPrivileges() throws {
        let fixture = try LedgerFixture()
        #expect(fixture.account(Keys.admin)?.privileges == [.privilegeAdmin, .memberAdmin])
        #expect(fixture.account(Keys.alice)?.privileges == [])
        #expect(fixture.state.auditLog.isEmpty)
    }

    @Test func privilegeGrantByAnAdminIsAudited() throws {
        var fixture = try LedgerFixture()
        let grant = fixture.sign(.privilegeGrant(account: Keys.bob.address, privileges: .memberAdmin), by: Keys.admin)
        try fixture.apply(grant)
        #expect(fixture.account(Keys.bob)?.privileges == .memberAdmin)
        let entry = try #require(fixture.state.auditLog[1])
        #expect(entry == AuditEntry(sequence: 1, actor: Keys.admin.address, code: .privilegeGrant,
                                    target: Keys.bob.address, height: 1, transactionId: grant.id,
                                    detail: "privilege-grant memberAdmin"))
        #expect(fixture.state.chain.nextAuditSequence == 2)
    }

    @Test func privilegeGrantByAnUnprivilegedAccountIsRefused() throws {
        var fixture = try LedgerFixture()
        #expect(throws: LedgerError.notPrivileged(account: Keys.bob.address, privilege: .privilegeAdmin)) {
            try fixture.apply(fixture.sign(.privilegeGrant(account: Keys.bob.address, privileges: .all), by: Keys.bob))
        }
        #expect(fixture.account(Keys.bob)?.privileges == [])
        #expect(fixture.state.auditLog.isEmpty)
        #expect(fixture.state.chain.nextAuditSequence == 1)
    }

    @Test func memberAdminAloneCannotGrantPrivileges() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.sign(.privilegeGrant(account: Keys.bob.address, privileges: .memberAdmin), by: Keys.admin))
        #expect(throws: LedgerError.notPrivileged(account: Keys.bob.address, privilege: .privilegeAdmin)) {
            try fixture.apply(fixture.sign(.privilegeGrant(account: Keys.carol.address, privileges: .memberAdmin),
                                           by: Keys.bob))
        }
    }

    @Test func privilegeRevokeIsAuditedAndTakesEffect() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.sign(.privilegeGrant(account: Keys.bob.address, privileges: .all), by: Keys.admin))
        let revoke = fixture.sign(.privilegeRevoke(account: Keys.bob.address, privileges: .privilegeAdmin), by: Keys.admin)
        try fixture.apply(revoke)
        #expect(fixture.account(Keys.bob)?.privileges == .memberAdmin)
        let entry = try #require(fixture.state.auditLog[2])
        #expect(entry.code == .privilegeRevoke)
        #expect(entry.actor == Keys.admin.address)
        #expect(entry.target == Keys.bob.address)
        #expect(entry.transactionId == revoke.id)
        #expect(entry.height == 2)
        #expect(entry.detail == "privilege-revoke privilegeAdmin")
        #expect(throws: LedgerError.notPrivileged(account: Keys.bob.address, privilege: .privilegeAdmin)) {
            try fixture.apply(fixture.sign(.privilegeGrant(account: Keys.carol.address, privileges: .all), by: Keys.bob))
        }
    }

    @Test func grantToAnUnknownAccountIsRefused() throws {
        var fixture = try LedgerFixture()
        #expect(throws: LedgerError.unknownAccount(Keys.erin.address)) {
            try fixture.apply(fixture.sign(.privilegeGrant(account: Keys.erin.address, privileges: .all), by: Keys.admin))
        }
    }

    @Test func privilegeNamesParse() throws {
        #expect(try Privileges(name: "privilegeAdmin") == .privilegeAdmin)
        #expect(try Privileges(name: "memberAdmin") == .memberAdmin)
        #expect(throws: LedgerError.invalidPrivilege("root")) { try Privileges(name: "root") }
        #expect(Privileges.all.description == "privilegeAdmin,memberAdmin")
    }

    @Test func unknownPrivilegeBitsDoNotDecode() {
        #expect(throws: CodecError.invalidValue(offset: 0, reason: "unknown privilege bits")) {
            try Privileges(canonicalBytes: UInt32(4).canonicalBytes)
        }
    }

    // MARK: Membership

    static let walletKey = Keys.named("wallet-x")

    static func registerWallet(_ fixture: LedgerFixture, by key: SigningKey, name: String = "Wallet X") -> SignedTransaction {
        fixture.sign(.memberRegister(id: walletKey.address, kind: .wallet, name: name, key: walletKey.publicKey), by: key)
    }

    @Test func memberRegisterByAMemberAdminIsStoredAndAudited() throws {
        var fixture = try LedgerFixture()
        let register = Self.registerWallet(fixture, by: Keys.admin)
        try fixture.apply(register)
        #expect(fixture.state.members[Self.walletKey.address] == Member(
            id: Self.walletKey.address, kind: .wallet, name: "Wallet X", key: Self.walletKey.publicKey,
            registeredBy: Keys.admin.address, registeredAtHeight: 1))
        #expect(fixture.state.auditLog[1] == AuditEntry(
            sequence: 1, actor: Keys.admin.address, code: .memberRegister, target: Self.walletKey.address, height: 1,
            transactionId: register.id, detail: "registered wallet \"Wallet X\""))
    }

    @Test func memberRegisterWithoutMemberAdminIsRefused() throws {
        var fixture = try LedgerFixture()
        #expect(throws: LedgerError.notPrivileged(account: Keys.alice.address, privilege: .memberAdmin)) {
            try fixture.apply(Self.registerWallet(fixture, by: Keys.alice))
        }
        #expect(fixture.state.members.isEmpty)
        #expect(fixture.state.auditLog.isEmpty)
    }

    @Test func duplicateMemberIsRefused() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(Self.registerWallet(fixture, by: Keys.admin))
        #expect(throws: LedgerError.memberExists(Self.walletKey.address)) {
            try fixture.apply(Self.registerWallet(fixture, by: Keys.admin, name: "Wallet Y"))
        }
        #expect(fixture.state.members[Self.walletKey.address]?.name == "Wallet X")
        #expect(fixture.state.auditLog.count == 1)
    }

    @Test func memberWithAnEmptyNameIsRefused() throws {
        var fixture = try LedgerFixture()
        #expect(throws: LedgerError.invalidPayload(code: .memberRegister, reason: "member name is empty")) {
            try fixture.apply(Self.registerWallet(fixture, by: Keys.admin, name: ""))
        }
    }

    @Test func memberKindsParseByName() throws {
        #expect(try Member.Kind(name: "dispute-service") == .disputeService)
        #expect(throws: LedgerError.invalidPayload(code: .memberRegister, reason: "unknown member kind bank")) {
            try Member.Kind(name: "bank")
        }
    }

    @Test func auditSequenceNumbersFollowEachOtherAcrossCodes() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.sign(.privilegeGrant(account: Keys.bob.address, privileges: .memberAdmin), by: Keys.admin))
        try fixture.apply(Self.registerWallet(fixture, by: Keys.bob))
        #expect(fixture.state.auditLog.keys.sorted() == [1, 2])
        #expect(fixture.state.auditLog[2]?.actor == Keys.bob.address)
        #expect(fixture.state.auditLog[2]?.code == .memberRegister)
        #expect(fixture.state.chain.nextAuditSequence == 3)
    }
}
