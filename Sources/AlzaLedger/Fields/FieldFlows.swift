import AlzaCore

/// What one participant moved into and out of an open field (D34): `deposited`, the top-ups (`field-deposit`,
/// and locks undone back to this side) a snapshot counts; `withdrawn`, its exits (withdrawals and locks into
/// other fields). Both are running totals, so a later snapshot never counts less than an earlier one.
public struct FieldFlow: Hashable, Sendable, CanonicalCodable {
    public var deposited: Amount
    public var withdrawn: Amount

    public init(deposited: Amount = 0, withdrawn: Amount = 0) {
        self.deposited = deposited
        self.withdrawn = withdrawn
    }

    public static let zero = FieldFlow()
    public var isZero: Bool { deposited == 0 && withdrawn == 0 }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(deposited)
        encoder.encode(withdrawn)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        deposited = try decoder.decode()
        withdrawn = try decoder.decode()
    }
}

/// The flows of a field's participants by position, sparse: most participants never top up or exit, so only
/// non-zero flows are stored, in ascending position (one canonical encoding per value; the decoder refuses any
/// other). Read with `self[position]`, which is `.zero` for a participant that moved nothing.
public struct FieldFlows: Hashable, Sendable, CanonicalCodable {
    public struct Entry: Hashable, Sendable {
        public var position: UInt32
        public var flow: FieldFlow
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    public subscript(position: Int) -> FieldFlow {
        get { index(of: position).map { entries[$0].flow } ?? .zero }
        set {
            precondition(position >= 0 && position < FieldRules.maximumParticipants, "a participant position")
            if let found = index(of: position) {
                if newValue.isZero { entries.remove(at: found) } else { entries[found].flow = newValue }
            } else if !newValue.isZero {
                let insertAt = entries.firstIndex { $0.position > UInt32(position) } ?? entries.endIndex
                entries.insert(Entry(position: UInt32(position), flow: newValue), at: insertAt)
            }
        }
    }

    public var isEmpty: Bool { entries.isEmpty }
    /// Saturating totals, for views and accounting; consensus checks sum the entries with `Amounts.add`.
    public var totalDeposited: Amount { entries.reduce(0) { $0 > Amount.max - $1.flow.deposited ? .max : $0 + $1.flow.deposited } }
    public var totalWithdrawn: Amount { entries.reduce(0) { $0 > Amount.max - $1.flow.withdrawn ? .max : $0 + $1.flow.withdrawn } }
    /// The highest position with a flow, or nil: a record of `n` participants holds only positions below `n`.
    public var highestPosition: Int? { entries.last.map { Int($0.position) } }

    private func index(of position: Int) -> Int? {
        var low = 0, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            let found = Int(entries[middle].position)
            if found == position { return middle }
            if found < position { low = middle + 1 } else { high = middle }
        }
        return nil
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encodeLength(entries.count)
        for entry in entries {
            encoder.encode(entry.position)
            encoder.encode(entry.flow)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let count = try decoder.decodeLength(limit: FieldRules.maximumParticipants, minimumElementSize: 6)
        var previous: UInt32?
        for _ in 0..<count {
            let offset = decoder.offset
            let position: UInt32 = try decoder.decode()
            let flow: FieldFlow = try decoder.decode()
            guard previous.map({ position > $0 }) ?? true, position < UInt32(FieldRules.maximumParticipants), !flow.isZero else {
                throw .invalidValue(offset: offset, reason: "field flows must be non-zero, in ascending participant position")
            }
            previous = position
            entries.append(Entry(position: position, flow: flow))
        }
    }
}
