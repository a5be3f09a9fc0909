import AlzaCore

/// The whole ledger state after some block: typed tables of records (each a `StateKey` → `StateValue`), indices
/// derived from them, and the incrementally maintained state root.
///
/// A value type: copying it is cheap (copy-on-write tables) and a copy never sees the original's later writes,
/// which is what lets a block's transactions with disjoint scopes run in parallel against one snapshot.
/// Every write goes through `write(_:_:)`, which keeps the derived indices, the commitment and, while
/// recording, the undo log consistent.
public struct LedgerState: Sendable {
    public let chainId: Hash
    /// Unix milliseconds of slot 0.
    public let genesisTime: UInt64
    public let parameters: ChainParameters

    public private(set) var chain: ChainRecord
    public private(set) var accounts: [Address: Account] = [:]
    public private(set) var retiredNonces: [Address: UInt64] = [:]
    public private(set) var producers: [Address: ProducerInfo] = [:]
    public private(set) var names: [AccountName: Address] = [:]
    public private(set) var members: [Address: Member] = [:]
    public private(set) var delayedActions: [UInt64: DelayedAction] = [:]
    public private(set) var auditLog: [UInt64: AuditEntry] = [:]
    public private(set) var evidence: [EvidenceKey: Hash] = [:]
    public private(set) var fields: [FieldId: FieldRecord] = [:]

    public struct EvidenceKey: Hashable, Sendable {
        public var producer: Address
        public var slot: UInt64

        public init(producer: Address, slot: UInt64) {
            self.producer = producer
            self.slot = slot
        }
    }

    // Derived indices (not committed: rebuilt from the records by `write`).
    /// Stake delegated to each producer candidate (SONO of seed equation 2).
    public private(set) var delegatedStake: [Address: Amount] = [:]
    /// Accounts voting for each producer candidate (the stakers of equation 3).
    public private(set) var voters: [Address: Set<Address>] = [:]
    /// Sum of all staked amounts.
    public private(set) var totalStaked: Amount = 0
    /// Pending delayed actions ordered by (executeAt, id).
    private var delayedQueue: [DelayedQueueEntry] = []

    private struct DelayedQueueEntry: Comparable, Sendable {
        var executeAt: UInt64
        var id: UInt64
        static func < (lhs: Self, rhs: Self) -> Bool { (lhs.executeAt, lhs.id) < (rhs.executeAt, rhs.id) }
    }

    private var commitment = StateCommitment()
    /// Values before the first write of each key since `beginRecording`.
    private var recorded: [StateKey: StateValue?]?

    /// An empty state with the chain record `chain`.
    public init(chainId: Hash, genesisTime: UInt64, parameters: ChainParameters, chain: ChainRecord) {
        self.chainId = chainId
        self.genesisTime = genesisTime
        self.parameters = parameters
        self.chain = chain
        commitment.update(key: StateKey.chain.bytes, value: StateValue.chain(chain).bytes)
    }

    /// A state holding exactly `entries` (a checkpoint).
    public init(chainId: Hash, genesisTime: UInt64, parameters: ChainParameters, entries: [StateEntry]) throws(LedgerError) {
        guard let chainEntry = entries.first(where: { $0.key == .chain }), case .chain(let record)? = chainEntry.value else {
            throw .malformedBlock("state snapshot has no chain record")
        }
        self.init(chainId: chainId, genesisTime: genesisTime, parameters: parameters, chain: record)
        try applyRecovered(entries.filter { $0.key != .chain })
    }

    // MARK: Reading

    public func value(_ key: StateKey) -> StateValue? {
        switch key {
        case .chain: return .chain(chain)
        case .account(let address): return accounts[address].map(StateValue.account)
        case .retiredNonce(let address): return retiredNonces[address].map(StateValue.retiredNonce)
        case .producer(let address): return producers[address].map(StateValue.producer)
        case .name(let name): return names[name].map(StateValue.name)
        case .member(let address): return members[address].map(StateValue.member)
        case .delayed(let id): return delayedActions[id].map(StateValue.delayed)
        case .audit(let sequence): return auditLog[sequence].map(StateValue.audit)
        case .evidence(let producer, let slot): return evidence[EvidenceKey(producer: producer, slot: slot)].map(StateValue.evidence)
        case .field(let id): return fields[id].map(StateValue.field)
        }
    }

    /// The address a name or `alza1…` text refers to.
    public func resolve(_ text: String) -> Address? {
        if let address = try? Address(parsing: text) { return address }
        guard let name = try? AccountName(text) else { return nil }
        return names[name]
    }

    /// Delayed actions due at `time`, oldest first, at most `limit`.
    public func dueDelayedActions(at time: UInt64, limit: Int) -> [DelayedAction] {
        var due: [DelayedAction] = []
        for entry in delayedQueue {
            guard entry.executeAt <= time, due.count < limit else { break }
            if let action = delayedActions[entry.id] { due.append(action) }
        }
        return due
    }

    /// Every record, sorted by key bytes: the content of a checkpoint.
    public func allEntries() -> [StateEntry] {
        var entries: [StateEntry] = [StateEntry(key: .chain, value: .chain(chain))]
        entries.reserveCapacity(accounts.count + producers.count + names.count + 16)
        for (key, value) in accounts { entries.append(StateEntry(key: .account(key), value: .account(value))) }
        for (key, value) in retiredNonces { entries.append(StateEntry(key: .retiredNonce(key), value: .retiredNonce(value))) }
        for (key, value) in producers { entries.append(StateEntry(key: .producer(key), value: .producer(value))) }
        for (key, value) in names { entries.append(StateEntry(key: .name(key), value: .name(value))) }
        for (key, value) in members { entries.append(StateEntry(key: .member(key), value: .member(value))) }
        for (key, value) in delayedActions { entries.append(StateEntry(key: .delayed(key), value: .delayed(value))) }
        for (key, value) in auditLog { entries.append(StateEntry(key: .audit(key), value: .audit(value))) }
        for (key, value) in evidence {
            entries.append(StateEntry(key: .evidence(producer: key.producer, slot: key.slot), value: .evidence(value)))
        }
        for (key, value) in fields { entries.append(StateEntry(key: .field(key), value: .field(value))) }
        return LedgerState.sorted(entries)
    }

    static func sorted(_ entries: [StateEntry]) -> [StateEntry] {
        entries.map { ($0.key.bytes, $0) }.sorted { $0.0.lexicographicallyPrecedes($1.0) }.map(\.1)
    }

    /// The state root (recomputes only what changed since the last call).
    public mutating func root() -> Hash { commitment.root() }

    // MARK: Writing

    /// Sets (or with nil deletes) one record, keeping derived indices, commitment and undo log consistent.
    public mutating func write(_ key: StateKey, _ value: StateValue?) {
        write(key, value, update: nil)
    }

    /// `write` with the commitment update already hashed (by the worker that executed the transaction).
    mutating func write(_ key: StateKey, _ value: StateValue?, update: CommitmentUpdate?) {
        if recorded != nil, recorded![key] == nil { recorded![key] = .some(self.value(key)) }
        switch (key, value) {
        case (.chain, .chain(let record)?):
            chain = record
        case (.account(let address), let value):
            let new: Account?
            if case .account(let account)? = value { new = account } else { new = nil }
            let old = new.map { accounts.updateValue($0, forKey: address) } ?? accounts.removeValue(forKey: address)
            if (old?.staked ?? 0) != (new?.staked ?? 0) || old?.vote != new?.vote {
                updateStakeIndices(old: old, new: new)
            }
        case (.retiredNonce(let address), let value):
            if case .retiredNonce(let nonce)? = value { retiredNonces[address] = nonce } else { retiredNonces[address] = nil }
        case (.producer(let address), let value):
            if case .producer(let producer)? = value { producers[address] = producer } else { producers[address] = nil }
        case (.name(let name), let value):
            if case .name(let address)? = value { names[name] = address } else { names[name] = nil }
        case (.member(let address), let value):
            if case .member(let member)? = value { members[address] = member } else { members[address] = nil }
        case (.delayed(let id), let value):
            if let previous = delayedActions[id] { removeFromQueue(DelayedQueueEntry(executeAt: previous.executeAt, id: id)) }
            if case .delayed(let action)? = value {
                delayedActions[id] = action
                insertIntoQueue(DelayedQueueEntry(executeAt: action.executeAt, id: id))
            } else {
                delayedActions[id] = nil
            }
        case (.audit(let sequence), let value):
            if case .audit(let entry)? = value { auditLog[sequence] = entry } else { auditLog[sequence] = nil }
        case (.evidence(let producer, let slot), let value):
            let evidenceKey = EvidenceKey(producer: producer, slot: slot)
            if case .evidence(let id)? = value { evidence[evidenceKey] = id } else { evidence[evidenceKey] = nil }
        case (.field(let id), let value):
            if case .field(let record)? = value { fields[id] = record } else { fields[id] = nil }
        default:
            preconditionFailure("state value \(String(describing: value)) does not match key \(key)")
        }
        commitment.apply(update ?? CommitmentUpdate(key: key, value: value))
    }

    /// Merges prepared writes (entries with their commitment updates).
    mutating func apply(_ prepared: [PreparedWrite]) {
        for write in prepared { self.write(write.entry.key, write.entry.value, update: write.update) }
    }

    public mutating func apply(_ entries: [StateEntry]) {
        for entry in entries { write(entry.key, entry.value) }
    }

    /// `apply` for entries read back from disk (a journal's redo list, a checkpoint), which execution did not
    /// produce: an entry `write` cannot take — the chain record deleted or replaced by another kind, stakes whose
    /// sums overflow — is a typed error instead of a trap. Entries before the bad one stay applied.
    public mutating func applyRecovered(_ entries: [StateEntry]) throws(LedgerError) {
        for entry in entries {
            switch (entry.key, entry.value) {
            case (.chain, .chain?): break
            case (.chain, let value):
                throw .malformedBlock("stored state entry sets the chain record to \(value.map { "\($0)" } ?? "nothing")")
            case (.account(let address), let value):
                let new: Account? = if case .account(let account)? = value { account } else { nil }
                try checkStakeSums(old: accounts[address], new: new)
            default: break
            }
            write(entry.key, entry.value)
        }
    }

    /// Whether replacing `old` by `new` keeps the total and the delegated stake sums within `UInt64`.
    private func checkStakeSums(old: Account?, new: Account?) throws(LedgerError) {
        guard let new, new.staked > 0 else { return }
        let total = (totalStaked - (old?.staked ?? 0)).addingReportingOverflow(new.staked)
        let delegated = new.vote.map { vote in
            ((delegatedStake[vote] ?? 0) - (old?.vote == vote ? old?.staked ?? 0 : 0)).addingReportingOverflow(new.staked)
        }
        if total.overflow || delegated?.overflow == true {
            throw .malformedBlock("stored stake of \(new.address) (\(new.staked)) overflows the stake sums")
        }
    }

    public mutating func setChain(_ record: ChainRecord) { write(.chain, .chain(record)) }
    public mutating func setAccount(_ account: Account) { write(.account(account.address), .account(account)) }
    public mutating func setProducer(_ producer: ProducerInfo) { write(.producer(producer.account), .producer(producer)) }

    private mutating func updateStakeIndices(old: Account?, new: Account?) {
        if let old, old.staked > 0 || old.vote != nil {
            totalStaked -= old.staked
            if let vote = old.vote {
                delegatedStake[vote, default: 0] -= old.staked
                voters[vote]?.remove(old.address)
                if delegatedStake[vote] == 0 && voters[vote]?.isEmpty != false {
                    delegatedStake[vote] = nil
                    voters[vote] = nil
                }
            }
        }
        if let new, new.staked > 0 || new.vote != nil {
            totalStaked += new.staked
            if let vote = new.vote {
                delegatedStake[vote, default: 0] += new.staked
                voters[vote, default: []].insert(new.address)
            }
        }
    }

    private mutating func insertIntoQueue(_ entry: DelayedQueueEntry) {
        var low = 0
        var high = delayedQueue.count
        while low < high {
            let middle = (low + high) / 2
            if delayedQueue[middle] < entry { low = middle + 1 } else { high = middle }
        }
        delayedQueue.insert(entry, at: low)
    }

    private mutating func removeFromQueue(_ entry: DelayedQueueEntry) {
        if let index = delayedQueue.firstIndex(of: entry) { delayedQueue.remove(at: index) }
    }

    // MARK: Recording (undo for fork switches, redo for the journal)

    /// Starts recording the previous value of every key written from now on.
    public mutating func beginRecording() {
        precondition(recorded == nil, "recording already in progress")
        recorded = [:]
    }

    /// Stops recording and returns the changes since `beginRecording`, sorted by key.
    public mutating func endRecording() -> StateChangeSet {
        guard let recorded else { preconditionFailure("endRecording without beginRecording") }
        self.recorded = nil
        let keys = recorded.keys.map { ($0.bytes, $0) }.sorted { $0.0.lexicographicallyPrecedes($1.0) }.map(\.1)
        var undo: [StateEntry] = []
        var redo: [StateEntry] = []
        undo.reserveCapacity(keys.count)
        redo.reserveCapacity(keys.count)
        for key in keys {
            undo.append(StateEntry(key: key, value: recorded[key]!))
            redo.append(StateEntry(key: key, value: value(key)))
        }
        return StateChangeSet(undo: undo, redo: redo)
    }

    /// Drops the recording without a change set (the writes stay).
    public mutating func abandonRecording() {
        recorded = nil
    }

    public var isRecording: Bool { recorded != nil }
}

extension LedgerState {
    /// Seconds-based parameters in the chain's millisecond clock.
    public func slotStart(_ slot: UInt64) -> UInt64 { genesisTime + slot * parameters.slotMilliseconds }

    /// The slot containing unix millisecond `time` (0 before genesis).
    public func slot(at time: UInt64) -> UInt64 {
        time <= genesisTime ? 0 : (time - genesisTime) / parameters.slotMilliseconds
    }

    /// Balance plus unbonded funds already released at `time`: what the account can spend now.
    public func spendableBalance(of address: Address, at time: UInt64) -> Amount {
        guard let account = accounts[address] else { return 0 }
        return account.unbonding.filter { $0.releaseAt <= time }.reduce(account.balance) { $0 &+ $1.amount }
    }

    /// A new account for `address` controlled by the address's key, continuing the nonce of a deleted account
    /// there (so the deleted account's old transactions can never replay). The caller writes it and clears the
    /// retired record.
    public func newAccount(_ address: Address, createdAtHeight height: UInt64) -> Account {
        var account = Account(address: address, key: address.publicKey, createdAtHeight: height)
        account.nonce = retiredNonces[address] ?? 0
        return account
    }

    /// What payment fields hold of the supply: bonds and locked deposits (every coin is in an account or here).
    public var heldInFields: Amount { fields.values.reduce(Amount(0)) { $0 &+ $1.held } }

    /// The next nonce a transaction paid by `address` must carry.
    public func nextNonce(of address: Address) -> UInt64 {
        accounts[address]?.nonce ?? retiredNonces[address] ?? 0
    }
}
