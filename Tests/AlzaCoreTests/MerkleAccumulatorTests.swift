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
