import AlzaCore
import AlzaLedger

/// Why the mempool refused a transaction.
public enum MempoolError: AlzaError, Equatable {
    case duplicate(Hash)
    case full(limit: Int)
    case nonceTaken(account: Address, nonce: UInt64)
    case ledger(LedgerError)

    public var code: String {
        switch self {
        case .duplicate: "mempool.duplicate"
        case .full: "mempool.full"
        case .nonceTaken: "mempool.nonce-taken"
        case .ledger(let error): error.code
        }
    }

    public var description: String {
        switch self {
        case .duplicate(let id): "transaction \(id.short) is already pending"
        case .full(let limit): "the mempool is full (\(limit) transactions) and this fee is not higher than the lowest"
        case .nonceTaken(let account, let nonce):
            "\(account.short) already has a pending transaction with nonce \(nonce) and an equal or higher fee"
        case .ledger(let error): error.description
        }
    }
}

/// Validated transactions waiting for a block (DESIGN.md §4): bounded in count and bytes, ordered by fee,
/// each account's transactions kept in nonce order. Transactions of blocks dropped by a fork switch come back.
public struct Mempool: Sendable {
    struct Entry: Sendable {
        var transaction: SignedTransaction
        var payer: Address?
        var arrival: UInt64
    }

    public let maximumCount: Int
    public let maximumBytes: Int
    private var entries: [Hash: Entry] = [:]
    private var byPayer: [Address: [UInt64: Hash]] = [:]
    private var system: [Hash] = []
    private var arrivals: UInt64 = 0
    public private(set) var totalBytes = 0

    public init(maximumCount: Int, maximumBytes: Int) {
        self.maximumCount = maximumCount
        self.maximumBytes = maximumBytes
    }

    public var count: Int { entries.count }
    public func contains(_ id: Hash) -> Bool { entries[id] != nil }
    public func transaction(_ id: Hash) -> SignedTransaction? { entries[id]?.transaction }

    /// Validates `transaction` against `state` at `time` and adds it.
    public mutating func admit(_ transaction: SignedTransaction, state: LedgerState, time: UInt64,
                               verifier: SignatureVerifier) -> Result<Void, MempoolError> {
        guard entries[transaction.id] == nil else { return .failure(.duplicate(transaction.id)) }
        do {
            try TransactionValidator.validate(transaction, state: state, time: time, verifier: verifier)
        } catch {
            return .failure(.ledger(error))
        }
        return insert(transaction)
    }

    /// Adds an already validated transaction (a fork switch returning a dropped block's transactions).
    @discardableResult
    public mutating func insert(_ transaction: SignedTransaction) -> Result<Void, MempoolError> {
        guard entries[transaction.id] == nil else { return .failure(.duplicate(transaction.id)) }
        let payer = transaction.transaction.isSystem ? nil : transaction.transaction.payer
        if let payer, let existing = byPayer[payer]?[transaction.header.nonce] {
            // Replace-by-fee: the same nonce with a strictly higher fee replaces the pending one.
            guard let old = entries[existing], transaction.header.fee > old.transaction.header.fee else {
                return .failure(.nonceTaken(account: payer, nonce: transaction.header.nonce))
            }
            remove(existing)
        }
        while entries.count >= maximumCount || totalBytes + transaction.encodedSize > maximumBytes {
            guard let lowest = lowestFeeEntry(), lowest.transaction.header.fee < transaction.header.fee else {
                return .failure(.full(limit: maximumCount))
            }
            remove(lowest.transaction.id)
        }
        arrivals += 1
        entries[transaction.id] = Entry(transaction: transaction, payer: payer, arrival: arrivals)
        totalBytes += transaction.encodedSize
        if let payer {
            byPayer[payer, default: [:]][transaction.header.nonce] = transaction.id
        } else {
            system.append(transaction.id)
        }
        return .success(())
    }

    private func lowestFeeEntry() -> Entry? {
        entries.values.filter { $0.payer != nil }.min {
            ($0.transaction.header.fee, UInt64.max - $0.arrival) < ($1.transaction.header.fee, UInt64.max - $1.arrival)
        }
    }

    public mutating func remove(_ id: Hash) {
        guard let entry = entries.removeValue(forKey: id) else { return }
        totalBytes -= entry.transaction.encodedSize
        if let payer = entry.payer {
            byPayer[payer]?[entry.transaction.header.nonce] = nil
            if byPayer[payer]?.isEmpty == true { byPayer[payer] = nil }
        } else {
            system.removeAll { $0 == id }
        }
    }

    /// Drops what can no longer apply on `state` at `time`: used nonces, expired transactions, evidence already
    /// on chain. Returns the dropped ids with the reason.
    public mutating func prune(state: LedgerState, time: UInt64, verifier: SignatureVerifier) -> [(Hash, LedgerError)] {
        var dropped: [(Hash, LedgerError)] = []
        for (payer, queue) in byPayer {
            let next = state.nextNonce(of: payer)
            for (nonce, id) in queue {
                guard let entry = entries[id] else { continue }
                if nonce < next {
                    dropped.append((id, .badNonce(account: payer, expected: next, actual: nonce)))
                } else if entry.transaction.header.expiration < time {
                    dropped.append((id, .expired(expiration: entry.transaction.header.expiration, blockTime: time)))
                }
            }
        }
        for id in system {
            guard let entry = entries[id] else { continue }
            if case .failure(let error) = Result(catching: { () throws(LedgerError) in
                try TransactionValidator.validate(entry.transaction, state: state, time: time, verifier: verifier)
            }) {
                dropped.append((id, error))
            }
        }
        dropped.sort { $0.0 < $1.0 }
        for (id, _) in dropped { remove(id) }
        return dropped
    }

    /// Transactions for the next block on `state`: system transactions first, then by fee (highest first, older
    /// first among equals), each account's in nonce order starting at its next nonce, at most `limit`.
    public func candidates(for state: LedgerState, limit: Int) -> [SignedTransaction] {
        var selected = system.compactMap { entries[$0]?.transaction }
        var nextNonce: [Address: UInt64] = [:]
        var ready: [Entry] = []
        for (payer, queue) in byPayer {
            let next = state.nextNonce(of: payer)
            nextNonce[payer] = next
            if let id = queue[next], let entry = entries[id] { ready.append(entry) }
        }
        // A max-heap by (fee, earlier arrival).
        var heap = Heap<Entry>(ready) { a, b in
            (a.transaction.header.fee, UInt64.max - a.arrival) > (b.transaction.header.fee, UInt64.max - b.arrival)
        }
        while selected.count < limit, let best = heap.pop() {
            selected.append(best.transaction)
            guard let payer = best.payer else { continue }
            let following = best.transaction.header.nonce + 1
            nextNonce[payer] = following
            if let id = byPayer[payer]?[following], let entry = entries[id] { heap.push(entry) }
        }
        return selected
    }

    /// The nonce `payer`'s next transaction should carry: its state nonce, past its contiguous pending ones.
    public func nextNonce(for payer: Address, state: LedgerState) -> UInt64 {
        var nonce = state.nextNonce(of: payer)
        while byPayer[payer]?[nonce] != nil { nonce += 1 }
        return nonce
    }

    /// Every pending transaction id (for status queries).
    public var ids: [Hash] { Array(entries.keys) }
}

/// A binary heap ordered by `isHigher` (the top is the highest).
struct Heap<Element> {
    private var items: [Element]
    private let isHigher: (Element, Element) -> Bool

    init(_ items: [Element], isHigher: @escaping (Element, Element) -> Bool) {
        self.items = []
        self.isHigher = isHigher
        for item in items { push(item) }
    }

    var isEmpty: Bool { items.isEmpty }

    mutating func push(_ item: Element) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard isHigher(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var highest = parent
            if left < items.count && isHigher(items[left], items[highest]) { highest = left }
            if right < items.count && isHigher(items[right], items[highest]) { highest = right }
            if highest == parent { break }
            items.swapAt(parent, highest)
            parent = highest
        }
        return top
    }
}
