import AlzaCore

/// The key of one record of the ledger state. All state is a map from these keys to `StateValue`s; the state
/// root commits to it, journals and checkpoints store it, and undo records restore it.
public enum StateKey: Hashable, Sendable, CustomStringConvertible {
    case chain
    case account(Address)
    /// The next nonce of a deleted account, so its old transactions can never replay if it is re-created.
    case retiredNonce(Address)
    case producer(Address)
    case name(AccountName)
    case member(Address)
    case delayed(UInt64)
    case audit(UInt64)
    case evidence(producer: Address, slot: UInt64)
    case field(FieldId)

    /// Canonical bytes: a tag, then the key's fields. State entries are ordered by these bytes.
    public var bytes: [UInt8] {
        var encoder = CanonicalEncoder(reservingCapacity: 41)
        encode(to: &encoder)
        return encoder.bytes
    }

    public var description: String {
        switch self {
        case .chain: "chain"
        case .account(let address): "account/\(address)"
        case .retiredNonce(let address): "retired/\(address)"
        case .producer(let address): "producer/\(address)"
        case .name(let name): "name/\(name)"
        case .member(let address): "member/\(address)"
        case .delayed(let id): "delayed/\(id)"
        case .audit(let sequence): "audit/\(sequence)"
        case .evidence(let producer, let slot): "evidence/\(producer)/\(slot)"
        case .field(let id): "field/\(id.hash.hex)"
        }
    }

    func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case .chain: encoder.encode(UInt8(0))
        case .account(let address): encoder.encode(UInt8(1)); encoder.encode(address)
        case .retiredNonce(let address): encoder.encode(UInt8(2)); encoder.encode(address)
        case .producer(let address): encoder.encode(UInt8(3)); encoder.encode(address)
        case .name(let name): encoder.encode(UInt8(4)); encoder.encode(name)
        case .member(let address): encoder.encode(UInt8(5)); encoder.encode(address)
        case .delayed(let id): encoder.encode(UInt8(6)); encoder.encode(id)
        case .audit(let sequence): encoder.encode(UInt8(7)); encoder.encode(sequence)
        case .evidence(let producer, let slot): encoder.encode(UInt8(8)); encoder.encode(producer); encoder.encode(slot)
        case .field(let id): encoder.encode(UInt8(9)); encoder.encode(id)
        }
    }

    init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let offset = decoder.offset
        switch try decoder.decode(UInt8.self) {
        case 0: self = .chain
        case 1: self = .account(try decoder.decode())
        case 2: self = .retiredNonce(try decoder.decode())
        case 3: self = .producer(try decoder.decode())
        case 4: self = .name(try decoder.decode())
        case 5: self = .member(try decoder.decode())
        case 6: self = .delayed(try decoder.decode())
        case 7: self = .audit(try decoder.decode())
        case 8: self = .evidence(producer: try decoder.decode(), slot: try decoder.decode())
        case 9: self = .field(try decoder.decode())
        case let tag: throw .unknownTag(offset: offset, tag: UInt64(tag), type: "StateKey")
        }
    }
}

/// The value stored under a `StateKey` (its case always matches the key's).
public enum StateValue: Hashable, Sendable {
    case chain(ChainRecord)
    case account(Account)
    case retiredNonce(UInt64)
    case producer(ProducerInfo)
    case name(Address)
    case member(Member)
    case delayed(DelayedAction)
    case audit(AuditEntry)
    case evidence(Hash)
    case field(FieldRecord)

    func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case .chain(let value): encoder.encode(value)
        case .account(let value): encoder.encode(value)
        case .retiredNonce(let value): encoder.encode(value)
        case .producer(let value): encoder.encode(value)
        case .name(let value): encoder.encode(value)
        case .member(let value): encoder.encode(value)
        case .delayed(let value): encoder.encode(value)
        case .audit(let value): encoder.encode(value)
        case .evidence(let value): encoder.encode(value)
        case .field(let value): encoder.encode(value)
        }
    }

    var bytes: [UInt8] {
        var encoder = CanonicalEncoder(reservingCapacity: 128)
        encode(to: &encoder)
        return encoder.bytes
    }

    /// Decodes the value of `key`'s kind.
    init(for key: StateKey, from decoder: inout CanonicalDecoder) throws(CodecError) {
        switch key {
        case .chain: self = .chain(try decoder.decode())
        case .account: self = .account(try decoder.decode())
        case .retiredNonce: self = .retiredNonce(try decoder.decode())
        case .producer: self = .producer(try decoder.decode())
        case .name: self = .name(try decoder.decode())
        case .member: self = .member(try decoder.decode())
        case .delayed: self = .delayed(try decoder.decode())
        case .audit: self = .audit(try decoder.decode())
        case .evidence: self = .evidence(try decoder.decode())
        case .field: self = .field(try decoder.decode())
        }
    }
}

/// A key with its value, or with nil for a deletion: the unit of journals, checkpoints and undo records.
public struct StateEntry: Hashable, Sendable, CanonicalCodable {
    public var key: StateKey
    public var value: StateValue?

    public init(key: StateKey, value: StateValue?) {
        self.key = key
        self.value = value
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        key.encode(to: &encoder)
        if let value {
            encoder.encode(UInt8(1))
            value.encode(to: &encoder)
        } else {
            encoder.encode(UInt8(0))
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        key = try StateKey(from: &decoder)
        let offset = decoder.offset
        switch try decoder.decode(UInt8.self) {
        case 0: value = nil
        case 1: value = try StateValue(for: key, from: &decoder)
        case let tag: throw .unknownTag(offset: offset, tag: UInt64(tag), type: "optional marker")
        }
    }
}

/// The state changes of one block: the entries as they were before (to revert it on a fork switch) and as they
/// are after (the journal record that replays it after a crash). Both are sorted by key bytes.
public struct StateChangeSet: Hashable, Sendable, CanonicalCodable {
    public var undo: [StateEntry]
    public var redo: [StateEntry]

    public init(undo: [StateEntry], redo: [StateEntry]) {
        self.undo = undo
        self.redo = redo
    }

    public static let maximumEntries = 4_000_000

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(undo)
        encoder.encode(redo)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        undo = try decoder.decodeArray(limit: Self.maximumEntries)
        redo = try decoder.decodeArray(limit: Self.maximumEntries)
    }
}

/// A write with its commitment update hashed ahead of the merge.
struct PreparedWrite: Sendable {
    let entry: StateEntry
    let update: CommitmentUpdate

    init(_ entry: StateEntry) {
        self.entry = entry
        update = CommitmentUpdate(key: entry.key, value: entry.value)
    }
}
