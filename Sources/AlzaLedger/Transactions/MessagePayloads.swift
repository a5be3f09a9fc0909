import AlzaCore

/// An account and an amount: a transfer input or output, a coinbase payout.
public struct AmountEntry: Hashable, Sendable, CanonicalCodable {
    public var account: Address
    public var amount: Amount

    public init(_ account: Address, _ amount: Amount) {
        self.account = account
        self.amount = amount
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(account)
        encoder.encode(amount)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        account = try decoder.decode()
        amount = try decoder.decode()
    }
}

/// The decoded `data` of a message, one case per code.
public enum MessagePayload: Hashable, Sendable {
    /// Many senders to many receivers; inputs and outputs sum to the same amount.
    case transfer(inputs: [AmountEntry], outputs: [AmountEntry], memo: [UInt8])
    /// Creates `address` with the given permissions (and name); paid by the authorizer.
    case accountRegister(address: Address, owner: Permission, active: Permission, name: AccountName?)
    /// Sets or clears the name (`name: .some(nil)` clears) and replaces the delay rules when given.
    case accountUpdate(name: AccountName??, delayRules: [Account.DelayRule]?)
    /// Removes an empty account; its nonce is remembered so old transactions cannot replay.
    case accountDelete
    /// Replaces the owner or active permission.
    case permissionUpdate(level: PermissionLevel, permission: Permission)
    case stake(amount: Amount)
    case unstake(amount: Amount)
    /// Delegates the account's stake to a producer candidate (nil withdraws the vote).
    case delegateVote(producer: Address?)
    case producerRegister(signingKey: PublicKey, url: String, timeZone: Int8)
    case producerUnregister
    case producerRecover
    /// Two headers signed by one producer for one slot.
    case equivocationEvidence(first: SignedBlockHeader, second: SignedBlockHeader)
    case cancelDelayed(id: UInt64)
    case privilegeGrant(account: Address, privileges: Privileges)
    case privilegeRevoke(account: Address, privileges: Privileges)
    case memberRegister(id: Address, kind: Member.Kind, name: String, key: PublicKey)
    /// Round rewards minted from 0x0 (seed equations 2 and 3).
    case coinbase(round: UInt64, payouts: [AmountEntry])
    /// The authorizer leads a new field `FieldId(leader: leaderKey, nonce: nonce)` and locks `bond` (DESIGN.md §6).
    case fieldClaim(nonce: UInt64, leaderKey: PublicKey, bond: Amount)
    /// Opens a claimed field: the leader and every participant authorize it (their signatures over this
    /// transaction are their consents to the field, the deposits, the window and, as its expiration, an expiry);
    /// each deposit is locked from its participant's balance, or brought by a `FieldLock` from another field
    /// the participant is in (D34). A participant not among the authorizers consents by a `FieldConsent` (D35).
    case fieldOpen(field: FieldId, deposits: [AmountEntry], challengeSeconds: UInt32, locks: [FieldLock] = [],
                   consents: [FieldConsent] = [])
    /// Cooperative close with a fully signed snapshot: settles at once, pays the leader's reward. The close
    /// signatures cover `closeBy`: no block later than it takes the close (D36; `UInt64.max`: no limit).
    case fieldClose(field: FieldId, snapshot: SignedFieldSnapshot, closeBy: UInt64 = .max)
    /// A participant posts the newest fully signed snapshot it holds; the challenge window opens.
    case fieldSoloClose(field: FieldId, snapshot: SignedFieldSnapshot)
    /// Within the window: a fully signed snapshot with a higher number replaces the posted one, or a leader's
    /// receipt beyond it obliges the leader to respond.
    case fieldDispute(field: FieldId, claim: FieldDisputeClaim)
    /// Answers a receipt dispute: a fully signed snapshot whose payments root holds the disputed payment at its
    /// index (`proof`: its RFC 6962 inclusion path).
    case fieldRespond(field: FieldId, snapshot: SignedFieldSnapshot, proof: [Hash])
    /// After the window, settles the posted snapshot, or annuls the field if a receipt dispute is unanswered.
    case fieldFinalize(field: FieldId)
    /// Two receipts the leader signed for one index and different payments: the bond goes to the sender and the
    /// field closes (an open field from its opening balances, with a window for newer snapshots).
    case fieldEquivocation(field: FieldId, first: FieldReceipt, second: FieldReceipt)
    /// A participant adds `amount` from its account to an open field (D34); the leader credits it off chain.
    case fieldDeposit(field: FieldId, amount: Amount)
    /// Pays out the withdrawals a fully signed snapshot records beyond what was paid, and anchors it (D34).
    case fieldWithdraw(field: FieldId, snapshot: SignedFieldSnapshot)
    /// Anchors a fully signed snapshot that records locks other fields took, freeing the leader's bond from
    /// answering for them (D34).
    case fieldLockSettle(field: FieldId, snapshot: SignedFieldSnapshot)

    public static let maximumTransferEntries = 64
    public static let maximumMemoBytes = 256
    public static let maximumPayouts = 100_000

    public var code: MessageCode {
        switch self {
        case .transfer: .transfer
        case .accountRegister: .accountRegister
        case .accountUpdate: .accountUpdate
        case .accountDelete: .accountDelete
        case .permissionUpdate: .permissionUpdate
        case .stake: .stake
        case .unstake: .unstake
        case .delegateVote: .delegateVote
        case .producerRegister: .producerRegister
        case .producerUnregister: .producerUnregister
        case .producerRecover: .producerRecover
        case .equivocationEvidence: .equivocationEvidence
        case .cancelDelayed: .cancelDelayed
        case .privilegeGrant: .privilegeGrant
        case .privilegeRevoke: .privilegeRevoke
        case .memberRegister: .memberRegister
        case .coinbase: .coinbase
        case .fieldClaim: .fieldClaim
        case .fieldOpen: .fieldOpen
        case .fieldClose: .fieldClose
        case .fieldSoloClose: .fieldSoloClose
        case .fieldDispute: .fieldDispute
        case .fieldFinalize: .fieldFinalize
        case .fieldRespond: .fieldRespond
        case .fieldEquivocation: .fieldEquivocation
        case .fieldDeposit: .fieldDeposit
        case .fieldWithdraw: .fieldWithdraw
        case .fieldLockSettle: .fieldLockSettle
        }
    }

    /// The field a field code acts on.
    public var field: FieldId? {
        switch self {
        case .fieldOpen(let field, _, _, _, _), .fieldClose(let field, _, _), .fieldSoloClose(let field, _),
             .fieldDispute(let field, _), .fieldFinalize(let field), .fieldRespond(let field, _, _),
             .fieldEquivocation(let field, _, _), .fieldDeposit(let field, _), .fieldWithdraw(let field, _),
             .fieldLockSettle(let field, _):
            field
        default: nil
        }
    }

    /// The canonical `data` bytes.
    public var data: [UInt8] {
        var encoder = CanonicalEncoder()
        switch self {
        case .transfer(let inputs, let outputs, let memo):
            encoder.encode(inputs)
            encoder.encode(outputs)
            encoder.encodeBytes(memo)
        case .accountRegister(let address, let owner, let active, let name):
            encoder.encode(address)
            encoder.encode(owner)
            encoder.encode(active)
            encoder.encode(name)
        case .accountUpdate(let name, let delayRules):
            switch name {
            case .none: encoder.encode(UInt8(0))
            case .some(.some(let value)): encoder.encode(UInt8(1)); encoder.encode(value)
            case .some(.none): encoder.encode(UInt8(2))
            }
            if let delayRules {
                encoder.encode(UInt8(1))
                encoder.encodeLength(delayRules.count)
                for rule in delayRules {
                    encoder.encode(rule.code)
                    encoder.encode(rule.minimumSeconds)
                }
            } else {
                encoder.encode(UInt8(0))
            }
        case .accountDelete, .producerUnregister, .producerRecover:
            break
        case .permissionUpdate(let level, let permission):
            encoder.encode(level)
            encoder.encode(permission)
        case .stake(let amount), .unstake(let amount):
            encoder.encode(amount)
        case .delegateVote(let producer):
            encoder.encode(producer)
        case .producerRegister(let signingKey, let url, let timeZone):
            encoder.encode(signingKey)
            encoder.encode(url)
            encoder.encode(UInt8(bitPattern: timeZone))
        case .equivocationEvidence(let first, let second):
            encoder.encode(first)
            encoder.encode(second)
        case .cancelDelayed(let id):
            encoder.encode(id)
        case .privilegeGrant(let account, let privileges), .privilegeRevoke(let account, let privileges):
            encoder.encode(account)
            encoder.encode(privileges)
        case .memberRegister(let id, let kind, let name, let key):
            encoder.encode(id)
            encoder.encode(kind.rawValue)
            encoder.encode(name)
            encoder.encode(key)
        case .coinbase(let round, let payouts):
            encoder.encode(round)
            encoder.encode(payouts)
        case .fieldClaim(let nonce, let leaderKey, let bond):
            encoder.encode(nonce)
            encoder.encode(leaderKey)
            encoder.encode(bond)
        case .fieldOpen(let field, let deposits, let challengeSeconds, let locks, let consents):
            encoder.encode(field)
            encoder.encode(deposits)
            encoder.encode(challengeSeconds)
            encoder.encode(locks)
            encoder.encode(consents)
        case .fieldDeposit(let field, let amount):
            encoder.encode(field)
            encoder.encode(amount)
        case .fieldClose(let field, let snapshot, let closeBy):
            encoder.encode(field)
            encoder.encode(snapshot)
            encoder.encode(closeBy)
        case .fieldSoloClose(let field, let snapshot), .fieldWithdraw(let field, let snapshot), .fieldLockSettle(let field, let snapshot):
            encoder.encode(field)
            encoder.encode(snapshot)
        case .fieldDispute(let field, let claim):
            encoder.encode(field)
            encoder.encode(claim)
        case .fieldRespond(let field, let snapshot, let proof):
            encoder.encode(field)
            encoder.encode(snapshot)
            encoder.encode(proof)
        case .fieldFinalize(let field):
            encoder.encode(field)
        case .fieldEquivocation(let field, let first, let second):
            encoder.encode(field)
            encoder.encode(first)
            encoder.encode(second)
        }
        return encoder.bytes
    }

    /// Decodes `data` as the payload of `code`; the whole of `data` must be used.
    public init(code: MessageCode, data: [UInt8]) throws(CodecError) {
        var decoder = CanonicalDecoder(data)
        switch code {
        case .transfer:
            self = .transfer(inputs: try decoder.decodeArray(limit: Self.maximumTransferEntries),
                             outputs: try decoder.decodeArray(limit: Self.maximumTransferEntries),
                             memo: try decoder.decodeBytes(limit: Self.maximumMemoBytes))
        case .accountRegister:
            self = .accountRegister(address: try decoder.decode(), owner: try decoder.decode(),
                                    active: try decoder.decode(), name: try decoder.decodeOptional())
        case .accountUpdate:
            let nameOffset = decoder.offset
            let name: AccountName??
            switch try decoder.decode(UInt8.self) {
            case 0: name = .none
            case 1: name = .some(.some(try decoder.decode(AccountName.self)))
            case 2: name = .some(.none)
            case let tag: throw .unknownTag(offset: nameOffset, tag: UInt64(tag), type: "name update")
            }
            var rules: [Account.DelayRule]?
            if try decoder.decode(Bool.self) {
                let count = try decoder.decodeLength(limit: Account.maximumDelayRules, minimumElementSize: 5)
                var list: [Account.DelayRule] = []
                for _ in 0..<count {
                    list.append(Account.DelayRule(code: try decoder.decode(), minimumSeconds: try decoder.decode()))
                }
                rules = list
            }
            self = .accountUpdate(name: name, delayRules: rules)
        case .accountDelete: self = .accountDelete
        case .producerUnregister: self = .producerUnregister
        case .producerRecover: self = .producerRecover
        case .permissionUpdate:
            self = .permissionUpdate(level: try decoder.decode(), permission: try decoder.decode())
        case .stake: self = .stake(amount: try decoder.decode())
        case .unstake: self = .unstake(amount: try decoder.decode())
        case .delegateVote: self = .delegateVote(producer: try decoder.decodeOptional())
        case .producerRegister:
            self = .producerRegister(signingKey: try decoder.decode(),
                                     url: try decoder.decodeString(limit: ProducerInfo.maximumURLBytes),
                                     timeZone: Int8(bitPattern: try decoder.decode(UInt8.self)))
        case .equivocationEvidence:
            self = .equivocationEvidence(first: try decoder.decode(), second: try decoder.decode())
        case .cancelDelayed: self = .cancelDelayed(id: try decoder.decode())
        case .privilegeGrant: self = .privilegeGrant(account: try decoder.decode(), privileges: try decoder.decode())
        case .privilegeRevoke: self = .privilegeRevoke(account: try decoder.decode(), privileges: try decoder.decode())
        case .memberRegister:
            let id = try decoder.decode(Address.self)
            let kindOffset = decoder.offset
            let rawKind = try decoder.decode(UInt8.self)
            guard let kind = Member.Kind(rawValue: rawKind) else {
                throw .unknownTag(offset: kindOffset, tag: UInt64(rawKind), type: "Member.Kind")
            }
            self = .memberRegister(id: id, kind: kind, name: try decoder.decodeString(limit: Member.maximumNameBytes),
                                   key: try decoder.decode())
        case .coinbase:
            self = .coinbase(round: try decoder.decode(), payouts: try decoder.decodeArray(limit: Self.maximumPayouts))
        case .fieldClaim:
            self = .fieldClaim(nonce: try decoder.decode(), leaderKey: try decoder.decode(), bond: try decoder.decode())
        case .fieldOpen:
            self = .fieldOpen(field: try decoder.decode(),
                              deposits: try decoder.decodeArray(limit: FieldRules.maximumParticipants),
                              challengeSeconds: try decoder.decode(),
                              locks: try decoder.decodeArray(limit: FieldRules.maximumParticipants),
                              consents: try decoder.decodeArray(limit: FieldRules.maximumParticipants))
        case .fieldClose: self = .fieldClose(field: try decoder.decode(), snapshot: try decoder.decode(), closeBy: try decoder.decode())
        case .fieldSoloClose: self = .fieldSoloClose(field: try decoder.decode(), snapshot: try decoder.decode())
        case .fieldDispute: self = .fieldDispute(field: try decoder.decode(), claim: try decoder.decode())
        case .fieldRespond:
            self = .fieldRespond(field: try decoder.decode(), snapshot: try decoder.decode(),
                                 proof: try decoder.decodeArray(limit: FieldReceipt.maximumPath * 2))
        case .fieldFinalize: self = .fieldFinalize(field: try decoder.decode())
        case .fieldDeposit: self = .fieldDeposit(field: try decoder.decode(), amount: try decoder.decode())
        case .fieldWithdraw: self = .fieldWithdraw(field: try decoder.decode(), snapshot: try decoder.decode())
        case .fieldLockSettle: self = .fieldLockSettle(field: try decoder.decode(), snapshot: try decoder.decode())
        case .fieldEquivocation:
            self = .fieldEquivocation(field: try decoder.decode(), first: try decoder.decode(), second: try decoder.decode())
        }
        try decoder.finish()
    }
}

extension Message {
    /// Decodes `data` according to `code`.
    public func payload() throws(LedgerError) -> MessagePayload {
        do {
            return try MessagePayload(code: code, data: data)
        } catch {
            throw .invalidPayload(code: code, reason: error.description)
        }
    }

    /// A message carrying `payload`, with the scope, recipients and authorization the payload needs.
    public init(_ payload: MessagePayload, authorizer: Address?, permission: PermissionLevel = .active,
                extraScope: [Address] = []) {
        var scope: [Address] = authorizer.map { [$0] } ?? []
        var recipients: [Address] = []
        var authorization: [Authorization] = authorizer.map { [Authorization($0, permission)] } ?? []
        switch payload {
        case .transfer(let inputs, let outputs, _):
            scope = inputs.map(\.account) + outputs.map(\.account)
            recipients = outputs.map(\.account)
            // The authorizer comes first: it is the payer of the transaction (fee and nonce).
            authorization = (authorizer.map { [$0] } ?? []).map { Authorization($0, permission) }
                + inputs.map { Authorization($0.account, permission) }
            if let authorizer { scope.insert(authorizer, at: 0) }
        case .accountRegister(let address, _, _, _):
            scope.append(address)
            recipients = [address]
        case .delegateVote(let producer):
            if let producer {
                scope.append(producer)
                recipients = [producer]
            }
        case .privilegeGrant(let account, _), .privilegeRevoke(let account, _):
            scope.append(account)
            recipients = [account]
        case .memberRegister(let id, _, _, _):
            scope.append(id)
            recipients = [id]
        case .coinbase(_, let payouts):
            scope = payouts.map(\.account)
            recipients = scope
            authorization = []
        case .equivocationEvidence(let first, _):
            scope = [first.header.producer]
            authorization = []
        case .fieldClaim(let nonce, let leaderKey, _):
            scope.append(FieldRules.scopeKey(FieldId(leader: leaderKey, nonce: nonce)))
        case .fieldOpen(let field, let deposits, _, let locks, let consents):
            // The participants consent by authorizing or by a consent in the payload; their accounts give the
            // deposits, or the fields their locks come from.
            scope += [FieldRules.scopeKey(field)] + deposits.map(\.account) + locks.map { FieldRules.scopeKey($0.source) }
            let consented = Set(consents.map(\.account))
            authorization += deposits.filter { !consented.contains($0.account) }.map { Authorization($0.account, permission) }
        case .fieldClose(let field, _, _), .fieldSoloClose(let field, _), .fieldDispute(let field, _),
             .fieldFinalize(let field), .fieldRespond(let field, _, _), .fieldEquivocation(let field, _, _),
             .fieldDeposit(let field, _), .fieldWithdraw(let field, _), .fieldLockSettle(let field, _):
            // A settlement credits every participant and the leader: the sender lists them (from the chain's
            // record of the field) in `extraScope`.
            scope.append(FieldRules.scopeKey(field))
        case .accountUpdate, .accountDelete, .permissionUpdate, .stake, .unstake, .producerRegister,
             .producerUnregister, .producerRecover, .cancelDelayed:
            break
        }
        self.init(code: payload.code, scope: Message.unique(scope + extraScope), recipients: Message.unique(recipients),
                  authorization: Message.unique(authorization), data: payload.data)
    }

    private static func unique<T: Hashable>(_ values: [T]) -> [T] {
        var seen = Set<T>()
        return values.filter { seen.insert($0).inserted }
    }
}
