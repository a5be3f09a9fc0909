import AlzaCore

/// A payment field's id: `H(leader || nonce)`, claimed on chain by its leader (DESIGN.md §6).
public struct FieldId: Hashable, Comparable, Sendable, CustomStringConvertible, CanonicalCodable {
    public var hash: Hash

    public init(hash: Hash) { self.hash = hash }

    /// The id a leader claims with `nonce`.
    public init(leader: PublicKey, nonce: UInt64) {
        var encoder = CanonicalEncoder()
        encoder.encode(leader)
        encoder.encode(nonce)
        hash = Hash.sha256(encoder.bytes)
    }

    public var description: String { hash.short }
    public static func < (lhs: FieldId, rhs: FieldId) -> Bool { lhs.hash < rhs.hash }
    public func encode(to encoder: inout CanonicalEncoder) { encoder.encode(hash) }
    public init(from decoder: inout CanonicalDecoder) throws(CodecError) { hash = try decoder.decode() }
}

/// Signing domains of the field protocol: a payment, a batch of receipts and a snapshot commitment can never be
/// replayed as one another, nor as anything else Alza signs.
public enum FieldDomains {
    public static let payment = SigningDomain("field-payment")
    public static let receipts = SigningDomain("field-receipts")
    public static let commitment = SigningDomain("field-commitment")
    /// A participant's agreement that a snapshot is the field's last (`field-close`): signed only when asked to
    /// close, so the signatures of an old snapshot can never close a field at once.
    public static let close = SigningDomain("field-close")
}

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

    /// What a participant signs to close the field with this snapshot (domain `field-close`): the commitment and
    /// the chain time the close must be in a block by (D36). `UInt64.max` (no limit) signs the commitment alone.
    public func closeBytes(participantsHash: Hash, closeBy: UInt64) -> [UInt8] {
        let commitment = commitment(participantsHash: participantsHash).bytes
        guard closeBy != .max else { return commitment }
        var encoder = CanonicalEncoder()
        encoder.encode(closeBy)
        return commitment + encoder.bytes
    }

    public static func participantsHash(_ participants: [Address]) -> Hash {
        var encoder = CanonicalEncoder()
        encoder.encode(participants)
        return Hash.sha256(encoder.bytes)
    }

    /// A participant's line: its position, address and balance, and its flows (D34) when it moved any (a line
    /// without flows hashes as it always did).
    public static func balanceLeaf(index: Int, participant: Address, balance: Amount, flow: FieldFlow = .zero) -> Hash {
        var encoder = CanonicalEncoder()
        encoder.encode(UInt32(index))
        encoder.encode(participant)
        encoder.encode(balance)
        if !flow.isZero { encoder.encode(flow) }
        return MerkleTree.leafHash(encoder.bytes)
    }

    public static func balanceLeaves(participants: [Address], balances: [Amount], flows: FieldFlows = FieldFlows()) -> [Hash] {
        precondition(participants.count == balances.count, "one balance per participant")
        return participants.indices.map {
            balanceLeaf(index: $0, participant: participants[$0], balance: balances[$0], flow: flows[$0])
        }
    }

    /// The balances hash: the RFC 6962 root over the balance leaves, in participant order.
    public static func balancesHash(participants: [Address], balances: [Amount], flows: FieldFlows = FieldFlows()) -> Hash {
        MerkleTree.root(leafHashes: balanceLeaves(participants: participants, balances: balances, flows: flows))
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
