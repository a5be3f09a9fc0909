import AlzaCore
import AlzaLedger

/// Reversible blocks: a tree rooted at the node's last irreversible block (DESIGN.md §4; Antelope's fork
/// database). Every entry knows, for its branch, the last height each producer produced, and from that the
/// branch's irreversible height; the fork choice is the highest branch LIB, then the greatest height, then the
/// lowest id. Because the root is the LIB, no branch that does not contain it can even be represented.
public struct ForkDatabase: Sendable {
    public struct Entry: Sendable {
        /// Nil for the root (a committed block, kept on disk).
        public let block: Block?
        public let reference: BlockReference
        public let parent: Hash?
        public let producer: Address?
        /// On this branch up to this block: the last height each producer produced.
        public fileprivate(set) var lastProduced: ProducerHeights
        /// The committee of this block's round (the parent's until the block is applied and its round is known).
        public fileprivate(set) var committee: [Address]
        /// The branch's last irreversible height at this block.
        public fileprivate(set) var irreversibleHeight: UInt64
        /// Whether the block was fully validated and applied at least once.
        public fileprivate(set) var applied: Bool
    }

    public enum AddResult: Sendable {
        case added(Entry)
        case duplicate
        /// The parent is not in the database (the caller should sync).
        case unlinkable
        /// At or below the root: already irreversible or on a branch that cannot win.
        case tooOld
        case full
    }

    private(set) var entries: [Hash: Entry] = [:]
    private var children: [Hash: [Hash]] = [:]
    private var leaves: Set<Hash> = []
    /// (producer, slot) → id of the first block seen, for equivocation detection.
    private var bySlot: [ProducerSlot: Hash] = [:]
    public private(set) var rootId: Hash
    public let capacity: Int

    struct ProducerSlot: Hashable, Sendable {
        var producer: Address
        var slot: UInt64
    }

    public init(root: BlockReference, lastProduced: [Address: UInt64], committee: [Address], capacity: Int = 100_000) {
        rootId = root.id
        self.capacity = capacity
        entries[root.id] = Entry(block: nil, reference: root, parent: nil, producer: nil, lastProduced: ProducerHeights(lastProduced),
                                 committee: committee, irreversibleHeight: root.height, applied: true)
        leaves = [root.id]
    }

    public var root: Entry { entries[rootId]! }
    public var count: Int { entries.count }
    public func entry(_ id: Hash) -> Entry? { entries[id] }
    public func contains(_ id: Hash) -> Bool { entries[id] != nil }

    /// More than two thirds of the (effective) committee and more than half of the whole committee must have
    /// produced on top of a block for it to be irreversible. The effective committee is the whole committee
    /// until the adaptive committee shrinks it.
    public static func requiredConfirmations(committee: Int, effective: Int) -> Int {
        max(effective * 2 / 3 + 1, committee / 2 + 1)
    }

    /// The highest height that at least `requiredConfirmations` committee members produced at or above.
    static func irreversibleHeight(lastProduced: ProducerHeights, committee: [Address]) -> UInt64 {
        guard !committee.isEmpty else { return 0 }
        let needed = requiredConfirmations(committee: committee.count, effective: committee.count)
        let heights = committee.map { lastProduced[$0] ?? 0 }.sorted(by: >)
        return needed <= heights.count ? heights[needed - 1] : 0
    }

    /// The irreversible height on a branch: confirmed by the branch's committee *and* by the committee of the
    /// root (the LIB). A committee change (a silent producer removed, a new round elected) is only a block's
    /// content until that block is irreversible under the committee before it; without the second rule a node
    /// cut off for longer than the inactivity limit removes everyone else on its own branch and finalizes it
    /// alone (found by the simulation campaign, seed 13).
    func confirmedHeight(lastProduced: ProducerHeights, committee: [Address]) -> UInt64 {
        let branch = Self.irreversibleHeight(lastProduced: lastProduced, committee: committee)
        guard let rootCommittee = entries[rootId]?.committee, !rootCommittee.isEmpty, rootCommittee != committee else {
            return branch
        }
        return min(branch, Self.irreversibleHeight(lastProduced: lastProduced, committee: rootCommittee))
    }

    /// Adds a block whose header passed the stateless checks. An existing block of the same producer and slot
    /// is returned as `equivocating` alongside.
    public mutating func add(_ block: Block) -> (result: AddResult, equivocating: Block?) {
        let id = block.id
        guard entries[id] == nil else { return (.duplicate, nil) }
        guard block.height > root.reference.height else { return (.tooOld, nil) }
        guard let parent = entries[block.header.previous] else { return (.unlinkable, nil) }
        guard entries.count < capacity else { return (.full, nil) }
        var lastProduced = parent.lastProduced
        lastProduced[block.header.producer] = block.height
        let committee = parent.committee
        let irreversible = max(parent.irreversibleHeight,
                               confirmedHeight(lastProduced: lastProduced, committee: committee))
        let entry = Entry(block: block, reference: BlockReference(block.signedHeader), parent: parent.reference.id,
                          producer: block.header.producer, lastProduced: lastProduced, committee: committee,
                          irreversibleHeight: min(irreversible, block.height), applied: false)
        entries[id] = entry
        children[parent.reference.id, default: []].append(id)
        leaves.remove(parent.reference.id)
        leaves.insert(id)
        let key = ProducerSlot(producer: block.header.producer, slot: block.slot)
        var equivocating: Block?
        if let first = bySlot[key], first != id, let other = entries[first]?.block {
            equivocating = other
        } else {
            bySlot[key] = id
        }
        return (.added(entry), equivocating)
    }

    /// Records that `id` applied, with the committee of its round; refreshes its and its descendants' LIB.
    public mutating func markApplied(_ id: Hash, committee: [Address]) {
        guard var entry = entries[id] else { return }
        entry.applied = true
        entry.committee = committee
        entries[id] = entry
        refreshIrreversibility(from: id)
    }

    private mutating func refreshIrreversibility(from id: Hash) {
        var stack = [id]
        while let current = stack.popLast() {
            guard var entry = entries[current], let parentId = entry.parent, let parent = entries[parentId] else { continue }
            if current != id { entry.committee = entry.applied ? entry.committee : parent.committee }
            let computed = confirmedHeight(lastProduced: entry.lastProduced, committee: entry.committee)
            entry.irreversibleHeight = min(max(parent.irreversibleHeight, computed), entry.reference.height)
            entries[current] = entry
            stack.append(contentsOf: children[current] ?? [])
        }
    }

    /// The fork choice over all branches: highest branch LIB, then greatest height, then lowest id.
    public func best() -> Entry {
        var best = root
        for id in leaves {
            guard let entry = entries[id] else { continue }
            if Self.isBetter(entry, than: best) { best = entry }
        }
        return best
    }

    static func isBetter(_ a: Entry, than b: Entry) -> Bool {
        if a.irreversibleHeight != b.irreversibleHeight { return a.irreversibleHeight > b.irreversibleHeight }
        if a.reference.height != b.reference.height { return a.reference.height > b.reference.height }
        return a.reference.id < b.reference.id
    }

    /// Entries from just after `ancestor` down to `id`, oldest first (empty if `id` is the ancestor).
    public func path(from ancestor: Hash, to id: Hash) -> [Entry] {
        var path: [Entry] = []
        var current = id
        while current != ancestor, let entry = entries[current] {
            path.append(entry)
            guard let parent = entry.parent else { break }
            current = parent
        }
        return path.reversed()
    }

    /// The deepest common ancestor of two entries.
    public func commonAncestor(_ a: Hash, _ b: Hash) -> Hash {
        var left = a
        var right = b
        while left != right {
            guard let l = entries[left], let r = entries[right] else { return rootId }
            if l.reference.height >= r.reference.height, let parent = l.parent {
                left = parent
            } else if let parent = r.parent {
                right = parent
            } else {
                return rootId
            }
        }
        return left
    }

    /// Whether `descendant` is `ancestor` or below it.
    public func isAncestor(_ ancestor: Hash, of descendant: Hash) -> Bool {
        commonAncestor(ancestor, descendant) == ancestor
    }

    /// Removes `id` and everything built on it (an invalid block). Returns the removed ids.
    @discardableResult
    public mutating func removeSubtree(_ id: Hash) -> [Hash] {
        guard id != rootId, let entry = entries[id] else { return [] }
        var removed: [Hash] = []
        var stack = [id]
        while let current = stack.popLast() {
            stack.append(contentsOf: children.removeValue(forKey: current) ?? [])
            if let gone = entries.removeValue(forKey: current) { forgetSlot(of: gone, id: current) }
            leaves.remove(current)
            removed.append(current)
        }
        if let parent = entry.parent {
            children[parent]?.removeAll { $0 == id }
            if children[parent]?.isEmpty ?? true {
                children[parent] = nil
                leaves.insert(parent)
            }
        }
        return removed
    }

    /// Makes `id` (an applied descendant of the root) the new root and forgets every block not built on it:
    /// the old root, the blocks between, and the branches hanging off them. Costs what it removes.
    /// Returns the number of blocks forgotten.
    @discardableResult
    public mutating func advanceRoot(to id: Hash) -> Int {
        guard id != rootId, let newRoot = entries[id] else { return 0 }
        var removed = 0
        var keepChild = id
        var current = newRoot.parent
        while let ancestor = current, let entry = entries[ancestor] {
            for child in children[ancestor] ?? [] where child != keepChild {
                removed += removeSubtree(child).count
            }
            children[ancestor] = nil
            leaves.remove(ancestor)
            forgetSlot(of: entry, id: ancestor)
            entries[ancestor] = nil
            removed += 1
            if ancestor == rootId { break }
            keepChild = ancestor
            current = entry.parent
        }
        forgetSlot(of: newRoot, id: id)
        rootId = id
        entries[id] = Entry(block: nil, reference: newRoot.reference, parent: nil, producer: newRoot.producer,
                            lastProduced: newRoot.lastProduced, committee: newRoot.committee,
                            irreversibleHeight: newRoot.irreversibleHeight, applied: true)
        if children[id]?.isEmpty ?? true { leaves.insert(id) }
        return removed
    }

    private mutating func forgetSlot(of entry: Entry, id: Hash) {
        guard let block = entry.block else { return }
        let key = ProducerSlot(producer: block.header.producer, slot: block.slot)
        if bySlot[key] == id { bySlot[key] = nil }
    }
}
