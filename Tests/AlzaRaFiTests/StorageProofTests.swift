import AlzaCore
import AlzaRaFi
import XCTest

final class StorageProofTests: XCTestCase {
    let prover = StorageID("DS-prover")

    func testAChallengeAsksForARandomRangeWithinTheBlock() {
        let block = ExtendedBlock(id: BlockID(8), generationStamp: 1, length: 100_000)
        var random = SeededRandom(seed: 3)
        var offsets: Set<UInt64> = []
        for _ in 0..<20 {
            let challenge = StorageProof.challenge(for: block, random: &random)
            XCTAssertEqual(challenge.length, 4_096)
            XCTAssertLessThanOrEqual(challenge.offset + challenge.length, 100_000)
            offsets.insert(challenge.offset)
        }
        XCTAssertGreaterThan(offsets.count, 15, "ranges differ")
        let small = ExtendedBlock(id: BlockID(9), generationStamp: 1, length: 100)
        let whole = StorageProof.challenge(for: small, random: &random)
        XCTAssertEqual([whole.offset, whole.length], [0, 100], "a block smaller than the maximum is asked whole")
    }

    func testTheRightBytesAnswerAndTheHashIsNonceThenRange() throws {
        let data = DataPath.bytes(10_000)
        let block = ExtendedBlock(id: BlockID(8), generationStamp: 1, length: 10_000)
        let nonce = Hash.sha256(utf8: "nonce")
        let challenge = StorageChallenge(block: block, nonce: nonce, offset: 1_000, length: 50)
        let answer = try StorageProof.answer(challenge, data: data, prover: prover)
        XCTAssertEqual(answer, StorageProofAnswer(blockID: BlockID(8), prover: prover, hash: Hash.sha256(nonce.bytes + Array(data[1_000..<1_050]))))
        try StorageProof.verify(answer, to: challenge, expectedData: data)
    }

    func testAWrongHashIsAProofMismatch() throws {
        let data = DataPath.bytes(10_000)
        let block = ExtendedBlock(id: BlockID(8), generationStamp: 1, length: 10_000)
        var random = SeededRandom(seed: 4)
        let challenge = StorageProof.challenge(for: block, random: &random)
        var damaged = data
        damaged[Int(challenge.offset)] ^= 1
        let wrong = try StorageProof.answer(challenge, data: damaged, prover: prover)
        assertFails(with: .proofMismatch(block: BlockID(8), prover: prover)) {
            try StorageProof.verify(wrong, to: challenge, expectedData: data)
        }
        // An answer computed with another nonce (a replayed answer) is as wrong.
        var replayed = challenge
        replayed.nonce = Hash.sha256(utf8: "old nonce")
        let stale = try StorageProof.answer(replayed, data: data, prover: prover)
        assertFails(with: .proofMismatch(block: BlockID(8), prover: prover)) {
            try StorageProof.verify(stale, to: challenge, expectedData: data)
        }
        // Damage outside the range goes unseen by this challenge.
        var elsewhere = data
        elsewhere[challenge.offset == 0 ? 9_999 : 0] ^= 1
        try StorageProof.verify(try StorageProof.answer(challenge, data: elsewhere, prover: prover), to: challenge, expectedData: data)
    }

    func testARangeOutsideTheReplicaIsRefused() {
        let data = DataPath.bytes(1_000)
        let block = ExtendedBlock(id: BlockID(8), generationStamp: 1, length: 1_000)
        let nonce = Hash.sha256(utf8: "n")
        for (offset, length) in [(UInt64(990), UInt64(11)), (1_001, 0), (.max, 2)] {
            let challenge = StorageChallenge(block: block, nonce: nonce, offset: offset, length: length)
            assertFails(with: .proofRangeInvalid(block: BlockID(8), offset: offset, length: length, blockLength: 1_000)) {
                _ = try StorageProof.answer(challenge, data: data, prover: prover)
            }
        }
        let last = StorageChallenge(block: block, nonce: nonce, offset: 990, length: 10)
        XCTAssertNoThrow(try StorageProof.answer(last, data: data, prover: prover))
    }
}
