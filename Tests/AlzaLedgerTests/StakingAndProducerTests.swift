import AlzaCore
import AlzaLedger
import Testing

/// Stake, unstake with unbonding, and vote delegation with its derived indices.
@Suite struct StakingTests {
    static let stake: Amount = 100 * Amounts.unit
    static let unstake: Amount = 40 * Amounts.unit

    @Test func stakingMovesBalanceIntoStake() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.sign(.stake(amount: Self.stake), by: Keys.alice))
        let alice = try #require(fixture.account(Keys.alice))
        #expect(alice.staked == Self.stake)
        #expect(alice.balance == LedgerFixture.startingBalance - Self.stake - LedgerFixture.fee)
        #expect(fixture.state.totalStaked == LedgerFixture.daveStake + Self.stake)
    }

    @Test func unstakedFundsReturnOnlyAfterTheUnbondingPeriod() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.sign(.stake(amount: Self.stake), by: Keys.alice))
        try fixture.apply(fixture.sign(.unstake(amount: Self.unstake), by: Keys.alice))
        let releaseAt = fixture.time + fixture.genesis.parameters.unbondingSeconds * 1_000
        let alice = try #require(fixture.account(Keys.alice))
        let balance = LedgerFixture.startingBalance - Self.stake - 2 * LedgerFixture.fee
        #expect(alice.staked == Self.stake - Self.unstake)
        #expect(alice.balance == balance)
        #expect(alice.unbonding.map(\.amount) == [Self.unstake])
        #expect(alice.unbonding.map(\.releaseAt) == [releaseAt])
        #expect(alice.unbondingTotal == Self.unstake)
        #expect(fixture.state.totalStaked == LedgerFixture.daveStake + Self.stake - Self.unstake)
        #expect(fixture.state.spendableBalance(of: Keys.alice.address, at: releaseAt - 1) == balance)
        #expect(fixture.state.spendableBalance(of: Keys.alice.address, at: releaseAt) == balance + Self.unstake)

        // Spending the unbonding funds fails one millisecond early and works at the release time.
        let amount = balance
        let early = fixture.transfer(amount, from: Keys.alice, to: Keys.bob.address)
        #expect(throws: LedgerError.insufficientBalance(account: Keys.alice.address, needed: amount,
                                                        available: balance - LedgerFixture.fee)) {
            try fixture.apply(early, at: releaseAt - 1)
        }
        try fixture.apply(fixture.transfer(amount, from: Keys.alice, to: Keys.bob.address), at: releaseAt)
        let after = try #require(fixture.account(Keys.alice))
        #expect(after.unbonding.isEmpty)
        #expect(after.balance == Self.unstake - LedgerFixture.fee)
        #expect(after.staked == Self.stake - Self.unstake)
    }

    @Test func unstakingMoreThanIsStakedIsRefused() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.sign(.stake(amount: Self.stake), by: Keys.alice))
        #expect(throws: LedgerError.insufficientBalance(account: Keys.alice.address, needed: Self.stake + 1,
                                                        available: Self.stake)) {
            try fixture.apply(fixture.sign(.unstake(amount: Self.stake + 1), by: Keys.alice))
        }
    }

    @Test func stakingMoreThanTheBalanceIsRefused() throws {
        var fixture = try LedgerFixture()
        #expect(throws: LedgerError.insufficientBalance(account: Keys.alice.address, needed: LedgerFixture.startingBalance,
                                                        available: LedgerFixture.startingBalance - LedgerFixture.fee)) {
            try fixture.apply(fixture.sign(.stake(amount: LedgerFixture.startingBalance), by: Keys.alice))
        }
    }

    @Test func zeroStakeAndUnstakeAreInvalid() throws {
        var fixture = try LedgerFixture()
        #expect(throws: LedgerError.invalidPayload(code: .stake, reason: "amount must be positive")) {
            try fixture.apply(fixture.sign(.stake(amount: 0), by: Keys.alice))
        }
        #expect(throws: LedgerError.invalidPayload(code: .unstake, reason: "amount must be positive")) {
            try fixture.apply(fixture.sign(.unstake(amount: 0), by: Keys.dave))
        }
    }

    @Test func unbondingEntriesAreBoundedAndSameTimeEntriesMerge() throws {
        var fixture = try LedgerFixture()
        let limit = fixture.genesis.parameters.maxUnbondingEntries
        // Two unstakes in one block share a release time and so one entry.
        let twice = [Message(.unstake(amount: 1), authorizer: Keys.dave.address),
                     Message(.unstake(amount: 2), authorizer: Keys.dave.address)]
        try fixture.apply(fixture.sign(twice, by: [Keys.dave]))
        #expect(fixture.account(Keys.dave)?.unbonding.map(\.amount) == [3])
        for _ in 1..<limit { try fixture.apply(fixture.sign(.unstake(amount: 1), by: Keys.dave)) }
        #expect(fixture.account(Keys.dave)?.unbonding.count == limit)
        #expect(throws: LedgerError.unbondingLimit(account: Keys.dave.address, limit: limit)) {
            try fixture.apply(fixture.sign(.unstake(amount: 1), by: Keys.dave))
        }
    }

    @Test func genesisStakeAndVoteFillTheDelegationIndices() throws {
        let fixture = try LedgerFixture()
        #expect(fixture.state.delegatedStake[fixture.producer] == LedgerFixture.daveStake)
        #expect(fixture.state.voters[fixture.producer] == [Keys.dave.address])
        #expect(fixture.state.totalStaked == LedgerFixture.daveStake)
    }

    @Test func delegateVoteUpdatesDelegatedStakeAndVoters() throws {
        var fixture = try LedgerFixture()
        let producer = fixture.producer
        let stakeAndVote = [Message(.stake(amount: 50 * Amounts.unit), authorizer: Keys.alice.address),
                            Message(.delegateVote(producer: producer), authorizer: Keys.alice.address)]
        try fixture.apply(fixture.sign(stakeAndVote, by: [Keys.alice]))
        #expect(fixture.account(Keys.alice)?.vote == producer)
        #expect(fixture.state.delegatedStake[producer] == LedgerFixture.daveStake + 50 * Amounts.unit)
        #expect(fixture.state.voters[producer] == [Keys.dave.address, Keys.alice.address])

        try fixture.apply(fixture.sign(.unstake(amount: 20 * Amounts.unit), by: Keys.alice))
        #expect(fixture.state.delegatedStake[producer] == LedgerFixture.daveStake + 30 * Amounts.unit)

        try fixture.apply(fixture.sign(.delegateVote(producer: nil), by: Keys.alice))
        #expect(fixture.account(Keys.alice)?.vote == nil)
        #expect(fixture.state.delegatedStake[producer] == LedgerFixture.daveStake)
        #expect(fixture.state.voters[producer] == [Keys.dave.address])

        try fixture.apply(fixture.sign(.delegateVote(producer: nil), by: Keys.dave))
        #expect(fixture.state.delegatedStake[producer] == nil)
        #expect(fixture.state.voters[producer] == nil)
        #expect(fixture.state.totalStaked == LedgerFixture.daveStake + 30 * Amounts.unit)
    }

    @Test func voteForAnAccountThatIsNotAProducerIsRefused() throws {
        var fixture = try LedgerFixture()
        #expect(throws: LedgerError.notAProducer(Keys.bob.address)) {
            try fixture.apply(fixture.sign(.delegateVote(producer: Keys.bob.address), by: Keys.dave))
        }
        #expect(fixture.account(Keys.dave)?.vote == fixture.producer)
    }

    @Test func electionRanksActiveCandidatesByDelegatedStake() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.sign(.producerRegister(signingKey: Keys.erin.publicKey, url: "https://carol.example",
                                                         timeZone: -5), by: Keys.carol))
        let stakeAndVote = [Message(.stake(amount: 200 * Amounts.unit), authorizer: Keys.alice.address),
                            Message(.delegateVote(producer: Keys.carol.address), authorizer: Keys.alice.address)]
        try fixture.apply(fixture.sign(stakeAndVote, by: [Keys.alice]))
        #expect(fixture.state.electedProducers(count: 1) == [Keys.carol.address])
        #expect(fixture.state.electedProducers(count: 3) == [Keys.carol.address, fixture.producer].sorted())
        try fixture.apply(fixture.sign(.producerUnregister, by: Keys.carol))
        #expect(fixture.state.electedProducers(count: 3) == [fixture.producer])
    }
}

/// Producer candidacy: register, unregister, recover, and equivocation evidence.
@Suite struct ProducerTests {
    static func register(_ fixture: LedgerFixture, _ key: SigningKey, timeZone: Int8 = 3) -> SignedTransaction {
        fixture.sign(.producerRegister(signingKey: Keys.erin.publicKey, url: "https://\(key.address.short).example",
                                       timeZone: timeZone), by: key)
    }

    @Test func registeredProducerIsAnActiveCandidate() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(Self.register(fixture, Keys.carol))
        let producer = try #require(fixture.state.producers[Keys.carol.address])
        #expect(producer.status == .active)
        #expect(producer.signingKey == Keys.erin.publicKey)
        #expect(producer.timeZone == 3)
        #expect(producer.activeSinceSlot == fixture.state.slot(at: fixture.time))
        #expect(producer.producedBlocks == 0)
    }

    @Test func registeringTwiceIsRefused() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(Self.register(fixture, Keys.carol))
        #expect(throws: LedgerError.producerState(account: Keys.carol.address, reason: "is already registered (active)")) {
            try fixture.apply(Self.register(fixture, Keys.carol))
        }
    }

    @Test(arguments: [Int8(-13), 15, 127])
    func timeZoneOutsideTheRangeIsRefused(_ timeZone: Int8) throws {
        var fixture = try LedgerFixture()
        #expect(throws: LedgerError.invalidPayload(code: .producerRegister,
                                                   reason: "time zone \(timeZone) is outside -12...14")) {
            try fixture.apply(Self.register(fixture, Keys.carol, timeZone: timeZone))
        }
    }

    @Test func unregisterThenReRegister() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(Self.register(fixture, Keys.carol))
        try fixture.apply(fixture.sign(.producerUnregister, by: Keys.carol))
        #expect(fixture.state.producers[Keys.carol.address]?.status == .unregistered)
        #expect(throws: LedgerError.producerState(account: Keys.carol.address, reason: "is already unregistered")) {
            try fixture.apply(fixture.sign(.producerUnregister, by: Keys.carol))
        }
        #expect(throws: LedgerError.producerState(account: Keys.carol.address,
                                                  reason: "is unregistered and cannot receive votes")) {
            try fixture.apply(fixture.sign(.delegateVote(producer: Keys.carol.address), by: Keys.dave))
        }
        try fixture.apply(fixture.sign(.producerRegister(signingKey: Keys.frank.publicKey, url: "https://again.example",
                                                         timeZone: -12), by: Keys.carol))
        let producer = try #require(fixture.state.producers[Keys.carol.address])
        #expect(producer.status == .active)
        #expect(producer.signingKey == Keys.frank.publicKey)
        #expect(producer.url == "https://again.example")
        #expect(producer.activeSinceSlot == fixture.state.slot(at: fixture.time))
    }

    @Test func nonProducersCannotUnregisterOrRecover() throws {
        var fixture = try LedgerFixture()
        #expect(throws: LedgerError.notAProducer(Keys.bob.address)) {
            try fixture.apply(fixture.sign(.producerUnregister, by: Keys.bob))
        }
        #expect(throws: LedgerError.notAProducer(Keys.bob.address)) {
            try fixture.apply(fixture.sign(.producerRecover, by: Keys.bob))
        }
    }

    @Test func onlyAnInactiveProducerRecovers() throws {
        var fixture = try LedgerFixture()
        #expect(throws: LedgerError.producerState(account: fixture.producer,
                                                  reason: "is active; only an inactive producer recovers")) {
            try fixture.apply(fixture.sign(.producerRecover, by: Keys.producer))
        }
        // Consensus marks a silent producer inactive; recovery brings it back from the recovery block's slot.
        var silent = try #require(fixture.state.producers[fixture.producer])
        silent.status = .inactive
        fixture.state.setProducer(silent)
        #expect(fixture.state.electedProducers(count: 3).isEmpty)
        try fixture.apply(fixture.sign(.producerRecover, by: Keys.producer))
        let recovered = try #require(fixture.state.producers[fixture.producer])
        #expect(recovered.status == .active)
        #expect(recovered.activeSinceSlot == fixture.state.slot(at: fixture.time))
        #expect(fixture.state.electedProducers(count: 3) == [fixture.producer])
    }

    @Test func registeredProducerCannotDeleteItsAccount() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.transfer(2 * LedgerFixture.fee, from: Keys.alice, to: Keys.erin.address))
        try fixture.apply(Self.register(fixture, Keys.erin))
        #expect(throws: LedgerError.accountNotEmpty(account: Keys.erin.address,
                                                    reason: "it is a registered producer (unregister first)")) {
            try fixture.apply(fixture.sign(.accountDelete, by: Keys.erin, permission: .owner))
        }
    }

    // MARK: Equivocation

    static func header(_ fixture: LedgerFixture, slot: UInt64, stateRoot: Hash,
                       key: SigningKey = Keys.producerSigning) -> SignedBlockHeader {
        let header = BlockHeader(height: 7, slot: slot, previous: fixture.chainId, producer: fixture.producer,
                                 transactionRoot: .zero, fieldRoot: .zero, stateRoot: stateRoot,
                                 timestamp: fixture.state.slotStart(slot))
        return SignedBlockHeader.sign(header, with: key, chainId: fixture.chainId)
    }

    static func evidence(_ fixture: LedgerFixture, _ first: SignedBlockHeader, _ second: SignedBlockHeader) -> SignedTransaction {
        let header = TransactionHeader(chainId: fixture.chainId, expiration: fixture.nextTime, nonce: 0, fee: 0)
        let message = Message(.equivocationEvidence(first: first, second: second), authorizer: nil)
        return SignedTransaction(transaction: Transaction(header: header, messages: [message]), signatures: [])
    }

    @Test func twoHeadersForOneSlotRemoveTheProducerForGood() throws {
        var fixture = try LedgerFixture()
        let first = Self.header(fixture, slot: 5, stateRoot: Hash.sha256(utf8: "a"))
        let second = Self.header(fixture, slot: 5, stateRoot: Hash.sha256(utf8: "b"))
        let evidence = Self.evidence(fixture, first, second)
        try TransactionValidator.validate(evidence, state: fixture.state, time: fixture.nextTime, verifier: fixture.verifier)
        try fixture.apply(evidence)
        #expect(fixture.state.producers[fixture.producer]?.status == .removedForEquivocation)
        #expect(fixture.state.value(.evidence(producer: fixture.producer, slot: 5)) == .evidence(evidence.id))
        #expect(throws: LedgerError.producerState(account: fixture.producer,
                                                  reason: "is removed-for-equivocation and cannot receive votes")) {
            try fixture.apply(fixture.sign(.delegateVote(producer: fixture.producer), by: Keys.alice))
        }
        let third = Self.header(fixture, slot: 5, stateRoot: Hash.sha256(utf8: "c"))
        #expect(throws: LedgerError.duplicateEvidence(producer: fixture.producer, slot: 5)) {
            try fixture.apply(Self.evidence(fixture, first, third))
        }
    }

    @Test func invalidEvidenceIsRefused() throws {
        var fixture = try LedgerFixture()
        let first = Self.header(fixture, slot: 5, stateRoot: Hash.sha256(utf8: "a"))
        #expect(throws: LedgerError.invalidEvidence("the two headers are the same block")) {
            try fixture.apply(Self.evidence(fixture, first, first))
        }
        #expect(throws: LedgerError.invalidEvidence("the headers are for different slots")) {
            try fixture.apply(Self.evidence(fixture, first, Self.header(fixture, slot: 6, stateRoot: Hash.sha256(utf8: "a"))))
        }
        let forged = Self.header(fixture, slot: 5, stateRoot: Hash.sha256(utf8: "b"), key: Keys.bob)
        #expect(throws: LedgerError.invalidEvidence("a header is not signed by the producer's key")) {
            try fixture.apply(Self.evidence(fixture, first, forged))
        }
        #expect(fixture.state.producers[fixture.producer]?.status == .active)
    }
}
