import AlzaCore
import AlzaLedger
import Synchronization

/// Block applications shared by the cores of one process that follow the same chain — the simulator's nodes
/// (DESIGN.md §1). Applying a block is a pure function of the parent state and the block, so a core whose state
/// has the root another core applied the same block to takes that result instead of executing the block again:
/// the same outcome, one execution per block instead of one per node. Keyed by the parent state's root as well as
/// the block id, so a node whose state diverged (a recovery bug) still executes the block itself and fails on the
/// state root, as it would alone. A node process never shares one (it runs one core).
public final class SharedBlockApplications: Sendable {
    struct Key: Hashable, Sendable {
        var block: Hash
        var parentRoot: Hash
    }

    public struct Entry: Sendable {
        public var state: LedgerState
        public var applied: BlockProcessor.Applied

        public init(state: LedgerState, applied: BlockProcessor.Applied) {
            self.state = state
            self.applied = applied
        }
    }

    private struct Entries: ~Copyable {
        var byKey: [Key: Entry] = [:]
        var order: [Key] = []
        var orderStart = 0
        var hits: UInt64 = 0
        var misses: UInt64 = 0
    }

    public let capacity: Int
    private let entries = Mutex(Entries())

    /// `capacity`: applications kept (oldest forgotten first); the nodes of a simulation apply a block within
    /// seconds of each other, so a few hundred covers every fork they hold.
    public init(capacity: Int = 512) {
        precondition(capacity > 0, "a shared application cache holds at least one entry")
        self.capacity = capacity
    }

    /// The state and changes another core got by applying `block` to a state with root `parentRoot`.
    public func entry(for block: Hash, parentRoot: Hash) -> Entry? {
        entries.withLock { entries in
            let found = entries.byKey[Key(block: block, parentRoot: parentRoot)]
            if found == nil { entries.misses += 1 } else { entries.hits += 1 }
            return found
        }
    }

    public func store(_ entry: Entry, for block: Hash, parentRoot: Hash) {
        let key = Key(block: block, parentRoot: parentRoot)
        entries.withLock { entries in
            guard entries.byKey.updateValue(entry, forKey: key) == nil else { return }
            entries.order.append(key)
            while entries.byKey.count > capacity {
                entries.byKey[entries.order[entries.orderStart]] = nil
                entries.orderStart += 1
            }
            if entries.orderStart > capacity {
                entries.order.removeFirst(entries.orderStart)
                entries.orderStart = 0
            }
        }
    }

    /// Lookups answered from the cache and lookups that executed the block.
    public var statistics: (hits: UInt64, misses: UInt64) { entries.withLock { ($0.hits, $0.misses) } }
}
