import AlzaCore
import AlzaLedger
import Testing

/// Accounts: implicit creation, registration with names, deletion that keeps the nonce, and permissions.
@Suite struct AccountTests {
    @Test func transferToANewAddressCreatesAnAccountControlledByItsKey() throws {
        var fixture = try LedgerFixture()
        #expect(fixture.account(Keys.erin) == nil)
        try fixture.apply(fixture.transfer(50 * Amounts.unit, from: Keys.alice, to: Keys.erin.address))
        let erin = try #require(fixture.account(Keys.erin))
        #expect(erin.balance == 50 * Amounts.unit)
        #expect(erin.nonce == 0)
        #expect(erin.owner == .single(Keys.erin.publicKey))
        #expect(erin.active == .single(Keys.erin.publicKey))
        #expect(erin.createdAtHeight == 1)
        // The new account can spend with its key.
        try fixture.apply(fixture.transfer(Amounts.unit, from: Keys.erin, to: Keys.bob.address))
        #expect(fixture.balance(Keys.erin) == 49 * Amounts.unit - LedgerFixture.fee)
    }

    @Test func accountRegisterCreatesANamedAccountWithTheGivenPermissions() throws {
        var fixture = try LedgerFixture()
        let name = try AccountName("frank.shop-1")
        let owner = Permission.single(Keys.frank.publicKey)
        let active = Permission.single(Keys.erin.publicKey)
        try fixture.apply(fixture.sign(.accountRegister(address: Keys.frank.address, owner: owner, active: active,
                                                        name: name), by: Keys.alice))
        let frank = try #require(fixture.account(Keys.frank))
        #expect(frank.name == name)
        #expect(frank.owner == owner)
        #expect(frank.active == active)
        #expect(frank.balance == 0)
        #expect(fixture.state.names[name] == Keys.frank.address)
        #expect(fixture.state.resolve("frank.shop-1") == Keys.frank.address)
        #expect(fixture.state.resolve(Keys.frank.address.description) == Keys.frank.address)
        #expect(fixture.state.resolve("nobody") == nil)
        #expect(fixture.balance(Keys.alice) == LedgerFixture.startingBalance - LedgerFixture.fee)
    }

    @Test func registeringATakenNameIsRefused() throws {
        var fixture = try LedgerFixture()
        // "alice" is registered in the genesis.
        let payload = MessagePayload.accountRegister(address: Keys.frank.address, owner: .single(Keys.frank.publicKey),
                                                     active: .single(Keys.frank.publicKey), name: try AccountName("alice"))
        #expect(throws: LedgerError.nameTaken("alice")) { try fixture.apply(fixture.sign(payload, by: Keys.bob)) }
        #expect(fixture.account(Keys.frank) == nil)
    }

    @Test func registeringAnExistingAccountIsRefused() throws {
        var fixture = try LedgerFixture()
        let payload = MessagePayload.accountRegister(address: Keys.carol.address, owner: .single(Keys.frank.publicKey),
                                                     active: .single(Keys.frank.publicKey), name: nil)
        #expect(throws: LedgerError.accountExists(Keys.carol.address)) { try fixture.apply(fixture.sign(payload, by: Keys.bob)) }
        #expect(fixture.account(Keys.carol)?.owner == .single(Keys.carol.publicKey))
    }

    @Test func registeringTheMintIsRefused() throws {
        var fixture = try LedgerFixture()
        let payload = MessagePayload.accountRegister(address: .coinbase, owner: .single(Keys.frank.publicKey),
                                                     active: .single(Keys.frank.publicKey), name: nil)
        #expect(throws: LedgerError.invalidPayload(code: .accountRegister, reason: "0x0 is reserved")) {
            try fixture.apply(fixture.sign(payload, by: Keys.bob))
        }
    }

    @Test(arguments: ["", "Alice", "9lives", "-dash", "alza1name", "has space", "ünï", String(repeating: "a", count: 33)])
    func invalidAccountNamesAreRefused(_ text: String) {
        #expect(throws: LedgerError.invalidName(text)) { try AccountName(text) }
    }

    @Test(arguments: ["a", "alice", "shop.2-b", "alza", String(repeating: "z", count: 32)])
    func validAccountNamesAreAccepted(_ text: String) throws {
        #expect(try AccountName(text).value == text)
    }

    @Test func invalidNameInsideARegisterPayloadIsAnInvalidPayload() throws {
        var fixture = try LedgerFixture()
        // Encode the payload by hand with a name the type itself would refuse.
        var encoder = CanonicalEncoder()
        encoder.encode(Keys.frank.address)
        encoder.encode(Permission.single(Keys.frank.publicKey))
        encoder.encode(Permission.single(Keys.frank.publicKey))
        encoder.encode(UInt8(1))
        encoder.encode("Frank")
        let data = encoder.bytes
        let codecError = try #require(#expect(throws: CodecError.self) {
            try MessagePayload(code: .accountRegister, data: data)
        })
        let message = Message(code: .accountRegister, scope: [Keys.bob.address, Keys.frank.address],
                              recipients: [Keys.frank.address], authorization: [Authorization(Keys.bob.address)],
                              data: data)
        #expect(throws: LedgerError.invalidPayload(code: .accountRegister, reason: codecError.description)) {
            try fixture.apply(fixture.sign([message], by: [Keys.bob]))
        }
    }

    @Test func renamingFreesTheOldName() throws {
        var fixture = try LedgerFixture()
        let alice = try AccountName("alice")
        let alicia = try AccountName("alicia")
        try fixture.apply(fixture.sign(.accountUpdate(name: .some(alicia), delayRules: nil), by: Keys.alice))
        #expect(fixture.account(Keys.alice)?.name == alicia)
        #expect(fixture.state.names[alicia] == Keys.alice.address)
        #expect(fixture.state.names[alice] == nil)
        // Bob may now take "alice", and cannot take "alicia".
        #expect(throws: LedgerError.nameTaken("alicia")) {
            try fixture.apply(fixture.sign(.accountUpdate(name: .some(alicia), delayRules: nil), by: Keys.bob))
        }
        try fixture.apply(fixture.sign(.accountUpdate(name: .some(alice), delayRules: nil), by: Keys.bob))
        #expect(fixture.state.names[alice] == Keys.bob.address)
        // Clearing a name.
        try fixture.apply(fixture.sign(.accountUpdate(name: .some(nil), delayRules: nil), by: Keys.bob))
        #expect(fixture.account(Keys.bob)?.name == nil)
        #expect(fixture.state.names[alice] == nil)
    }

    @Test func accountWithFundsCannotBeDeleted() throws {
        var fixture = try LedgerFixture()
        #expect(throws: LedgerError.accountNotEmpty(account: Keys.carol.address, reason: "balance is not zero")) {
            try fixture.apply(fixture.sign(.accountDelete, by: Keys.carol, permission: .owner))
        }
        #expect(fixture.account(Keys.carol) != nil)
    }

    @Test func accountDeletionNeedsTheOwnerPermission() throws {
        var fixture = try LedgerFixture()
        #expect(throws: LedgerError.unauthorized(account: Keys.carol.address, permission: .owner)) {
            try fixture.apply(fixture.sign(.accountDelete, by: Keys.carol, permission: .active))
        }
    }

    @Test func stakedAccountCannotBeDeleted() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.transfer(2 * LedgerFixture.fee + 1, from: Keys.alice, to: Keys.erin.address))
        try fixture.apply(fixture.sign(.stake(amount: 1), by: Keys.erin))
        #expect(fixture.balance(Keys.erin) == LedgerFixture.fee)
        #expect(throws: LedgerError.accountNotEmpty(account: Keys.erin.address, reason: "funds are staked or unbonding")) {
            try fixture.apply(fixture.sign(.accountDelete, by: Keys.erin, permission: .owner))
        }
    }

    @Test func deletedAccountKeepsItsNonceSoOldTransactionsCannotReplay() throws {
        var fixture = try LedgerFixture()
        let funding = 10 * Amounts.unit
        try fixture.apply(fixture.transfer(funding, from: Keys.alice, to: Keys.erin.address))
        // Erin spends all but the fee of the deletion, then deletes her account.
        let spend = fixture.transfer(funding - 2 * LedgerFixture.fee, from: Keys.erin, to: Keys.bob.address)
        try fixture.apply(spend)
        try fixture.apply(fixture.sign(.accountDelete, by: Keys.erin, permission: .owner))
        #expect(fixture.account(Keys.erin) == nil)
        #expect(fixture.state.retiredNonces[Keys.erin.address] == 2)
        #expect(fixture.nonce(Keys.erin) == 2)

        // Paying the address again re-creates the account, which continues the nonce.
        try fixture.apply(fixture.transfer(funding, from: Keys.alice, to: Keys.erin.address))
        #expect(fixture.account(Keys.erin)?.nonce == 2)
        #expect(fixture.state.retiredNonces[Keys.erin.address] == nil)
        #expect(throws: LedgerError.badNonce(account: Keys.erin.address, expected: 2, actual: 0)) {
            try fixture.apply(spend)
        }
        #expect(fixture.balance(Keys.erin) == funding)
    }

    @Test func deletingANamedAccountFreesItsName() throws {
        var fixture = try LedgerFixture()
        let name = try AccountName("erin")
        try fixture.apply(fixture.sign(.accountRegister(address: Keys.erin.address, owner: .single(Keys.erin.publicKey),
                                                        active: .single(Keys.erin.publicKey), name: name), by: Keys.alice))
        try fixture.apply(fixture.transfer(LedgerFixture.fee, from: Keys.alice, to: Keys.erin.address))
        try fixture.apply(fixture.sign(.accountDelete, by: Keys.erin, permission: .owner))
        #expect(fixture.state.names[name] == nil)
        #expect(fixture.account(Keys.erin) == nil)
    }

    @Test func registeringADeletedAddressContinuesItsNonce() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.transfer(LedgerFixture.fee, from: Keys.alice, to: Keys.erin.address))
        try fixture.apply(fixture.sign(.accountDelete, by: Keys.erin, permission: .owner))
        #expect(fixture.state.retiredNonces[Keys.erin.address] == 1)
        try fixture.apply(fixture.sign(.accountRegister(address: Keys.erin.address, owner: .single(Keys.erin.publicKey),
                                                        active: .single(Keys.erin.publicKey), name: nil), by: Keys.alice))
        #expect(fixture.account(Keys.erin)?.nonce == 1)
        #expect(fixture.state.retiredNonces[Keys.erin.address] == nil)
    }

    @Test
    func feesCreditedToADeletedProducerAccountKeepItsRetiredNonce() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.transfer(LedgerFixture.fee, from: Keys.alice, to: Keys.erin.address))
        try fixture.apply(fixture.sign(.accountDelete, by: Keys.erin, permission: .owner))
        #expect(fixture.state.nextNonce(of: Keys.erin.address) == 1)
        // A block whose producer is Erin's (deleted) address collects a fee.
        var state = fixture.state
        let context = BlockContext(height: fixture.height + 1, slot: 99, time: fixture.nextTime, producer: Keys.erin.address)
        _ = try BlockExecutor.execute([fixture.transfer(1, from: Keys.bob, to: Keys.carol.address)], on: &state,
                                      block: context, verifier: fixture.verifier, mode: .validate,
                                      coinbaseAtIndexZero: false)
        #expect(state.accounts[Keys.erin.address]?.balance == LedgerFixture.fee)
        #expect(state.nextNonce(of: Keys.erin.address) == 1)
        #expect(state.retiredNonces[Keys.erin.address] == nil)
    }
}

/// Permissions: weighted thresholds, owner versus active, and their validation.
@Suite struct PermissionTests {
    static let keys = [Keys.named("k1"), Keys.named("k2"), Keys.named("k3")]

    static func twoOfThree() throws -> Permission {
        try Permission(threshold: 2, keys: keys.map { Permission.KeyWeight(key: $0.publicKey, weight: 1) })
    }

    @Test func twoOfThreeActivePermissionNeedsTwoSignatures() throws {
        var fixture = try LedgerFixture()
        let permission = try Self.twoOfThree()
        try fixture.apply(fixture.sign(.permissionUpdate(level: .active, permission: permission), by: Keys.alice,
                                       permission: .owner))
        #expect(fixture.account(Keys.alice)?.active == permission)

        let one = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, signers: [Self.keys[0]])
        #expect(throws: LedgerError.unauthorized(account: Keys.alice.address, permission: .active)) {
            try fixture.apply(one)
        }
        try fixture.apply(fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, signers: [Self.keys[0], Self.keys[2]]))
        try fixture.apply(fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, signers: Self.keys))
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance + 10)
        // The owner key alone still satisfies the active permission.
        try fixture.apply(fixture.transfer(5, from: Keys.alice, to: Keys.bob.address))
        #expect(fixture.nonce(Keys.alice) == 4)
    }

    @Test func activeKeysCannotChangePermissions() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.sign(.permissionUpdate(level: .active, permission: .single(Keys.erin.publicKey)),
                                       by: Keys.alice, permission: .owner))
        let takeover = fixture.sign([Message(.permissionUpdate(level: .owner, permission: .single(Keys.erin.publicKey)),
                                             authorizer: Keys.alice.address, permission: .owner)], by: [Keys.erin])
        #expect(throws: LedgerError.unauthorized(account: Keys.alice.address, permission: .owner)) {
            try fixture.apply(takeover)
        }
        let viaActive = fixture.sign([Message(.permissionUpdate(level: .owner, permission: .single(Keys.erin.publicKey)),
                                              authorizer: Keys.alice.address, permission: .active)], by: [Keys.erin])
        #expect(throws: LedgerError.unauthorized(account: Keys.alice.address, permission: .owner)) {
            try fixture.apply(viaActive)
        }
        #expect(fixture.account(Keys.alice)?.owner == .single(Keys.alice.publicKey))
    }

    @Test func weightedPermissionCountsWeights() throws {
        let heavy = Self.keys[0].publicKey
        let light = Self.keys[1].publicKey
        let permission = try Permission(threshold: 3, keys: [.init(key: light, weight: 1), .init(key: heavy, weight: 3)])
        #expect(permission.isSatisfied(by: [heavy]))
        #expect(!permission.isSatisfied(by: [light]))
        #expect(!permission.isSatisfied(by: [Self.keys[2].publicKey]))
        #expect(permission.keys.map(\.key) == [heavy, light].sorted())
    }

    @Test func malformedPermissionsAreRefused() {
        let a = Self.keys[0].publicKey
        let b = Self.keys[1].publicKey
        #expect(throws: LedgerError.invalidPermission("a permission has 1 to 16 keys")) {
            try Permission(threshold: 1, keys: [])
        }
        let seventeen = (0..<17).map { Permission.KeyWeight(key: Keys.named("many-\($0)").publicKey, weight: 1) }
        #expect(throws: LedgerError.invalidPermission("a permission has 1 to 16 keys")) {
            try Permission(threshold: 1, keys: seventeen)
        }
        #expect(throws: LedgerError.invalidPermission("key \(a.hex.prefix(8)) appears twice")) {
            try Permission(threshold: 1, keys: [.init(key: a, weight: 1), .init(key: a, weight: 2)])
        }
        #expect(throws: LedgerError.invalidPermission("key weights must be positive")) {
            try Permission(threshold: 1, keys: [.init(key: a, weight: 1), .init(key: b, weight: 0)])
        }
        #expect(throws: LedgerError.invalidPermission("threshold 0 must be between 1 and the total weight 2")) {
            try Permission(threshold: 0, keys: [.init(key: a, weight: 1), .init(key: b, weight: 1)])
        }
        #expect(throws: LedgerError.invalidPermission("threshold 3 must be between 1 and the total weight 2")) {
            try Permission(threshold: 3, keys: [.init(key: a, weight: 1), .init(key: b, weight: 1)])
        }
    }
}
