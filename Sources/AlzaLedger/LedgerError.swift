import AlzaCore

/// Why the ledger refused a transaction, a block, a genesis file or an input. Each case carries the values an
/// operator or wallet needs to act (expected against actual).
public enum LedgerError: AlzaError, Equatable {
    // Inputs
    case invalidAddress(String)
    case invalidName(String)
    case invalidAmount(String)
    case invalidPermission(String)
    case invalidPrivilege(String)
    case invalidGenesis(String)
    case overflow(String)

    // Transactions
    case wrongChain(expected: Hash, actual: Hash)
    case expired(expiration: UInt64, blockTime: UInt64)
    case expirationTooFar(expiration: UInt64, limit: UInt64)
    case badNonce(account: Address, expected: UInt64, actual: UInt64)
    case feeTooLow(minimum: Amount, offered: Amount)
    case insufficientBalance(account: Address, needed: Amount, available: Amount)
    case invalidSignature(key: PublicKey)
    case unusedSignature(key: PublicKey)
    case unauthorized(account: Address, permission: PermissionLevel)
    case missingAuthorization(account: Address, code: MessageCode)
    case outOfScope(account: Address, code: MessageCode)
    case unknownAccount(Address)
    case accountExists(Address)
    case nameTaken(String)
    case invalidPayload(code: MessageCode, reason: String)
    case invalidTransfer(String)
    case delayTooShort(code: MessageCode, required: UInt32, actual: UInt32)
    case delayTooLong(requested: UInt32, limit: UInt32)
    case tooManyDelayed(account: Address, limit: Int)
    case unknownDelayedAction(UInt64)
    case notPrivileged(account: Address, privilege: Privileges)
    case notAProducer(Address)
    case producerState(account: Address, reason: String)
    case invalidEvidence(String)
    case duplicateEvidence(producer: Address, slot: UInt64)
    case accountNotEmpty(account: Address, reason: String)
    case transactionTooLarge(size: Int, limit: Int)
    case systemTransactionMisplaced(code: MessageCode)
    case coinbaseMismatch(String)
    case unbondingLimit(account: Address, limit: Int)
    case memberExists(Address)
    case malformedTransaction(String)

    // Payment fields
    case unknownField(FieldId)
    case fieldExists(FieldId)
    /// The field is not in a state that allows the message (e.g. closing an unopened field, a dispute after the window).
    case fieldState(field: FieldId, reason: String)
    /// A posted snapshot that is not fully signed, does not match its balances, or creates coins.
    case invalidFieldSnapshot(field: FieldId, reason: String)
    /// A lock from another field (D34) that the target's opening cannot take: not signed, not receipted, not for
    /// this field, or more than the source leader's bond answers for.
    case invalidFieldLock(source: FieldId, reason: String)
    /// A `field-withdraw` whose snapshot records no withdrawal beyond what was paid, or a `field-lock-settle`
    /// whose snapshot frees none of the leader's bond.
    case nothingToSettle(field: FieldId, reason: String)

    // Blocks
    case malformedBlock(String)
    case blockTooLarge(transactions: Int, bytes: Int)
    case transactionRootMismatch(expected: Hash, actual: Hash)
    case stateRootMismatch(expected: Hash, actual: Hash)
    case transactionFailed(index: Int, id: Hash, reason: String)

    public var code: String {
        switch self {
        case .invalidAddress: "ledger.invalid-address"
        case .invalidName: "ledger.invalid-name"
        case .invalidAmount: "ledger.invalid-amount"
        case .invalidPermission: "ledger.invalid-permission"
        case .invalidPrivilege: "ledger.invalid-privilege"
        case .invalidGenesis: "ledger.invalid-genesis"
        case .overflow: "ledger.overflow"
        case .wrongChain: "tx.wrong-chain"
        case .expired: "tx.expired"
        case .expirationTooFar: "tx.expiration-too-far"
        case .badNonce: "tx.bad-nonce"
        case .feeTooLow: "tx.fee-too-low"
        case .insufficientBalance: "tx.insufficient-balance"
        case .invalidSignature: "tx.invalid-signature"
        case .unusedSignature: "tx.unused-signature"
        case .unauthorized: "tx.unauthorized"
        case .missingAuthorization: "tx.missing-authorization"
        case .outOfScope: "tx.out-of-scope"
        case .unknownAccount: "tx.unknown-account"
        case .accountExists: "tx.account-exists"
        case .nameTaken: "tx.name-taken"
        case .invalidPayload: "tx.invalid-payload"
        case .invalidTransfer: "tx.invalid-transfer"
        case .delayTooShort: "tx.delay-too-short"
        case .delayTooLong: "tx.delay-too-long"
        case .tooManyDelayed: "tx.too-many-delayed"
        case .unknownDelayedAction: "tx.unknown-delayed-action"
        case .notPrivileged: "tx.not-privileged"
        case .notAProducer: "tx.not-a-producer"
        case .producerState: "tx.producer-state"
        case .invalidEvidence: "tx.invalid-evidence"
        case .duplicateEvidence: "tx.duplicate-evidence"
        case .accountNotEmpty: "tx.account-not-empty"
        case .transactionTooLarge: "tx.too-large"
        case .systemTransactionMisplaced: "tx.system-transaction-misplaced"
        case .coinbaseMismatch: "tx.coinbase-mismatch"
        case .unbondingLimit: "tx.unbonding-limit"
        case .memberExists: "tx.member-exists"
        case .malformedTransaction: "tx.malformed"
        case .unknownField: "field.unknown"
        case .fieldExists: "field.exists"
        case .fieldState: "field.state"
        case .invalidFieldSnapshot: "field.invalid-snapshot"
        case .invalidFieldLock: "field.invalid-lock"
        case .nothingToSettle: "field.nothing-to-settle"
        case .malformedBlock: "block.malformed"
        case .blockTooLarge: "block.too-large"
        case .transactionRootMismatch: "block.transaction-root-mismatch"
        case .stateRootMismatch: "block.state-root-mismatch"
        case .transactionFailed: "block.transaction-failed"
        }
    }

    public var description: String {
        switch self {
        case .invalidAddress(let text): "\"\(text)\" is not an address (alza1 followed by 64 hex digits, or 0x0)"
        case .invalidName(let text):
            "\"\(text)\" is not a valid account name (1-32 of a-z 0-9 . -, starting with a letter, not alza1...)"
        case .invalidAmount(let text): "\"\(text)\" is not an amount (ALZA with at most 8 decimals)"
        case .invalidPermission(let reason): "invalid permission: \(reason)"
        case .invalidPrivilege(let name): "unknown privilege \"\(name)\" (privilegeAdmin, memberAdmin)"
        case .invalidGenesis(let reason): "invalid genesis: \(reason)"
        case .overflow(let expression): "amount arithmetic overflows: \(expression)"
        case .wrongChain(let expected, let actual):
            "transaction is for chain \(actual.short), this node runs chain \(expected.short)"
        case .expired(let expiration, let blockTime):
            "transaction expired at \(expiration) ms; the chain is at \(blockTime) ms"
        case .expirationTooFar(let expiration, let limit):
            "transaction expiration \(expiration) ms is beyond the allowed \(limit) ms"
        case .badNonce(let account, let expected, let actual):
            "nonce \(actual) for \(account.short) is wrong; the account's next nonce is \(expected)"
        case .feeTooLow(let minimum, let offered): "fee \(offered) is below the minimum fee \(minimum)"
        case .insufficientBalance(let account, let needed, let available):
            "\(account.short) has \(Amounts.format(available)) ALZA, \(Amounts.format(needed)) needed"
        case .invalidSignature(let key): "signature by key \(key.hex.prefix(16)) does not verify"
        case .unusedSignature(let key):
            "signature by key \(key.hex.prefix(16)) is not needed by any authorization (remove it)"
        case .unauthorized(let account, let permission):
            "the signatures do not satisfy the \(permission) permission of \(account.short)"
        case .missingAuthorization(let account, let code):
            "\(code) needs the authorization of \(account.short)"
        case .outOfScope(let account, let code):
            "\(code) touches \(account.short), which is not in the message's scope"
        case .unknownAccount(let address): "account \(address) does not exist"
        case .accountExists(let address): "account \(address) already exists"
        case .nameTaken(let name): "the name \"\(name)\" is already registered"
        case .invalidPayload(let code, let reason): "invalid \(code) data: \(reason)"
        case .invalidTransfer(let reason): "invalid transfer: \(reason)"
        case .delayTooShort(let code, let required, let actual):
            "\(code) requires a delay of at least \(required) s; the transaction asks \(actual) s"
        case .delayTooLong(let requested, let limit): "delay of \(requested) s exceeds the limit of \(limit) s"
        case .tooManyDelayed(let account, let limit):
            "\(account.short) already has \(limit) pending delayed actions (the limit)"
        case .unknownDelayedAction(let id): "no pending delayed action \(id)"
        case .notPrivileged(let account, let privilege):
            "\(account.short) does not hold the \(privilege) privilege"
        case .notAProducer(let account): "\(account.short) is not a registered producer"
        case .producerState(let account, let reason): "producer \(account.short): \(reason)"
        case .invalidEvidence(let reason): "invalid equivocation evidence: \(reason)"
        case .duplicateEvidence(let producer, let slot):
            "equivocation of \(producer.short) at slot \(slot) is already recorded"
        case .accountNotEmpty(let account, let reason): "cannot delete \(account.short): \(reason)"
        case .transactionTooLarge(let size, let limit): "transaction is \(size) bytes; the limit is \(limit)"
        case .systemTransactionMisplaced(let code): "a \(code) transaction is not allowed here"
        case .coinbaseMismatch(let reason): "coinbase does not match the computed rewards: \(reason)"
        case .unbondingLimit(let account, let limit):
            "\(account.short) already has \(limit) unbonding entries (the limit)"
        case .memberExists(let id): "member \(id.short) is already registered"
        case .malformedTransaction(let reason): "malformed transaction: \(reason)"
        case .unknownField(let field): "no field \(field) on chain"
        case .fieldExists(let field): "field \(field) is already claimed"
        case .fieldState(let field, let reason): "field \(field): \(reason)"
        case .invalidFieldSnapshot(let field, let reason): "field \(field): invalid snapshot: \(reason)"
        case .invalidFieldLock(let source, let reason): "lock from field \(source): \(reason)"
        case .nothingToSettle(let field, let reason): "field \(field): \(reason)"
        case .malformedBlock(let reason): "malformed block: \(reason)"
        case .blockTooLarge(let transactions, let bytes):
            "block is too large (\(transactions) transactions, \(bytes) bytes)"
        case .transactionRootMismatch(let expected, let actual):
            "transaction root \(actual.short) does not match the header's \(expected.short)"
        case .stateRootMismatch(let expected, let actual):
            "state root after the block is \(actual.short), the header says \(expected.short)"
        case .transactionFailed(let index, let id, let reason): "transaction \(index) (\(id.short)) failed: \(reason)"
        }
    }
}
