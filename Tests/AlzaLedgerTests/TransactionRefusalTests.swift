import AlzaCore
import AlzaLedger
import Testing

/// Each kind of bad transaction is refused with its own typed error, and a refused transaction changes nothing.
@Suite struct TransactionRefusalTests {
    @Test func validTransferMovesFundsChargesTheFeeAndBumpsTheNonce() throws {
        var fixture = try LedgerFixture()
        let result = try fixture.apply(fixture.transfer(10 * Amounts.unit, from: Keys.alice, to: Keys.bob.address))
        #expect(fixture.balance(Keys.alice) == LedgerFixture.startingBalance - 10 * Amounts.unit - LedgerFixture.fee)
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance + 10 * Amounts.unit)
        #expect(fixture.nonce(Keys.alice) == 1)
        #expect(fixture.balance(fixture.producer) == LedgerFixture.producerBalance + LedgerFixture.fee)
        #expect(result.fees == LedgerFixture.fee)
        #expect(result.included.count == 1)
    }

    @Test func replayedTransactionIsRefusedWithBadNonce() throws {
        var fixture = try LedgerFixture()
        let transaction = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address)
        try fixture.apply(transaction)
        let root = fixture.state.root()
        #expect(throws: LedgerError.badNonce(account: Keys.alice.address, expected: 1, actual: 0)) {
            try fixture.apply(transaction)
        }
        #expect(fixture.state.root() == root)
    }

    @Test func replayInsideOneBlockIsRefused() throws {
        var fixture = try LedgerFixture()
        let transaction = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address)
        let error = #expect(throws: LedgerError.self) { try fixture.apply([transaction, transaction]) }
        #expect(error == .badNonce(account: Keys.alice.address, expected: 1, actual: 0))
        #expect(fixture.nonce(Keys.alice) == 0)
    }

    @Test func futureNonceIsRefusedInABlock() throws {
        var fixture = try LedgerFixture()
        #expect(throws: LedgerError.badNonce(account: Keys.alice.address, expected: 0, actual: 1)) {
            try fixture.apply(fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, nonce: 1))
        }
    }

    @Test func tamperedSignatureIsRefusedAsInvalid() throws {
        var fixture = try LedgerFixture()
        let signed = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address)
        var bytes = signed.signatures[0].signature.bytes
        bytes[10] ^= 0x01
        let tampered = SignedTransaction(
            transaction: signed.transaction,
            signatures: [TransactionSignature(key: Keys.alice.publicKey, signature: Signature(bytes)!)])
        #expect(throws: LedgerError.invalidSignature(key: Keys.alice.publicKey)) { try fixture.apply(tampered) }
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance)
    }

    @Test func signatureOverAnotherTransactionIsInvalid() throws {
        var fixture = try LedgerFixture()
        let original = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address)
        var altered = original.transaction
        altered.header.fee += 1
        let forged = SignedTransaction(transaction: altered, signatures: original.signatures)
        #expect(throws: LedgerError.invalidSignature(key: Keys.alice.publicKey)) { try fixture.apply(forged) }
    }

    @Test func keySigningTwiceIsMalformed() throws {
        var fixture = try LedgerFixture()
        let transaction = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, signers: [Keys.alice, Keys.alice])
        #expect(throws: LedgerError.malformedTransaction("a key signs twice")) { try fixture.apply(transaction) }
    }

    @Test func unsignedTransactionIsMalformed() throws {
        var fixture = try LedgerFixture()
        let transaction = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, signers: [])
        #expect(throws: LedgerError.malformedTransaction("the transaction is not signed")) { try fixture.apply(transaction) }
    }

    @Test func transactionForAnotherChainIsRefused() throws {
        var fixture = try LedgerFixture()
        let otherChain = Hash.sha256(utf8: "another chain")
        let transaction = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, chainId: otherChain)
        #expect(throws: LedgerError.wrongChain(expected: fixture.chainId, actual: otherChain)) {
            try fixture.apply(transaction)
        }
    }

    @Test func transferBeyondTheBalanceIsRefused() throws {
        var fixture = try LedgerFixture()
        let amount = LedgerFixture.startingBalance
        // The fee is charged before the messages run, so the balance left for the transfer is one fee short.
        #expect(throws: LedgerError.insufficientBalance(account: Keys.alice.address, needed: amount,
                                                        available: amount - LedgerFixture.fee)) {
            try fixture.apply(fixture.transfer(amount, from: Keys.alice, to: Keys.bob.address))
        }
        #expect(fixture.balance(Keys.alice) == LedgerFixture.startingBalance)
        #expect(fixture.nonce(Keys.alice) == 0)
    }

    @Test func feeBeyondTheBalanceIsRefused() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.transfer(500, from: Keys.alice, to: Keys.erin.address))
        #expect(throws: LedgerError.insufficientBalance(account: Keys.erin.address, needed: LedgerFixture.fee,
                                                        available: 500)) {
            try fixture.apply(fixture.transfer(1, from: Keys.erin, to: Keys.bob.address))
        }
    }

    @Test func payerWithoutAccountIsRefused() throws {
        var fixture = try LedgerFixture()
        #expect(throws: LedgerError.unknownAccount(Keys.erin.address)) {
            try fixture.apply(fixture.transfer(1, from: Keys.erin, to: Keys.bob.address))
        }
    }

    @Test func messageTouchingAnAccountOutsideItsScopeIsRefused() throws {
        var fixture = try LedgerFixture()
        let payload = MessagePayload.transfer(inputs: [AmountEntry(Keys.alice.address, 5)],
                                              outputs: [AmountEntry(Keys.bob.address, 5)], memo: [])
        // Bob is a recipient but not in the scope: crediting him is a write outside the scope.
        let message = Message(code: .transfer, scope: [Keys.alice.address], recipients: [Keys.bob.address],
                              authorization: [Authorization(Keys.alice.address)], data: payload.data)
        #expect(throws: LedgerError.outOfScope(account: Keys.bob.address, code: .transfer)) {
            try fixture.apply(fixture.sign([message], by: [Keys.alice]))
        }
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance)
    }

    @Test func payerOutsideTheFirstMessagesScopeIsRefused() throws {
        var fixture = try LedgerFixture()
        let payload = MessagePayload.transfer(inputs: [AmountEntry(Keys.alice.address, 5)],
                                              outputs: [AmountEntry(Keys.bob.address, 5)], memo: [])
        let message = Message(code: .transfer, scope: [Keys.bob.address], recipients: [Keys.bob.address],
                              authorization: [Authorization(Keys.alice.address)], data: payload.data)
        #expect(throws: LedgerError.outOfScope(account: Keys.alice.address, code: .transfer)) {
            try fixture.apply(fixture.sign([message], by: [Keys.alice]))
        }
    }

    @Test func expiredTransactionIsRefused() throws {
        var fixture = try LedgerFixture()
        let blockTime = fixture.nextTime
        let transaction = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, expiration: blockTime - 1)
        #expect(throws: LedgerError.expired(expiration: blockTime - 1, blockTime: blockTime)) {
            try fixture.apply(transaction)
        }
    }

    @Test func transactionExpiringAtTheBlockTimeIsStillAccepted() throws {
        var fixture = try LedgerFixture()
        let transaction = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, expiration: fixture.nextTime)
        try fixture.apply(transaction)
        #expect(fixture.nonce(Keys.alice) == 1)
    }

    @Test func expirationBeyondTheLifetimeIsRefused() throws {
        var fixture = try LedgerFixture()
        let limit = fixture.nextTime + fixture.genesis.parameters.maxTransactionLifetimeSeconds * 1000
        let atLimit = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, expiration: limit)
        let beyond = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, expiration: limit + 1)
        #expect(throws: LedgerError.expirationTooFar(expiration: limit + 1, limit: limit)) { try fixture.apply(beyond) }
        try fixture.apply(atLimit)
        #expect(fixture.nonce(Keys.alice) == 1)
    }

    @Test func outputsSummingPastUInt64MaxAreAnOverflow() throws {
        var fixture = try LedgerFixture()
        let payload = MessagePayload.transfer(
            inputs: [AmountEntry(Keys.alice.address, 10)],
            outputs: [AmountEntry(Keys.bob.address, .max), AmountEntry(Keys.carol.address, 1)], memo: [])
        let transaction = fixture.sign([Message(payload, authorizer: Keys.alice.address)], by: [Keys.alice])
        #expect(throws: LedgerError.overflow("\(UInt64.max) + 1")) { try fixture.apply(transaction) }
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance)
    }

    @Test func inputsAndOutputsThatDoNotBalanceAreRefused() throws {
        var fixture = try LedgerFixture()
        let payload = MessagePayload.transfer(inputs: [AmountEntry(Keys.alice.address, 10)],
                                              outputs: [AmountEntry(Keys.bob.address, 11)], memo: [])
        let transaction = fixture.sign([Message(payload, authorizer: Keys.alice.address)], by: [Keys.alice])
        #expect(throws: LedgerError.invalidTransfer("inputs sum to 10, outputs to 11")) { try fixture.apply(transaction) }
    }

    @Test func zeroAmountTransferIsRefused() throws {
        var fixture = try LedgerFixture()
        #expect(throws: LedgerError.invalidTransfer("amounts must be positive")) {
            try fixture.apply(fixture.transfer(0, from: Keys.alice, to: Keys.bob.address))
        }
    }

    @Test func transferToTheMintIsRefused() throws {
        var fixture = try LedgerFixture()
        #expect(throws: LedgerError.invalidTransfer("0x0 cannot receive transfers")) {
            try fixture.apply(fixture.transfer(5, from: Keys.alice, to: .coinbase))
        }
    }

    @Test func feeBelowTheMinimumIsRefused() throws {
        var fixture = try LedgerFixture()
        let transaction = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, fee: LedgerFixture.fee - 1)
        #expect(throws: LedgerError.feeTooLow(minimum: LedgerFixture.fee, offered: LedgerFixture.fee - 1)) {
            try fixture.apply(transaction)
        }
    }

    @Test func signatureByAKeyOutsideThePermissionIsUnauthorized() throws {
        var fixture = try LedgerFixture()
        let transaction = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, signers: [Keys.bob])
        #expect(throws: LedgerError.unauthorized(account: Keys.alice.address, permission: .active)) {
            try fixture.apply(transaction)
        }
        #expect(fixture.balance(Keys.alice) == LedgerFixture.startingBalance)
    }

    @Test func extraSignatureNoAuthorizationNeedsIsRefused() throws {
        var fixture = try LedgerFixture()
        let transaction = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, signers: [Keys.alice, Keys.bob])
        #expect(throws: LedgerError.unusedSignature(key: Keys.bob.publicKey)) { try fixture.apply(transaction) }
    }

    @Test func transferInputWithoutItsOwnersAuthorizationIsRefused() throws {
        var fixture = try LedgerFixture()
        let payload = MessagePayload.transfer(
            inputs: [AmountEntry(Keys.alice.address, 5), AmountEntry(Keys.bob.address, 5)],
            outputs: [AmountEntry(Keys.carol.address, 10)], memo: [])
        // Bob's funds are in the scope but Bob is not among the authorizations.
        let message = Message(code: .transfer, scope: [Keys.alice.address, Keys.bob.address, Keys.carol.address],
                              recipients: [Keys.carol.address], authorization: [Authorization(Keys.alice.address)],
                              data: payload.data)
        #expect(throws: LedgerError.missingAuthorization(account: Keys.bob.address, code: .transfer)) {
            try fixture.apply(fixture.sign([message], by: [Keys.alice]))
        }
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance)
    }

    @Test func transferWithSeveralInputsNeedsEverySignature() throws {
        var fixture = try LedgerFixture()
        let payload = MessagePayload.transfer(
            inputs: [AmountEntry(Keys.alice.address, 5), AmountEntry(Keys.bob.address, 7)],
            outputs: [AmountEntry(Keys.carol.address, 12)], memo: [])
        let message = Message(payload, authorizer: Keys.alice.address)
        #expect(throws: LedgerError.unauthorized(account: Keys.bob.address, permission: .active)) {
            try fixture.apply(fixture.sign([message], by: [Keys.alice]))
        }
        try fixture.apply(fixture.sign([message], by: [Keys.alice, Keys.bob]))
        #expect(fixture.balance(Keys.carol) == LedgerFixture.startingBalance + 12)
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance - 7)
        #expect(fixture.balance(Keys.alice) == LedgerFixture.startingBalance - 5 - LedgerFixture.fee)
    }

    @Test func sponsorPaysTheFeeOfAnotherAccountsTransfer() throws {
        var fixture = try LedgerFixture()
        let payload = MessagePayload.transfer(inputs: [AmountEntry(Keys.alice.address, 5)],
                                              outputs: [AmountEntry(Keys.bob.address, 5)], memo: [])
        try fixture.apply(fixture.sign([Message(payload, authorizer: Keys.carol.address)], by: [Keys.carol, Keys.alice]))
        #expect(fixture.balance(Keys.carol) == LedgerFixture.startingBalance - LedgerFixture.fee)
        #expect(fixture.balance(Keys.alice) == LedgerFixture.startingBalance - 5)
        #expect(fixture.nonce(Keys.carol) == 1)
        #expect(fixture.nonce(Keys.alice) == 0)
    }

    @Test func coinbaseOutsideItsPlaceIsMisplaced() throws {
        var fixture = try LedgerFixture()
        let coinbase = coinbaseTransaction(fixture, payouts: [AmountEntry(Keys.bob.address, 5)])
        #expect(throws: LedgerError.systemTransactionMisplaced(code: .coinbase)) { try fixture.apply(coinbase) }
        // Only the first transaction of a block that owes rewards may mint; a second coinbase is misplaced.
        let second = coinbaseTransaction(fixture, payouts: [AmountEntry(Keys.carol.address, 5)])
        #expect(throws: LedgerError.systemTransactionMisplaced(code: .coinbase)) {
            try fixture.apply([coinbase, second], coinbaseAtIndexZero: true)
        }
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance)
        #expect(fixture.balance(Keys.carol) == LedgerFixture.startingBalance)
    }

    @Test func coinbaseMessageInsideAUserTransactionIsMisplaced() throws {
        var fixture = try LedgerFixture()
        let transfer = Message(.transfer(inputs: [AmountEntry(Keys.alice.address, 5)],
                                         outputs: [AmountEntry(Keys.bob.address, 5)], memo: []),
                               authorizer: Keys.alice.address)
        let mint = Message(.coinbase(round: 0, payouts: [AmountEntry(Keys.alice.address, 1_000)]), authorizer: nil)
        #expect(throws: LedgerError.systemTransactionMisplaced(code: .coinbase)) {
            try fixture.apply(fixture.sign([transfer, mint], by: [Keys.alice]))
        }
    }

    @Test func coinbaseAtIndexZeroMintsAndRaisesTheSupply() throws {
        var fixture = try LedgerFixture()
        let supply = fixture.state.chain.totalSupply
        let coinbase = coinbaseTransaction(fixture, payouts: [AmountEntry(Keys.bob.address, 5),
                                                              AmountEntry(Keys.erin.address, 7)])
        try fixture.apply([coinbase], coinbaseAtIndexZero: true)
        #expect(fixture.balance(Keys.bob) == LedgerFixture.startingBalance + 5)
        #expect(fixture.balance(Keys.erin) == 7)
        #expect(fixture.state.chain.totalSupply == supply + 12)
        #expect(fixture.state.chain.totalRewardsPaid == 12)
        #expect(fixture.state.chain.rewardedRound == 0)
    }

    @Test func blockThatMustStartWithACoinbaseRefusesAnythingElseFirst() throws {
        var fixture = try LedgerFixture()
        let transfer = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address)
        #expect(throws: LedgerError.coinbaseMismatch("the first transaction of this block must be the coinbase")) {
            try fixture.apply([transfer], coinbaseAtIndexZero: true)
        }
    }

    @Test func signedCoinbaseIsMalformed() throws {
        var fixture = try LedgerFixture()
        let unsigned = coinbaseTransaction(fixture, payouts: [AmountEntry(Keys.bob.address, 5)])
        let signed = SignedTransaction.sign(unsigned.transaction, with: [Keys.alice])
        #expect(throws: LedgerError.malformedTransaction("a coinbase transaction has no signatures, fee, nonce or delay")) {
            try fixture.apply([signed], coinbaseAtIndexZero: true)
        }
    }

    @Test func transactionOverTheSizeLimitIsRefused() throws {
        var fixture = try LedgerFixture()
        let filler = [UInt8](repeating: 0xAB, count: 40 << 10)
        let messages = (0..<2).map { _ in
            Message(code: .transfer, scope: [Keys.alice.address], authorization: [Authorization(Keys.alice.address)],
                    data: filler)
        }
        let transaction = fixture.sign(messages, by: [Keys.alice])
        let limit = fixture.genesis.parameters.maxTransactionBytes
        #expect(transaction.encodedSize == transaction.canonicalBytes.count)
        #expect(transaction.encodedSize > limit)
        #expect(throws: LedgerError.transactionTooLarge(size: transaction.encodedSize, limit: limit)) {
            try fixture.apply(transaction)
        }
    }

    @Test func delayOverTheLimitIsRefused() throws {
        var fixture = try LedgerFixture()
        let limit = fixture.genesis.parameters.maxDelaySeconds
        #expect(throws: LedgerError.delayTooLong(requested: limit + 1, limit: limit)) {
            try fixture.apply(fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, delay: limit + 1))
        }
    }

    @Test func undecodableMessageDataIsAnInvalidPayload() throws {
        var fixture = try LedgerFixture()
        let message = Message(code: .stake, scope: [Keys.alice.address],
                              authorization: [Authorization(Keys.alice.address)], data: [1, 2, 3])
        let reason = try #require(#expect(throws: CodecError.self) {
            try MessagePayload(code: .stake, data: [1, 2, 3])
        })
        #expect(throws: LedgerError.invalidPayload(code: .stake, reason: reason.description)) {
            try fixture.apply(fixture.sign([message], by: [Keys.alice]))
        }
    }

    @Test func failedMessageUndoesTheWholeTransaction() throws {
        var fixture = try LedgerFixture()
        let root = fixture.state.root()
        let good = Message(.transfer(inputs: [AmountEntry(Keys.alice.address, 5)],
                                     outputs: [AmountEntry(Keys.bob.address, 5)], memo: []),
                           authorizer: Keys.alice.address)
        let bad = Message(.stake(amount: 0), authorizer: Keys.alice.address)
        #expect(throws: LedgerError.invalidPayload(code: .stake, reason: "amount must be positive")) {
            try fixture.apply(fixture.sign([good, bad], by: [Keys.alice]))
        }
        #expect(fixture.state.root() == root)
    }

    @Test func produceModeLeavesFailingTransactionsOutAndKeepsTheRest() throws {
        let fixture = try LedgerFixture()
        var state = fixture.state
        let good = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address)
        let bad = fixture.transfer(5, from: Keys.carol, to: Keys.bob.address, fee: 1)
        let result = try BlockExecutor.execute([bad, good], on: &state, block: fixture.blockContext(),
                                               verifier: fixture.verifier, mode: .produce, coinbaseAtIndexZero: false)
        #expect(result.included.map(\.id) == [good.id])
        #expect(result.rejected.map(\.transaction.id) == [bad.id])
        #expect(result.rejected.first?.error == .feeTooLow(minimum: LedgerFixture.fee, offered: 1))
        #expect(state.accounts[Keys.bob.address]?.balance == LedgerFixture.startingBalance + 5)
    }

    @Test func validateModeReportsTheFailingTransactionByIndexAndId() throws {
        let fixture = try LedgerFixture()
        var state = fixture.state
        let good = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address)
        let bad = fixture.transfer(5, from: Keys.carol, to: Keys.bob.address, fee: 1)
        let reason = LedgerError.feeTooLow(minimum: LedgerFixture.fee, offered: 1).description
        #expect(throws: LedgerError.transactionFailed(index: 1, id: bad.id, reason: reason)) {
            try BlockExecutor.execute([good, bad], on: &state, block: fixture.blockContext(),
                                      verifier: fixture.verifier, mode: .validate, coinbaseAtIndexZero: false)
        }
    }

    private func coinbaseTransaction(_ fixture: LedgerFixture, payouts: [AmountEntry]) -> SignedTransaction {
        let header = TransactionHeader(chainId: fixture.chainId, expiration: fixture.nextTime + 1_000, nonce: 0, fee: 0)
        let message = Message(.coinbase(round: 0, payouts: payouts), authorizer: nil)
        return SignedTransaction(transaction: Transaction(header: header, messages: [message]), signatures: [])
    }
}

/// Mempool admission (`TransactionValidator`): the payer's next nonce is dry-run in full; later nonces inside
/// the window are queued with the checks that do not depend on their predecessors.
@Suite struct MempoolValidationTests {
    @Test func transactionWithTheNextNonceIsAccepted() throws {
        let fixture = try LedgerFixture()
        let transaction = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address)
        try TransactionValidator.validate(transaction, state: fixture.state, time: fixture.nextTime,
                                          verifier: fixture.verifier)
    }

    @Test func queuedFutureNonceInsideTheWindowIsAccepted() throws {
        let fixture = try LedgerFixture()
        let transaction = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, nonce: 3)
        try TransactionValidator.validate(transaction, state: fixture.state, time: fixture.nextTime,
                                          verifier: fixture.verifier)
        let last = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address,
                                    nonce: TransactionValidator.nonceWindow - 1)
        try TransactionValidator.validate(last, state: fixture.state, time: fixture.nextTime, verifier: fixture.verifier)
    }

    @Test func nonceBeyondTheWindowIsRefused() throws {
        let fixture = try LedgerFixture()
        let window = TransactionValidator.nonceWindow
        let transaction = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, nonce: window)
        #expect(throws: LedgerError.badNonce(account: Keys.alice.address, expected: 0, actual: window)) {
            try TransactionValidator.validate(transaction, state: fixture.state, time: fixture.nextTime,
                                              verifier: fixture.verifier)
        }
    }

    @Test func alreadyUsedNonceIsRefused() throws {
        var fixture = try LedgerFixture()
        let transaction = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address)
        try fixture.apply(transaction)
        #expect(throws: LedgerError.badNonce(account: Keys.alice.address, expected: 1, actual: 0)) {
            try TransactionValidator.validate(transaction, state: fixture.state, time: fixture.nextTime,
                                              verifier: fixture.verifier)
        }
    }

    @Test func queuedTransactionMayOutspendTheCurrentBalance() throws {
        let fixture = try LedgerFixture()
        // Its predecessors may top the balance up, so only structural failures refuse a queued transaction...
        let queued = fixture.transfer(2 * LedgerFixture.startingBalance, from: Keys.alice, to: Keys.bob.address, nonce: 1)
        try TransactionValidator.validate(queued, state: fixture.state, time: fixture.nextTime, verifier: fixture.verifier)
        // ...but the next nonce is dry-run in full.
        let next = fixture.transfer(2 * LedgerFixture.startingBalance, from: Keys.alice, to: Keys.bob.address, nonce: 0)
        #expect(throws: LedgerError.insufficientBalance(account: Keys.alice.address, needed: 2 * LedgerFixture.startingBalance,
                                                        available: LedgerFixture.startingBalance - LedgerFixture.fee)) {
            try TransactionValidator.validate(next, state: fixture.state, time: fixture.nextTime,
                                              verifier: fixture.verifier)
        }
    }

    @Test func queuedTransactionWithStructuralFaultsIsRefused() throws {
        let fixture = try LedgerFixture()
        let unauthorized = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, nonce: 2, signers: [Keys.bob])
        #expect(throws: LedgerError.unauthorized(account: Keys.alice.address, permission: .active)) {
            try TransactionValidator.validate(unauthorized, state: fixture.state, time: fixture.nextTime,
                                              verifier: fixture.verifier)
        }
        let cheap = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, nonce: 2, fee: 1)
        #expect(throws: LedgerError.feeTooLow(minimum: LedgerFixture.fee, offered: 1)) {
            try TransactionValidator.validate(cheap, state: fixture.state, time: fixture.nextTime,
                                              verifier: fixture.verifier)
        }
    }

    @Test func validationDoesNotChangeTheState() throws {
        var fixture = try LedgerFixture()
        let root = fixture.state.root()
        try TransactionValidator.validate(fixture.transfer(5, from: Keys.alice, to: Keys.bob.address),
                                          state: fixture.state, time: fixture.nextTime, verifier: fixture.verifier)
        #expect(fixture.state.root() == root)
        #expect(fixture.nonce(Keys.alice) == 0)
    }

    @Test func mempoolRefusesCoinbasesAndUnsignedTransactions() throws {
        let fixture = try LedgerFixture()
        let header = TransactionHeader(chainId: fixture.chainId, expiration: fixture.nextTime, nonce: 0, fee: 0)
        let coinbase = SignedTransaction(
            transaction: Transaction(header: header, messages: [Message(.coinbase(round: 0, payouts: [
                AmountEntry(Keys.alice.address, 5)]), authorizer: nil)]),
            signatures: [])
        #expect(throws: LedgerError.systemTransactionMisplaced(code: .coinbase)) {
            try TransactionValidator.validate(coinbase, state: fixture.state, time: fixture.nextTime,
                                              verifier: fixture.verifier)
        }
        let unsigned = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, signers: [])
        #expect(throws: LedgerError.malformedTransaction("the transaction is not signed")) {
            try TransactionValidator.validate(unsigned, state: fixture.state, time: fixture.nextTime,
                                              verifier: fixture.verifier)
        }
        #expect(throws: LedgerError.unknownAccount(Keys.erin.address)) {
            try TransactionValidator.validate(fixture.transfer(5, from: Keys.erin, to: Keys.bob.address, nonce: 3),
                                              state: fixture.state, time: fixture.nextTime, verifier: fixture.verifier)
        }
    }

    @Test func mempoolRefusesBadSignaturesWrongChainsAndExpiredTransactions() throws {
        let fixture = try LedgerFixture()
        let time = fixture.nextTime
        let signed = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address)
        var bytes = signed.signatures[0].signature.bytes
        bytes[0] ^= 0x80
        let tampered = SignedTransaction(
            transaction: signed.transaction,
            signatures: [TransactionSignature(key: Keys.alice.publicKey, signature: Signature(bytes)!)])
        #expect(throws: LedgerError.invalidSignature(key: Keys.alice.publicKey)) {
            try TransactionValidator.validate(tampered, state: fixture.state, time: time, verifier: fixture.verifier)
        }
        let other = Hash.sha256(utf8: "elsewhere")
        #expect(throws: LedgerError.wrongChain(expected: fixture.chainId, actual: other)) {
            try TransactionValidator.validate(fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, chainId: other),
                                              state: fixture.state, time: time, verifier: fixture.verifier)
        }
        let expired = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, nonce: 4, expiration: time - 1)
        #expect(throws: LedgerError.expired(expiration: time - 1, blockTime: time)) {
            try TransactionValidator.validate(expired, state: fixture.state, time: time, verifier: fixture.verifier)
        }
    }
}
