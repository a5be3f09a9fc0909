import AlzaConsensus
import AlzaCore
import AlzaLedger
import Testing

@Suite struct MempoolTests {
    let fixture = ChainFixture(producers: 1, users: 4)

    func pool(count: Int = 100) -> Mempool { Mempool(maximumCount: count, maximumBytes: 1 << 20) }

    @Test func candidatesComeByFeeAndEachAccountInNonceOrder() {
        var mempool = pool()
        let state = fixture.state()
        let now = fixture.slotStart(1)
        let a0 = fixture.transfer(from: 0, to: 1, amount: 10, nonce: 0, fee: 5_000)
        let a1 = fixture.transfer(from: 0, to: 1, amount: 10, nonce: 1, fee: 90_000)
        let b0 = fixture.transfer(from: 2, to: 1, amount: 10, nonce: 0, fee: 20_000)
        // Arrival order: a1 (queued) first, then the others.
        for transaction in [a1, b0, a0] {
            #expect(throws: Never.self) { try mempool.admit(transaction, state: state, time: now, verifier: fixture.verifier).get() }
        }
        let order = mempool.candidates(for: state, limit: 10).map(\.id)
        // b0 pays more than a0, and a1 can only follow a0.
        #expect(order == [b0.id, a0.id, a1.id])
        #expect(mempool.nextNonce(for: fixture.user(0), state: state) == 2)
    }

    @Test func refusesInvalidTransactionsWithTheirErrors() {
        var mempool = pool()
        let state = fixture.state()
        let now = fixture.slotStart(1)
        let wrongChain = fixture.transfer(from: 0, to: 1, amount: 10, nonce: 0, chainId: Hash.sha256(utf8: "other"))
        #expect(throws: MempoolError.ledger(.wrongChain(expected: fixture.genesis.chainId, actual: Hash.sha256(utf8: "other")))) {
            try mempool.admit(wrongChain, state: state, time: now, verifier: fixture.verifier).get()
        }
        let tooRich = fixture.transfer(from: 0, to: 1, amount: 10_000 * Amounts.unit, nonce: 0)
        #expect(throws: MempoolError.ledger(.insufficientBalance(account: fixture.user(0), needed: 10_000 * Amounts.unit,
                                                                 available: 1_000 * Amounts.unit - ChainParameters().minimumFee))) { try mempool.admit(tooRich, state: state, time: now, verifier: fixture.verifier).get() }
        let used = fixture.transfer(from: 0, to: 1, amount: 1, nonce: 0)
        try? mempool.admit(used, state: state, time: now, verifier: fixture.verifier).get()
        #expect(throws: MempoolError.duplicate(used.id)) {
            try mempool.admit(used, state: state, time: now, verifier: fixture.verifier).get()
        }
        #expect(mempool.count == 1)
    }

    @Test func sameNonceWithAHigherFeeReplacesTheOldOne() throws {
        var mempool = pool()
        let state = fixture.state()
        let now = fixture.slotStart(1)
        let low = fixture.transfer(from: 0, to: 1, amount: 10, nonce: 0, fee: 2_000)
        let equal = fixture.transfer(from: 0, to: 2, amount: 10, nonce: 0, fee: 2_000)
        let high = fixture.transfer(from: 0, to: 3, amount: 10, nonce: 0, fee: 3_000)
        try mempool.admit(low, state: state, time: now, verifier: fixture.verifier).get()
        #expect(throws: MempoolError.nonceTaken(account: fixture.user(0), nonce: 0)) {
            try mempool.admit(equal, state: state, time: now, verifier: fixture.verifier).get()
        }
        try mempool.admit(high, state: state, time: now, verifier: fixture.verifier).get()
        #expect(!mempool.contains(low.id))
        #expect(mempool.contains(high.id))
    }

    @Test func fullPoolEvictsTheLowestFeeOnlyForAHigherFee() throws {
        var mempool = pool(count: 2)
        let state = fixture.state()
        let now = fixture.slotStart(1)
        let cheap = fixture.transfer(from: 0, to: 1, amount: 1, nonce: 0, fee: 1_000)
        let middle = fixture.transfer(from: 1, to: 0, amount: 1, nonce: 0, fee: 2_000)
        let same = fixture.transfer(from: 2, to: 0, amount: 1, nonce: 0, fee: 1_000)
        let rich = fixture.transfer(from: 3, to: 0, amount: 1, nonce: 0, fee: 5_000)
        try mempool.admit(cheap, state: state, time: now, verifier: fixture.verifier).get()
        try mempool.admit(middle, state: state, time: now, verifier: fixture.verifier).get()
        #expect(throws: MempoolError.full(limit: 2)) {
            try mempool.admit(same, state: state, time: now, verifier: fixture.verifier).get()
        }
        try mempool.admit(rich, state: state, time: now, verifier: fixture.verifier).get()
        #expect(!mempool.contains(cheap.id))
        #expect(mempool.count == 2)
    }

    @Test func pruneDropsExpiredAndAlreadyUsedNonces() throws {
        var mempool = pool()
        var state = fixture.state()
        let now = fixture.slotStart(1)
        let soon = fixture.transfer(from: 0, to: 1, amount: 1, nonce: 0, expiration: now + 500)
        let later = fixture.transfer(from: 1, to: 0, amount: 1, nonce: 0)
        try mempool.admit(soon, state: state, time: now, verifier: fixture.verifier).get()
        try mempool.admit(later, state: state, time: now, verifier: fixture.verifier).get()
        // User 1's nonce 0 gets used by a block.
        _ = try fixture.produce(on: &state, parent: BlockReference(height: 0, slot: 0, id: fixture.genesis.chainId), slot: 1,
                                transactions: [later])
        let dropped = mempool.prune(state: state, time: now + 1_000, verifier: fixture.verifier)
        #expect(Set(dropped.map(\.0)) == [soon.id, later.id])
        #expect(mempool.count == 0)
    }
}
