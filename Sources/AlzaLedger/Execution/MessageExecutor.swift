import AlzaCore

/// Applies one message's payload to a transaction context. By the time it runs, the transaction executor has
/// checked that every `(account, permission)` in the message's authorization is satisfied by the signatures,
/// so here "authorized by X" means "X appears in the authorization list (at the needed level)".
enum MessageExecutor {
    static func execute(_ message: Message, transactionId: Hash, in context: inout TransactionContext) throws(LedgerError) {
        let payload = try message.payload()
        context.enter(message)
        for authorization in message.authorization where !message.scope.contains(authorization.account) {
            throw .outOfScope(account: authorization.account, code: message.code)
        }
        switch payload {
        case .transfer(let inputs, let outputs, _):
            try transfer(inputs: inputs, outputs: outputs, message: message, context: &context)
        case .accountRegister(let address, let owner, let active, let name):
            try registerAccount(address, owner: owner, active: active, name: name, message: message, context: &context)
        case .accountUpdate(let name, let delayRules):
            try updateAccount(name: name, delayRules: delayRules, message: message, context: &context)
        case .accountDelete:
            try deleteAccount(message: message, context: &context)
        case .permissionUpdate(let level, let permission):
            var account = try context.existingAccount(try authorizer(of: message, level: .owner))
            if level == .owner { account.owner = permission } else { account.active = permission }
            try context.setAccount(account)
        case .stake(let amount):
            var account = try context.existingAccount(try authorizer(of: message))
            guard amount > 0 else { throw .invalidPayload(code: .stake, reason: "amount must be positive") }
            guard account.balance >= amount else {
                throw .insufficientBalance(account: account.address, needed: amount, available: account.balance)
            }
            account.balance -= amount
            account.staked = try Amounts.add(account.staked, amount)
            try context.setAccount(account)
        case .unstake(let amount):
            try unstake(amount, message: message, context: &context)
        case .delegateVote(let producer):
            var account = try context.existingAccount(try authorizer(of: message))
            if let producer {
                // The producer is in the vote's scope: a vote orders after any change to it in the same block.
                guard let info = try context.producer(producer) else { throw .notAProducer(producer) }
                guard info.status == .active || info.status == .inactive else {
                    throw .producerState(account: producer, reason: "is \(info.status) and cannot receive votes")
                }
            }
            account.vote = producer
            try context.setAccount(account)
        case .producerRegister(let signingKey, let url, let timeZone):
            try registerProducer(signingKey: signingKey, url: url, timeZone: timeZone, message: message, context: &context)
        case .producerUnregister:
            let address = try authorizer(of: message)
            guard var producer = try context.producer(address) else { throw .notAProducer(address) }
            guard producer.status == .active || producer.status == .inactive else {
                throw .producerState(account: address, reason: "is already \(producer.status)")
            }
            producer.status = .unregistered
            try context.setProducer(producer)
        case .producerRecover:
            let address = try authorizer(of: message)
            guard var producer = try context.producer(address) else { throw .notAProducer(address) }
            guard producer.status == .inactive else {
                throw .producerState(account: address, reason: "is \(producer.status); only an inactive producer recovers")
            }
            producer.status = .active
            producer.activeSinceSlot = context.block.slot
            try context.setProducer(producer)
        case .equivocationEvidence(let first, let second):
            try recordEquivocation(first, second, transactionId: transactionId, context: &context)
        case .cancelDelayed(let id):
            guard let action = context.delayedAction(id) else { throw .unknownDelayedAction(id) }
            guard message.authorization.contains(where: { $0.account == action.payer }) else {
                throw .missingAuthorization(account: action.payer, code: .cancelDelayed)
            }
            var payer = try context.existingAccount(action.payer)
            payer.pendingDelayed = payer.pendingDelayed > 0 ? payer.pendingDelayed - 1 : 0
            try context.setAccount(payer)
            try context.setDelayedAction(nil, id: id, payer: action.payer)
        case .privilegeGrant(let target, let privileges), .privilegeRevoke(let target, let privileges):
            let actor = try authorizer(of: message)
            try requirePrivilege(.privilegeAdmin, of: actor, context: &context)
            var account = try context.existingAccount(target)
            if message.code == .privilegeGrant {
                account.privileges.formUnion(privileges)
            } else {
                account.privileges.subtract(privileges)
            }
            try context.setAccount(account)
            context.audit(actor: actor, target: target, transaction: transactionId,
                          detail: "\(message.code) \(privileges)")
        case .memberRegister(let id, let kind, let name, let key):
            let actor = try authorizer(of: message)
            try requirePrivilege(.memberAdmin, of: actor, context: &context)
            guard try context.member(id) == nil else { throw .memberExists(id) }
            guard !name.isEmpty else { throw .invalidPayload(code: .memberRegister, reason: "member name is empty") }
            try context.setMember(Member(id: id, kind: kind, name: name, key: key, registeredBy: actor,
                                         registeredAtHeight: context.block.height))
            context.audit(actor: actor, target: id, transaction: transactionId, detail: "registered \(kind) \"\(name)\"")
        case .coinbase(let round, let payouts):
            try payCoinbase(round: round, payouts: payouts, context: &context)
        case .fieldClaim(let nonce, let leaderKey, let bond):
            try FieldExecutor.claim(nonce: nonce, leaderKey: leaderKey, bond: bond, leader: try authorizer(of: message),
                                    context: &context)
        case .fieldOpen(let field, let deposits, let challengeSeconds, let locks, let consents):
            try FieldExecutor.open(field, deposits: deposits, challengeSeconds: challengeSeconds, locks: locks, consents: consents,
                                   message: message,
                                   context: &context)
        case .fieldClose(let field, let snapshot, let closeBy):
            try FieldExecutor.close(field, snapshot, closeBy: closeBy, message: message, context: &context)
        case .fieldSoloClose(let field, let snapshot):
            try FieldExecutor.soloClose(field, snapshot, message: message, context: &context)
        case .fieldDispute(let field, let claim):
            try FieldExecutor.dispute(field, claim, message: message, context: &context)
        case .fieldRespond(let field, let snapshot, let proof):
            try FieldExecutor.respond(field, snapshot, proof: proof, message: message, context: &context)
        case .fieldEquivocation(let field, let first, let second):
            try FieldExecutor.equivocation(field, first, second, message: message, context: &context)
        case .fieldFinalize(let field):
            try FieldExecutor.finalize(field, context: &context)
        case .fieldDeposit(let field, let amount):
            try FieldExecutor.deposit(field, amount: amount, message: message, context: &context)
        case .fieldWithdraw(let field, let snapshot):
            try FieldExecutor.anchor(field, snapshot, releasing: .withdrawals, message: message, context: &context)
        case .fieldLockSettle(let field, let snapshot):
            try FieldExecutor.anchor(field, snapshot, releasing: .locks, message: message, context: &context)
        }
    }

    /// The first authorizer of a message, which must hold at least `level`.
    private static func authorizer(of message: Message, level: PermissionLevel = .active) throws(LedgerError) -> Address {
        guard let first = message.authorization.first else {
            throw .invalidPayload(code: message.code, reason: "the message has no authorizer")
        }
        if level == .owner && first.permission != .owner {
            throw .unauthorized(account: first.account, permission: .owner)
        }
        return first.account
    }

    private static func requirePrivilege(_ privilege: Privileges, of actor: Address,
                                         context: inout TransactionContext) throws(LedgerError) {
        guard try context.existingAccount(actor).privileges.contains(privilege) else {
            throw .notPrivileged(account: actor, privilege: privilege)
        }
    }

    // MARK: Transfers

    private static func transfer(inputs: [AmountEntry], outputs: [AmountEntry], message: Message,
                                 context: inout TransactionContext) throws(LedgerError) {
        guard !inputs.isEmpty, !outputs.isEmpty else { throw .invalidTransfer("needs at least one input and one output") }
        guard !hasDuplicate(inputs.map(\.account)) else { throw .invalidTransfer("an input account repeats") }
        guard !hasDuplicate(outputs.map(\.account)) else { throw .invalidTransfer("an output account repeats") }
        guard inputs.allSatisfy({ $0.amount > 0 }), outputs.allSatisfy({ $0.amount > 0 }) else {
            throw .invalidTransfer("amounts must be positive")
        }
        let totalIn = try Amounts.sum(inputs.map(\.amount))
        let totalOut = try Amounts.sum(outputs.map(\.amount))
        guard totalIn == totalOut else { throw .invalidTransfer("inputs sum to \(totalIn), outputs to \(totalOut)") }
        for output in outputs where !message.recipients.contains(output.account) {
            throw .invalidTransfer("output \(output.account.short) is not among the recipients")
        }
        for input in inputs {
            guard message.authorization.contains(where: { $0.account == input.account }) else {
                throw .missingAuthorization(account: input.account, code: .transfer)
            }
            var account = try context.existingAccount(input.account)
            guard account.balance >= input.amount else {
                throw .insufficientBalance(account: input.account, needed: input.amount, available: account.balance)
            }
            account.balance -= input.amount
            try context.setAccount(account)
        }
        for output in outputs {
            guard !output.account.isCoinbase else { throw .invalidTransfer("0x0 cannot receive transfers") }
            // Paying an address that has no account creates it, controlled by the address's key.
            var account = try accountCreatingIfMissing(output.account, context: &context)
            account.balance = try Amounts.add(account.balance, output.amount)
            try context.setAccount(account)
        }
    }

    /// Whether `values` repeats an element (quadratic: transfer lists are short, and this allocates nothing).
    private static func hasDuplicate(_ values: [Address]) -> Bool {
        for (index, value) in values.enumerated() where values[(index + 1)...].contains(value) { return true }
        return false
    }

    // MARK: Accounts

    /// The account at `address`, or a new one controlled by the address's key (continuing a retired nonce).
    static func accountCreatingIfMissing(_ address: Address, context: inout TransactionContext) throws(LedgerError) -> Account {
        if let existing = try context.account(address) { return existing }
        var account = Account(address: address, key: address.publicKey, createdAtHeight: context.block.height)
        account.nonce = try context.takeRetiredNonce(address)
        return account
    }

    private static func registerAccount(_ address: Address, owner: Permission, active: Permission, name: AccountName?,
                                        message: Message, context: inout TransactionContext) throws(LedgerError) {
        _ = try context.existingAccount(try authorizer(of: message))
        guard !address.isCoinbase else { throw .invalidPayload(code: .accountRegister, reason: "0x0 is reserved") }
        guard try context.account(address) == nil else { throw .accountExists(address) }
        var account = Account(address: address, owner: owner, active: active, name: name,
                              createdAtHeight: context.block.height)
        account.nonce = try context.takeRetiredNonce(address)
        if let name {
            guard context.nameOwner(name) == nil else { throw .nameTaken(name.value) }
            context.setName(name, owner: address)
        }
        try context.setAccount(account)
    }

    private static func updateAccount(name: AccountName??, delayRules: [Account.DelayRule]?, message: Message,
                                      context: inout TransactionContext) throws(LedgerError) {
        let address = try authorizer(of: message, level: delayRules == nil ? .active : .owner)
        var account = try context.existingAccount(address)
        if let name {
            if let old = account.name { context.setName(old, owner: nil) }
            if let new = name {
                guard context.nameOwner(new) == nil else { throw .nameTaken(new.value) }
                context.setName(new, owner: address)
            }
            account.name = name
        }
        if let delayRules {
            guard Set(delayRules.map(\.code)).count == delayRules.count else {
                throw .invalidPayload(code: .accountUpdate, reason: "a code appears twice in the delay rules")
            }
            let limit = context.parameters.maxDelaySeconds
            if let tooLong = delayRules.first(where: { $0.minimumSeconds > limit }) {
                throw .delayTooLong(requested: tooLong.minimumSeconds, limit: limit)
            }
            account.delayRules = delayRules.filter { $0.minimumSeconds > 0 }.sorted { $0.code.rawValue < $1.code.rawValue }
        }
        try context.setAccount(account)
    }

    private static func deleteAccount(message: Message, context: inout TransactionContext) throws(LedgerError) {
        let address = try authorizer(of: message, level: .owner)
        let account = try context.existingAccount(address)
        // The payer's fee and nonce were charged before the messages ran, so the balance seen here is final.
        guard account.balance == 0 else { throw .accountNotEmpty(account: address, reason: "balance is not zero") }
        guard account.staked == 0, account.unbonding.isEmpty else {
            throw .accountNotEmpty(account: address, reason: "funds are staked or unbonding")
        }
        guard account.pendingDelayed == 0 else {
            throw .accountNotEmpty(account: address, reason: "delayed actions are pending")
        }
        if let producer = try context.producer(address), producer.status == .active || producer.status == .inactive {
            throw .accountNotEmpty(account: address, reason: "it is a registered producer (unregister first)")
        }
        if let name = account.name { context.setName(name, owner: nil) }
        try context.removeAccount(address, retiringNonce: account.nonce)
    }

    private static func unstake(_ amount: Amount, message: Message, context: inout TransactionContext) throws(LedgerError) {
        var account = try context.existingAccount(try authorizer(of: message))
        guard amount > 0 else { throw .invalidPayload(code: .unstake, reason: "amount must be positive") }
        guard account.staked >= amount else {
            throw .insufficientBalance(account: account.address, needed: amount, available: account.staked)
        }
        let releaseAt = context.block.time + context.parameters.unbondingSeconds * 1000
        account.staked -= amount
        if let index = account.unbonding.firstIndex(where: { $0.releaseAt == releaseAt }) {
            account.unbonding[index].amount = try Amounts.add(account.unbonding[index].amount, amount)
        } else {
            guard account.unbonding.count < context.parameters.maxUnbondingEntries else {
                throw .unbondingLimit(account: account.address, limit: context.parameters.maxUnbondingEntries)
            }
            account.unbonding.append(Account.Unbonding(amount: amount, releaseAt: releaseAt))
            account.unbonding.sort { $0.releaseAt < $1.releaseAt }
        }
        try context.setAccount(account)
    }

    // MARK: Producers

    private static func registerProducer(signingKey: PublicKey, url: String, timeZone: Int8, message: Message,
                                         context: inout TransactionContext) throws(LedgerError) {
        let address = try authorizer(of: message)
        _ = try context.existingAccount(address)
        guard (-12...14).contains(timeZone) else {
            throw .invalidPayload(code: .producerRegister, reason: "time zone \(timeZone) is outside -12...14")
        }
        if let existing = try context.producer(address) {
            guard existing.status == .unregistered else {
                throw .producerState(account: address, reason: "is already registered (\(existing.status))")
            }
            var producer = existing
            producer.signingKey = signingKey
            producer.url = url
            producer.timeZone = timeZone
            producer.status = .active
            producer.activeSinceSlot = context.block.slot
            try context.setProducer(producer)
        } else {
            try context.setProducer(ProducerInfo(account: address, signingKey: signingKey, url: url, timeZone: timeZone,
                                                 slot: context.block.slot))
        }
    }

    /// Two valid headers by one producer for one slot: the producer is removed for good (DESIGN.md §4).
    private static func recordEquivocation(_ first: SignedBlockHeader, _ second: SignedBlockHeader, transactionId: Hash,
                                           context: inout TransactionContext) throws(LedgerError) {
        let producerAddress = first.header.producer
        guard second.header.producer == producerAddress else { throw .invalidEvidence("the headers name different producers") }
        guard first.header.slot == second.header.slot else { throw .invalidEvidence("the headers are for different slots") }
        guard first.id != second.id else { throw .invalidEvidence("the two headers are the same block") }
        guard var producer = try context.producer(producerAddress) else { throw .notAProducer(producerAddress) }
        let chainId = context.chainId
        guard first.isSigned(by: producer.signingKey, chainId: chainId),
              second.isSigned(by: producer.signingKey, chainId: chainId)
        else { throw .invalidEvidence("a header is not signed by the producer's key") }
        guard !context.evidenceRecorded(producer: producerAddress, slot: first.header.slot) else {
            throw .duplicateEvidence(producer: producerAddress, slot: first.header.slot)
        }
        context.recordEvidence(producer: producerAddress, slot: first.header.slot, transaction: transactionId)
        producer.status = .removedForEquivocation
        try context.setProducer(producer)
    }

    // MARK: Rewards

    private static func payCoinbase(round: UInt64, payouts: [AmountEntry], context: inout TransactionContext) throws(LedgerError) {
        var total: Amount = 0
        for payout in payouts {
            guard payout.amount > 0, !payout.account.isCoinbase else {
                throw .coinbaseMismatch("payouts must be positive and not to 0x0")
            }
            var account = try accountCreatingIfMissing(payout.account, context: &context)
            account.balance = try Amounts.add(account.balance, payout.amount)
            try context.setAccount(account)
            total = try Amounts.add(total, payout.amount)
        }
        var chain = context.chain
        chain.totalSupply = try Amounts.add(chain.totalSupply, total)
        chain.totalRewardsPaid = try Amounts.add(chain.totalRewardsPaid, total)
        chain.rewardedRound = round
        context.setChain(chain)
    }
}
