import AlzaCore
import AlzaField
import AlzaLedger
import Testing

/// Two payment fields sharing a participant, run on a real ledger from a seed (DESIGN.md §6 "Cross-field", D34):
/// field A (participants 0, 1, 2) and field B (participants 0, 3, 4). Participant 0 locks part of its A balance
/// for B, and B opens with the lock as its deposit. Each field is a `Lane`: its leader core and one participant
/// core per member, with messages lost at the seed's rate and unanswered payments sent again.
struct CrossFieldScenario {
    struct Lane {
        let roster: FieldRoster
        let leaderKey: SigningKey
        let leaderAccount: SigningKey
        var leader: FieldLeaderCore
        /// By roster position.
        var cores: [FieldParticipantCore]
        var keys: [SigningKey]
        var clock: UInt64 = 0
        /// Refused payments a core could not take back yet (a newer one of its own was still out), by position.
        var refusals: [Int: [SignedFieldPayment]] = [:]
    }

    static let deposit = 1_000 * Amounts.unit
    static let sourceBond = 50 * Amounts.unit
    static let window: UInt32 = 30

    var random: SeededRandom
    let keys: [SigningKey]
    let producerKey = SigningKey(deterministicLabel: "cross-field/producer")
    let genesis: Genesis
    var state: LedgerState
    var height: UInt64 = 0
    var time: UInt64
    let verifier = SignatureVerifier()
    let lossPercent: Int
    var lost = 0
    var lanes: [Lane] = []
    /// Fees each account paid, to compare final balances with what it was promised.
    var fees: [Address: Amount] = [:]

    init(seed: Int) throws {
        random = SeededRandom(seed: UInt64(seed) &* 0xD1B5_4A32_D192_ED03 &+ 5)
        keys = (0..<5).map { SigningKey(deterministicLabel: "cross-field/participant-\($0)") }
        lossPercent = [0, 5, 10][random.next(below: 3)]
        let leaders = (0..<3).map { SigningKey(deterministicLabel: "cross-field/leader-account-\($0)") }
        var parameters = ChainParameters()
        parameters.slotMilliseconds = 1_000
        genesis = try Genesis(GenesisFile(
            chainName: "cross-field-scenarios", genesisTime: 1_750_000_000_000, parameters: parameters,
            accounts: ([producerKey] + keys + leaders).map { GenesisFile.Account(publicKey: $0.publicKey.hex, balance: 10_000 * Amounts.unit) },
            producers: [.init(account: Address(producerKey.publicKey).description, signingKey: producerKey.publicKey.hex,
                              url: "https://producer.example", timeZone: 0)],
            privileged: []))
        state = try genesis.initialState()
        time = genesis.file.genesisTime
        try claim(leaderAccount: leaders[0], leaderKey: SigningKey(deterministicLabel: "cross-field/leader-key-0"), bond: Self.sourceBond)
        try claim(leaderAccount: leaders[1], leaderKey: SigningKey(deterministicLabel: "cross-field/leader-key-1"), bond: 5 * Amounts.unit)
        try claim(leaderAccount: leaders[2], leaderKey: SigningKey(deterministicLabel: "cross-field/leader-key-2"), bond: 5 * Amounts.unit)
        try open(0, members: [0, 1, 2], deposits: Array(repeating: Self.deposit, count: 3))
    }

    static func fieldId(_ lane: Int) -> FieldId {
        FieldId(leader: SigningKey(deterministicLabel: "cross-field/leader-key-\(lane)").publicKey, nonce: 1)
    }

    func record(_ lane: Int) -> FieldRecord { state.fields[Self.fieldId(lane)]! }
    var unclaimed: [Int: (SigningKey, SigningKey)] = [:]

    // MARK: The chain

    func sign(_ payload: MessagePayload, by signers: [SigningKey], scope: [Address] = []) -> SignedTransaction {
        let payer = Address(signers[0].publicKey)
        let header = TransactionHeader(chainId: genesis.chainId, expiration: time + 600_000, nonce: state.nextNonce(of: payer),
                                       fee: genesis.parameters.minimumFee)
        return SignedTransaction.sign(Transaction(header: header, messages: [Message(payload, authorizer: payer, extraScope: scope)]),
                                      with: signers)
    }

    /// Applies one block; a transaction's fee is counted against its payer.
    mutating func apply(_ transactions: [SignedTransaction], at blockTime: UInt64? = nil) throws {
        let next = blockTime ?? time + 1_000
        let context = BlockContext(height: height + 1, slot: state.slot(at: next), time: next, producer: Address(producerKey.publicKey))
        _ = try BlockExecutor.execute(transactions, on: &state, block: context, verifier: verifier, mode: .validate,
                                      coinbaseAtIndexZero: false)
        for transaction in transactions {
            let payer = transaction.transaction.messages[0].authorization[0].account
            fees[payer, default: 0] += transaction.transaction.header.fee
        }
        height += 1
        time = next
    }

    /// A field message from `key`, scoped to what the field's settlement touches.
    mutating func settle(_ payload: MessagePayload, lane: Int, by key: SigningKey, at blockTime: UInt64? = nil) throws {
        try apply([sign(payload, by: [key], scope: record(lane).settlementScope)], at: blockTime)
    }

    private mutating func claim(leaderAccount: SigningKey, leaderKey: SigningKey, bond: Amount) throws {
        try apply([sign(.fieldClaim(nonce: 1, leaderKey: leaderKey.publicKey, bond: bond), by: [leaderAccount])])
        unclaimed[unclaimed.count] = (leaderAccount, leaderKey)
    }

    /// Opens field `lane` with these members (indices into `keys`); `locks` bring their members' deposits.
    mutating func open(_ lane: Int, members: [Int], deposits: [Amount], locks: [FieldLock] = []) throws {
        let (leaderAccount, leaderKey) = unclaimed[lane]!
        let addresses = members.map { Address(keys[$0].publicKey) }
        let payload = MessagePayload.fieldOpen(field: Self.fieldId(lane), deposits: zip(addresses, deposits).map { AmountEntry($0, $1) },
                                               challengeSeconds: Self.window, locks: locks)
        try apply([sign(payload, by: [leaderAccount] + members.map { keys[$0] })])
        let roster = FieldRoster(field: Self.fieldId(lane), chainId: genesis.chainId, leader: leaderKey.publicKey,
                                 participants: addresses, openingBalances: deposits)
        var configuration = FieldLeaderCore.Configuration()
        configuration.snapshotEveryPayments = 1_000_000
        configuration.maximumBatch = 1 + random.next(below: 3)
        configuration.snapshotEveryMilliseconds = 1_000
        let memberKeys = members.map { keys[$0] }
        lanes.append(Lane(roster: roster, leaderKey: leaderKey, leaderAccount: leaderAccount,
                          leader: FieldLeaderCore(roster: roster, key: leaderKey, configuration: configuration, now: 0),
                          cores: memberKeys.map { FieldParticipantCore(roster: roster, key: $0) }, keys: memberKeys))
    }

    // MARK: Off chain

    mutating func delivered() -> Bool {
        guard random.next(below: 100) < lossPercent else { return true }
        lost += 1
        return false
    }

    /// A random payment in `lane` between two of its members, sometimes more than the payer holds (refused).
    mutating func payRandomly(_ lane: Int) throws {
        let count = lanes[lane].cores.count
        let payer = random.next(below: count)
        var payee = random.next(below: count - 1)
        if payee >= payer { payee += 1 }
        let amount = Amount(1 + random.next(below: 150)) * Amounts.unit
        let signed = try lanes[lane].cores[payer].pay(to: lanes[lane].roster.participants[payee], amount: amount)
        if delivered() { try route(lane, lanes[lane].leader.receive(signed, now: lanes[lane].clock)) }
    }

    /// Carries a leader's effects to its lane's cores, losing some.
    mutating func route(_ lane: Int, _ effects: [FieldLeaderCore.Effect]) throws {
        var queue = effects
        while !queue.isEmpty {
            let now = lanes[lane].clock
            switch queue.removeFirst() {
            case .persist(_, let first):
                queue += lanes[lane].leader.persisted(firstIndex: first, now: now)
            case .receipt(let receipt, let to):
                let position = lanes[lane].roster.position(of: to)!
                guard delivered(), let payment = lanes[lane].cores[position].sent[receipt.paymentHash] else { continue }
                try lanes[lane].cores[position].received(receipt, for: payment)
            case .incoming(let payment, let receipt, let to):
                let position = lanes[lane].roster.position(of: to)!
                guard delivered() else { continue }
                try lanes[lane].cores[position].received(receipt, for: payment)
            case .rejected(let hash, _, let to):
                let position = lanes[lane].roster.position(of: to)!
                if let payment = lanes[lane].cores[position].sent[hash] { takeBack(payment, lane: lane, position: position) }
            case .propose(let proposal, let to):
                let position = lanes[lane].roster.position(of: to)!
                guard delivered() else { continue }
                let signature = try lanes[lane].cores[position].sign(proposal)
                guard delivered() else { continue }
                queue += try lanes[lane].leader.receivedSignature(signature, snapshot: proposal.snapshot.number, from: to, now: now)
            case .fullySigned(let signed):
                for position in lanes[lane].cores.indices where delivered() {
                    try lanes[lane].cores[position].receivedFullySigned(signed)
                }
            case .wakeAt:
                break
            }
        }
    }

    /// The wallet takes refused payments back newest first: one that waits for a newer refusal goes once that did.
    mutating func takeBack(_ payment: SignedFieldPayment, lane: Int, position: Int) {
        var waiting = lanes[lane].refusals[position, default: []] + [payment]
        var progress = true
        while progress {
            progress = false
            for (offset, candidate) in waiting.enumerated() where lanes[lane].cores[position].refused(candidate) {
                waiting.remove(at: offset)
                progress = true
                break
            }
        }
        lanes[lane].refusals[position] = waiting
    }

    /// Payments without a receipt sent again in sequence order (the wallet's resend).
    mutating func resendUnanswered(_ lane: Int) throws {
        for position in lanes[lane].cores.indices {
            let core = lanes[lane].cores[position]
            let receipted = Set(core.receipted.values.map(\.receipt.paymentHash))
            for payment in core.sent.values.filter({ !receipted.contains($0.hash) }).sorted(by: { $0.payment.sequence < $1.payment.sequence }) {
                try route(lane, lanes[lane].leader.receive(payment, now: lanes[lane].clock))
            }
        }
    }

    /// A snapshot round now (the leader's timer), with whatever is lost.
    mutating func snapshotNow(_ lane: Int) throws {
        lanes[lane].clock += 1_000
        try route(lane, lanes[lane].leader.tick(now: lanes[lane].clock))
    }

    /// Rounds until the lane's newest fully signed snapshot covers its whole log (lost signatures: proposed again).
    mutating func settleOffChain(_ lane: Int) throws {
        try resendUnanswered(lane)
        for _ in 0..<60 where lanes[lane].leader.newestFullySigned?.snapshot.paymentCount != lanes[lane].leader.durableCount
            || lanes[lane].cores.contains(where: { $0.newestFullySigned != lanes[lane].leader.newestFullySigned }) {
            try resendUnanswered(lane)
            try snapshotNow(lane)
        }
    }
}
