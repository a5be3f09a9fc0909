import AlzaCore
import Synchronization

/// Verifies Ed25519 signatures and remembers the outcome, so a transaction checked when it entered the mempool
/// is not checked again when its block is applied (Bitcoin's signature cache), and a block header checked on
/// arrival is not checked again when the block is applied. The cache memoizes a pure function, so sharing one
/// verifier between cores (as the simulator does for its nodes) changes no result.
///
/// Thread-safe; bounded: when full it forgets everything and starts over (cheap, and a miss only costs time).
public final class SignatureVerifier: Sendable {
    /// The exact inputs of a verification; equal witnesses verify equally.
    private enum Witness: Hashable, Sendable {
        case transaction(id: Hash, chainId: Hash, signatures: [TransactionSignature])
        case block(id: Hash, chainId: Hash, key: PublicKey, signature: Signature)
        case digest(digest: Hash, key: PublicKey, signature: Signature)
    }

    /// The cache in independently locked shards, so cores verifying a block in parallel rarely contend.
    private final class Shard: Sendable {
        let entries: Mutex<[Witness: Bool]>
        init(capacity: Int) { entries = Mutex(Dictionary(minimumCapacity: capacity)) }
    }

    private static let shardCount = 16
    private let shards: [Shard]
    private let shardCapacity: Int
    private let hits = Atomic<UInt64>(0)
    private let misses = Atomic<UInt64>(0)

    public init(capacity: Int = 200_000) {
        shardCapacity = max(16, capacity / Self.shardCount)
        shards = (0..<Self.shardCount).map { _ in Shard(capacity: min(1 << 14, max(16, capacity / Self.shardCount))) }
    }

    /// Checks every signature of `transaction` over its signing digest. Returns the signing keys, or the first
    /// key whose signature is invalid.
    public func verify(_ transaction: SignedTransaction) -> Result<Set<PublicKey>, LedgerError> {
        let keys = Set(transaction.signatures.map(\.key))
        guard keys.count == transaction.signatures.count else {
            return .failure(.malformedTransaction("a key signs twice"))
        }
        let witness = Witness.transaction(id: transaction.id, chainId: transaction.header.chainId,
                                          signatures: transaction.signatures)
        let valid = memoized(witness) {
            transaction.signatures.allSatisfy { $0.key.isValidSignature($0.signature, for: transaction.signingDigest) }
        }
        guard valid else {
            let bad = transaction.signatures.first { !$0.key.isValidSignature($0.signature, for: transaction.signingDigest) }
            return .failure(.invalidSignature(key: bad?.key ?? transaction.signatures[0].key))
        }
        return .success(keys)
    }

    /// Checks a block header's signature by `key` on `chainId`.
    public func isValid(_ header: SignedBlockHeader, signedBy key: PublicKey, chainId: Hash) -> Bool {
        memoized(.block(id: header.id, chainId: chainId, key: key, signature: header.signature)) {
            header.isSigned(by: key, chainId: chainId)
        }
    }

    /// Checks one signature over a digest.
    public func isValid(_ signature: Signature, by key: PublicKey, for digest: Hash) -> Bool {
        memoized(.digest(digest: digest, key: key, signature: signature)) {
            key.isValidSignature(signature, for: digest)
        }
    }

    public var statistics: (hits: UInt64, misses: UInt64) {
        (hits.load(ordering: .relaxed), misses.load(ordering: .relaxed))
    }

    private func memoized(_ witness: Witness, _ verify: () -> Bool) -> Bool {
        let shard = shards[Int(UInt(bitPattern: witness.hashValue) % UInt(Self.shardCount))]
        if let known = shard.entries.withLock({ $0[witness] }) {
            hits.add(1, ordering: .relaxed)
            return known
        }
        misses.add(1, ordering: .relaxed)
        let valid = verify()
        shard.entries.withLock { cache in
            if cache.count >= shardCapacity { cache.removeAll(keepingCapacity: true) }
            cache[witness] = valid
        }
        return valid
    }
}
