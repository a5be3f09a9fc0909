import AlzaCore

/// A SuperNode's question to a DataNode that claims to hold `block` (DESIGN.md §7): the SHA-256 of `nonce`
/// followed by the replica's bytes `offset..<offset + length`. The nonce makes every answer new, so a node must
/// hold (or fetch) the bytes to answer.
public struct StorageChallenge: Hashable, Sendable, CanonicalCodable {
    public var block: ExtendedBlock
    public var nonce: Hash
    public var offset: UInt64
    public var length: UInt64

    public init(block: ExtendedBlock, nonce: Hash, offset: UInt64, length: UInt64) {
        self.block = block
        self.nonce = nonce
        self.offset = offset
        self.length = length
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(block)
        encoder.encode(nonce)
        encoder.encode(offset)
        encoder.encode(length)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        block = try decoder.decode()
        nonce = try decoder.decode()
        offset = try decoder.decode()
        length = try decoder.decode()
        guard length <= StorageProof.maximumChallengeBytes else {
            throw decoder.invalid("challenge of \(length) bytes exceeds \(StorageProof.maximumChallengeBytes)")
        }
    }
}

/// A DataNode's answer to a `StorageChallenge`.
public struct StorageProofAnswer: Hashable, Sendable, CanonicalCodable {
    public var blockID: BlockID
    public var prover: StorageID
    public var hash: Hash

    public init(blockID: BlockID, prover: StorageID, hash: Hash) {
        self.blockID = blockID
        self.prover = prover
        self.hash = hash
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(blockID)
        encoder.encode(prover)
        encoder.encode(hash)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        blockID = try decoder.decode()
        prover = try decoder.decode()
        hash = try decoder.decode()
    }
}

/// Proofs of storage: asking, answering and checking. The verifier knows the expected bytes because RaFi's
/// files are content-addressed (a segment's name carries the hash of its last block), so it checks an answer
/// without trusting any DataNode.
public enum StorageProof {
    public static let defaultMaximumLength: UInt64 = 4_096
    /// The largest range a challenge may ask for (a decoder bound; answers read at most this much).
    public static let maximumChallengeBytes: UInt64 = 1 << 20

    /// A challenge over a random range of `block` of `min(maximumLength, block.length)` bytes. `random` must be
    /// unpredictable to the prover (seeded from a secret or from a block id not yet known when it stored the
    /// replica), or the prover could keep the answers and drop the bytes.
    public static func challenge(for block: ExtendedBlock, random: inout SeededRandom,
                                 maximumLength: UInt64 = defaultMaximumLength) -> StorageChallenge {
        precondition(maximumLength > 0 && maximumLength <= maximumChallengeBytes, "a challenge reads 1...\(maximumChallengeBytes) bytes")
        let nonce = Hash(random.bytes(count: Hash.byteCount))!
        let length = min(maximumLength, block.length)
        let offset = block.length == length ? 0 : random.next() % (block.length - length + 1)
        return StorageChallenge(block: block, nonce: nonce, offset: offset, length: length)
    }

    /// The answer from the whole replica `data`.
    public static func answer(_ challenge: StorageChallenge, data: [UInt8], prover: StorageID) throws(RaFiError) -> StorageProofAnswer {
        StorageProofAnswer(blockID: challenge.block.id, prover: prover, hash: try hash(challenge, data: data))
    }

    /// Checks `answer` against the bytes the replica must hold; a wrong hash is `proofMismatch`.
    public static func verify(_ answer: StorageProofAnswer, to challenge: StorageChallenge, expectedData: [UInt8]) throws(RaFiError) {
        let expected = try hash(challenge, data: expectedData)
        guard answer.blockID == challenge.block.id, answer.hash == expected else {
            throw .proofMismatch(block: challenge.block.id, prover: answer.prover)
        }
    }

    /// SHA-256(nonce || data[offset..<offset + length]); a range outside `data` is `proofRangeInvalid`.
    static func hash(_ challenge: StorageChallenge, data: [UInt8]) throws(RaFiError) -> Hash {
        let size = UInt64(data.count)
        guard challenge.offset <= size, challenge.length <= size - challenge.offset else {
            throw .proofRangeInvalid(block: challenge.block.id, offset: challenge.offset, length: challenge.length, blockLength: size)
        }
        var hasher = SHA256Hasher()
        hasher.update(challenge.nonce)
        let start = Int(challenge.offset)
        data.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[start..<(start + Int(challenge.length))])) }
        return hasher.finalize()
    }
}
