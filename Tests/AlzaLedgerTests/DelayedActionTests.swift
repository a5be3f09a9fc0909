import AlzaCore
import AlzaLedger
import Testing

/// Delayed actions (seed §3.1.3, DESIGN.md §4): included at once (fee and nonce charged), applied once the block
/// time reaches `executeAt`, unless cancelled first; bounded per account; re-authorized at execution.
@Suite struct DelayedActionTests {
    static let amount: Amount = 25 * Amounts.unit

    @Test func delayedTransferIsIncludedButDoesNotMoveFundsYet() throws {
        var fixture = try LedgerFixture()
        let transaction = fixture.transfer(Self.amount, from: Keys.alice, to: Keys.bob.address, delay: 10)
        let result = try fixture.apply(transaction)
        let includedAt = fixture.time
        #expect(result.outcomes.first?.delayedActionId == 1)
        #expect(fixture.balance(Keys.alice) == LedgerFixture.startingBalance - LedgerFixture.fee)
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance)
        #expect(fixture.nonce(Keys.alice) == 1)
        #expect(fixture.account(Keys.alice)?.pendingDelayed == 1)
        let action = try #require(fixture.state.delayedActions[1])
        #expect(action.payer == Keys.alice.address)
        #expect(action.transactionId == transaction.id)
        #expect(action.executeAt == includedAt + 10_000)
        #expect(action.signers == [Keys.alice.publicKey])
        #expect(action.includedAtHeight == 1)
        #expect(action.messages == transaction.messages)
        #expect(fixture.state.chain.nextDelayedId == 2)
    }

    @Test func delayedTransferAppliesOnceTheBlockTimeReachesExecuteAt() throws {
        var fixture = try LedgerFixture()
        let transaction = fixture.transfer(Self.amount, from: Keys.alice, to: Keys.bob.address, delay: 10)
        try fixture.apply(transaction)
        let executeAt = try #require(fixture.state.delayedActions[1]).executeAt

        let early = try fixture.applyEmptyBlock(at: executeAt - 1)
        #expect(early.delayed.isEmpty)
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance)
        #expect(fixture.state.dueDelayedActions(at: executeAt - 1, limit: 10).isEmpty)
        #expect(fixture.state.dueDelayedActions(at: executeAt, limit: 10).map(\.id) == [1])

        let due = try fixture.applyEmptyBlock(at: executeAt)
        #expect(due.delayed.map(\.id) == [1])
        #expect(due.delayed.first?.transactionId == transaction.id)
        #expect(due.delayed.first?.error == nil)
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance + Self.amount)
        #expect(fixture.balance(Keys.alice) == LedgerFixture.startingBalance - LedgerFixture.fee - Self.amount)
        #expect(fixture.account(Keys.alice)?.pendingDelayed == 0)
        #expect(fixture.state.delayedActions.isEmpty)

        let later = try fixture.applyEmptyBlock()
        #expect(later.delayed.isEmpty)
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance + Self.amount)
    }

    @Test func cancelledDelayedTransferNeverApplies() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.transfer(Self.amount, from: Keys.alice, to: Keys.bob.address, delay: 10))
        let executeAt = try #require(fixture.state.delayedActions[1]).executeAt

        try fixture.apply(fixture.sign(.cancelDelayed(id: 1), by: Keys.alice))
        #expect(fixture.state.delayedActions.isEmpty)
        #expect(fixture.account(Keys.alice)?.pendingDelayed == 0)
        #expect(fixture.balance(Keys.alice) == LedgerFixture.startingBalance - 2 * LedgerFixture.fee)

        let afterwards = try fixture.applyEmptyBlock(at: executeAt + 1_000)
        #expect(afterwards.delayed.isEmpty)
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance)
        #expect(fixture.balance(Keys.alice) == LedgerFixture.startingBalance - 2 * LedgerFixture.fee)
    }

    @Test func onlyThePayerMayCancel() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.transfer(Self.amount, from: Keys.alice, to: Keys.bob.address, delay: 10))
        #expect(throws: LedgerError.missingAuthorization(account: Keys.alice.address, code: .cancelDelayed)) {
            try fixture.apply(fixture.sign(.cancelDelayed(id: 1), by: Keys.bob))
        }
        #expect(fixture.state.delayedActions.count == 1)
    }

    @Test func cancellingAnUnknownActionIsRefused() throws {
        var fixture = try LedgerFixture()
        #expect(throws: LedgerError.unknownDelayedAction(99)) {
            try fixture.apply(fixture.sign(.cancelDelayed(id: 99), by: Keys.alice))
        }
    }

    @Test func accountDelayRuleRefusesShorterDelays() throws {
        var fixture = try LedgerFixture()
        let rules = try delayRulesPayload([(.transfer, 3_600)])
        try fixture.apply(fixture.sign(rules, by: Keys.alice, permission: .owner))
        #expect(fixture.account(Keys.alice)?.minimumDelay(for: .transfer) == 3_600)
        #expect(fixture.account(Keys.alice)?.minimumDelay(for: .stake) == 0)

        #expect(throws: LedgerError.delayTooShort(code: .transfer, required: 3_600, actual: 0)) {
            try fixture.apply(fixture.transfer(Self.amount, from: Keys.alice, to: Keys.bob.address))
        }
        #expect(throws: LedgerError.delayTooShort(code: .transfer, required: 3_600, actual: 3_599)) {
            try fixture.apply(fixture.transfer(Self.amount, from: Keys.alice, to: Keys.bob.address, delay: 3_599))
        }
        let result = try fixture.apply(fixture.transfer(Self.amount, from: Keys.alice, to: Keys.bob.address, delay: 3_600))
        #expect(result.outcomes.first?.delayedActionId == 1)
        // Codes without a rule are not delayed.
        try fixture.apply(fixture.sign(.stake(amount: 1), by: Keys.alice))
        #expect(fixture.account(Keys.alice)?.staked == 1)
    }

    @Test func delayRuleOfACoAuthorizerAppliesToTheTransaction() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.sign(try delayRulesPayload([(.transfer, 600)]), by: Keys.bob, permission: .owner))
        // Carol pays, but Bob's funds move: Bob's rule binds the transaction.
        let payload = MessagePayload.transfer(inputs: [AmountEntry(Keys.bob.address, 5)],
                                              outputs: [AmountEntry(Keys.carol.address, 5)], memo: [])
        #expect(throws: LedgerError.delayTooShort(code: .transfer, required: 600, actual: 0)) {
            try fixture.apply(fixture.sign([Message(payload, authorizer: Keys.carol.address)], by: [Keys.carol, Keys.bob]))
        }
    }

    @Test func delayRulesNeedTheOwnerPermission() throws {
        var fixture = try LedgerFixture()
        let rules = try delayRulesPayload([(.transfer, 3_600)])
        #expect(throws: LedgerError.unauthorized(account: Keys.alice.address, permission: .owner)) {
            try fixture.apply(fixture.sign(rules, by: Keys.alice, permission: .active))
        }
        #expect(fixture.account(Keys.alice)?.delayRules.isEmpty == true)
    }

    @Test func delayRulesAreValidated() throws {
        var fixture = try LedgerFixture()
        let limit = fixture.genesis.parameters.maxDelaySeconds
        #expect(throws: LedgerError.delayTooLong(requested: limit + 1, limit: limit)) {
            try fixture.apply(fixture.sign(try delayRulesPayload([(.transfer, limit + 1)]), by: Keys.alice,
                                           permission: .owner))
        }
        #expect(throws: LedgerError.invalidPayload(code: .accountUpdate, reason: "a code appears twice in the delay rules")) {
            try fixture.apply(fixture.sign(try delayRulesPayload([(.transfer, 10), (.transfer, 20)]), by: Keys.alice,
                                           permission: .owner))
        }
        // Rules are kept sorted by code, zero minimums dropped.
        try fixture.apply(fixture.sign(try delayRulesPayload([(.unstake, 30), (.stake, 0), (.transfer, 10)]),
                                       by: Keys.alice, permission: .owner))
        #expect(fixture.account(Keys.alice)?.delayRules.map(\.code) == [.transfer, .unstake])
        #expect(fixture.account(Keys.alice)?.delayRules.map(\.minimumSeconds) == [10, 30])
    }

    @Test func pendingDelayedActionsAreBoundedPerAccount() throws {
        var fixture = try LedgerFixture()
        let limit = fixture.genesis.parameters.maxDelayedPerAccount
        // Due 30 s, 60 s, 90 s after inclusion: only the first comes due below.
        for index in 0..<limit {
            try fixture.apply(fixture.transfer(1, from: Keys.alice, to: Keys.bob.address, delay: 30 * UInt32(index + 1)))
        }
        #expect(fixture.account(Keys.alice)?.pendingDelayed == UInt32(limit))
        #expect(throws: LedgerError.tooManyDelayed(account: Keys.alice.address, limit: limit)) {
            try fixture.apply(fixture.transfer(1, from: Keys.alice, to: Keys.bob.address, delay: 30))
        }
        // Undelayed transactions are not limited, and another account has its own bound.
        try fixture.apply(fixture.transfer(1, from: Keys.alice, to: Keys.bob.address))
        try fixture.apply(fixture.transfer(1, from: Keys.bob, to: Keys.alice.address, delay: 30))
        // Once one of them has run, there is room again.
        try fixture.applyEmptyBlock(at: try #require(fixture.state.delayedActions[1]).executeAt)
        #expect(fixture.account(Keys.alice)?.pendingDelayed == UInt32(limit - 1))
        try fixture.apply(fixture.transfer(1, from: Keys.alice, to: Keys.bob.address, delay: 30))
        #expect(fixture.account(Keys.alice)?.pendingDelayed == UInt32(limit))
    }

    @Test func delayedActionWhoseSignerWasRotatedAwayIsDropped() throws {
        var fixture = try LedgerFixture()
        let theft = fixture.transfer(Self.amount, from: Keys.alice, to: Keys.bob.address, delay: 10)
        try fixture.apply(theft)
        let executeAt = try #require(fixture.state.delayedActions[1]).executeAt

        // The owner moves both permissions to a new key before the delayed transfer is due.
        let rotation = [PermissionLevel.owner, .active].map { level in
            Message(.permissionUpdate(level: level, permission: .single(Keys.erin.publicKey)),
                    authorizer: Keys.alice.address, permission: .owner)
        }
        try fixture.apply(fixture.sign(rotation, by: [Keys.alice]))
        #expect(fixture.account(Keys.alice)?.owner == .single(Keys.erin.publicKey))
        #expect(fixture.account(Keys.alice)?.active == .single(Keys.erin.publicKey))

        let result = try fixture.applyEmptyBlock(at: executeAt)
        #expect(result.delayed.map(\.id) == [1])
        #expect(result.delayed.first?.transactionId == theft.id)
        #expect(result.delayed.first?.error == .unauthorized(account: Keys.alice.address, permission: .active))
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance)
        #expect(fixture.account(Keys.alice)?.pendingDelayed == 0)
        #expect(fixture.state.delayedActions.isEmpty)
    }

    @Test func rotatingOnlyTheActiveKeyLeavesTheOwnerKeyAbleToExecute() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.transfer(Self.amount, from: Keys.alice, to: Keys.bob.address, delay: 10))
        let executeAt = try #require(fixture.state.delayedActions[1]).executeAt
        try fixture.apply(fixture.sign(.permissionUpdate(level: .active, permission: .single(Keys.erin.publicKey)),
                                       by: Keys.alice, permission: .owner))
        let result = try fixture.applyEmptyBlock(at: executeAt)
        #expect(result.delayed.first?.error == nil)
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance + Self.amount)
    }

    @Test func delayedActionThatNoLongerAppliesIsDroppedWithItsReason() throws {
        var fixture = try LedgerFixture()
        let spendable = LedgerFixture.startingBalance - 3 * LedgerFixture.fee
        try fixture.apply(fixture.transfer(spendable, from: Keys.alice, to: Keys.bob.address, delay: 10))
        let executeAt = try #require(fixture.state.delayedActions[1]).executeAt
        // Meanwhile Alice spends most of it.
        try fixture.apply(fixture.transfer(spendable / 2, from: Keys.alice, to: Keys.carol.address))
        let available = fixture.balance(Keys.alice)
        let result = try fixture.applyEmptyBlock(at: executeAt)
        #expect(result.delayed.first?.error == .insufficientBalance(account: Keys.alice.address, needed: spendable,
                                                                    available: available))
        #expect(fixture.balance(Keys.alice) == available)
        #expect(fixture.account(Keys.alice)?.pendingDelayed == 0)
    }

    @Test func dueActionsRunOldestFirstAndAreBoundedPerBlock() throws {
        var parameters = LedgerFixture.testParameters()
        parameters.maxDelayedExecutionsPerBlock = 1
        var fixture = try LedgerFixture(parameters: parameters)
        try fixture.apply(fixture.transfer(2, from: Keys.alice, to: Keys.bob.address, delay: 20))
        try fixture.apply(fixture.transfer(3, from: Keys.carol, to: Keys.bob.address, delay: 5))
        let late = try #require(fixture.state.delayedActions[1]).executeAt
        let early = try #require(fixture.state.delayedActions[2]).executeAt
        #expect(early < late)

        let first = try fixture.applyEmptyBlock(at: late)
        #expect(first.delayed.map(\.id) == [2])
        #expect(fixture.state.delayedActions.keys.sorted() == [1])
        let second = try fixture.applyEmptyBlock()
        #expect(second.delayed.map(\.id) == [1])
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance + 5)
    }

    @Test
    func actionCancelledByAnEarlierDueActionOfTheSameBlockDoesNotRun() throws {
        var fixture = try LedgerFixture()
        // Action 1 cancels action 2; both come due at the same time, 1 first. Action 3 stays pending.
        try fixture.apply(fixture.sign(.cancelDelayed(id: 2), by: Keys.alice, delay: 20))
        try fixture.apply(fixture.transfer(Self.amount, from: Keys.alice, to: Keys.bob.address, delay: 19))
        try fixture.apply(fixture.transfer(Self.amount, from: Keys.alice, to: Keys.bob.address, delay: 600))
        let first = try #require(fixture.state.delayedActions[1])
        let second = try #require(fixture.state.delayedActions[2])
        #expect(first.executeAt == second.executeAt)
        let balance = fixture.balance(Keys.alice)

        let result = try fixture.applyEmptyBlock(at: first.executeAt)
        #expect(result.delayed.first?.id == 1)
        #expect(result.delayed.first?.error == nil)
        #expect(!result.delayed.contains { $0.id == 2 && $0.error == nil })
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance)
        #expect(fixture.balance(Keys.alice) == balance)
        #expect(fixture.state.delayedActions.keys.sorted() == [3])
        #expect(fixture.account(Keys.alice)?.pendingDelayed == 1)
    }

    @Test
    func delayedActionCancellingItselfIsDroppedWithoutCrashing() throws {
        var fixture = try LedgerFixture()
        // The next delayed-action id is public state, so a transaction can name its own future id.
        let ownId = fixture.state.chain.nextDelayedId
        try fixture.apply(fixture.sign(.cancelDelayed(id: ownId), by: Keys.alice, delay: 10))
        #expect(fixture.account(Keys.alice)?.pendingDelayed == 1)
        let executeAt = try #require(fixture.state.delayedActions[ownId]).executeAt
        let result = try fixture.applyEmptyBlock(at: executeAt)
        #expect(result.delayed.map(\.id) == [ownId])
        #expect(fixture.account(Keys.alice)?.pendingDelayed == 0)
        #expect(fixture.state.delayedActions.isEmpty)
    }

    @Test
    func delayedAccountDeletionCanSucceed() throws {
        var fixture = try LedgerFixture()
        // Erin holds exactly two fees, demands a delay for deleting herself, then asks for the deletion.
        try fixture.apply(fixture.transfer(2 * LedgerFixture.fee, from: Keys.alice, to: Keys.erin.address))
        try fixture.apply(fixture.sign(try delayRulesPayload([(.accountDelete, 10)]), by: Keys.erin, permission: .owner))
        try fixture.apply(fixture.sign(.accountDelete, by: Keys.erin, permission: .owner, delay: 10))
        #expect(fixture.balance(Keys.erin) == 0)
        let executeAt = try #require(fixture.state.delayedActions[1]).executeAt
        let result = try fixture.applyEmptyBlock(at: executeAt)
        #expect(result.delayed.first?.error == nil)
        #expect(fixture.account(Keys.erin) == nil)
        #expect(fixture.state.retiredNonces[Keys.erin.address] == 2)
    }
}
