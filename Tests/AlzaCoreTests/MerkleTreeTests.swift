import AlzaCore
import Testing

/// Certificate Transparency's RFC 6962 reference tree: 8 leaves and the roots of every prefix.
enum CTVectors {
    static let leaves: [[UInt8]] = [
        "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
    ].map { try! Hex.decode($0) }

    static let roots = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    static let inclusion: [(index: Int, size: Int, path: [String])] = [
        (0, 1, []),
        (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
        (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
        (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    ]

    static let consistency: [(old: Int, new: Int, proof: [String])] = [
        (1, 1, []),
        (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
        (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
        (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
        (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    ]

    static func hashes(_ hex: [String]) -> [Hash] { hex.map { try! Hash(hex: $0) } }
}

/// RFC 6962 §2.1 written literally and slowly, as the oracle for property tests.
enum NaiveMerkle {
    static func root(_ leaves: ArraySlice<[UInt8]>) -> Hash {
        if leaves.isEmpty { return Hash.sha256([]) }
        if leaves.count == 1 { return Hash.sha256([0] + leaves.first!) }
        var k = 1
        while k * 2 < leaves.count { k *= 2 }
        let left = root(leaves.prefix(k)), right = root(leaves.dropFirst(k))
        return Hash.sha256([1] + left.bytes + right.bytes)
    }
}

@Suite struct MerkleTreeTests {
    @Test func rootsOfEveryPrefixOfTheCTTree() {
        for size in 0...8 {
            #expect(MerkleTree.root(leaves: Array(CTVectors.leaves.prefix(size))).hex == CTVectors.roots[size],
                    "size \(size)")
        }
    }

    @Test func emptyTreeRootIsSHA256OfNothing() {
        #expect(MerkleTree.root(leafHashes: []) == Hash.sha256([]))
        #expect(MerkleTree.emptyRoot.hex == CTVectors.roots[0])
    }

    @Test func inclusionProofsMatchTheCTVectorsAndVerify() throws {
        for vector in CTVectors.inclusion {
            let leafHashes = CTVectors.leaves.prefix(vector.size).map { MerkleTree.leafHash($0) }
            let proof = try MerkleTree.inclusionProof(index: vector.index, leafHashes: Array(leafHashes))
            #expect(proof == CTVectors.hashes(vector.path), "index \(vector.index) size \(vector.size)")
            try MerkleTree.verifyInclusion(
                leafHash: leafHashes[vector.index], index: vector.index, treeSize: vector.size, proof: proof,
                root: try Hash(hex: CTVectors.roots[vector.size]))
        }
    }

    @Test func consistencyProofsMatchTheCTVectorsAndVerify() throws {
        let leafHashes = CTVectors.leaves.map { MerkleTree.leafHash($0) }
        for vector in CTVectors.consistency {
            let proof = try MerkleTree.consistencyProof(oldSize: vector.old, leafHashes: Array(leafHashes.prefix(vector.new)))
            #expect(proof == CTVectors.hashes(vector.proof), "\(vector.old) -> \(vector.new)")
            try MerkleTree.verifyConsistency(
                oldSize: vector.old, newSize: vector.new, oldRoot: try Hash(hex: CTVectors.roots[vector.old]),
                newRoot: try Hash(hex: CTVectors.roots[vector.new]), proof: proof)
        }
    }

    @Test func tamperedProofsAreRefused() throws {
        let leafHashes = CTVectors.leaves.map { MerkleTree.leafHash($0) }
        let root = try Hash(hex: CTVectors.roots[8])
        var proof = try MerkleTree.inclusionProof(index: 5, leafHashes: leafHashes)
        #expect(throws: MerkleProofError.rootMismatch) {
            try MerkleTree.verifyInclusion(leafHash: leafHashes[4], index: 5, treeSize: 8, proof: proof, root: root)
        }
        #expect(throws: MerkleProofError.proofTooShort) {
            try MerkleTree.verifyInclusion(leafHash: leafHashes[5], index: 5, treeSize: 8, proof: Array(proof.dropLast()), root: root)
        }
        #expect(throws: MerkleProofError.proofTooLong) {
            try MerkleTree.verifyInclusion(leafHash: leafHashes[5], index: 5, treeSize: 8, proof: proof + [root], root: root)
        }
        #expect(throws: MerkleProofError.indexOutOfRange(index: 8, treeSize: 8)) {
            try MerkleTree.verifyInclusion(leafHash: leafHashes[5], index: 8, treeSize: 8, proof: proof, root: root)
        }
        proof[1] = Hash.sha256(utf8: "forged")
        #expect(throws: MerkleProofError.rootMismatch) {
            try MerkleTree.verifyInclusion(leafHash: leafHashes[5], index: 5, treeSize: 8, proof: proof, root: root)
        }
        let consistency = try MerkleTree.consistencyProof(oldSize: 6, leafHashes: leafHashes)
        #expect(throws: MerkleProofError.rootMismatch) {
            try MerkleTree.verifyConsistency(oldSize: 6, newSize: 8, oldRoot: try Hash(hex: CTVectors.roots[5]),
                                             newRoot: root, proof: consistency)
        }
    }

    @Test func propertyRootsAndProofsAgreeWithTheNaiveDefinition() throws {
        var random = SeededRandom(seed: 6962)
        for size in 0...70 {
            let leaves = (0..<size).map { _ in random.bytes(count: Int(random.next() % 40)) }
            let leafHashes = leaves.map { MerkleTree.leafHash($0) }
            let root = MerkleTree.root(leaves: leaves)
            #expect(root == NaiveMerkle.root(leaves[...]), "size \(size)")
            for index in 0..<size {
                let proof = try MerkleTree.inclusionProof(index: index, leafHashes: leafHashes)
                try MerkleTree.verifyInclusion(leafHash: leafHashes[index], index: index, treeSize: size, proof: proof, root: root)
            }
            for old in 0...size {
                let proof = try MerkleTree.consistencyProof(oldSize: old, leafHashes: leafHashes)
                try MerkleTree.verifyConsistency(
                    oldSize: old, newSize: size, oldRoot: NaiveMerkle.root(leaves.prefix(old)), newRoot: root, proof: proof)
            }
        }
    }

    @Test func parallelRootOfALargeTreeEqualsTheSequentialOne() {
        // Large enough to take the parallel path; an odd count exercises the carried last node.
        var random = SeededRandom(seed: 1)
        let leafHashes = (0..<(40_000 + 3)).map { _ in Hash(bytes32: Bytes32(random.bytes(count: 32))!) }
        var level = leafHashes
        while level.count > 1 {
            var next: [Hash] = []
            var index = 0
            while index + 1 < level.count {
                next.append(MerkleTree.nodeHash(level[index], level[index + 1]))
                index += 2
            }
            if index < level.count { next.append(level[index]) }
            level = next
        }
        #expect(MerkleTree.root(leafHashes: leafHashes) == level[0])
    }
}

