import AlzaCore

/// The built-in functions a message can call (seed §3.1.1 "code"; DESIGN.md §3). Encoded as a varint.
public enum MessageCode: UInt16, Hashable, Sendable, CaseIterable, CanonicalCodable, CustomStringConvertible {
    case transfer = 1
    case accountRegister = 2
    case accountUpdate = 3
    case accountDelete = 4
    case permissionUpdate = 5
    case stake = 6
    case unstake = 7
    case delegateVote = 8
    case producerRegister = 9
    case producerUnregister = 10
    case producerRecover = 11
    case equivocationEvidence = 12
    case cancelDelayed = 13
    case privilegeGrant = 14
    case privilegeRevoke = 15
    case memberRegister = 16
    case coinbase = 17
    case fieldClaim = 18
    case fieldOpen = 19
    case fieldClose = 20
    case fieldSoloClose = 21
    case fieldDispute = 22
    case fieldFinalize = 23
    case fieldRespond = 24
    case fieldEquivocation = 25
    case fieldDeposit = 26
    case fieldWithdraw = 27
    case fieldLockSettle = 28

    public var description: String {
        switch self {
        case .transfer: "transfer"
        case .accountRegister: "account-register"
        case .accountUpdate: "account-update"
        case .accountDelete: "account-delete"
        case .permissionUpdate: "permission-update"
        case .stake: "stake"
        case .unstake: "unstake"
        case .delegateVote: "delegate-vote"
        case .producerRegister: "producer-register"
        case .producerUnregister: "producer-unregister"
        case .producerRecover: "producer-recover"
        case .equivocationEvidence: "equivocation-evidence"
        case .cancelDelayed: "cancel-delayed"
        case .privilegeGrant: "privilege-grant"
        case .privilegeRevoke: "privilege-revoke"
        case .memberRegister: "member-register"
        case .coinbase: "coinbase"
        case .fieldClaim: "field-claim"
        case .fieldOpen: "field-open"
        case .fieldClose: "field-close"
        case .fieldSoloClose: "field-solo-close"
        case .fieldDispute: "field-dispute"
        case .fieldFinalize: "field-finalize"
        case .fieldRespond: "field-respond"
        case .fieldEquivocation: "field-equivocation"
        case .fieldDeposit: "field-deposit"
        case .fieldWithdraw: "field-withdraw"
        case .fieldLockSettle: "field-lock-settle"
        }
    }

    /// Codes that a node creates, not a user: they carry no signatures and pay no fee, and their validity
    /// comes from their content (a coinbase must equal the computed rewards; evidence carries two signatures).
    public var isSystem: Bool { self == .coinbase || self == .equivocationEvidence }

    /// Codes that write chain-wide records (name table, counters, audit log, supply, evidence). Transactions
    /// with such a message never share a parallel execution wave with another such transaction.
    public var writesGlobalState: Bool {
        switch self {
        case .accountRegister, .accountUpdate, .accountDelete, .equivocationEvidence, .privilegeGrant,
             .privilegeRevoke, .memberRegister, .coinbase:
            true
        // A close mints the leader's reward (the supply is chain-wide); claims, openings, solo closes and
        // disputes touch only the field and its participants.
        case .fieldClose, .fieldFinalize:
            true
        case .transfer, .permissionUpdate, .stake, .unstake, .delegateVote, .producerRegister,
             .producerUnregister, .producerRecover, .cancelDelayed, .fieldClaim, .fieldOpen, .fieldSoloClose,
             .fieldDispute, .fieldRespond, .fieldEquivocation, .fieldDeposit, .fieldWithdraw, .fieldLockSettle:
            false
        }
    }

    public func encode(to encoder: inout CanonicalEncoder) { encoder.encodeVarint(UInt64(rawValue)) }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let (tag, offset) = try decoder.decodeTag()
        guard tag <= UInt64(UInt16.max), let code = MessageCode(rawValue: UInt16(tag)) else {
            throw .unknownTag(offset: offset, tag: tag, type: "MessageCode")
        }
        self = code
    }
}
