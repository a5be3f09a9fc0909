import AlzaCore
import AlzaLedger

/// What a field leader writes to its journal (DESIGN.md §6): payment batches before their receipts leave,
/// each snapshot number before its proposals leave, and (riding along with the next write) acknowledgements
/// and fully signed snapshots. Folding the entries in order gives what `FieldLeaderCore(recovering:)` needs.
public enum FieldLeaderJournalEntry: Hashable, Sendable, CanonicalCodable {
    case payments(firstIndex: UInt64, [SignedFieldPayment])
    case proposed(number: UInt64)
    case acknowledged(participant: Address, paymentCount: UInt64)
    case fullySigned(SignedFieldSnapshot)
    /// The chain's top-up total for a participant, journaled when the leader credits it (D34).
    case credited(participant: Address, depositedTotal: Amount)

    public func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case .credited(let participant, let total):
            encoder.encode(UInt8(5))
            encoder.encode(participant)
            encoder.encode(total)
        case .payments(let first, let payments):
            encoder.encode(UInt8(1))
            encoder.encode(first)
            encoder.encode(payments)
        case .proposed(let number):
            encoder.encode(UInt8(2))
            encoder.encode(number)
        case .acknowledged(let participant, let count):
            encoder.encode(UInt8(3))
            encoder.encode(participant)
            encoder.encode(count)
        case .fullySigned(let signed):
            encoder.encode(UInt8(4))
            encoder.encode(signed)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let offset = decoder.offset
        switch try decoder.decode(UInt8.self) {
        case 1: self = .payments(firstIndex: try decoder.decode(), try decoder.decodeArray(limit: 1 << 16))
        case 2: self = .proposed(number: try decoder.decode())
        case 3: self = .acknowledged(participant: try decoder.decode(), paymentCount: try decoder.decode())
        case 4: self = .fullySigned(try decoder.decode())
        case 5: self = .credited(participant: try decoder.decode(), depositedTotal: try decoder.decode())
        case let tag: throw .unknownTag(offset: offset, tag: UInt64(tag), type: "FieldLeaderJournalEntry")
        }
    }
}

/// A leader's journal folded: what it had made durable when it stopped.
public struct FieldLeaderRecovery: Sendable, Equatable {
    public var payments: [SignedFieldPayment] = []
    public var newestProposed: UInt64 = 0
    public var acknowledged: [Address: UInt64] = [:]
    public var newestFullySigned: SignedFieldSnapshot?
    /// The newest top-up total journaled for each participant.
    public var deposited: [Address: Amount] = [:]

    public init() {}

    /// Folds journal records (canonical bytes of `FieldLeaderJournalEntry`, in write order); a record that does
    /// not decode or a payment batch out of order is `journalInconsistent` with its position.
    public init(records: [[UInt8]]) throws(FieldError) {
        for (position, bytes) in records.enumerated() {
            let entry: FieldLeaderJournalEntry
            do {
                entry = try FieldLeaderJournalEntry(canonicalBytes: bytes)
            } catch {
                throw .journalInconsistent(reason: "record \(position): \(error.description)")
            }
            switch entry {
            case .payments(let first, let batch):
                guard first == UInt64(payments.count) else {
                    throw .journalInconsistent(reason: "record \(position) starts at payment \(first), the log holds \(payments.count)")
                }
                payments += batch
            case .proposed(let number): newestProposed = max(newestProposed, number)
            case .acknowledged(let participant, let count): acknowledged[participant] = max(acknowledged[participant] ?? 0, count)
            case .fullySigned(let signed):
                if signed.snapshot.number > (newestFullySigned?.snapshot.number ?? 0) { newestFullySigned = signed }
            case .credited(let participant, let total): deposited[participant] = max(deposited[participant] ?? 0, total)
            }
        }
    }
}

/// What a participant writes to its journal: the inputs of its core, in order, each durable before the
/// participant acts on it (a payment before it is sent, a signature before it leaves). Replaying them through
/// a new core (`FieldParticipantCore(roster:key:replaying:)`) gives the same state: signing is deterministic.
public enum FieldParticipantJournalEntry: Hashable, Sendable, CanonicalCodable {
    case paid(SignedFieldPayment)
    case refused(SignedFieldPayment)
    case receipted(FieldReceipt, SignedFieldPayment)
    case signed(SnapshotProposal)
    case fullySigned(SignedFieldSnapshot)
    /// The chain's top-up total for this participant (D34), as its watcher read it.
    case credited(depositedTotal: Amount)
    /// The close it signed (durable before the signature leaves), and the chain time after which it lapsed (D36).
    case closeSigned(SignedFieldSnapshot, closeBy: UInt64)
    case closeLapsed(finalBlockTime: UInt64)

    public func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case .closeSigned(let final, let closeBy):
            encoder.encode(UInt8(7))
            encoder.encode(final)
            encoder.encode(closeBy)
        case .closeLapsed(let time):
            encoder.encode(UInt8(8))
            encoder.encode(time)
        case .credited(let total):
            encoder.encode(UInt8(6))
            encoder.encode(total)
        case .paid(let signed):
            encoder.encode(UInt8(1))
            encoder.encode(signed)
        case .refused(let signed):
            encoder.encode(UInt8(2))
            encoder.encode(signed)
        case .receipted(let receipt, let signed):
            encoder.encode(UInt8(3))
            encoder.encode(receipt)
            encoder.encode(signed)
        case .signed(let proposal):
            encoder.encode(UInt8(4))
            encoder.encode(proposal)
        case .fullySigned(let signed):
            encoder.encode(UInt8(5))
            encoder.encode(signed)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let offset = decoder.offset
        switch try decoder.decode(UInt8.self) {
        case 1: self = .paid(try decoder.decode())
        case 2: self = .refused(try decoder.decode())
        case 3: self = .receipted(try decoder.decode(), try decoder.decode())
        case 4: self = .signed(try decoder.decode())
        case 5: self = .fullySigned(try decoder.decode())
        case 6: self = .credited(depositedTotal: try decoder.decode())
        case 7: self = .closeSigned(try decoder.decode(), closeBy: try decoder.decode())
        case 8: self = .closeLapsed(finalBlockTime: try decoder.decode())
        case let tag: throw .unknownTag(offset: offset, tag: UInt64(tag), type: "FieldParticipantJournalEntry")
        }
    }
}

extension FieldParticipantCore {
    /// A participant restarted from its journal records (canonical bytes of `FieldParticipantJournalEntry`).
    public init(roster: FieldRoster, key: SigningKey, replaying records: [[UInt8]]) throws(FieldError) {
        self.init(roster: roster, key: key)
        for (position, bytes) in records.enumerated() {
            do {
                try replay(try FieldParticipantJournalEntry(canonicalBytes: bytes))
            } catch let error as FieldError {
                throw .journalInconsistent(reason: "record \(position): \(error.description)")
            } catch {
                throw .journalInconsistent(reason: "record \(position): \(error)")
            }
        }
    }

    private mutating func replay(_ entry: FieldParticipantJournalEntry) throws(FieldError) {
        switch entry {
        case .paid(let signed):
            let again = try pay(to: signed.payment.payee, amount: signed.payment.amount, presealedMemo: signed.payment.memo,
                                kind: signed.payment.kind)
            guard again == signed else { throw .journalInconsistent(reason: "payment \(signed.payment.sequence) signs differently") }
        case .refused(let signed):
            guard refused(signed) else { throw .journalInconsistent(reason: "refusal of a payment that is not the newest") }
        case .receipted(let receipt, let signed): try received(receipt, for: signed)
        case .signed(let proposal): _ = try sign(proposal)
        case .fullySigned(let signed): try receivedFullySigned(signed)
        case .credited(let total): credited(depositedTotal: total)
        case .closeSigned(let final, let closeBy): _ = try signClose(final, closeBy: closeBy)
        case .closeLapsed(let time): _ = closeLapsed(finalBlockTime: time)
        }
    }
}

/// Whose record a node's field journal holds: the leader of a field, or one wallet account in it.
public enum FieldJournalOwner: Hashable, Sendable, CanonicalCodable {
    case leader(FieldId)
    case participant(FieldId, Address)

    public var field: FieldId {
        switch self {
        case .leader(let field), .participant(let field, _): field
        }
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case .leader(let field):
            encoder.encode(UInt8(1))
            encoder.encode(field)
        case .participant(let field, let account):
            encoder.encode(UInt8(2))
            encoder.encode(field)
            encoder.encode(account)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let offset = decoder.offset
        switch try decoder.decode(UInt8.self) {
        case 1: self = .leader(try decoder.decode())
        case 2: self = .participant(try decoder.decode(), try decoder.decode())
        case let tag: throw .unknownTag(offset: offset, tag: UInt64(tag), type: "FieldJournalOwner")
        }
    }
}

/// One record of a node's field journal: every leader and participant on the node writes into one file, so
/// their writes share one fsync (DESIGN.md §6: fsync-grouped); `entry` is the canonical bytes of a
/// `FieldLeaderJournalEntry` or a `FieldParticipantJournalEntry`.
public struct FieldJournalRecord: Hashable, Sendable, CanonicalCodable {
    public static let maximumEntryBytes = 64 << 20

    public var owner: FieldJournalOwner
    public var entry: [UInt8]

    public init(owner: FieldJournalOwner, entry: [UInt8]) {
        self.owner = owner
        self.entry = entry
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(owner)
        encoder.encodeBytes(entry)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        owner = try decoder.decode()
        entry = try decoder.decodeBytes(limit: Self.maximumEntryBytes)
    }
}
