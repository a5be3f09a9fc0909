import AlzaCore

/// An account (seed §3.1.4): balance, the nonce that orders its transactions, owner and active permissions,
/// an optional registered name, stake and the producer it votes for, funds unbonding, the minimum delays it
/// demands per message code, and its privileges.
public struct Account: Hashable, Sendable, CanonicalCodable {
    public var address: Address
    public var balance: Amount
    /// The nonce the account's next transaction must carry (transactions it paid for so far).
    public var nonce: UInt64
    public var owner: Permission
    public var active: Permission
    public var name: AccountName?
    public var staked: Amount
    /// The producer candidate this account's stake is delegated to.
    public var vote: Address?
    /// Unstaked funds waiting for their release time, sorted by release time.
    public var unbonding: [Unbonding]
    /// Minimum delay per message code this account demands of transactions it authorizes (seed §3.1.3).
    public var delayRules: [DelayRule]
    /// Pending delayed actions this account pays for (bounded by `maxDelayedPerAccount`).
    public var pendingDelayed: UInt32
    public var privileges: Privileges
    /// Height of the block that created the account (0 for genesis).
    public var createdAtHeight: UInt64

    public struct Unbonding: Hashable, Sendable {
        public var amount: Amount
        /// Unix time in milliseconds at which the amount returns to the balance.
        public var releaseAt: UInt64

        public init(amount: Amount, releaseAt: UInt64) {
            self.amount = amount
            self.releaseAt = releaseAt
        }
    }

    public struct DelayRule: Hashable, Sendable {
        public var code: MessageCode
        public var minimumSeconds: UInt32

        public init(code: MessageCode, minimumSeconds: UInt32) {
            self.code = code
            self.minimumSeconds = minimumSeconds
        }
    }

    public static let maximumDelayRules = 32
    public static let maximumUnbondingEntries = 64

    /// A new account controlled by `key` alone.
    public init(address: Address, key: PublicKey, createdAtHeight: UInt64 = 0) {
        self.init(address: address, owner: .single(key), active: .single(key), createdAtHeight: createdAtHeight)
    }

    public init(address: Address, owner: Permission, active: Permission, name: AccountName? = nil,
                createdAtHeight: UInt64 = 0) {
        self.address = address
        balance = 0
        nonce = 0
        self.owner = owner
        self.active = active
        self.name = name
        staked = 0
        vote = nil
        unbonding = []
        delayRules = []
        pendingDelayed = 0
        privileges = []
        self.createdAtHeight = createdAtHeight
    }

    /// The permission at `level`.
    public func permission(_ level: PermissionLevel) -> Permission { level == .owner ? owner : active }

    /// Minimum delay this account demands for `code` (0 when it has no rule).
    public func minimumDelay(for code: MessageCode) -> UInt32 {
        delayRules.first { $0.code == code }?.minimumSeconds ?? 0
    }

    /// Moves unbonding entries released by `time` into the balance.
    public mutating func releaseUnbonding(at time: UInt64) throws(LedgerError) {
        while let first = unbonding.first, first.releaseAt <= time {
            balance = try Amounts.add(balance, first.amount)
            unbonding.removeFirst()
        }
    }

    /// Funds still unbonding.
    public var unbondingTotal: Amount { unbonding.reduce(0) { $0 &+ $1.amount } }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(address)
        encoder.encode(balance)
        encoder.encode(nonce)
        encoder.encode(owner)
        encoder.encode(active)
        encoder.encode(name)
        encoder.encode(staked)
        encoder.encode(vote)
        encoder.encodeLength(unbonding.count)
        for entry in unbonding {
            encoder.encode(entry.amount)
            encoder.encode(entry.releaseAt)
        }
        encoder.encodeLength(delayRules.count)
        for rule in delayRules {
            encoder.encode(rule.code)
            encoder.encode(rule.minimumSeconds)
        }
        encoder.encode(pendingDelayed)
        encoder.encode(privileges)
        encoder.encode(createdAtHeight)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        address = try decoder.decode()
        balance = try decoder.decode()
        nonce = try decoder.decode()
        owner = try decoder.decode()
        active = try decoder.decode()
        name = try decoder.decodeOptional()
        staked = try decoder.decode()
        vote = try decoder.decodeOptional()
        let unbondingCount = try decoder.decodeLength(limit: Self.maximumUnbondingEntries, minimumElementSize: 16)
        unbonding = []
        for _ in 0..<unbondingCount {
            unbonding.append(Unbonding(amount: try decoder.decode(), releaseAt: try decoder.decode()))
        }
        let ruleCount = try decoder.decodeLength(limit: Self.maximumDelayRules, minimumElementSize: 5)
        delayRules = []
        for _ in 0..<ruleCount {
            delayRules.append(DelayRule(code: try decoder.decode(), minimumSeconds: try decoder.decode()))
        }
        pendingDelayed = try decoder.decode()
        privileges = try decoder.decode()
        createdAtHeight = try decoder.decode()
    }
}

/// Administrative rights of privileged accounts (seed: the Privilege Module). Every use is written to the
/// on-chain audit log.
public struct Privileges: OptionSet, Hashable, Sendable, CanonicalCodable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// May grant and revoke privileges.
    public static let privilegeAdmin = Privileges(rawValue: 1 << 0)
    /// May register third-party members (wallets, other chains, dispute services).
    public static let memberAdmin = Privileges(rawValue: 1 << 1)

    public static let all: Privileges = [.privilegeAdmin, .memberAdmin]
    static let names: [(Privileges, String)] = [(.privilegeAdmin, "privilegeAdmin"), (.memberAdmin, "memberAdmin")]

    public var description: String {
        Privileges.names.filter { contains($0.0) }.map(\.1).joined(separator: ",")
    }

    public init(name: String) throws(LedgerError) {
        guard let match = Privileges.names.first(where: { $0.1 == name }) else { throw .invalidPrivilege(name) }
        self = match.0
    }

    public func encode(to encoder: inout CanonicalEncoder) { encoder.encode(rawValue) }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let start = decoder.offset
        rawValue = try decoder.decode()
        guard Privileges.all.contains(self) else { throw decoder.invalid("unknown privilege bits", at: start) }
    }
}
