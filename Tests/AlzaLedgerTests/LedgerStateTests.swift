import AlzaCore
import AlzaLedger
import Testing

/// `LedgerState`: the state root commits to the records only, undo and redo records revert and replay a block,
/// and a state rebuilt from its entries (a checkpoint) is the same state.
@Suite struct LedgerStateTests {
    /// Entries read back from disk that execution never writes get a typed error, not a trap (found by the
    /// journal fuzz harness: docs/fuzzing.md, Tests/Fuzz/regressions/journal/).
    @Test func recoveredEntriesThatCannotBeAppliedAreTypedErrors() throws {
        let fixture = try LedgerCodecTests.richFixture()
        var state = fixture.state
        #expect(throws: LedgerError.malformedBlock("stored state entry sets the chain record to nothing")) {
            try state.applyRecovered([StateEntry(key: .chain, value: nil)])
        }
        var rich = Account(address: Keys.named("overflow-a").address, key: Keys.named("overflow-a").publicKey)
        rich.staked = .max
        var richer = Account(address: Keys.named("overflow-b").address, key: Keys.named("overflow-b").publicKey)
        richer.staked = .max
        // The fixture has stake already: the first account's entry overflows the total.
        #expect(throws: LedgerError.malformedBlock("stored stake of \(rich.address) (\(UInt64.max)) overflows the stake sums")) {
            try state.applyRecovered([StateEntry(key: .account(rich.address), value: .account(rich)),
                                      StateEntry(key: .account(richer.address), value: .account(richer))])
        }
        // What passes is applied as `apply` would.
        var plain = fixture.state
        var expected = fixture.state
        let entry = StateEntry(key: .account(Keys.named("plain").address),
                               value: .account(Account(address: Keys.named("plain").address, key: Keys.named("plain").publicKey)))
        try plain.applyRecovered([entry])
        expected.apply([entry])
        #expect(plain.root() == expected.root())
    }

    @Test func undoRestoresAndRedoReplaysABlock() throws {
        let fixture = try LedgerCodecTests.richFixture()
        var before = fixture.state
        let rootBefore = before.root()
        var after = fixture.state
        after.beginRecording()
        #expect(after.isRecording)
        let transactions = [fixture.transfer(5, from: Keys.alice, to: Keys.frank.address),
                            fixture.sign(.delegateVote(producer: nil), by: Keys.alice, nonce: fixture.nonce(Keys.alice) + 1),
                            fixture.sign(.privilegeGrant(account: Keys.carol.address, privileges: .all), by: Keys.admin)]
        _ = try BlockExecutor.execute(transactions, on: &after, block: fixture.blockContext(), verifier: fixture.verifier,
                                      mode: .validate, coinbaseAtIndexZero: false)
        let changes = after.endRecording()
        #expect(!after.isRecording)
        let rootAfter = after.root()
        #expect(rootAfter != rootBefore)
        #expect(changes.undo.map(\.key) == changes.redo.map(\.key))
        #expect(changes.undo.contains { $0.key == .account(Keys.frank.address) && $0.value == nil })

        var reverted = after
        reverted.apply(changes.undo)
        #expect(reverted.root() == rootBefore)
        #expect(reverted.allEntries() == before.allEntries())
        #expect(reverted.delegatedStake == before.delegatedStake)
        #expect(reverted.voters == before.voters)
        #expect(reverted.totalStaked == before.totalStaked)

        before.apply(changes.redo)
        #expect(before.root() == rootAfter)
        #expect(before.allEntries() == after.allEntries())
        #expect(before.delegatedStake == after.delegatedStake)
    }

    @Test func stateRebuiltFromItsEntriesIsTheSameState() throws {
        var fixture = try LedgerCodecTests.richFixture()
        let entries = fixture.state.allEntries()
        var rebuilt = try LedgerState(chainId: fixture.chainId, genesisTime: LedgerFixture.genesisTime,
                                      parameters: fixture.genesis.parameters, entries: entries.reversed())
        #expect(rebuilt.root() == fixture.state.root())
        #expect(rebuilt.allEntries() == entries)
        #expect(rebuilt.delegatedStake == fixture.state.delegatedStake)
        #expect(rebuilt.voters == fixture.state.voters)
        #expect(rebuilt.totalStaked == fixture.state.totalStaked)
        let far = fixture.time + 10_000_000
        #expect(rebuilt.dueDelayedActions(at: far, limit: 10) == fixture.state.dueDelayedActions(at: far, limit: 10))
        #expect(!rebuilt.dueDelayedActions(at: far, limit: 10).isEmpty)
    }

    @Test func snapshotWithoutAChainRecordIsRefused() throws {
        let fixture = try LedgerFixture()
        let entries = fixture.state.allEntries().filter { $0.key != .chain }
        #expect(throws: LedgerError.malformedBlock("state snapshot has no chain record")) {
            try LedgerState(chainId: fixture.chainId, genesisTime: LedgerFixture.genesisTime,
                            parameters: fixture.genesis.parameters, entries: entries)
        }
    }

    @Test func rootDependsOnContentNotOnWriteOrder() throws {
        let fixture = try LedgerFixture()
        var forward = fixture.state
        var backward = fixture.state
        let accounts = (0..<50).map { index in
            var account = Account(address: Keys.named("order-\(index)").address, key: Keys.named("order-\(index)").publicKey)
            account.balance = Amount(index)
            return account
        }
        for account in accounts { forward.setAccount(account) }
        for account in accounts.reversed() { backward.setAccount(account) }
        #expect(forward.root() == backward.root())
        // Writing a record and deleting it again leaves the original root.
        var scratch = fixture.state
        let original = scratch.root()
        scratch.setAccount(accounts[0])
        #expect(scratch.root() != original)
        scratch.write(.account(accounts[0].address), nil)
        #expect(scratch.root() == original)
    }

    @Test func rootChangesWithEveryValueChange() throws {
        let fixture = try LedgerFixture()
        var state = fixture.state
        var seen = Set([state.root()])
        var account = try #require(state.accounts[Keys.bob.address])
        for balance in [Amount(1), 2, 3, .max] {
            account.balance = balance
            state.setAccount(account)
            seen.insert(state.root())
        }
        #expect(seen.count == 5)
    }

    @Test func slotsAreCountedFromTheGenesisTime() throws {
        let fixture = try LedgerFixture()
        let state = fixture.state
        let slot = LedgerFixture.slotMilliseconds
        #expect(state.slot(at: LedgerFixture.genesisTime - 5) == 0)
        #expect(state.slot(at: LedgerFixture.genesisTime + slot - 1) == 0)
        #expect(state.slot(at: LedgerFixture.genesisTime + 7 * slot) == 7)
        #expect(state.slotStart(7) == LedgerFixture.genesisTime + 7 * slot)
    }
}
