import AlzaCore
import AlzaLedger

/// Who is in a field and what they brought: what the chain recorded when it opened (DESIGN.md §6). Both cores
/// start from it.
public struct FieldRoster: Sendable, Equatable {
    public static let maximumParticipants = 1_024

    public let field: FieldId
    public let chainId: Hash
    public let leader: PublicKey
    public let participants: [Address]
    public let openingBalances: [Amount]
    public let participantsHash: Hash
    private let positions: [Address: Int]

    public init(field: FieldId, chainId: Hash, leader: PublicKey, participants: [Address], openingBalances: [Amount]) {
        precondition(participants.count >= 2 && participants.count <= Self.maximumParticipants,
                     "a field has 2...\(Self.maximumParticipants) participants")
        precondition(participants.count == openingBalances.count, "one opening balance per participant")
        let positions = Dictionary(participants.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        precondition(positions.count == participants.count, "a participant appears once")
        self.field = field
        self.chainId = chainId
        self.leader = leader
        self.participants = participants
        self.openingBalances = openingBalances
        self.positions = positions
        participantsHash = FieldSnapshot.participantsHash(participants)
    }

    public func position(of participant: Address) -> Int? { positions[participant] }

    /// The sum of the deposits: what every snapshot's balances add up to.
    public var total: Amount { openingBalances.reduce(0, +) }
}
