import AlzaCore
import Foundation

/// The state root, kept up to date incrementally.
///
/// Entries are spread over 4,096 buckets by 12 bits of the FNV-1a hash of the key (only placement depends on
/// it, so a fast non-cryptographic hash is enough: the commitment's strength is in the SHA-256 above it). A bucket's hash is SHA-256 of
/// its entries' leaf hashes in key order, a leaf hash being `SHA-256(varint(len key) || key || value)`. The root
/// is the RFC 6962 Merkle root over the 4,096 bucket hashes (a perfect tree, kept in full, in pieces). Changing k entries
/// rehashes at most k buckets and 12 tree nodes per bucket, so a block's root costs time in proportion to what
/// the block touched, not to the size of the state.
struct StateCommitment: Sendable {
    static let depth = 12
    static let bucketCount = 1 << depth

    private struct Leaf: Sendable {
        var key: [UInt8]
        var hash: Hash
    }

    /// The tree is kept in pieces: 64 subtrees of 64 buckets each (levels 6–12, 127 nodes in heap order) under
    /// the 63 nodes of levels 0–5. A state is a value, copied on write: a copy that changes a few buckets then
    /// copies those buckets' piece of 64 and their 4 KB subtree, not 4,096 buckets and a 256 KB tree.
    static let pieceBits = 6
    static let pieceCount = 1 << pieceBits
    private static let subtreeLeaves = bucketCount >> pieceBits
    /// Index of the first level-5 node in `top`: its children are the roots of subtrees 2(i − 31) and 2(i − 31) + 1.
    private static let topLastLevel = pieceCount / 2 - 1

    /// Per piece, per bucket, leaves sorted by key bytes.
    private var buckets: [[[Leaf]]]
    /// Per piece, its subtree in heap order: node j has children 2j+1 and 2j+2; bucket hashes start at 63.
    private var subtrees: [[Hash]]
    /// Levels 0–5 in heap order; `top[0]` is the root.
    private var top: [Hash]
    private var dirty: Set<Int> = []

    init() {
        buckets = Array(repeating: Array(repeating: [], count: Self.subtreeLeaves), count: Self.pieceCount)
        subtrees = Array(repeating: Self.emptySubtree, count: Self.pieceCount)
        top = Self.emptyTop
    }

    /// The pieces of a state with no entries: the same for every state, so computed once per process.
    private static let emptySubtree: [Hash] = {
        let emptyLeaf = MerkleTree.leafHash(Hash.sha256([]).bytes)
        var tree = Array(repeating: emptyLeaf, count: 2 * subtreeLeaves - 1)
        for index in stride(from: subtreeLeaves - 2, through: 0, by: -1) {
            tree[index] = MerkleTree.nodeHash(tree[2 * index + 1], tree[2 * index + 2])
        }
        return tree
    }()

    private static let emptyTop: [Hash] = {
        let subtreeRoot = emptySubtree[0]
        var top = Array(repeating: subtreeRoot, count: pieceCount - 1)
        for index in stride(from: pieceCount - 2, through: 0, by: -1) {
            top[index] = index >= topLastLevel
                ? MerkleTree.nodeHash(subtreeRoot, subtreeRoot)
                : MerkleTree.nodeHash(top[2 * index + 1], top[2 * index + 2])
        }
        return top
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
        let piece = bucket >> Self.pieceBits
        let slot = bucket & (Self.subtreeLeaves - 1)
        var leaves = buckets[piece][slot]
        buckets[piece][slot] = []  // keep the array uniquely referenced while editing
        let position = Self.insertionIndex(of: update.key, in: leaves)
        let exists = position < leaves.count && leaves[position].key == update.key
        if let hash = update.hash {
            let leaf = Leaf(key: update.key, hash: hash)
            if exists { leaves[position] = leaf } else { leaves.insert(leaf, at: position) }
        } else if exists {
            leaves.remove(at: position)
        }
        buckets[piece][slot] = leaves
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

    /// The root after all updates so far: the dirty buckets rehashed, then the nodes above them, level by level
    /// (deepest first) inside each touched subtree and then in the top.
    mutating func root() -> Hash {
        guard !dirty.isEmpty else { return top[0] }
        var parents: [Int: Set<Int>] = [:]
        for bucket in dirty {
            var hasher = SHA256Hasher()
            let piece = bucket >> Self.pieceBits
            let slot = bucket & (Self.subtreeLeaves - 1)
            for leaf in buckets[piece][slot] { hasher.update(leaf.hash) }
            let index = Self.subtreeLeaves - 1 + slot
            subtrees[piece][index] = MerkleTree.leafHash(hasher.finalize().bytes)
            parents[piece, default: []].insert((index - 1) / 2)
        }
        dirty.removeAll(keepingCapacity: true)
        var topParents = Set<Int>()
        for (piece, first) in parents {
            var level = first
            while !level.isEmpty {
                var next = Set<Int>()
                for index in level {
                    subtrees[piece][index] = MerkleTree.nodeHash(subtrees[piece][2 * index + 1], subtrees[piece][2 * index + 2])
                    if index > 0 { next.insert((index - 1) / 2) }
                }
                level = next
            }
            topParents.insert(Self.topLastLevel + piece / 2)
        }
        while !topParents.isEmpty {
            var next = Set<Int>()
            for index in topParents {
                if index >= Self.topLastLevel {
                    let left = 2 * (index - Self.topLastLevel)
                    top[index] = MerkleTree.nodeHash(subtrees[left][0], subtrees[left + 1][0])
                } else {
                    top[index] = MerkleTree.nodeHash(top[2 * index + 1], top[2 * index + 2])
                }
                if index > 0 { next.insert((index - 1) / 2) }
            }
            topParents = next
        }
        return top[0]
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
