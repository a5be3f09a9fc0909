import AlzaCore
import AlzaField
import AlzaLedger
import Testing

/// The field cores and the chain's field codes together (DESIGN.md §6): a leader core and three participant cores
/// pay and snapshot off chain on a field opened on a real ledger; a dishonest participant solo-closes with an old
/// snapshot, and the honest participant's chain watcher (`FieldParticipantCore.reaction`) answers by itself.
@Suite struct FieldChainWatcherTests {
    static let deposit = 100 * Amounts.unit
    static let bond = 5 * Amounts.unit
    static let window: UInt32 = 30

    let leaderAccount = SigningKey(deterministicLabel: "watcher-tests/leader-account")
    let leaderKey = SigningKey(deterministicLabel: "watcher-tests/leader-key")
    let producerKey = SigningKey(deterministicLabel: "watcher-tests/producer")
    let keys = (0..<3).map { SigningKey(deterministicLabel: "watcher-tests/participant-\($0)") }
    let genesis: Genesis
    let field: FieldId
    var state: LedgerState
    var height: UInt64 = 0
    var time: UInt64
    let verifier = SignatureVerifier()
    var leader: FieldLeaderCore
    var participants: [FieldParticipantCore]
    /// Every fully signed snapshot, by number (a dishonest participant keeps old ones).
    var fullySigned: [UInt64: SignedFieldSnapshot] = [:]

    init() throws {
        var parameters = ChainParameters()
        parameters.slotMilliseconds = 1_000
        let everyone = [leaderAccount, producerKey] + keys
        genesis = try Genesis(GenesisFile(
            chainName: "field-watcher-tests", genesisTime: 1_750_000_000_000, parameters: parameters,
            accounts: everyone.map { GenesisFile.Account(publicKey: $0.publicKey.hex, balance: 1_000 * Amounts.unit) },
            producers: [.init(account: Address(producerKey.publicKey).description, signingKey: producerKey.publicKey.hex,
                              url: "https://producer.example", timeZone: 0)],
            privileged: []))
        state = try genesis.initialState()
        time = genesis.file.genesisTime
        field = FieldId(leader: leaderKey.publicKey, nonce: 1)
        let roster = FieldRoster(field: field, chainId: genesis.chainId, leader: leaderKey.publicKey,
                                 participants: keys.map { Address($0.publicKey) },
                                 openingBalances: Array(repeating: Self.deposit, count: keys.count))
        var configuration = FieldLeaderCore.Configuration()
        configuration.snapshotEveryPayments = 2
        configuration.snapshotEveryMilliseconds = 3_600_000
        leader = FieldLeaderCore(roster: roster, key: leaderKey, configuration: configuration, now: 0)
        participants = keys.map { FieldParticipantCore(roster: roster, key: $0) }
        try apply([sign(.fieldClaim(nonce: 1, leaderKey: leaderKey.publicKey, bond: Self.bond), by: [leaderAccount])])
        try apply([sign(.fieldOpen(field: field, deposits: roster.participants.map { AmountEntry($0, Self.deposit) },
                                   challengeSeconds: Self.window), by: [leaderAccount] + keys)])
    }

    // MARK: The chain

    func sign(_ payload: MessagePayload, by signers: [SigningKey]) -> SignedTransaction {
        let payer = Address(signers[0].publicKey)
        let scope = keys.map { Address($0.publicKey) } + [Address(leaderAccount.publicKey)]
        let header = TransactionHeader(chainId: genesis.chainId, expiration: time + 600_000, nonce: state.nextNonce(of: payer),
                                       fee: genesis.parameters.minimumFee)
        return SignedTransaction.sign(Transaction(header: header, messages: [Message(payload, authorizer: payer, extraScope: scope)]),
                                      with: signers)
    }

    mutating func apply(_ transactions: [SignedTransaction], at blockTime: UInt64? = nil) throws {
        let next = blockTime ?? time + 1_000
        let context = BlockContext(height: height + 1, slot: state.slot(at: next), time: next, producer: Address(producerKey.publicKey))
        _ = try BlockExecutor.execute(transactions, on: &state, block: context, verifier: verifier, mode: .validate,
                                  coinbaseAtIndexZero: false)
        height += 1
        time = next
    }

    var record: FieldRecord { state.fields[field]! }
    func balance(_ index: Int) -> Amount { state.accounts[Address(keys[index].publicKey)]?.balance ?? 0 }

    // MARK: Off chain

    /// `payer` pays `payee`; every effect of the leader is carried to the cores until nothing is left.
    mutating func pay(_ payer: Int, _ payee: Int, _ amount: Amount) throws {
        let signed = try participants[payer].pay(to: participants[payee].address, amount: amount)
        try route(leader.receive(signed, now: 1))
    }

    mutating func route(_ effects: [FieldLeaderCore.Effect]) throws {
        var queue = effects
        while !queue.isEmpty {
            switch queue.removeFirst() {
            case .persist(_, let first):
                queue += leader.persisted(firstIndex: first, now: 1)
            case .receipt(let receipt, let to):
                let index = try #require(participants.firstIndex { $0.address == to })
                try participants[index].received(receipt, for: try #require(participants[index].sent[receipt.paymentHash]))
            case .incoming(let payment, let receipt, let to):
                let index = try #require(participants.firstIndex { $0.address == to })
                try participants[index].received(receipt, for: payment)
            case .rejected(_, let error, _):
                Issue.record("the leader refused a payment: \(error)")
            case .propose(let proposal, let to):
                let index = try #require(participants.firstIndex { $0.address == to })
                let signature = try participants[index].sign(proposal)
                queue += try leader.receivedSignature(signature, snapshot: proposal.snapshot.number, from: to, now: 1)
            case .fullySigned(let signed):
                fullySigned[signed.snapshot.number] = signed
                for index in participants.indices { try participants[index].receivedFullySigned(signed) }
            case .wakeAt:
                break
            }
        }
    }

    // MARK: Scenarios

    @Test mutating func aStaleSoloCloseIsDisputedWithTheNewestFullySignedSnapshot() throws {
        try pay(0, 1, 10 * Amounts.unit)
        try pay(1, 2, 4 * Amounts.unit)
        try pay(2, 0, 30 * Amounts.unit)
        try pay(1, 0, 6 * Amounts.unit)
        #expect(fullySigned.keys.sorted() == [1, 2])
        #expect(participants[0].newestFullySigned?.snapshot.number == 2)
        // Participant 1 had 106 in snapshot 1 and 100 in snapshot 2: it posts snapshot 1.
        #expect(fullySigned[1]?.balances[1] == 106 * Amounts.unit && fullySigned[2]?.balances[1] == 100 * Amounts.unit)
        try apply([sign(.fieldSoloClose(field: field, snapshot: try #require(fullySigned[1])), by: [keys[1]])])
        // Every honest participant's watcher gives the same answer.
        #expect(participants[2].reaction(to: record, now: time) == participants[0].reaction(to: record, now: time))
        let answer = try #require(participants[0].reaction(to: record, now: time))
        #expect(answer == .fieldDispute(field: field, claim: .newerSnapshot(try #require(fullySigned[2]))))
        try apply([sign(answer, by: [keys[0]])])
        // Nothing more to say until the window ends; then the watcher finalizes.
        #expect(participants[0].reaction(to: record, now: time) == nil)
        guard case .closing(_, let deadline, nil) = record.status else {
            Issue.record("not closing: \(record.status)")
            return
        }
        let before = balance(0)
        let finalize = try #require(participants[0].reaction(to: record, now: deadline))
        #expect(finalize == .fieldFinalize(field: field))
        try apply([sign(finalize, by: [keys[0]])], at: deadline)
        let settled = try #require(fullySigned[2]).balances
        #expect(balance(0) == before + settled[0] - genesis.parameters.minimumFee)
        #expect(settled[0] == Self.deposit - 10 * Amounts.unit + 30 * Amounts.unit + 6 * Amounts.unit)
        #expect(state.heldInFields == 0)
    }

    @Test mutating func aReceiptedPaymentLeftOutOfThePostedSnapshotIsDisputedAndUnansweredAnnulsTheRound() throws {
        try pay(0, 1, 10 * Amounts.unit)
        try pay(1, 2, 4 * Amounts.unit)
        // Receipted, but the leader never gets a snapshot of it signed.
        try pay(1, 0, 30 * Amounts.unit)
        #expect(fullySigned.keys.sorted() == [1])
        try apply([sign(.fieldSoloClose(field: field, snapshot: try #require(fullySigned[1])), by: [keys[1]])])
        // Participant 2 holds nothing beyond the posted snapshot; participant 1 only its own payment.
        #expect(participants[2].reaction(to: record, now: time) == nil)
        #expect(participants[1].reaction(to: record, now: time) == nil)
        let answer = try #require(participants[0].reaction(to: record, now: time))
        guard case .fieldDispute(_, .receipt(let receipt)) = answer else {
            Issue.record("expected a receipt dispute, got \(answer)")
            return
        }
        #expect(receipt.index == 2)
        try apply([sign(answer, by: [keys[0]])])
        #expect(participants[0].reaction(to: record, now: time) == nil)
        guard case .closing(_, let deadline, let dispute?) = record.status else {
            Issue.record("the dispute is not pending: \(record.status)")
            return
        }
        #expect(dispute.disputer == participants[0].address)
        let before = (0..<3).map(balance)
        try apply([sign(try #require(participants[0].reaction(to: record, now: deadline)), by: [keys[0]])], at: deadline)
        #expect(record.status == .annulled(atHeight: height))
        let fee = genesis.parameters.minimumFee
        #expect(balance(0) == before[0] + Self.deposit + Self.bond - fee)
        #expect(balance(1) == before[1] + Self.deposit)
        #expect(balance(2) == before[2] + Self.deposit)
        #expect(state.heldInFields == 0)
    }

    @Test mutating func aFullySignedCopyThatIsNotWhatTheParticipantSignedIsRefused() throws {
        try pay(0, 1, 10 * Amounts.unit)
        try pay(1, 2, 4 * Amounts.unit)
        var forged = try #require(fullySigned[1])
        forged.balances.swapAt(0, 1)
        #expect(throws: FieldError.balanceProofInvalid(snapshot: 1)) { try participants[2].receivedFullySigned(forged) }
        var unsigned = try #require(fullySigned[1])
        unsigned.signatures[1] = unsigned.signatures[0]
        #expect(throws: FieldError.badSnapshotSignature(snapshot: 1, signer: participants[1].address)) {
            try participants[2].receivedFullySigned(unsigned)
        }
    }
}
