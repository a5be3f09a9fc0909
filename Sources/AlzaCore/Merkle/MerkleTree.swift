/// Merkle trees exactly as RFC 6962 §2.1 (Certificate Transparency): leaf hash `H(0x00 || data)`, node hash
/// `H(0x01 || left || right)`, the empty tree's root `H()`, and a tree of n > 1 leaves split at the largest power
/// of two below n. Transaction roots, field roots and state roots are computed here; inclusion and consistency
/// proofs let a light client check a transaction or a log prefix against a root.
public enum MerkleTree {
    // MARK: Hashing

    /// `H(0x00 || data)`.
    public static func leafHash(_ data: UnsafeRawBufferPointer) -> Hash {
        var hasher = SHA256Hasher()
        withUnsafeBytes(of: UInt8(0)) { hasher.update($0) }
        hasher.update(data)
        return hasher.finalize()
    }

    public static func leafHash(_ data: [UInt8]) -> Hash {
        data.withUnsafeBytes { leafHash($0) }
    }

    /// `H(0x01 || left || right)`, hashed from one 65-byte stack buffer.
    public static func nodeHash(_ left: Hash, _ right: Hash) -> Hash {
        withUnsafeTemporaryAllocation(byteCount: 65, alignment: 8) { buffer in
            buffer[0] = 1
            left.withUnsafeBytes { buffer.baseAddress!.advanced(by: 1).copyMemory(from: $0.baseAddress!, byteCount: 32) }
            right.withUnsafeBytes { buffer.baseAddress!.advanced(by: 33).copyMemory(from: $0.baseAddress!, byteCount: 32) }
            return Hash.sha256(UnsafeRawBufferPointer(buffer))
        }
    }

    /// The root of the empty tree, SHA-256 of no bytes.
    public static let emptyRoot = Hash.sha256([])

    // MARK: Roots

    /// Trees at least this large are hashed on all cores.
    static let parallelThreshold = 1 << 14

    /// The root over leaves whose leaf hashes are given. Pairing adjacent nodes level by level and carrying an
    /// odd last node up unchanged gives the same tree as RFC 6962's largest-power-of-two split.
    ///
    /// Large trees are cut into chunks of 2^j leaves whose roots are computed in parallel: those roots are
    /// exactly the tree's nodes at level j, so pairing upward from them gives the same root.
    public static func root(leafHashes: [Hash]) -> Hash {
        guard !leafHashes.isEmpty else { return emptyRoot }
        guard leafHashes.count >= parallelThreshold && ParallelLoop.width > 1 else {
            var level = leafHashes
            return reduceInPlace(&level, count: level.count)
        }
        var chunk = 1
        while leafHashes.count / (chunk * 2) >= ParallelLoop.width * 4 { chunk *= 2 }
        let chunkCount = (leafHashes.count + chunk - 1) / chunk
        var chunkRoots = [Hash](repeating: .zero, count: chunkCount)
        chunkRoots.withUnsafeMutableBufferPointer { rootsBuffer in
            let roots = rootsBuffer
            leafHashes.withUnsafeBufferPointer { leaves in
                ParallelLoop.run(iterations: chunkCount) { index in
                    var level = Array(leaves[(index * chunk)..<min(leaves.count, (index + 1) * chunk)])
                    roots[index] = reduceInPlace(&level, count: level.count)
                }
            }
        }
        return reduceInPlace(&chunkRoots, count: chunkCount)
    }

    /// Pairs `level[0..<count]` upward in place and returns the root.
    private static func reduceInPlace(_ level: inout [Hash], count initialCount: Int) -> Hash {
        var count = initialCount
        while count > 1 {
            var next = 0
            var index = 0
            while index + 1 < count {
                level[next] = nodeHash(level[index], level[index + 1])
                next += 1
                index += 2
            }
            if index < count {
                level[next] = level[index]
                next += 1
            }
            count = next
        }
        return level[0]
    }

    /// The root over raw leaf data (leaf hashes computed on all cores for large trees).
    public static func root(leaves: [[UInt8]]) -> Hash {
        guard leaves.count >= parallelThreshold else { return root(leafHashes: leaves.map { leafHash($0) }) }
        var hashes = [Hash](repeating: .zero, count: leaves.count)
        hashes.withUnsafeMutableBufferPointer { hashesBuffer in
            let output = hashesBuffer
            ParallelLoop.chunks(count: leaves.count) { range in
                for index in range { output[index] = leafHash(leaves[index]) }
            }
        }
        return root(leafHashes: hashes)
    }

    /// MTH(D[start..<end]) over leaf hashes, by the RFC's recursive definition.
    static func subtreeRoot(_ leafHashes: [Hash], _ start: Int, _ end: Int) -> Hash {
        let count = end - start
        if count == 0 { return emptyRoot }
        if count == 1 { return leafHashes[start] }
        let split = largestPowerOfTwo(below: count)
        return nodeHash(subtreeRoot(leafHashes, start, start + split), subtreeRoot(leafHashes, start + split, end))
    }

    /// The largest power of two strictly less than `n` (n >= 2).
    static func largestPowerOfTwo(below n: Int) -> Int {
        precondition(n >= 2)
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    // MARK: Inclusion proofs (RFC 6962 §2.1.1, verification as RFC 9162 §2.1.3.2)

    /// The audit path for leaf `index` in the tree of `leafHashes`.
    public static func inclusionProof(index: Int, leafHashes: [Hash]) throws(MerkleProofError) -> [Hash] {
        guard index >= 0 && index < leafHashes.count else {
            throw .indexOutOfRange(index: index, treeSize: leafHashes.count)
        }
        var proof: [Hash] = []
        inclusionPath(index, leafHashes, 0, leafHashes.count, &proof)
        return proof
    }

    private static func inclusionPath(_ index: Int, _ leaves: [Hash], _ start: Int, _ end: Int, _ proof: inout [Hash]) {
        let count = end - start
        guard count > 1 else { return }
        let split = largestPowerOfTwo(below: count)
        if index < split {
            inclusionPath(index, leaves, start, start + split, &proof)
            proof.append(subtreeRoot(leaves, start + split, end))
        } else {
            inclusionPath(index - split, leaves, start + split, end, &proof)
            proof.append(subtreeRoot(leaves, start, start + split))
        }
    }

    /// The root and every leaf's audit path at once, in O(n log n) hashes where `inclusionProof` per leaf costs
    /// O(n) each: what a field leader needs to hand out a batch of receipts under one signature.
    public static func allInclusionProofs(leafHashes: [Hash]) -> (root: Hash, proofs: [[Hash]]) {
        guard !leafHashes.isEmpty else { return (emptyRoot, []) }
        var proofs = [[Hash]](repeating: [], count: leafHashes.count)
        // Each range's root; siblings are appended bottom-up, as `inclusionProof` orders them.
        func build(_ start: Int, _ end: Int) -> Hash {
            guard end - start > 1 else { return leafHashes[start] }
            let split = start + largestPowerOfTwo(below: end - start)
            let left = build(start, split)
            let right = build(split, end)
            for index in start..<split { proofs[index].append(right) }
            for index in split..<end { proofs[index].append(left) }
            return nodeHash(left, right)
        }
        let root = build(0, leafHashes.count)
        return (root, proofs)
    }

    /// Checks that `leafHash` is leaf `index` of a tree of `treeSize` leaves with `root`.
    public static func verifyInclusion(
        leafHash: Hash, index: Int, treeSize: Int, proof: [Hash], root: Hash
    ) throws(MerkleProofError) {
        guard index >= 0 && index < treeSize else { throw .indexOutOfRange(index: index, treeSize: treeSize) }
        var fn = index
        var sn = treeSize - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { throw .proofTooLong }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw .proofTooShort }
        guard r == root else { throw .rootMismatch }
    }

    // MARK: Consistency proofs (RFC 6962 §2.1.2, verification as RFC 9162 §2.1.4.2)

    /// Proof that the tree of the first `oldSize` leaves is a prefix of the tree of all `leafHashes`.
    public static func consistencyProof(oldSize: Int, leafHashes: [Hash]) throws(MerkleProofError) -> [Hash] {
        guard oldSize >= 0 && oldSize <= leafHashes.count else {
            throw .indexOutOfRange(index: oldSize, treeSize: leafHashes.count)
        }
        guard oldSize > 0 && oldSize < leafHashes.count else { return [] }
        var proof: [Hash] = []
        subproof(oldSize, leafHashes, 0, leafHashes.count, true, &proof)
        return proof
    }

    private static func subproof(
        _ m: Int, _ leaves: [Hash], _ start: Int, _ end: Int, _ completeSubtree: Bool, _ proof: inout [Hash]
    ) {
        let n = end - start
        if m == n {
            if !completeSubtree { proof.append(subtreeRoot(leaves, start, end)) }
            return
        }
        let k = largestPowerOfTwo(below: n)
        if m <= k {
            subproof(m, leaves, start, start + k, completeSubtree, &proof)
            proof.append(subtreeRoot(leaves, start + k, end))
        } else {
            subproof(m - k, leaves, start + k, end, false, &proof)
            proof.append(subtreeRoot(leaves, start, start + k))
        }
    }

    /// Checks that a tree of `oldSize` leaves with `oldRoot` is a prefix of one of `newSize` leaves with `newRoot`.
    public static func verifyConsistency(
        oldSize: Int, newSize: Int, oldRoot: Hash, newRoot: Hash, proof: [Hash]
    ) throws(MerkleProofError) {
        guard oldSize >= 0 && oldSize <= newSize else { throw .indexOutOfRange(index: oldSize, treeSize: newSize) }
        if oldSize == newSize {
            guard proof.isEmpty else { throw .proofTooLong }
            guard oldRoot == newRoot else { throw .rootMismatch }
            return
        }
        if oldSize == 0 {
            // Every tree extends the empty tree; RFC 9162 requires an empty proof here.
            guard proof.isEmpty else { throw .proofTooLong }
            return
        }
        guard !proof.isEmpty else { throw .proofTooShort }
        var path = proof
        // If the old size is a power of two, the old root itself is the first node of the path.
        if oldSize & (oldSize - 1) == 0 { path.insert(oldRoot, at: 0) }
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path.first!
        var sr = path.first!
        for c in path.dropFirst() {
            guard sn != 0 else { throw .proofTooLong }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw .proofTooShort }
        guard fr == oldRoot && sr == newRoot else { throw .rootMismatch }
    }
}

/// Why a Merkle proof was refused.
public enum MerkleProofError: AlzaError, Equatable {
    case indexOutOfRange(index: Int, treeSize: Int)
    case proofTooShort
    case proofTooLong
    case rootMismatch

    public var code: String {
        switch self {
        case .indexOutOfRange: "merkle.index-out-of-range"
        case .proofTooShort: "merkle.proof-too-short"
        case .proofTooLong: "merkle.proof-too-long"
        case .rootMismatch: "merkle.root-mismatch"
        }
    }

    public var description: String {
        switch self {
        case .indexOutOfRange(let index, let size): "index \(index) is outside a tree of \(size) leaves"
        case .proofTooShort: "the proof has fewer hashes than the tree needs"
        case .proofTooLong: "the proof has more hashes than the tree needs"
        case .rootMismatch: "the proof does not lead to the expected root"
        }
    }
}
