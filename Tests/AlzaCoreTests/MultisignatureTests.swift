import AlzaCore
import Testing

@Suite struct MultisignatureTests {
    let keys = (0..<4).map { SigningKey(deterministicLabel: "participant-\($0)") }
    var publicKeys: [PublicKey] { keys.map(\.publicKey) }
    let digest = Hash.sha256(utf8: "field 7 snapshot 3")

    func signAll(_ indices: [Int], digest: Hash? = nil) throws -> Multisignature {
        try Multisignature.sign(digest: digest ?? self.digest, signers: indices.map { (UInt16($0), keys[$0]) })
    }

    @Test func everySignerSignedVerifies() throws {
        try signAll([0, 1, 2, 3]).verify(digest: digest, signers: publicKeys)
    }

    @Test func missingRequiredSignerIsRefused() throws {
        #expect(throws: MultisignatureError.missingSigner(index: 2)) {
            try signAll([0, 1, 3]).verify(digest: digest, signers: publicKeys)
        }
    }

    @Test func signerWhoSignedAnotherMessageIsRefused() throws {
        let good = try signAll([0, 1, 3])
        let other = Multisignature.Entry(signerIndex: 2, signature: keys[2].sign(Hash.sha256(utf8: "other")))
        var entries = good.entries
        entries.insert(other, at: 2)
        #expect(throws: MultisignatureError.invalidSignature(signerIndex: 2)) {
            try Multisignature(entries: entries).verify(digest: digest, signers: publicKeys)
        }
    }

    @Test func requiredSubsetAndThreshold() throws {
        let partial = try signAll([1, 3])
        try partial.verify(digest: digest, signers: publicKeys, requirement: .indices([1, 3]))
        try partial.verify(digest: digest, signers: publicKeys, requirement: .atLeast(2))
        #expect(throws: MultisignatureError.notEnoughSigners(required: 3, present: 2)) {
            try partial.verify(digest: digest, signers: publicKeys, requirement: .atLeast(3))
        }
    }

    @Test func unorderedOrRepeatedIndicesAreRefused() throws {
        let entry = { (index: UInt16) in
            Multisignature.Entry(signerIndex: index, signature: self.keys[Int(index)].sign(self.digest))
        }
        #expect(throws: MultisignatureError.indicesNotAscending(previous: 2, next: 1)) {
            try Multisignature(entries: [entry(2), entry(1)])
        }
        #expect(throws: MultisignatureError.indicesNotAscending(previous: 1, next: 1)) {
            try Multisignature(entries: [entry(1), entry(1)])
        }
    }

    @Test func indexBeyondTheSignerListIsRefused() throws {
        let stray = Multisignature.Entry(signerIndex: 9, signature: keys[0].sign(digest))
        #expect(throws: MultisignatureError.signerIndexOutOfRange(index: 9, signerCount: 4)) {
            try Multisignature(entries: [stray]).verify(digest: digest, signers: publicKeys, requirement: .atLeast(1))
        }
    }

    @Test func canonicalRoundTripAndDecodeRefusesUnorderedEntries() throws {
        let multisig = try signAll([0, 2])
        let bytes = multisig.canonicalBytes
        #expect(try Multisignature(canonicalBytes: bytes) == multisig)
        // Swap the two entries' bytes: same content, non-canonical order.
        let entrySize = 2 + 64
        let swapped = [bytes[0]] + Array(bytes[(1 + entrySize)...]) + Array(bytes[1..<(1 + entrySize)])
        #expect(throws: CodecError.self) { try Multisignature(canonicalBytes: swapped) }
    }
}
