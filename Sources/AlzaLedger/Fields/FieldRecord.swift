import AlzaCore

/// The chain's limits on payment fields (DESIGN.md §6). Constants of the protocol, like the message limits: a
/// field chooses its own challenge window within them when it opens (short on testnets, 24 h by default).
public enum FieldRules {
    public static let minimumParticipants = 2
    public static let maximumParticipants = 1_024
    /// The smallest bond a leader locks when it claims a field: what a disputing participant wins if the leader
    /// fails it.
    public static let minimumBond: Amount = Amounts.unit
    public static let defaultChallengeSeconds: UInt32 = 86_400
    public static let maximumChallengeSeconds: UInt32 = 30 * 86_400
    /// The leader's reward per node of the payments Merkle tree a close settles (seed §3.1.5), minted from 0x0,
    /// and its cap per field.
    public static let rewardPerMerkleNode: Amount = 10
    public static let maximumReward: Amount = 10 * Amounts.unit

    /// Nodes of an RFC 6962 tree over `paymentCount` leaves: 2n − 1 (none for an empty log).
    public static func merkleNodeCount(paymentCount: UInt64) -> UInt64 { paymentCount == 0 ? 0 : 2 * paymentCount - 1 }

    public static func reward(paymentCount: UInt64) -> Amount {
        let nodes = merkleNodeCount(paymentCount: paymentCount)
        let (product, overflow) = nodes.multipliedReportingOverflow(by: rewardPerMerkleNode)
        return overflow ? maximumReward : min(product, maximumReward)
    }

    /// The scope key of a field: scope keys are 32 bytes, an account's address or a field's id, so closes of
    /// different fields never share a key and apply in parallel waves (D32).
    public static func scopeKey(_ field: FieldId) -> Address { Address(bytes32: field.hash.bytes32) }
}

/// A receipt dispute waiting for the leader's answer: a participant holds the leader's receipt for payment
/// `index` (hash `paymentHash`) beyond the posted snapshot. Unanswered by the deadline, it annuls the field.
public struct FieldReceiptDispute: Hashable, Sendable, CanonicalCodable {
    public var index: UInt64
    public var paymentHash: Hash
    public var disputer: Address

    public init(index: UInt64, paymentHash: Hash, disputer: Address) {
        self.index = index
        self.paymentHash = paymentHash
        self.disputer = disputer
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(index)
        encoder.encode(paymentHash)
        encoder.encode(disputer)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        index = try decoder.decode()
        paymentHash = try decoder.decode()
        disputer = try decoder.decode()
    }
}

/// What a `field-dispute` brings: (a) a fully signed snapshot newer than the posted one, or (b) a leader's receipt
/// for a payment beyond it, which the leader must answer (`field-respond`) before the window ends.
public enum FieldDisputeClaim: Hashable, Sendable, CanonicalCodable {
    case newerSnapshot(SignedFieldSnapshot)
    case receipt(FieldReceipt)

    public func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case .newerSnapshot(let signed):
            encoder.encode(UInt8(0))
            encoder.encode(signed)
        case .receipt(let receipt):
            encoder.encode(UInt8(1))
            encoder.encode(receipt)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let offset = decoder.offset
        switch try decoder.decode(UInt8.self) {
        case 0: self = .newerSnapshot(try decoder.decode())
        case 1: self = .receipt(try decoder.decode())
        case let tag: throw .unknownTag(offset: offset, tag: UInt64(tag), type: "FieldDisputeClaim")
        }
    }
}

/// A payment field on chain (DESIGN.md §6): its leader and bond, its participants and deposits, and where its
/// close stands. Only participants, deposits, roots and final balances are recorded.
public struct FieldRecord: Hashable, Sendable, CanonicalCodable {
    public enum Status: Hashable, Sendable, CustomStringConvertible {
        /// Claimed by its leader, not opened yet.
        case claimed
        case open
        /// A solo close posted a snapshot (or a dispute replaced it): it settles at `deadline` (chain time, unix
        /// ms) unless a newer fully signed snapshot replaces it first, or is annulled then if `dispute` is still
        /// unanswered.
        case closing(FieldSettlement, deadline: UInt64, dispute: FieldReceiptDispute?)
        case closed(FieldSettlement, atHeight: UInt64)
        /// A receipt dispute went unanswered: every participant got its line of the base snapshot back (its deposit,
        /// unless a snapshot was anchored), the disputer the bond.
        case annulled(atHeight: UInt64)

        /// One word: claimed, open, closing, closed, annulled.
        public var name: String {
            switch self {
            case .claimed: "claimed"
            case .open: "open"
            case .closing: "closing"
            case .closed: "closed"
            case .annulled: "annulled"
            }
        }

        public var description: String {
            switch self {
            case .claimed: "claimed"
            case .open: "open"
            case .closing(let posted, let deadline, let dispute):
                "closing (snapshot \(posted.number) settles at \(deadline)"
                    + (dispute.map { "; receipt \($0.index) disputed" } ?? "") + ")"
            case .closed(let settled, let height): "closed at height \(height) (snapshot \(settled.number))"
            case .annulled(let height): "annulled at height \(height)"
            }
        }
    }

    public var id: FieldId
    /// The leader's account (it paid the bond and receives the reward) and the key it signs receipts with.
    public var leader: Address
    public var leaderKey: PublicKey
    public var bond: Amount
    public var participants: [Address]
    public var deposits: [Amount]
    public var participantsHash: Hash
    public var challengeSeconds: UInt32
    public var status: Status
    /// The leader equivocated or failed a dispute: its bond went to the one who proved it (`bond` is then 0),
    /// and it earns no reward.
    public var claimedAtHeight: UInt64
    public var openedAtHeight: UInt64
    public var leaderForfeited: Bool
    /// What moved in and out on chain while open (D34), by participant: `deposited`, top-ups and locks undone
    /// back to this field; `withdrawn`, withdrawals paid and locks other fields took.
    public var flows: FieldFlows
    /// The newest snapshot anchored on chain (by `field-withdraw` or `field-lock-settle`; the opening until
    /// then): no settlement goes back before it, and an annulled round returns to it.
    public var base: FieldSettlement
    /// Deposits that locks in other fields brought, with the field each returns to if this one is annulled.
    public var lockedDeposits: [FieldLockedDeposit]
    /// Who proved the leader's equivocation: the bond kept back for its locks goes to it at settlement.
    public var bondClaimant: Address?

    public init(id: FieldId, leader: Address, leaderKey: PublicKey, bond: Amount, claimedAtHeight: UInt64) {
        self.id = id
        self.leader = leader
        self.leaderKey = leaderKey
        self.bond = bond
        participants = []
        deposits = []
        participantsHash = FieldSnapshot.participantsHash([])
        challengeSeconds = FieldRules.defaultChallengeSeconds
        status = .claimed
        self.claimedAtHeight = claimedAtHeight
        openedAtHeight = 0
        leaderForfeited = false
        flows = FieldFlows()
        base = .opening(participants: [], deposits: [])
        lockedDeposits = []
        bondClaimant = nil
    }

    public func position(of participant: Address) -> Int? { participants.firstIndex(of: participant) }

    /// What the leader's bond still answers for (D34): every amount that left on chain beyond what the base
    /// snapshot records as withdrawn. A lock is taken on the leader's word (its receipt) before a fully signed
    /// snapshot shows it; should the field settle on a snapshot that does not, the shortfall comes from the bond,
    /// so the locks outstanding never exceed it.
    public var collateralInUse: Amount {
        // Saturating: a sum that wrapped would look small enough for one more lock.
        flows.entries.reduce(Amount(0)) { total, entry in
            let anchored = base.flows[Int(entry.position)].withdrawn
            let owed = entry.flow.withdrawn > anchored ? entry.flow.withdrawn - anchored : 0
            return total > Amount.max - owed ? Amount.max : total + owed
        }
    }

    public var isClosed: Bool {
        if case .closed = status { true } else { false }
    }

    public var isClosing: Bool {
        if case .closing = status { true } else { false }
    }

    /// What each participant is owed on `settlement`: its line plus what moved on chain that the line does not
    /// count (top-ups it missed, less what left the field beyond the withdrawals it records). A line that ends
    /// below zero (a lock taken on the leader's word that the snapshot does not show) is owed nothing, and the sum
    /// of such shortfalls is for the leader's bond to cover (never more than the bond while the field is unsettled:
    /// `collateralInUse`).
    public func owed(on settlement: FieldSettlement) throws(LedgerError) -> (amounts: [Amount], shortfall: Amount) {
        var amounts: [Amount] = []
        var shortfall: Amount = 0
        for position in participants.indices {
            let line = settlement.flows[position], chain = flows[position]
            let credits = try Amounts.add(try Amounts.add(settlement.balances[position], line.withdrawn), chain.deposited)
            let debits = try Amounts.add(line.deposited, chain.withdrawn)
            amounts.append(credits > debits ? credits - debits : 0)
            if debits > credits { shortfall = try Amounts.add(shortfall, debits - credits) }
        }
        return (amounts, shortfall)
    }

    /// What a message that settles this field touches besides the field: its participants, its leader, whoever
    /// proved its leader's equivocation, and the fields its locked deposits return to when it is annulled. Senders list it as the message's extra scope.
    public var settlementScope: [Address] {
        participants + [leader] + (bondClaimant.map { [$0] } ?? []) + lockedDeposits.map { FieldRules.scopeKey($0.source) }
    }

    /// The commitment of a posted or settled snapshot of this field: the leaf it adds to a block's field root.
    public func commitment(of settlement: FieldSettlement) -> Hash {
        FieldSnapshot(field: id, number: settlement.number, paymentCount: settlement.paymentCount,
                      paymentsRoot: settlement.paymentsRoot, balancesHash: settlement.balancesHash)
            .commitment(participantsHash: participantsHash)
    }

    /// What the field holds of the supply: the bond until it is settled, and the deposits while it is open.
    public var held: Amount {
        switch status {
        case .claimed: bond
        case .open, .closing: deposits.reduce(bond, &+) &+ flows.totalDeposited &- flows.totalWithdrawn
        case .closed, .annulled: 0
        }
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(id)
        encoder.encode(leader)
        encoder.encode(leaderKey)
        encoder.encode(bond)
        encoder.encode(participants)
        encoder.encode(deposits)
        encoder.encode(participantsHash)
        encoder.encode(challengeSeconds)
        switch status {
        case .claimed: encoder.encode(UInt8(0))
        case .open: encoder.encode(UInt8(1))
        case .closing(let posted, let deadline, let dispute):
            encoder.encode(UInt8(2))
            encoder.encode(posted)
            encoder.encode(deadline)
            encoder.encode(dispute)
        case .closed(let settled, let height):
            encoder.encode(UInt8(3))
            encoder.encode(settled)
            encoder.encode(height)
        case .annulled(let height):
            encoder.encode(UInt8(4))
            encoder.encode(height)
        }
        encoder.encode(claimedAtHeight)
        encoder.encode(openedAtHeight)
        encoder.encode(leaderForfeited)
        encoder.encode(flows)
        encoder.encode(base)
        encoder.encode(lockedDeposits)
        encoder.encode(bondClaimant)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        id = try decoder.decode()
        leader = try decoder.decode()
        leaderKey = try decoder.decode()
        bond = try decoder.decode()
        participants = try decoder.decodeArray(limit: FieldRules.maximumParticipants)
        deposits = try decoder.decodeArray(limit: FieldRules.maximumParticipants)
        participantsHash = try decoder.decode()
        challengeSeconds = try decoder.decode()
        let offset = decoder.offset
        switch try decoder.decode(UInt8.self) {
        case 0: status = .claimed
        case 1: status = .open
        case 2: status = .closing(try decoder.decode(), deadline: try decoder.decode(), dispute: try decoder.decodeOptional())
        case 3: status = .closed(try decoder.decode(), atHeight: try decoder.decode())
        case 4: status = .annulled(atHeight: try decoder.decode())
        case let tag: throw .unknownTag(offset: offset, tag: UInt64(tag), type: "FieldRecord.Status")
        }
        claimedAtHeight = try decoder.decode()
        openedAtHeight = try decoder.decode()
        leaderForfeited = try decoder.decode()
        flows = try decoder.decode()
        base = try decoder.decode()
        lockedDeposits = try decoder.decodeArray(limit: FieldRules.maximumParticipants)
        bondClaimant = try decoder.decodeOptional()
    }
}
