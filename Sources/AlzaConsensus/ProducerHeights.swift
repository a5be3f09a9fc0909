import AlzaLedger

/// The last height each producer produced on a branch, for a fork-database entry: a small array sorted by
/// address. Every block copies its parent's and sets one producer; every LIB computation looks up the whole
/// committee. For a committee of 23 that is a 23-element copy and binary searches, where a dictionary costs an
/// allocation, a rehash and a SipHash per lookup (the simulator's 24 h run spends its time there).
public struct ProducerHeights: Sendable, Equatable {
    private var entries: [(address: Address, height: UInt64)]

    public init(_ heights: [Address: UInt64] = [:]) {
        entries = heights.map { ($0.key, $0.value) }.sorted { $0.address < $1.address }
    }

    public static func == (lhs: ProducerHeights, rhs: ProducerHeights) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.address == $1.address && $0.height == $1.height }
    }

    private func index(of address: Address) -> (found: Bool, at: Int) {
        var low = 0, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].address == address { return (true, middle) }
            if entries[middle].address < address { low = middle + 1 } else { high = middle }
        }
        return (false, low)
    }

    public subscript(address: Address) -> UInt64? {
        get {
            let (found, at) = index(of: address)
            return found ? entries[at].height : nil
        }
        set {
            let (found, at) = index(of: address)
            switch (found, newValue) {
            case (true, let height?): entries[at].height = height
            case (true, nil): entries.remove(at: at)
            case (false, let height?): entries.insert((address, height), at: at)
            case (false, nil): break
            }
        }
    }

    public var count: Int { entries.count }
}
