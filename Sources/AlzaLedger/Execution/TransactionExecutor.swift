import AlzaCore

/// What applying one transaction did.
public struct TransactionOutcome: Hashable, Sendable {
    public var fee: Amount
    /// Set when the transaction was delayed: the id of its pending action.
    public var delayedActionId: UInt64?
    /// Commitments of the field snapshots it settled.
    public var settledCommitments: [Hash] = []

    public init(fee: Amount, delayedActionId: UInt64?) {
        self.fee = fee
        self.delayedActionId = delayedActionId
    }
}

/// Applies one transaction to a context (DESIGN.md §3, §4): chain id, size, expiry, fee and nonce of the payer,
/// authorizations against the verified signing keys (every signature must be needed), the accounts' delay rules,
/// then either the messages or, for a delayed transaction, a pending delayed action.
enum TransactionExecutor {
    static func execute(_ transaction: SignedTransaction, signers: Set<PublicKey>, allowCoinbase: Bool,
                        context: inout TransactionContext) throws(LedgerError) -> TransactionOutcome {
        let parameters = context.parameters
        let header = transaction.header
        guard header.chainId == context.chainId else {
            throw .wrongChain(expected: context.chainId, actual: header.chainId)
        }
        guard transaction.encodedSize <= parameters.maxTransactionBytes else {
            throw .transactionTooLarge(size: transaction.encodedSize, limit: parameters.maxTransactionBytes)
        }
        if transaction.transaction.isSystem {
            return try executeSystem(transaction, allowCoinbase: allowCoinbase, context: &context)
        }
        for message in transaction.messages {
            guard !message.code.isSystem else { throw .systemTransactionMisplaced(code: message.code) }
            guard !message.authorization.isEmpty else {
                throw .malformedTransaction("every \(message.code) message needs an authorization")
            }
        }
        let time = context.block.time
        guard header.expiration >= time else { throw .expired(expiration: header.expiration, blockTime: time) }
        let latest = time + parameters.maxTransactionLifetimeSeconds * 1000
        guard header.expiration <= latest else { throw .expirationTooFar(expiration: header.expiration, limit: latest) }
        guard header.delaySeconds <= parameters.maxDelaySeconds else {
            throw .delayTooLong(requested: header.delaySeconds, limit: parameters.maxDelaySeconds)
        }
        guard header.fee >= parameters.minimumFee else { throw .feeTooLow(minimum: parameters.minimumFee, offered: header.fee) }

        // The payer: first authorizer of the first message; pays the fee and owns the nonce.
        guard let payerAddress = transaction.transaction.payer else { throw .malformedTransaction("no payer") }
        guard transaction.messages[0].scope.contains(payerAddress) else {
            throw .outOfScope(account: payerAddress, code: transaction.messages[0].code)
        }
        let delayed = header.delaySeconds > 0
        context.enterBookkeeping(for: [payerAddress], global: delayed)
        var payer = try context.existingAccount(payerAddress)
        guard header.nonce == payer.nonce else {
            throw .badNonce(account: payerAddress, expected: payer.nonce, actual: header.nonce)
        }
        guard payer.balance >= header.fee else {
            throw .insufficientBalance(account: payerAddress, needed: header.fee, available: payer.balance)
        }
        payer.balance -= header.fee
        payer.nonce += 1
        try context.setAccount(payer)

        // Authorizations and the delays the authorizing accounts demand.
        var usedKeys = Set<PublicKey>()
        var requiredDelay: UInt32 = 0
        var requiredBy: MessageCode = transaction.messages[0].code
        for message in transaction.messages {
            context.enter(message)
            for authorization in message.authorization {
                let account = try context.existingAccount(authorization.account)
                try checkAuthorization(authorization, of: account, signers: signers, used: &usedKeys)
                let delay = account.minimumDelay(for: message.code)
                if delay > requiredDelay {
                    requiredDelay = delay
                    requiredBy = message.code
                }
            }
        }
        if let unused = signers.subtracting(usedKeys).sorted().first { throw .unusedSignature(key: unused) }
        guard header.delaySeconds >= requiredDelay else {
            throw .delayTooShort(code: requiredBy, required: requiredDelay, actual: header.delaySeconds)
        }

        if delayed {
            for message in transaction.messages { _ = try message.payload() }
            context.enterBookkeeping(for: [payerAddress], global: true)
            var payerAfter = try context.existingAccount(payerAddress)
            guard Int(payerAfter.pendingDelayed) < parameters.maxDelayedPerAccount else {
                throw .tooManyDelayed(account: payerAddress, limit: parameters.maxDelayedPerAccount)
            }
            var chain = context.chain
            let id = chain.nextDelayedId
            chain.nextDelayedId += 1
            context.setChain(chain)
            payerAfter.pendingDelayed += 1
            try context.setAccount(payerAfter)
            let action = DelayedAction(id: id, transactionId: transaction.id, payer: payerAddress,
                                       messages: transaction.messages, signers: signers.sorted(),
                                       executeAt: time + UInt64(header.delaySeconds) * 1000,
                                       includedAtHeight: context.block.height)
            try context.setDelayedAction(action, id: id, payer: payerAddress)
            return TransactionOutcome(fee: header.fee, delayedActionId: id)
        }
        for message in transaction.messages {
            try MessageExecutor.execute(message, transactionId: transaction.id, in: &context)
        }
        return TransactionOutcome(fee: header.fee, delayedActionId: nil)
    }

    /// Owner satisfies owner and active; active satisfies active. Marks the signing keys the permission needed.
    static func checkAuthorization(_ authorization: Authorization, of account: Account, signers: Set<PublicKey>,
                                   used: inout Set<PublicKey>) throws(LedgerError) {
        var satisfied = false
        let levels: [PermissionLevel] = authorization.permission == .owner ? [.owner] : [.active, .owner]
        for level in levels {
            let permission = account.permission(level)
            for entry in permission.keys where signers.contains(entry.key) { used.insert(entry.key) }
            if !satisfied && permission.isSatisfied(by: signers) { satisfied = true }
        }
        guard satisfied else { throw .unauthorized(account: account.address, permission: authorization.permission) }
    }

    /// Coinbase and equivocation evidence: no signatures, no fee, no nonce; valid by content.
    private static func executeSystem(_ transaction: SignedTransaction, allowCoinbase: Bool,
                                      context: inout TransactionContext) throws(LedgerError) -> TransactionOutcome {
        let message = transaction.messages[0]
        guard transaction.signatures.isEmpty, message.authorization.isEmpty, transaction.header.fee == 0,
              transaction.header.nonce == 0, transaction.header.delaySeconds == 0
        else { throw .malformedTransaction("a \(message.code) transaction has no signatures, fee, nonce or delay") }
        if message.code == .coinbase && !allowCoinbase { throw .systemTransactionMisplaced(code: .coinbase) }
        try MessageExecutor.execute(message, transactionId: transaction.id, in: &context)
        return TransactionOutcome(fee: 0, delayedActionId: nil)
    }

    /// Runs a due delayed action: the stored signers must still satisfy every authorization under the accounts'
    /// current permissions, then the messages apply atomically.
    static func executeDelayed(_ action: DelayedAction, context: inout TransactionContext) throws(LedgerError) {
        let signers = Set(action.signers)
        var used = Set<PublicKey>()
        for message in action.messages {
            context.enter(message)
            for authorization in message.authorization {
                let account = try context.existingAccount(authorization.account)
                try checkAuthorization(authorization, of: account, signers: signers, used: &used)
            }
        }
        for message in action.messages {
            try MessageExecutor.execute(message, transactionId: action.transactionId, in: &context)
        }
    }
}
