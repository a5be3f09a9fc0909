import AlzaCore

/// The state one transaction executes against: reads fall through an overlay of its own writes to a snapshot
/// of the state, and writes go to the overlay only. The overlay becomes part of the state only if the whole
/// transaction succeeds (atomicity), and transactions with disjoint scopes can run at once on one snapshot.
///
/// Scope is enforced here: while a message runs, any access to an account-owned record (account, producer,
/// member) of an account outside the message's `scope` fails with `outOfScope`.
struct TransactionContext {
    /// Read without reference counting: the caller keeps the snapshot alive for the context's lifetime. (Copying
    /// the state into every context would retain a dozen shared buffers per transaction, and cores executing a
    /// wave in parallel would then fight over those reference counts.)
    unowned(unsafe) let snapshot: StateSnapshot
    let block: BlockContext
    /// This transaction's writes, newest value per key. A transaction touches a handful of records, so a
    /// linear scan beats hashing enum keys into a dictionary.
    private var overlay: [StateEntry] = []
    /// Scope of the message running now (a handful of accounts: an array beats a set here).
    private var scope: [Address] = []
    private var code: MessageCode = .transfer
    /// Messages of codes that write global state may touch chain-wide records.
    private var mayWriteGlobal = false
    /// Commitments of the field snapshots this transaction settled, in order (the block's field root is over them).
    private(set) var settledCommitments: [Hash] = []

    init(snapshot: StateSnapshot, block: BlockContext) {
        self.snapshot = snapshot
        self.block = block
    }

    var parameters: ChainParameters { snapshot.parameters }
    var chainId: Hash { snapshot.chainId }

    /// Enters the scope of `message`.
    mutating func enter(_ message: Message) {
        scope = message.scope
        code = message.code
        mayWriteGlobal = message.code.writesGlobalState
    }

    /// Bookkeeping outside any message (fees and nonces of the payer, delayed-action records): a scope of
    /// exactly `accounts`.
    mutating func enterBookkeeping(for accounts: [Address], global: Bool) {
        scope = accounts
        mayWriteGlobal = global
    }

    var entries: [StateEntry] { overlay }

    /// The writes with their commitment updates hashed here (on the worker core that ran the transaction).
    var preparedWrites: [PreparedWrite] { overlay.map(PreparedWrite.init) }

    /// Replaces how the context sees one account, without touching the base state (previewing a queued
    /// transaction as if its predecessors had applied).
    mutating func override(_ account: Account) {
        write(.account(account.address), .account(account))
    }

    // MARK: Raw access

    private func read(_ key: StateKey) -> StateValue? {
        if let local = overlay.first(where: { $0.key == key }) { return local.value }
        return snapshot.value(key)
    }

    private mutating func write(_ key: StateKey, _ value: StateValue?) {
        if let index = overlay.firstIndex(where: { $0.key == key }) {
            overlay[index].value = value
        } else {
            overlay.append(StateEntry(key: key, value: value))
        }
    }

    private func checkScope(_ address: Address) throws(LedgerError) {
        guard scope.contains(address) else { throw .outOfScope(account: address, code: code) }
    }

    private func checkGlobal() {
        precondition(mayWriteGlobal, "\(code) wrote chain-wide state without being marked writesGlobalState")
    }

    // MARK: Accounts

    /// The account at `address` with unbonding released as of the block time, or nil.
    mutating func account(_ address: Address) throws(LedgerError) -> Account? {
        try checkScope(address)
        guard case .account(var account)? = read(.account(address)) else { return nil }
        try account.releaseUnbonding(at: block.time)
        return account
    }

    mutating func existingAccount(_ address: Address) throws(LedgerError) -> Account {
        guard let account = try account(address) else { throw .unknownAccount(address) }
        return account
    }

    mutating func setAccount(_ account: Account) throws(LedgerError) {
        try checkScope(account.address)
        write(.account(account.address), .account(account))
    }

    mutating func removeAccount(_ address: Address, retiringNonce nonce: UInt64) throws(LedgerError) {
        try checkScope(address)
        write(.account(address), nil)
        write(.retiredNonce(address), .retiredNonce(nonce))
    }

    /// The nonce a re-created account continues from (0 for a new one); clears the retired record.
    mutating func takeRetiredNonce(_ address: Address) throws(LedgerError) -> UInt64 {
        try checkScope(address)
        guard case .retiredNonce(let nonce)? = read(.retiredNonce(address)) else { return 0 }
        write(.retiredNonce(address), nil)
        return nonce
    }

    // MARK: Producers and members (owned by their account)

    mutating func producer(_ address: Address) throws(LedgerError) -> ProducerInfo? {
        try checkScope(address)
        guard case .producer(let producer)? = read(.producer(address)) else { return nil }
        return producer
    }

    mutating func setProducer(_ producer: ProducerInfo) throws(LedgerError) {
        try checkScope(producer.account)
        write(.producer(producer.account), .producer(producer))
    }

    mutating func member(_ address: Address) throws(LedgerError) -> Member? {
        try checkScope(address)
        guard case .member(let member)? = read(.member(address)) else { return nil }
        return member
    }

    mutating func setMember(_ member: Member) throws(LedgerError) {
        try checkScope(member.id)
        write(.member(member.id), .member(member))
    }

    // MARK: Delayed actions (owned by their payer)

    func delayedAction(_ id: UInt64) -> DelayedAction? {
        guard case .delayed(let action)? = read(.delayed(id)) else { return nil }
        return action
    }

    mutating func setDelayedAction(_ action: DelayedAction?, id: UInt64, payer: Address) throws(LedgerError) {
        try checkScope(payer)
        write(.delayed(id), action.map(StateValue.delayed))
    }

    // MARK: Payment fields (owned by their scope key, `FieldRules.scopeKey`)

    mutating func field(_ id: FieldId) throws(LedgerError) -> FieldRecord? {
        try checkScope(FieldRules.scopeKey(id))
        guard case .field(let record)? = read(.field(id)) else { return nil }
        return record
    }

    mutating func existingField(_ id: FieldId) throws(LedgerError) -> FieldRecord {
        guard let record = try field(id) else { throw .unknownField(id) }
        return record
    }

    mutating func setField(_ record: FieldRecord) throws(LedgerError) {
        try checkScope(FieldRules.scopeKey(record.id))
        write(.field(record.id), .field(record))
    }

    mutating func recordSettlement(_ commitment: Hash) { settledCommitments.append(commitment) }

    // MARK: Chain-wide records

    var chain: ChainRecord {
        guard case .chain(let record)? = read(.chain) else { preconditionFailure("state has no chain record") }
        return record
    }

    mutating func setChain(_ record: ChainRecord) {
        checkGlobal()
        write(.chain, .chain(record))
    }

    func nameOwner(_ name: AccountName) -> Address? {
        guard case .name(let address)? = read(.name(name)) else { return nil }
        return address
    }

    mutating func setName(_ name: AccountName, owner: Address?) {
        checkGlobal()
        write(.name(name), owner.map(StateValue.name))
    }

    func evidenceRecorded(producer: Address, slot: UInt64) -> Bool {
        read(.evidence(producer: producer, slot: slot)) != nil
    }

    mutating func recordEvidence(producer: Address, slot: UInt64, transaction: Hash) {
        checkGlobal()
        write(.evidence(producer: producer, slot: slot), .evidence(transaction))
    }

    /// Appends to the audit log.
    mutating func audit(actor: Address, target: Address, transaction: Hash, detail: String) {
        checkGlobal()
        var record = chain
        let entry = AuditEntry(sequence: record.nextAuditSequence, actor: actor, code: code, target: target,
                               height: block.height, transactionId: transaction, detail: detail)
        write(.audit(entry.sequence), .audit(entry))
        record.nextAuditSequence += 1
        setChain(record)
    }
}

/// A state read by transaction contexts (see `TransactionContext.snapshot`). Must be released before the state
/// it was made from is written again, or the write copies every table.
final class StateSnapshot: @unchecked Sendable {
    let state: LedgerState
    /// Copied out once: reaching them through `state` on every read copied the whole state struct (a dozen
    /// retains and releases of shared buffers per read, contended between cores).
    let parameters: ChainParameters
    let chainId: Hash

    init(_ state: LedgerState) {
        self.state = state
        parameters = state.parameters
        chainId = state.chainId
    }

    /// Reads one record in place (the state is borrowed, not copied).
    func value(_ key: StateKey) -> StateValue? { state.value(key) }
}
