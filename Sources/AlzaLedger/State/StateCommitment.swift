import AlzaCore
import Foundation

/// The state root, kept up to date incrementally.
///
/// Entries are spread over 4,096 buckets by 12 bits of the FNV-1a hash of the key (only placement depends on
/// it, so a fast non-cryptographic hash is enough: the commitment's strength is in the SHA-256 above it). A bucket's hash is SHA-256 of
/// its entries' leaf hashes in key order, a leaf hash being `SHA-256(varint(len key) || key || value)`. The root
/// is the RFC 6962 Merkle root over the 4,096 bucket hashes (a perfect tree, kept in full). Changing k entries
/// rehashes at most k buckets and 12 tree nodes per bucket, so a block's root costs time in proportion to what
/// the block touched, not to the size of the state.
struct StateCommitment: Sendable {
    static let depth = 12
    static let bucketCount = 1 << depth

    private struct Leaf: Sendable {
        var key: [UInt8]
        var hash: Hash
    }

    /// Per bucket, leaves sorted by key bytes.
    private var buckets: [[Leaf]]
    /// Perfect binary tree in heap order: node i has children 2i+1 and 2i+2; leaves start at bucketCount - 1.
    private var tree: [Hash]
    private var dirty: Set<Int> = []

    init() {
        buckets = Array(repeating: [], count: Self.bucketCount)
        tree = Self.emptyTree
    }

    /// The tree of a state with no entries: the same for every state, so computed once per process.
    private static let emptyTree: [Hash] = {
        let emptyLeaf = MerkleTree.leafHash(Hash.sha256([]).bytes)
        var tree = Array(repeating: emptyLeaf, count: 2 * bucketCount - 1)
        var level = depth - 1
        while level >= 0 {
            let first = (1 << level) - 1
            for index in first..<(first + (1 << level)) {
                tree[index] = MerkleTree.nodeHash(tree[2 * index + 1], tree[2 * index + 2])
            }
            level -= 1
        }
        return tree
    }()

    static func bucket(of key: [UInt8]) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int((hash ^ (hash >> 32)) & UInt64(bucketCount - 1))
    }

    /// Sets (or with nil removes) the leaf of `key`.
    mutating func update(key: [UInt8], value: [UInt8]?) {
        apply(CommitmentUpdate(keyBytes: key, valueBytes: value))
    }

    /// Applies an update whose hashing was done beforehand (possibly on another core).
    mutating func apply(_ update: CommitmentUpdate) {
        let bucket = update.bucket
        var leaves = buckets[bucket]
        buckets[bucket] = []  // keep the array uniquely referenced while editing
        let position = Self.insertionIndex(of: update.key, in: leaves)
        let exists = position < leaves.count && leaves[position].key == update.key
        if let hash = update.hash {
            let leaf = Leaf(key: update.key, hash: hash)
            if exists { leaves[position] = leaf } else { leaves.insert(leaf, at: position) }
        } else if exists {
            leaves.remove(at: position)
        }
        buckets[bucket] = leaves
        dirty.insert(bucket)
    }

    private static func insertionIndex(of key: [UInt8], in leaves: [Leaf]) -> Int {
        var low = 0
        var high = leaves.count
        while low < high {
            let middle = (low + high) / 2
            if precedes(leaves[middle].key, key) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Byte-wise order of keys (memcmp, then length).
    private static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let common = min(a.count, b.count)
        let order = a.withUnsafeBytes { left in
            b.withUnsafeBytes { right in memcmp(left.baseAddress!, right.baseAddress!, common) }
        }
        return order != 0 ? order < 0 : a.count < b.count
    }

    /// The root after all updates so far.
    mutating func root() -> Hash {
        guard !dirty.isEmpty else { return tree[0] }
        var parents = Set<Int>()
        for bucket in dirty {
            var hasher = SHA256Hasher()
            for leaf in buckets[bucket] { hasher.update(leaf.hash) }
            let index = Self.bucketCount - 1 + bucket
            tree[index] = MerkleTree.leafHash(hasher.finalize().bytes)
            parents.insert((index - 1) / 2)
        }
        dirty.removeAll(keepingCapacity: true)
        // Recompute the touched nodes level by level, deepest first.
        while !parents.isEmpty {
            var next = Set<Int>()
            for index in parents {
                tree[index] = MerkleTree.nodeHash(tree[2 * index + 1], tree[2 * index + 2])
                if index > 0 { next.insert((index - 1) / 2) }
            }
            parents = next
        }
        return tree[0]
    }
}

/// One record's change to the commitment, hashed ahead of time: a transaction executing on a worker core
/// prepares the updates of what it wrote, so merging its writes into the state costs no hashing.
struct CommitmentUpdate: Sendable {
    let key: [UInt8]
    let bucket: Int
    /// The leaf hash `SHA-256(varint(len key) || key || value)`, nil for a deletion.
    let hash: Hash?

    init(keyBytes: [UInt8], valueBytes: [UInt8]?) {
        key = keyBytes
        bucket = StateCommitment.bucket(of: keyBytes)
        guard let valueBytes else {
            hash = nil
            return
        }
        var encoder = CanonicalEncoder(reservingCapacity: keyBytes.count + valueBytes.count + 4)
        encoder.encodeLength(keyBytes.count)
        encoder.encodeRaw(keyBytes)
        encoder.encodeRaw(valueBytes)
        hash = Hash.sha256(encoder.bytes)
    }

    init(key: StateKey, value: StateValue?) {
        self.init(keyBytes: key.bytes, valueBytes: value?.bytes)
    }
}
