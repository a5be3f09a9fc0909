import AlzaCore

/// A producer candidate (seed §3.1: anyone may register; the top `producerCount` by delegated stake produce).
public struct ProducerInfo: Hashable, Sendable, CanonicalCodable {
    public enum Status: UInt8, Hashable, Sendable, CustomStringConvertible {
        /// Eligible for election.
        case active = 0
        /// Left the rotation after `inactivityRemovalSlots` without a block; back with `producer recover`.
        case inactive = 1
        /// Withdrew its candidacy (`producer unregister`).
        case unregistered = 2
        /// Signed two blocks for one slot; never eligible again.
        case removedForEquivocation = 3

        public var description: String {
            switch self {
            case .active: "active"
            case .inactive: "inactive"
            case .unregistered: "unregistered"
            case .removedForEquivocation: "removed-for-equivocation"
            }
        }
    }

    public var account: Address
    /// The key that signs this producer's blocks (may differ from the account's keys).
    public var signingKey: PublicKey
    public var url: String
    /// Declared UTC offset in hours (-12...14), used by the adaptive committee's grouping.
    public var timeZone: Int8
    public var status: Status
    /// Slot of the last registration or recovery: silence is counted from here or the last block, whichever is later.
    public var activeSinceSlot: UInt64
    public var lastProducedSlot: UInt64
    public var lastProducedHeight: UInt64
    public var producedBlocks: UInt64
    /// Blocks produced in round `productionRound` (the base of its reward, seed eq. 2).
    public var productionRound: UInt64
    public var productionInRound: UInt32

    public static let maximumURLBytes = 256

    public init(account: Address, signingKey: PublicKey, url: String, timeZone: Int8, slot: UInt64) {
        self.account = account
        self.signingKey = signingKey
        self.url = url
        self.timeZone = timeZone
        status = .active
        activeSinceSlot = slot
        lastProducedSlot = 0
        lastProducedHeight = 0
        producedBlocks = 0
        productionRound = 0
        productionInRound = 0
    }

    /// The slot silence is measured from.
    public var lastSignOfLifeSlot: UInt64 { max(activeSinceSlot, lastProducedSlot) }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(account)
        encoder.encode(signingKey)
        encoder.encode(url)
        encoder.encode(UInt8(bitPattern: timeZone))
        encoder.encode(status.rawValue)
        encoder.encode(activeSinceSlot)
        encoder.encode(lastProducedSlot)
        encoder.encode(lastProducedHeight)
        encoder.encode(producedBlocks)
        encoder.encode(productionRound)
        encoder.encode(productionInRound)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        account = try decoder.decode()
        signingKey = try decoder.decode()
        url = try decoder.decodeString(limit: Self.maximumURLBytes)
        timeZone = Int8(bitPattern: try decoder.decode(UInt8.self))
        let statusOffset = decoder.offset
        let rawStatus = try decoder.decode(UInt8.self)
        guard let status = Status(rawValue: rawStatus) else {
            throw .unknownTag(offset: statusOffset, tag: UInt64(rawStatus), type: "ProducerInfo.Status")
        }
        self.status = status
        activeSinceSlot = try decoder.decode()
        lastProducedSlot = try decoder.decode()
        lastProducedHeight = try decoder.decode()
        producedBlocks = try decoder.decode()
        productionRound = try decoder.decode()
        productionInRound = try decoder.decode()
    }
}

/// A third party docked to the chain (seed: the Membership Module): a wallet, another chain, a dispute service.
public struct Member: Hashable, Sendable, CanonicalCodable {
    public enum Kind: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        case wallet = 0
        case chain = 1
        case disputeService = 2
        case other = 3

        public var description: String {
            switch self {
            case .wallet: "wallet"
            case .chain: "chain"
            case .disputeService: "dispute-service"
            case .other: "other"
            }
        }

        public init(name: String) throws(LedgerError) {
            guard let kind = Kind.allCases.first(where: { $0.description == name }) else {
                throw .invalidPayload(code: .memberRegister, reason: "unknown member kind \(name)")
            }
            self = kind
        }
    }

    /// The member's identifier: the address of its key.
    public var id: Address
    public var kind: Kind
    public var name: String
    public var key: PublicKey
    public var registeredBy: Address
    public var registeredAtHeight: UInt64

    public static let maximumNameBytes = 64

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(id)
        encoder.encode(kind.rawValue)
        encoder.encode(name)
        encoder.encode(key)
        encoder.encode(registeredBy)
        encoder.encode(registeredAtHeight)
    }

    public init(id: Address, kind: Kind, name: String, key: PublicKey, registeredBy: Address, registeredAtHeight: UInt64) {
        self.id = id
        self.kind = kind
        self.name = name
        self.key = key
        self.registeredBy = registeredBy
        self.registeredAtHeight = registeredAtHeight
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        id = try decoder.decode()
        let kindOffset = decoder.offset
        let rawKind = try decoder.decode(UInt8.self)
        guard let kind = Kind(rawValue: rawKind) else {
            throw .unknownTag(offset: kindOffset, tag: UInt64(rawKind), type: "Member.Kind")
        }
        self.kind = kind
        name = try decoder.decodeString(limit: Self.maximumNameBytes)
        key = try decoder.decode()
        registeredBy = try decoder.decode()
        registeredAtHeight = try decoder.decode()
    }
}

/// One entry of the on-chain audit log: what a privileged account did with its privilege.
public struct AuditEntry: Hashable, Sendable, CanonicalCodable {
    public var sequence: UInt64
    public var actor: Address
    public var code: MessageCode
    public var target: Address
    public var height: UInt64
    public var transactionId: Hash
    public var detail: String

    public static let maximumDetailBytes = 256

    public init(sequence: UInt64, actor: Address, code: MessageCode, target: Address, height: UInt64,
                transactionId: Hash, detail: String) {
        self.sequence = sequence
        self.actor = actor
        self.code = code
        self.target = target
        self.height = height
        self.transactionId = transactionId
        self.detail = detail
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(sequence)
        encoder.encode(actor)
        encoder.encode(code)
        encoder.encode(target)
        encoder.encode(height)
        encoder.encode(transactionId)
        encoder.encode(detail)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        sequence = try decoder.decode()
        actor = try decoder.decode()
        code = try decoder.decode()
        target = try decoder.decode()
        height = try decoder.decode()
        transactionId = try decoder.decode()
        detail = try decoder.decodeString(limit: Self.maximumDetailBytes)
    }
}

/// A transaction included with a delay (seed §3.1.3): its messages wait until `executeAt`, then apply unless
/// the payer cancelled them. The keys that signed are kept, and must still satisfy the authorizing accounts'
/// permissions at execution: rotating a stolen key away defeats a pending theft.
public struct DelayedAction: Hashable, Sendable, CanonicalCodable {
    public var id: UInt64
    public var transactionId: Hash
    public var payer: Address
    public var messages: [Message]
    public var signers: [PublicKey]
    /// Unix milliseconds at or after which the messages apply.
    public var executeAt: UInt64
    public var includedAtHeight: UInt64

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(id)
        encoder.encode(transactionId)
        encoder.encode(payer)
        encoder.encode(messages)
        encoder.encode(signers)
        encoder.encode(executeAt)
        encoder.encode(includedAtHeight)
    }

    public init(id: UInt64, transactionId: Hash, payer: Address, messages: [Message], signers: [PublicKey],
                executeAt: UInt64, includedAtHeight: UInt64) {
        self.id = id
        self.transactionId = transactionId
        self.payer = payer
        self.messages = messages
        self.signers = signers
        self.executeAt = executeAt
        self.includedAtHeight = includedAtHeight
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        id = try decoder.decode()
        transactionId = try decoder.decode()
        payer = try decoder.decode()
        messages = try decoder.decodeArray(limit: Transaction.maximumMessages)
        signers = try decoder.decodeArray(limit: SignedTransaction.maximumSignatures)
        executeAt = try decoder.decode()
        includedAtHeight = try decoder.decode()
    }
}

/// The producer rotation of one round: `producers[i]` owns slots
/// `startSlot + i * blocksPerTurn ..< startSlot + (i + 1) * blocksPerTurn`. Fixed when the round starts.
public struct RoundRecord: Hashable, Sendable, CanonicalCodable {
    public var number: UInt64
    public var startSlot: UInt64
    public var producers: [Address]

    public static let maximumProducers = 1_000

    public init(number: UInt64, startSlot: UInt64, producers: [Address]) {
        self.number = number
        self.startSlot = startSlot
        self.producers = producers
    }

    public func endSlot(blocksPerTurn: Int) -> UInt64 {
        startSlot + UInt64(producers.count * blocksPerTurn)
    }

    /// The producer owning `slot`, which must lie in this round.
    public func producer(at slot: UInt64, blocksPerTurn: Int) -> Address? {
        guard slot >= startSlot, !producers.isEmpty else { return nil }
        let index = Int((slot - startSlot) / UInt64(blocksPerTurn))
        return index < producers.count ? producers[index] : nil
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(number)
        encoder.encode(startSlot)
        encoder.encode(producers)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        number = try decoder.decode()
        startSlot = try decoder.decode()
        producers = try decoder.decodeArray(limit: Self.maximumProducers)
    }
}

/// Chain-wide values: total supply, counters for delayed actions and audit entries, the current round and the
/// last round whose rewards were paid.
public struct ChainRecord: Hashable, Sendable, CanonicalCodable {
    public var totalSupply: Amount
    public var nextDelayedId: UInt64
    public var nextAuditSequence: UInt64
    public var round: RoundRecord
    /// The latest round whose rewards a coinbase paid (nil before the first payout).
    public var rewardedRound: UInt64?
    /// Sum of every coinbase so far.
    public var totalRewardsPaid: Amount

    public init(totalSupply: Amount, round: RoundRecord) {
        self.totalSupply = totalSupply
        nextDelayedId = 1
        nextAuditSequence = 1
        self.round = round
        rewardedRound = nil
        totalRewardsPaid = 0
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(totalSupply)
        encoder.encode(nextDelayedId)
        encoder.encode(nextAuditSequence)
        encoder.encode(round)
        encoder.encode(rewardedRound)
        encoder.encode(totalRewardsPaid)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        totalSupply = try decoder.decode()
        nextDelayedId = try decoder.decode()
        nextAuditSequence = try decoder.decode()
        round = try decoder.decode()
        rewardedRound = try decoder.decodeOptional()
        totalRewardsPaid = try decoder.decode()
    }
}
