import AlzaCore
import AlzaField
import AlzaLedger
import Testing

/// One payment field run end to end on a real ledger under faults, from a seed (DESIGN.md §6): the leader core
/// with the journal its shell keeps (payment batches before receipts, snapshot numbers before proposals,
/// acknowledgements and fully signed snapshots), crashes that rebuild the leader from that journal, lost messages,
/// participants away, payers sending unanswered payments again; then a close path chosen by the scenario and the
/// honest participants' chain watchers. `FieldScenarioTests` checks the participant's guarantee on the outcome.
struct FieldScenario {
    enum Close: CaseIterable {
        /// The leader closes with a final snapshot covering every payment.
        case cooperative
        /// A dishonest participant solo-closes with the oldest fully signed snapshot it holds.
        case staleSoloClose
        /// One participant is away at the end (its signature withheld); an honest one solo-closes with the
        /// newest fully signed snapshot it holds and the leader answers receipt disputes when it can.
        case withheldSignature
        /// The leader signs a second receipt for a used index; a participant posts both.
        case leaderEquivocation
        /// A dishonest participant posts the newest fully signed snapshot while receipted payments wait beyond
        /// it, and the leader stays silent: a receipt dispute annuls the round.
        case silentLeader
    }

    static let deposit = 1_000 * Amounts.unit
    static let bond = 5 * Amounts.unit
    static let window: UInt32 = 30

    let close: Close
    var random: SeededRandom
    let keys: [SigningKey]
    let leaderAccount = SigningKey(deterministicLabel: "field-scenario/leader-account")
    let leaderKey = SigningKey(deterministicLabel: "field-scenario/leader-key")
    let producerKey = SigningKey(deterministicLabel: "field-scenario/producer")
    let genesis: Genesis
    let roster: FieldRoster
    var state: LedgerState
    var height: UInt64 = 0
    var time: UInt64
    let verifier = SignatureVerifier()
    let configuration: FieldLeaderCore.Configuration
    var leader: FieldLeaderCore
    /// What the leader's shell made durable, in order (`FieldLeaderJournalEntry` bytes).
    var journal: [[UInt8]] = []
    var participants: [FieldParticipantCore]
    var away: Set<Int> = []
    /// Every fully signed snapshot each participant received, by number (a dishonest one posts an old one).
    var fullySignedHeld: [[UInt64: SignedFieldSnapshot]]
    let lossPercent: Int
    var crashes = 0
    /// The leader's clock (apart from the chain's block time).
    var leaderClock: UInt64 = 0
    var lost = 0

    init(seed: Int, close: Close) throws {
        self.close = close
        random = SeededRandom(seed: UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 &+ 17)
        let count = 3 + random.next(below: 3)
        keys = (0..<count).map { SigningKey(deterministicLabel: "field-scenario/participant-\($0)") }
        lossPercent = [0, 5, 15][random.next(below: 3)]
        var parameters = ChainParameters()
        parameters.slotMilliseconds = 1_000
        let everyone = [leaderAccount, producerKey] + keys
        genesis = try Genesis(GenesisFile(
            chainName: "field-scenarios", genesisTime: 1_750_000_000_000, parameters: parameters,
            accounts: everyone.map { GenesisFile.Account(publicKey: $0.publicKey.hex, balance: 10_000 * Amounts.unit) },
            producers: [.init(account: Address(producerKey.publicKey).description, signingKey: producerKey.publicKey.hex,
                              url: "https://producer.example", timeZone: 0)],
            privileged: []))
        state = try genesis.initialState()
        time = genesis.file.genesisTime
        let field = FieldId(leader: leaderKey.publicKey, nonce: 1)
        roster = FieldRoster(field: field, chainId: genesis.chainId, leader: leaderKey.publicKey,
                             participants: keys.map { Address($0.publicKey) },
                             openingBalances: Array(repeating: Self.deposit, count: count))
        var configuration = FieldLeaderCore.Configuration()
        configuration.snapshotEveryPayments = 2 + random.next(below: 6)
        configuration.maximumBatch = 1 + random.next(below: 4)
        configuration.snapshotEveryMilliseconds = 3_600_000
        self.configuration = configuration
        leader = FieldLeaderCore(roster: roster, key: leaderKey, configuration: configuration, now: 0)
        let roster = self.roster
        participants = keys.map { FieldParticipantCore(roster: roster, key: $0) }
        fullySignedHeld = Array(repeating: [:], count: count)
        try apply([sign(.fieldClaim(nonce: 1, leaderKey: leaderKey.publicKey, bond: Self.bond), by: [leaderAccount])])
        try apply([sign(.fieldOpen(field: field, deposits: roster.participants.map { AmountEntry($0, Self.deposit) },
                                   challengeSeconds: Self.window), by: [leaderAccount] + keys)])
    }

    var field: FieldId { roster.field }
    var record: FieldRecord { state.fields[field]! }

    // MARK: The chain

    func sign(_ payload: MessagePayload, by signers: [SigningKey]) -> SignedTransaction {
        let payer = Address(signers[0].publicKey)
        let header = TransactionHeader(chainId: genesis.chainId, expiration: time + 600_000, nonce: state.nextNonce(of: payer),
                                       fee: genesis.parameters.minimumFee)
        let scope = roster.participants + [Address(leaderAccount.publicKey)]
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

    // MARK: Off chain, with faults

    mutating func delivered() -> Bool {
        guard random.next(below: 100) < lossPercent else { return true }
        lost += 1
        return false
    }

    /// A random payment, sometimes more than the payer holds (refused), from a participant that is here.
    mutating func payRandomly() throws {
        let payer = random.next(below: keys.count)
        var payee = random.next(below: keys.count - 1)
        if payee >= payer { payee += 1 }
        guard !away.contains(payer) else { return }
        let amount = Amount(1 + random.next(below: 200)) * Amounts.unit
        let signed = try participants[payer].pay(to: participants[payee].address, amount: amount)
        if delivered() { try route(leader.receive(signed, now: leaderClock)) }
    }

    /// Carries the leader's effects to the cores as the shells would, losing some, journaling as the leader's
    /// shell does before it acts.
    mutating func route(_ effects: [FieldLeaderCore.Effect]) throws {
        var queue = effects
        while !queue.isEmpty {
            let effect = queue.removeFirst()
            switch effect {
            case .persist(let batch, let first):
                // Now and then the leader dies mid-write: the batch never reached the journal, no receipt left.
                if random.next(below: 100) < 3 {
                    try crashLeader()
                    return
                }
                journal.append(FieldLeaderJournalEntry.payments(firstIndex: first, batch).canonicalBytes)
                queue += leader.persisted(firstIndex: first, now: leaderClock)
            case .receipt(let receipt, let to):
                let index = roster.position(of: to)!
                guard !away.contains(index), delivered(), let payment = participants[index].sent[receipt.paymentHash] else { continue }
                try participants[index].received(receipt, for: payment)
            case .incoming(let payment, let receipt, let to):
                let index = roster.position(of: to)!
                guard !away.contains(index), delivered() else { continue }
                try participants[index].received(receipt, for: payment)
            case .rejected(let hash, _, let to):
                let index = roster.position(of: to)!
                if let payment = participants[index].sent[hash] { _ = participants[index].refused(payment) }
            case .propose(let proposal, let to):
                journal.append(FieldLeaderJournalEntry.proposed(number: proposal.snapshot.number).canonicalBytes)
                let index = roster.position(of: to)!
                guard !away.contains(index), delivered() else { continue }
                let signature = try participants[index].sign(proposal)
                guard delivered() else { continue }
                queue += try leader.receivedSignature(signature, snapshot: proposal.snapshot.number, from: to, now: leaderClock)
                if let count = leader.acknowledgedCount(of: to) {
                    journal.append(FieldLeaderJournalEntry.acknowledged(participant: to, paymentCount: count).canonicalBytes)
                }
            case .fullySigned(let signed):
                journal.append(FieldLeaderJournalEntry.fullySigned(signed).canonicalBytes)
                for index in participants.indices where !away.contains(index) && delivered() {
                    try participants[index].receivedFullySigned(signed)
                    fullySignedHeld[index][signed.snapshot.number] = signed
                }
            case .wakeAt:
                break
            }
        }
    }

    /// The leader process dies and restarts from its journal; every payer sends its unanswered payments again.
    mutating func crashLeader() throws {
        crashes += 1
        leader = try FieldLeaderCore(roster: roster, key: leaderKey, configuration: configuration, now: leaderClock,
                                     recovering: FieldLeaderRecovery(records: journal))
        try resendUnanswered()
    }

    /// Payments a participant signed without a receipt, sent again in sequence order (the wallet's resend).
    mutating func resendUnanswered() throws {
        for index in participants.indices where !away.contains(index) {
            let receipted = Set(participants[index].receipted.values.map(\.receipt.paymentHash))
            let open = participants[index].sent.values.filter { !receipted.contains($0.hash) }.sorted { $0.payment.sequence < $1.payment.sequence }
            for payment in open { try route(leader.receive(payment, now: leaderClock)) }
        }
    }

    /// A snapshot proposed now (the timer), signed by whoever is here.
    mutating func snapshotNow() throws {
        leaderClock += configuration.snapshotEveryMilliseconds
        try route(leader.tick(now: leaderClock))
    }
}
