import AlzaCore
import AlzaLedger
import Testing

/// `BlockExecutor` runs transactions with disjoint scopes in parallel waves; the outcome must be exactly that of
/// applying them one after another in block order.
@Suite struct ParallelExecutionTests {
    static let users = 256

    /// 128 disjoint transfers (one wide first wave, run on all cores), then random transfers among the users,
    /// a run of one account's consecutive nonces, and a new account that spends what it received in the block.
    static func mixedBlock(_ fixture: LedgerFixture, seed: UInt64) -> [SignedTransaction] {
        var random = SeededRandom(seed: seed)
        var nonces = [Int: UInt64]()
        var transactions: [SignedTransaction] = []
        func transfer(from sender: Int, to recipient: Address, amount: Amount) {
            let nonce = nonces[sender, default: 0]
            nonces[sender] = nonce + 1
            transactions.append(fixture.transfer(amount, from: LedgerFixture.userKey(sender), to: recipient, nonce: nonce))
        }
        for pair in 0..<(users / 2) {
            transfer(from: 2 * pair, to: LedgerFixture.userKey(2 * pair + 1).address, amount: 1 + Amount(pair))
        }
        let newcomer = Keys.named("newcomer")
        for index in 0..<200 {
            let sender = random.next(below: users)
            var recipient = random.next(below: users)
            if recipient == sender { recipient = (recipient + 1) % users }
            transfer(from: sender, to: LedgerFixture.userKey(recipient).address, amount: 1 + Amount(random.next() % 10_000))
            if index % 40 == 0 { transfer(from: 7, to: LedgerFixture.userKey(9).address, amount: 3) }
            if index == 100 { transfer(from: 11, to: newcomer.address, amount: 5 * Amounts.unit) }
        }
        transactions.append(fixture.transfer(Amounts.unit, from: newcomer, to: LedgerFixture.userKey(0).address, nonce: 0))
        return transactions
    }

    static func totalHoldings(_ state: LedgerState) -> Amount {
        state.accounts.values.reduce(0) { $0 + $1.balance + $1.staked + $1.unbondingTotal }
    }

    @Test func parallelBlockLeavesTheSameStateAsOneTransactionAtATime() throws {
        let fixture = try LedgerFixture(users: Self.users)
        let transactions = Self.mixedBlock(fixture, seed: 42)
        #expect(transactions.count >= 300)
        let context = fixture.blockContext()

        var parallel = fixture.state
        let result = try BlockExecutor.execute(transactions, on: &parallel, block: context, verifier: SignatureVerifier(),
                                               mode: .validate, coinbaseAtIndexZero: false)
        var sequential = fixture.state
        let verifier = SignatureVerifier()
        for transaction in transactions {
            _ = try BlockExecutor.execute([transaction], on: &sequential, block: context, verifier: verifier, mode: .validate,
                                      coinbaseAtIndexZero: false)
        }

        #expect(parallel.root() == sequential.root())
        #expect(parallel.allEntries() == sequential.allEntries())
        #expect(result.included.map(\.id) == transactions.map(\.id))
        #expect(result.fees == Amount(transactions.count) * LedgerFixture.fee)
        #expect(result.waves > 1)
        #expect(result.waves < transactions.count / 4)
        #expect(Self.totalHoldings(parallel) == parallel.chain.totalSupply)
        #expect(parallel.accounts[Keys.named("newcomer").address]?.balance == 4 * Amounts.unit - LedgerFixture.fee)
    }

    @Test func produceModeLeavesOutTheSameTransactionsInParallelAsInSequence() throws {
        let fixture = try LedgerFixture(users: Self.users)
        var transactions = Self.mixedBlock(fixture, seed: 7)
        // Spoil some: overspending, a bad fee, and a nonce gap that also dooms the sender's later transactions.
        transactions[3] = fixture.transfer(LedgerFixture.userBalance * 2, from: LedgerFixture.userKey(6),
                                           to: Keys.bob.address, nonce: 0)
        transactions[150] = fixture.transfer(1, from: LedgerFixture.userKey(200), to: Keys.bob.address, nonce: 40)
        transactions[200] = fixture.transfer(1, from: LedgerFixture.userKey(201), to: Keys.bob.address, nonce: 0, fee: 1)
        let context = fixture.blockContext()

        var parallel = fixture.state
        let result = try BlockExecutor.execute(transactions, on: &parallel, block: context, verifier: fixture.verifier,
                                               mode: .produce, coinbaseAtIndexZero: false)
        var sequential = fixture.state
        var included: [Hash] = []
        for transaction in transactions {
            let one = try BlockExecutor.execute([transaction], on: &sequential, block: context, verifier: fixture.verifier,
                                                mode: .produce, coinbaseAtIndexZero: false)
            included += one.included.map(\.id)
        }
        #expect(!result.rejected.isEmpty)
        #expect(result.included.map(\.id) == included)
        #expect(result.included.count + result.rejected.count == transactions.count)
        #expect(parallel.root() == sequential.root())
    }

    @Test func oneAccountsTransactionsApplyInNonceOrder() throws {
        var fixture = try LedgerFixture()
        let transactions = (0..<10).map { nonce in
            fixture.transfer(Amount(nonce + 1), from: Keys.alice, to: Keys.bob.address, nonce: UInt64(nonce))
        }
        let result = try fixture.apply(transactions)
        #expect(result.waves == 10)
        #expect(fixture.nonce(Keys.alice) == 10)
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance + 55)
    }

    @Test func outOfOrderNoncesInOneBlockAreRefused() throws {
        let fixture = try LedgerFixture()
        let transactions = (0..<3).map { nonce in
            fixture.transfer(1, from: Keys.alice, to: Keys.bob.address, nonce: UInt64(nonce))
        }
        var state = fixture.state
        let swapped = [transactions[0], transactions[2], transactions[1]]
        let reason = LedgerError.badNonce(account: Keys.alice.address, expected: 1, actual: 2).description
        #expect(throws: LedgerError.transactionFailed(index: 1, id: transactions[2].id, reason: reason)) {
            try BlockExecutor.execute(swapped, on: &state, block: fixture.blockContext(), verifier: fixture.verifier,
                                      mode: .validate, coinbaseAtIndexZero: false)
        }
    }

    @Test func fundsReceivedEarlierInTheBlockCanBeSpentLaterInIt() throws {
        var fixture = try LedgerFixture()
        // Bob passes on, in the same block, more than he had before Alice paid him.
        let amount = LedgerFixture.startingBalance - LedgerFixture.fee
        let pay = fixture.transfer(amount, from: Keys.alice, to: Keys.bob.address)
        let forward = fixture.transfer(LedgerFixture.startingBalance + amount / 2, from: Keys.bob, to: Keys.carol.address)
        #expect(throws: LedgerError.insufficientBalance(account: Keys.bob.address,
                                                        needed: LedgerFixture.startingBalance + amount / 2,
                                                        available: LedgerFixture.startingBalance - LedgerFixture.fee)) {
            try fixture.apply([forward, pay])
        }
        try fixture.apply([pay, forward])
        #expect(fixture.balance(Keys.alice) == 0)
        #expect(fixture.balance(Keys.carol) == LedgerFixture.startingBalance + LedgerFixture.startingBalance + amount / 2)
        #expect(fixture.balance(Keys.bob) == amount - amount / 2 - LedgerFixture.fee)
    }

    @Test
    func voteForAProducerRegisteredEarlierInTheSameBlockSeesTheRegistration() throws {
        let fixture = try LedgerFixture()
        let register = ProducerTests.register(fixture, Keys.carol)
        let vote = fixture.sign(.delegateVote(producer: Keys.carol.address), by: Keys.dave)
        let context = fixture.blockContext()
        var sequential = fixture.state
        for transaction in [register, vote] {
            _ = try BlockExecutor.execute([transaction], on: &sequential, block: context, verifier: fixture.verifier,
                                      mode: .validate, coinbaseAtIndexZero: false)
        }
        #expect(sequential.accounts[Keys.dave.address]?.vote == Keys.carol.address)
        var block = fixture.state
        _ = try BlockExecutor.execute([register, vote], on: &block, block: context, verifier: fixture.verifier,
                                  mode: .validate, coinbaseAtIndexZero: false)
        #expect(block.root() == sequential.root())
    }

    @Test
    func voteForAProducerUnregisteredEarlierInTheSameBlockIsRefused() throws {
        let fixture = try LedgerFixture()
        let unregister = fixture.sign(.producerUnregister, by: Keys.producer)
        let vote = fixture.sign(.delegateVote(producer: fixture.producer), by: Keys.alice)
        var state = fixture.state
        let reason = LedgerError.producerState(account: fixture.producer,
                                               reason: "is unregistered and cannot receive votes").description
        #expect(throws: LedgerError.transactionFailed(index: 1, id: vote.id, reason: reason)) {
            try BlockExecutor.execute([unregister, vote], on: &state, block: fixture.blockContext(),
                                      verifier: fixture.verifier, mode: .validate, coinbaseAtIndexZero: false)
        }
    }
}
