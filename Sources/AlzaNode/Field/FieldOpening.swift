import AlzaCore
import AlzaField
import AlzaLedger
import Foundation

/// Opening a field led by this node (DESIGN.md §6): claim a new field id with the bond, gather each
/// participant's consent (its signature of the `field-open` transaction) from the node that holds its account,
/// and submit the open once every consent is in. Each step waits until the chain shows it.
struct FieldOpening {
    let chain: ChainService
    let service: FieldService
    let key: SigningKey
    /// How long each step may wait for the chain.
    var stepTimeoutMilliseconds: UInt64 = 30_000

    var account: Address { Address(key.publicKey) }

    struct Plan: Sendable {
        var deposits: [AmountEntry]
        var challengeSeconds: UInt32
        var bond: Amount
        /// Participants whose deposit a lock brings, and the field it is locked in.
        var lockedFrom: [Address: FieldId] = [:]
    }

    /// Checks a request against the field rules before anything is signed.
    static func plan(_ request: NodeAPI.FieldOpenRequest, state: LedgerState, leader: Address) throws(APIFailure) -> Plan {
        func bad(_ message: String) -> APIFailure { APIFailure(status: .badRequest, code: "field.bad-open", message: message) }
        var deposits: [AmountEntry] = []
        var lockedFrom: [Address: FieldId] = [:]
        for participant in request.participants {
            guard let account = state.resolve(participant.account) else { throw .bad(LedgerError.invalidAddress(participant.account)) }
            do {
                deposits.append(AmountEntry(account, try Amounts.parse(participant.deposit)))
            } catch {
                throw .bad(error)
            }
            if let text = participant.lockFrom {
                let source = try APIServer.fieldId(text)
                guard let record = state.fields[source], record.status == .open, record.participants.contains(account) else {
                    throw bad("\(participant.account) is not in open field \(text) to lock from")
                }
                // The source's leader answers for a lock with its bond until a fully signed snapshot shows it.
                let free = record.bond > record.collateralInUse ? record.bond - record.collateralInUse : 0
                guard let amount = deposits.last?.amount, amount <= free else {
                    throw bad("field \(text)'s leader bond answers for \(Amounts.format(free)) ALZA more of locks, less than the deposit")
                }
                lockedFrom[account] = source
            }
        }
        guard (FieldRules.minimumParticipants...FieldRules.maximumParticipants).contains(deposits.count) else {
            throw bad("a field has \(FieldRules.minimumParticipants)...\(FieldRules.maximumParticipants) participants, not \(deposits.count)")
        }
        guard Set(deposits.map(\.account)).count == deposits.count else { throw bad("a participant appears twice") }
        // Consents ride in the payload (D35); what bounds a field is the scope of its opening and of its
        // settlements: the field, its leader, every participant and every field a lock comes from.
        let scope = Set(deposits.map(\.account) + [leader]).count + 1 + Set(lockedFrom.values).count
        guard scope <= Message.maximumScope else {
            throw bad("a field's messages touch at most \(Message.maximumScope) accounts and fields; this one touches \(scope)")
        }
        let challenge = request.challengeSeconds ?? FieldRules.defaultChallengeSeconds
        guard (1...FieldRules.maximumChallengeSeconds).contains(challenge) else {
            throw bad("the challenge window must be 1...\(FieldRules.maximumChallengeSeconds) s")
        }
        let bond: Amount
        do {
            bond = try request.bond.map(Amounts.parse) ?? FieldRules.minimumBond
        } catch {
            throw .bad(error)
        }
        return Plan(deposits: deposits, challengeSeconds: challenge, bond: bond, lockedFrom: lockedFrom)
    }

    /// Claims, gathers consents and opens; returns the field's record once open, with both transaction ids.
    func open(_ plan: Plan) async throws(APIFailure) -> (FieldRecord, claim: Hash, open: Hash) {
        // Every participant's node must be known before the bond is locked in a claim.
        try await waitForHosts(of: plan.deposits.map(\.account).filter { $0 != account })
        let nonce = ChainService.now()
        let field = FieldId(leader: key.publicKey, nonce: nonce)
        let claim = try await submit(sign(Transaction(header: await header(),
                                                      messages: [Message(.fieldClaim(nonce: nonce, leaderKey: key.publicKey, bond: plan.bond),
                                                                         authorizer: account)]), extra: []))
        _ = try await waitFor(field, "claimed") { $0.status == .claimed }
        let locks = try await gatherLocks(plan, for: field)
        let header = await header()
        let others = plan.deposits.map(\.account).filter { $0 != account }
        // What each participant is shown: the transaction as it will be, its consents not yet signed (so the
        // message names only the leader as authorizer, whatever the number of participants).
        let unsigned = others.map { FieldConsent(account: $0, expiry: header.expiration, signatures: []) }
        let terms = Transaction(header: header, messages: [
            Message(.fieldOpen(field: field, deposits: plan.deposits, challengeSeconds: plan.challengeSeconds, locks: locks,
                               consents: unsigned), authorizer: account),
        ])
        let signatures = try await gatherConsents(terms, from: others)
        let consents = zip(others, signatures).map { FieldConsent(account: $0, expiry: header.expiration, signatures: [$1]) }
        // The leader's own deposit, if any, is consented by its authorization of the message.
        let transaction = Transaction(header: header, messages: [
            Message(.fieldOpen(field: field, deposits: plan.deposits, challengeSeconds: plan.challengeSeconds, locks: locks,
                               consents: consents), authorizer: account),
        ])
        let open = try await submit(sign(transaction, extra: []))
        let record = try await waitFor(field, "open") { $0.status == .open }
        return (record, claim, open)
    }

    private func header() async -> TransactionHeader {
        let state = await chain.snapshot().state
        return TransactionHeader(chainId: state.chainId, expiration: ChainService.now() + 120_000,
                                 nonce: await chain.nextNonce(for: account), fee: state.parameters.minimumFee)
    }

    private func sign(_ transaction: Transaction, extra: [TransactionSignature]) -> SignedTransaction {
        let own = SignedTransaction.sign(transaction, with: [key])
        return SignedTransaction(transaction: transaction, signatures: own.signatures + extra)
    }

    private func submit(_ transaction: SignedTransaction) async throws(APIFailure) -> Hash {
        switch await chain.submit(transaction) {
        case .success(let id): return id
        case .failure(let error): throw .bad(error)
        }
    }

    /// Every participant's consent, asked of all at once; the first refusal names the participant and its reason.
    private func gatherConsents(_ transaction: Transaction, from participants: [Address]) async throws(APIFailure) -> [TransactionSignature] {
        let service = self.service
        let answers = await withTaskGroup(of: (Address, Result<FieldWireMessage, FieldRequestFailure>).self) { group in
            for participant in participants {
                group.addTask {
                    do throws(FieldRequestFailure) {
                        let answer = try await service.request(.consentRequest(transaction, participant: participant),
                                                               to: FieldService.address(ofParticipant: participant),
                                                               accept: { Self.isConsent($0, of: participant, to: transaction) })
                        return (participant, .success(answer))
                    } catch {
                        return (participant, .failure(error))
                    }
                }
            }
            var answers: [Address: Result<FieldWireMessage, FieldRequestFailure>] = [:]
            for await (participant, answer) in group { answers[participant] = answer }
            return answers
        }
        var consents: [TransactionSignature] = []
        for participant in participants {
            switch answers[participant] {
            case .success(let answer) where Self.isConsent(answer, of: participant, to: transaction):
                guard case .consent(let signature) = answer else { preconditionFailure("isConsent matched a consent") }
                consents.append(signature)
            case .success(.refused(let code, let reason)):
                throw APIFailure(status: .conflict, code: code, message: "\(participant) did not consent: \(reason)")
            case .success(let other):
                throw APIFailure(status: .badGateway, code: "field.bad-consent", message: "\(participant) answered \(other)")
            case .failure(let failure):
                throw APIFailure(status: .badGateway, code: failure.code, message: "consent of \(participant): \(failure.description)")
            case nil:
                throw APIFailure(status: .badGateway, code: "field.no-consent", message: "no answer from \(participant)")
            }
        }
        return consents
    }

    /// A consent by `participant` (its account's key) that verifies over the terms of `transaction`'s field-open.
    static func isConsent(_ answer: FieldWireMessage, of participant: Address, to transaction: Transaction) -> Bool {
        guard case .consent(let signature) = answer, signature.key.bytes32 == participant.bytes32,
              let message = transaction.messages.first, let leader = message.authorization.first?.account,
              case .fieldOpen(let field, let deposits, let challengeSeconds, let locks, _)? = try? message.payload() else { return false }
        let terms = FieldConsent.signedBytes(field: field, leader: leader, deposits: deposits, challengeSeconds: challengeSeconds,
                                             locks: locks, account: participant, expiry: transaction.header.expiration)
        return signature.key.isValidSignature(signature.signature, for: terms, domain: FieldConsent.domain,
                                              chainId: transaction.header.chainId)
    }

    /// The locks the plan's participants bring (D34), asked of each participant's node in turn: it pays the exit
    /// in the source field and answers with the source leader's receipt.
    private func gatherLocks(_ plan: Plan, for target: FieldId) async throws(APIFailure) -> [FieldLock] {
        var locks: [FieldLock] = []
        for deposit in plan.deposits {
            guard let source = plan.lockedFrom[deposit.account] else { continue }
            let answer: FieldWireMessage
            do throws(FieldRequestFailure) {
                let account = deposit.account
                let chainId = await chain.chainId
                answer = try await service.request(.lockRequest(source: source, target: target, participant: account, amount: deposit.amount),
                                                   to: FieldService.address(ofParticipant: account),
                                                   accept: { answer in
                                                       guard case .lock(let lock) = answer else { return false }
                                                       return lock.participant == account && lock.payment.isSigned(chainId: chainId)
                                                   })
            } catch {
                throw APIFailure(status: .badGateway, code: error.code, message: "lock of \(deposit.account): \(error.description)")
            }
            switch answer {
            case .lock(let lock) where lock.participant == deposit.account && lock.amount == deposit.amount
                && lock.source == source && lock.payment.payment.kind == .lock(target: target):
                locks.append(lock)
            case .refused(let code, let reason):
                throw APIFailure(status: .conflict, code: code, message: "\(deposit.account) did not lock: \(reason)")
            default:
                throw APIFailure(status: .badGateway, code: "field.bad-lock", message: "\(deposit.account) answered \(answer)")
            }
        }
        return locks
    }

    private func waitForHosts(of participants: [Address]) async throws(APIFailure) {
        let deadline = ChainService.now() + stepTimeoutMilliseconds
        var missing = participants
        while !missing.isEmpty {
            var still: [Address] = []
            for participant in missing where !(await service.isHosted(FieldService.address(ofParticipant: participant))) {
                still.append(participant)
            }
            missing = still
            guard !missing.isEmpty else { return }
            guard ChainService.now() < deadline else {
                throw APIFailure(status: .badGateway, code: "field.no-host",
                                 message: "no connected node holds \(missing.map(\.description).joined(separator: ", "))")
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    private func waitFor(_ field: FieldId, _ what: String, until condition: (FieldRecord) -> Bool) async throws(APIFailure) -> FieldRecord {
        let deadline = ChainService.now() + stepTimeoutMilliseconds
        while ChainService.now() < deadline {
            if let record = await chain.snapshot().state.fields[field], condition(record) { return record }
            try? await Task.sleep(for: .milliseconds(100))
        }
        throw APIFailure(status: .gatewayTimeout, code: "field.timeout",
                         message: "field \(field) was not \(what) on chain within \(stepTimeoutMilliseconds / 1_000) s")
    }
}
