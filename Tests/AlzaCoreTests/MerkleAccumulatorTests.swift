import AlzaCore
import Testing

@Suite struct MerkleAccumulatorTests {
    @Test func itsRootIsTheTreeRootAfterEveryAppend() {
        var accumulator = MerkleAccumulator()
        var leaves: [Hash] = []
        #expect(accumulator.root == MerkleTree.root(leafHashes: []))
        for index in 0..<70 {
            let leaf = MerkleTree.leafHash(Array("leaf \(index)".utf8))
            leaves.append(leaf)
            accumulator.append(leafHash: leaf)
            #expect(accumulator.root == MerkleTree.root(leafHashes: leaves), "after \(index + 1) leaves")
            #expect(accumulator.peaks.count == (index + 1).nonzeroBitCount)
        }
        #expect(accumulator.count == 70)
    }
}

@Suite struct AllInclusionProofsTests {
    @Test func everyPathIsTheOneInclusionProofGivesAndTheRootIsTheTreeRoot() throws {
        for count in [1, 2, 3, 5, 8, 13, 33] {
            let leaves = (0..<count).map { MerkleTree.leafHash(Array("leaf \($0)".utf8)) }
            let (root, proofs) = MerkleTree.allInclusionProofs(leafHashes: leaves)
            #expect(root == MerkleTree.root(leafHashes: leaves))
            for index in 0..<count {
                #expect(proofs[index] == (try MerkleTree.inclusionProof(index: index, leafHashes: leaves)), "\(count) leaves, leaf \(index)")
            }
        }
        #expect(MerkleTree.allInclusionProofs(leafHashes: []).proofs.isEmpty)
    }
}
