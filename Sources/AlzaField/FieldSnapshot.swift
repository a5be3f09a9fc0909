import AlzaCore
import AlzaLedger

/// A snapshot of a field (DESIGN.md §6): the first `paymentCount` payments of the log, their RFC 6962 root, and
/// the balances after them as an RFC 6962 root over (participant index, address, balance) in participant order.
/// Signed by every participant it is **fully signed**, and closes the field on chain.
public struct FieldSnapshot: Hashable, Sendable, CanonicalCodable {
    public var field: FieldId
    public var number: UInt64
    public var paymentCount: UInt64
    public var paymentsRoot: Hash
    public var balancesHash: Hash

    public init(field: FieldId, number: UInt64, paymentCount: UInt64, paymentsRoot: Hash, balancesHash: Hash) {
        self.field = field
        self.number = number
        self.paymentCount = paymentCount
        self.paymentsRoot = paymentsRoot
        self.balancesHash = balancesHash
    }

    /// `H(fieldId || snapshot number || payments root || H(participant keys) || balances hash)`: what every
    /// participant signs and the chain checks on close.
    public func commitment(participantsHash: Hash) -> Hash {
        var encoder = CanonicalEncoder()
        encoder.encode(field)
        encoder.encode(number)
        encoder.encode(paymentsRoot)
        encoder.encode(participantsHash)
        encoder.encode(balancesHash)
        return Hash.sha256(encoder.bytes)
    }

    public static func participantsHash(_ participants: [Address]) -> Hash {
        var encoder = CanonicalEncoder()
        encoder.encode(participants)
        return Hash.sha256(encoder.bytes)
    }

    public static func balanceLeaf(index: Int, participant: Address, balance: Amount) -> Hash {
        var encoder = CanonicalEncoder()
        encoder.encode(UInt32(index))
        encoder.encode(participant)
        encoder.encode(balance)
        return MerkleTree.leafHash(encoder.bytes)
    }

    public static func balanceLeaves(participants: [Address], balances: [Amount]) -> [Hash] {
        precondition(participants.count == balances.count, "one balance per participant")
        return participants.indices.map { balanceLeaf(index: $0, participant: participants[$0], balance: balances[$0]) }
    }

    /// The payments root of a log's leaf hashes: each payment hash as an RFC 6962 leaf.
    public static func paymentLeaf(_ paymentHash: Hash) -> Hash { MerkleTree.leafHash(paymentHash.bytes) }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(field)
        encoder.encode(number)
        encoder.encode(paymentCount)
        encoder.encode(paymentsRoot)
        encoder.encode(balancesHash)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        field = try decoder.decode()
        number = try decoder.decode()
        paymentCount = try decoder.decode()
        paymentsRoot = try decoder.decode()
        balancesHash = try decoder.decode()
    }
}

/// What the leader sends one participant with a snapshot: the payment hashes it has not seen in a snapshot it
/// signed, and its own balance with the inclusion proof of its leaf. A participant sees hashes and its own line,
/// not the others' payments.
public struct SnapshotProposal: Hashable, Sendable, CanonicalCodable {
    public static let maximumHashes = 1 << 20

    public var snapshot: FieldSnapshot
    public var firstIndex: UInt64
    public var paymentHashes: [Hash]
    public var participantIndex: UInt32
    public var balance: Amount
    public var balanceProof: [Hash]

    public init(snapshot: FieldSnapshot, firstIndex: UInt64, paymentHashes: [Hash], participantIndex: UInt32,
                balance: Amount, balanceProof: [Hash]) {
        self.snapshot = snapshot
        self.firstIndex = firstIndex
        self.paymentHashes = paymentHashes
        self.participantIndex = participantIndex
        self.balance = balance
        self.balanceProof = balanceProof
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(snapshot)
        encoder.encode(firstIndex)
        encoder.encode(paymentHashes)
        encoder.encode(participantIndex)
        encoder.encode(balance)
        encoder.encode(balanceProof)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        snapshot = try decoder.decode()
        firstIndex = try decoder.decode()
        paymentHashes = try decoder.decodeArray(limit: Self.maximumHashes)
        participantIndex = try decoder.decode()
        balance = try decoder.decode()
        balanceProof = try decoder.decodeArray(limit: FieldReceipt.maximumPath)
    }
}
