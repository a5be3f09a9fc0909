import AlzaConsensus
import AlzaCore
import AlzaLedger

/// A small chain for consensus tests: `producers` self-staked producers (optionally with extra stakers) and a
/// few funded users, all keys deterministic.
struct ChainFixture {
    let genesis: Genesis
    let producerKeys: [SigningKey]
    let userKeys: [SigningKey]
    let verifier = SignatureVerifier()

    static let genesisTime: UInt64 = 1_767_225_600_000

    init(producers: Int = 4, users: Int = 4, slotMilliseconds: UInt64 = 1_000, inactivitySlots: UInt64 = 14_400,
         stakes: [Amount]? = nil, extraStakers: [(producer: Int, stake: Amount)] = [],
         adjust: (inout ChainParameters) -> Void = { _ in }) {
        let producerKeys = (0..<producers).map { SigningKey(deterministicLabel: "fixture-producer-\($0)") }
        let userKeys = (0..<users).map { SigningKey(deterministicLabel: "fixture-user-\($0)") }
        self.producerKeys = producerKeys
        self.userKeys = userKeys
        var parameters = ChainParameters()
        parameters.producerCount = producers
        parameters.slotMilliseconds = slotMilliseconds
        parameters.inactivityRemovalSlots = inactivitySlots
        adjust(&parameters)
        var accounts: [GenesisFile.Account] = []
        var producerEntries: [GenesisFile.Producer] = []
        for (index, key) in producerKeys.enumerated() {
            let address = Address(key.publicKey)
            accounts.append(GenesisFile.Account(publicKey: key.publicKey.hex, balance: 1_000 * Amounts.unit,
                                                stake: stakes?[index] ?? 100 * Amounts.unit, vote: address.description))
            producerEntries.append(GenesisFile.Producer(account: address.description, signingKey: key.publicKey.hex,
                                                        url: "test://\(index)", timeZone: 0))
        }
        for (index, key) in userKeys.enumerated() {
            let staker = extraStakers.indices.contains(index) ? extraStakers[index] : nil
            accounts.append(GenesisFile.Account(
                publicKey: key.publicKey.hex, balance: 1_000 * Amounts.unit, stake: staker?.stake,
                vote: staker.map { Address(producerKeys[$0.producer].publicKey).description }))
        }
        genesis = try! Genesis(GenesisFile(chainName: "fixture", genesisTime: Self.genesisTime, parameters: parameters,
                                           accounts: accounts, producers: producerEntries))
    }

    var parameters: ChainParameters { genesis.parameters }
    func producer(_ index: Int) -> Address { Address(producerKeys[index].publicKey) }
    func user(_ index: Int) -> Address { Address(userKeys[index].publicKey) }
    func state() -> LedgerState { try! genesis.initialState() }
    func slotStart(_ slot: UInt64) -> UInt64 { Self.genesisTime + slot * parameters.slotMilliseconds }

    func identity(_ index: Int) -> ProducerIdentity {
        ProducerIdentity(account: producer(index), accountKey: producerKeys[index], signingKey: producerKeys[index])
    }

    /// A signed transfer of `amount` from user `from` to user `to`.
    func transfer(from: Int, to: Int, amount: Amount, nonce: UInt64, fee: Amount? = nil, expiration: UInt64? = nil,
                  chainId: Hash? = nil) -> SignedTransaction {
        let header = TransactionHeader(chainId: chainId ?? genesis.chainId, expiration: expiration ?? Self.genesisTime + 1_800_000,
                                       nonce: nonce, fee: fee ?? parameters.minimumFee)
        let message = Message(.transfer(inputs: [AmountEntry(user(from), amount)], outputs: [AmountEntry(user(to), amount)],
                                        memo: []), authorizer: user(from))
        return SignedTransaction.sign(Transaction(header: header, messages: [message]), with: [userKeys[from]])
    }

    /// A core for producer `index` (nil: a non-producing node) started from genesis at `now`.
    func core(producer index: Int?, now: UInt64? = nil) -> (ConsensusCore, [ConsensusEffect]) {
        let recovered = RecoveredChain(state: state(), stateBlock: BlockReference(height: 0, slot: 0, id: genesis.chainId),
                                       blocksToReplay: [], log: [])
        return ConsensusCore.start(recovered: recovered, configuration: ConsensusConfiguration(producer: index.map(identity)),
                                   verifier: verifier, watermark: nil, now: now ?? Self.genesisTime)
    }

    /// Produces the block of `slot` on top of `state` (which advances), as the scheduled producer.
    func produce(on state: inout LedgerState, parent: BlockReference, slot: UInt64,
                 transactions: [SignedTransaction] = []) throws -> BlockProcessor.Produced {
        let scheduled = ProducerSchedule.producer(at: slot, after: state)!
        let index = producerKeys.firstIndex { Address($0.publicKey) == scheduled }!
        return try BlockProcessor.produce(on: &state, parent: parent, slot: slot, producerKey: producerKeys[index],
                                          producer: scheduled, candidates: transactions, verifier: verifier)
    }
}

extension [ConsensusEffect] {
    var broadcastBlocks: [Block] {
        compactMap { if case .broadcast(.block(let block), _) = $0 { return block } else { return nil } }
    }

    var notifications: [ConsensusNotification] {
        compactMap { if case .notify(let notification) = $0 { return notification } else { return nil } }
    }

    var rejectedBlocks: [(Hash, ConsensusError)] {
        notifications.compactMap { if case .blockRejected(let id, let reason, _) = $0 { return (id, reason) } else { return nil } }
    }

    var committedHeights: [UInt64] {
        flatMap { effect -> [UInt64] in
            if case .commit(let blocks, _) = effect { return blocks.map(\.block.height) } else { return [] }
        }
    }
}
