/// The RFC 6962 root of an append-only list of leaves, kept incrementally: the roots of the perfect subtrees the
/// leaves so far decompose into (one per set bit of the count, largest first), so an append costs O(log n) hashes
/// amortized and the root O(log n), where `MerkleTree.root` rehashes every leaf. A payment field's payments root
/// over a million payments is a few hundred bytes of state.
public struct MerkleAccumulator: Sendable, Equatable {
    /// Perfect subtree roots, left to right; their sizes are the set bits of `count`, largest first.
    public private(set) var peaks: [Hash] = []
    public private(set) var count = 0

    public init() {}

    public mutating func append(leafHash: Hash) {
        var node = leafHash
        var size = count
        // Merge while the rightmost peak has the size of the new subtree (the low set bits of the count).
        while size & 1 == 1 {
            node = MerkleTree.nodeHash(peaks.removeLast(), node)
            size >>= 1
        }
        peaks.append(node)
        count += 1
    }

    /// The RFC 6962 root of the leaves appended so far (the empty tree's root when none).
    public var root: Hash {
        guard var node = peaks.last else { return MerkleTree.root(leafHashes: []) }
        for peak in peaks.dropLast().reversed() { node = MerkleTree.nodeHash(peak, node) }
        return node
    }
}
