import AlzaCore
import AlzaLedger
import Foundation
import Testing

/// Deterministic keys of the test parties (the seed is SHA-256 of a label, so every run uses the same keys).
enum Keys {
    static func named(_ name: String) -> SigningKey { SigningKey(deterministicLabel: "alza-ledger-tests/" + name) }

    static let alice = named("alice")
    static let bob = named("bob")
    static let carol = named("carol")
    static let dave = named("dave")
    static let admin = named("admin")
    static let producer = named("producer")
    /// The key the genesis producer signs blocks with (not its account key).
    static let producerSigning = named("producer-signing")
    /// Keys with no genesis account.
    static let erin = named("erin")
    static let frank = named("frank")
}

extension SigningKey {
    var address: Address { Address(publicKey) }
}

/// A small chain in memory: a genesis with funded accounts, a producer, a staker and a privileged admin, and
/// helpers to sign transactions and apply them as blocks (each applied block is also kept as a signed
/// `CommittedBlock` with its redo entries, for the storage tests).
struct LedgerFixture {
    static let genesisTime: UInt64 = 1_750_000_000_000
    static let slotMilliseconds: UInt64 = 1_000
    static let startingBalance: Amount = 1_000 * Amounts.unit
    static let userBalance: Amount = 100 * Amounts.unit
    static let producerBalance: Amount = 10 * Amounts.unit
    static let daveStake: Amount = 100 * Amounts.unit
    static let fee: Amount = 1_000

    /// The parameters every fixture chain uses: short slots, short unbonding and small limits.
    static func testParameters() -> ChainParameters {
        var parameters = ChainParameters()
        parameters.producerCount = 3
        parameters.blocksPerTurn = 2
        parameters.slotMilliseconds = slotMilliseconds
        parameters.unbondingSeconds = 60
        parameters.maxUnbondingEntries = 2
        parameters.maxDelayedPerAccount = 3
        parameters.checkpointIntervalBlocks = 4
        parameters.minimumFee = fee
        return parameters
    }

    /// `user-0`, `user-1`, ...: extra funded accounts for tests that need many.
    static func userKey(_ index: Int) -> SigningKey { Keys.named("user-\(index)") }

    static func genesisFile(users: Int = 0, parameters: ChainParameters = testParameters()) -> GenesisFile {
        var accounts: [GenesisFile.Account] = [
            .init(publicKey: Keys.alice.publicKey.hex, balance: startingBalance, name: "alice"),
            .init(publicKey: Keys.bob.publicKey.hex, balance: startingBalance),
            .init(publicKey: Keys.carol.publicKey.hex, balance: startingBalance),
            .init(publicKey: Keys.dave.publicKey.hex, balance: startingBalance, stake: daveStake,
                  vote: Keys.producer.address.description),
            .init(publicKey: Keys.admin.publicKey.hex, balance: startingBalance),
            .init(publicKey: Keys.producer.publicKey.hex, balance: producerBalance),
        ]
        for index in 0..<users {
            accounts.append(.init(publicKey: userKey(index).publicKey.hex, balance: userBalance))
        }
        return GenesisFile(
            chainName: "alza-ledger-tests", genesisTime: genesisTime, parameters: parameters, accounts: accounts,
            producers: [.init(account: Keys.producer.address.description, signingKey: Keys.producerSigning.publicKey.hex,
                              url: "https://producer.example", timeZone: 1)],
            privileged: [.init(account: Keys.admin.address.description, privileges: ["privilegeAdmin", "memberAdmin"])])
    }

    let genesis: Genesis
    let verifier = SignatureVerifier()
    var state: LedgerState
    /// Height and time of the last applied block (0 and the genesis time before the first).
    private(set) var height: UInt64 = 0
    private(set) var time: UInt64 = LedgerFixture.genesisTime
    /// Every applied block, signed by the producer, with the state changes it made.
    private(set) var blocks: [CommittedBlock] = []

    init(users: Int = 0, parameters: ChainParameters = LedgerFixture.testParameters()) throws {
        genesis = try Genesis(LedgerFixture.genesisFile(users: users, parameters: parameters))
        state = try genesis.initialState()
    }

    var chainId: Hash { genesis.chainId }
    var producer: Address { Keys.producer.address }
    /// Time of the next block `apply` makes (unless told otherwise).
    var nextTime: UInt64 { time + LedgerFixture.slotMilliseconds }

    func account(_ key: SigningKey) -> Account? { state.accounts[key.address] }
    func balance(_ key: SigningKey) -> Amount { state.accounts[key.address]?.balance ?? 0 }
    func balance(_ address: Address) -> Amount { state.accounts[address]?.balance ?? 0 }
    func nonce(_ key: SigningKey) -> UInt64 { state.nextNonce(of: key.address) }

    // MARK: Transactions

    /// A header for the next block: expiration 10 minutes after it, the payer's next nonce unless given.
    func header(payer: Address?, nonce: UInt64? = nil, fee: Amount = LedgerFixture.fee, delay: UInt32 = 0,
                expiration: UInt64? = nil, chainId: Hash? = nil) -> TransactionHeader {
        TransactionHeader(chainId: chainId ?? self.chainId, expiration: expiration ?? nextTime + 600_000,
                          nonce: nonce ?? payer.map { state.nextNonce(of: $0) } ?? 0, fee: fee, delaySeconds: delay)
    }

    /// `messages` signed by `keys`; the payer is the first authorizer of the first message.
    func sign(_ messages: [Message], by keys: [SigningKey], nonce: UInt64? = nil, fee: Amount = LedgerFixture.fee,
              delay: UInt32 = 0, expiration: UInt64? = nil, chainId: Hash? = nil) -> SignedTransaction {
        let transaction = Transaction(
            header: header(payer: messages.first?.authorization.first?.account, nonce: nonce, fee: fee, delay: delay,
                           expiration: expiration, chainId: chainId),
            messages: messages)
        return SignedTransaction.sign(transaction, with: keys)
    }

    /// One message with `payload`, authorized (and signed) by `key`.
    func sign(_ payload: MessagePayload, by key: SigningKey, permission: PermissionLevel = .active,
              nonce: UInt64? = nil, fee: Amount = LedgerFixture.fee, delay: UInt32 = 0) -> SignedTransaction {
        sign([Message(payload, authorizer: key.address, permission: permission)], by: [key], nonce: nonce, fee: fee,
             delay: delay)
    }

    /// A plain transfer of `amount` from `key`'s account to `recipient`, signed by `signers` (default: `key`).
    func transfer(_ amount: Amount, from key: SigningKey, to recipient: Address, nonce: UInt64? = nil,
                  fee: Amount = LedgerFixture.fee, delay: UInt32 = 0, signers: [SigningKey]? = nil,
                  expiration: UInt64? = nil, chainId: Hash? = nil) -> SignedTransaction {
        let payload = MessagePayload.transfer(inputs: [AmountEntry(key.address, amount)],
                                              outputs: [AmountEntry(recipient, amount)], memo: [])
        return sign([Message(payload, authorizer: key.address)], by: signers ?? [key], nonce: nonce, fee: fee,
                    delay: delay, expiration: expiration, chainId: chainId)
    }

    // MARK: Blocks

    /// The context of the next block.
    func blockContext(at time: UInt64? = nil) -> BlockContext {
        let blockTime = time ?? nextTime
        return BlockContext(height: height + 1, slot: state.slot(at: blockTime), time: blockTime, producer: producer)
    }

    /// Applies `transactions` as the next block (validate mode: all or nothing). On failure the state is
    /// unchanged and the typed reason of the failing transaction is thrown (the `transactionFailed` error of
    /// validate mode only carries its text, which is checked to match).
    @discardableResult
    mutating func apply(_ transactions: [SignedTransaction], at time: UInt64? = nil,
                        coinbaseAtIndexZero: Bool = false) throws(LedgerError) -> BlockExecutionResult {
        let context = blockContext(at: time)
        var candidate = state
        candidate.beginRecording()
        let result: BlockExecutionResult
        do {
            result = try BlockExecutor.execute(transactions, on: &candidate, block: context, verifier: verifier,
                                               mode: .validate, coinbaseAtIndexZero: coinbaseAtIndexZero)
        } catch {
            throw typedFailure(error, transactions: transactions, context: context,
                               coinbaseAtIndexZero: coinbaseAtIndexZero)
        }
        let changes = candidate.endRecording()
        let header = BlockHeader(height: context.height, slot: context.slot,
                                 previous: blocks.last?.block.id ?? chainId, producer: producer,
                                 transactionRoot: Block.transactionRoot(result.included), fieldRoot: .zero,
                                 stateRoot: candidate.root(), timestamp: context.time)
        let block = Block(signedHeader: SignedBlockHeader.sign(header, with: Keys.producerSigning, chainId: chainId),
                          transactions: result.included)
        blocks.append(CommittedBlock(block: block, redo: changes.redo))
        state = candidate
        height = context.height
        self.time = context.time
        return result
    }

    /// Applies one transaction as a block.
    @discardableResult
    mutating func apply(_ transaction: SignedTransaction, at time: UInt64? = nil) throws(LedgerError) -> BlockExecutionResult {
        try apply([transaction], at: time)
    }

    /// Applies an empty block at `time` (lets the clock pass and due delayed actions run).
    @discardableResult
    mutating func applyEmptyBlock(at time: UInt64? = nil) throws(LedgerError) -> BlockExecutionResult {
        try apply([], at: time)
    }

    private func typedFailure(_ error: LedgerError, transactions: [SignedTransaction], context: BlockContext,
                              coinbaseAtIndexZero: Bool) -> LedgerError {
        guard case .transactionFailed(_, let id, let reason) = error else { return error }
        var probe = state
        guard let produced = try? BlockExecutor.execute(transactions, on: &probe, block: context, verifier: verifier,
                                                       mode: .produce, coinbaseAtIndexZero: coinbaseAtIndexZero),
              let rejected = produced.rejected.first(where: { $0.transaction.id == id })
        else { return error }
        #expect(rejected.error.description == reason, "validate and produce mode disagree on why \(id.short) fails")
        return rejected.error
    }
}

/// The canonical `data` of an `accountUpdate` payload that leaves the name alone and sets `rules` as
/// (code, minimum seconds) pairs. Built by hand because `Account.DelayRule` has no public initializer; decoding
/// the bytes gives a real `MessagePayload`.
func delayRulesPayload(_ rules: [(MessageCode, UInt32)]) throws -> MessagePayload {
    var encoder = CanonicalEncoder()
    encoder.encode(UInt8(0))        // name: unchanged
    encoder.encode(UInt8(1))        // delay rules: present
    encoder.encodeLength(rules.count)
    for (code, seconds) in rules {
        encoder.encode(code)
        encoder.encode(seconds)
    }
    return try MessagePayload(code: .accountUpdate, data: encoder.bytes)
}


/// A folder under the system temporary directory, removed when the value is released.
final class TemporaryDirectory {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "alza-ledger-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: file(name)))) }

    func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: file(name)))
    }

    func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }
}
