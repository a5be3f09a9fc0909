import AlzaCore

/// The leader's promise that a payment sits at `index` of the field's payment log (DESIGN.md §6). Receipts are
/// signed in batches: one signature over the RFC 6962 root of the batch's (index, payment hash) leaves, each receipt
/// carrying its inclusion path, so the leader signs once per batch rather than once per payment.
public struct FieldReceipt: Hashable, Sendable, CanonicalCodable {
    public static let maximumPath = 32

    public var field: FieldId
    public var index: UInt64
    public var paymentHash: Hash
    public var batchRoot: Hash
    public var batchSize: UInt32
    public var position: UInt32
    public var path: [Hash]
    public var signature: Signature

    public init(field: FieldId, index: UInt64, paymentHash: Hash, batchRoot: Hash, batchSize: UInt32, position: UInt32,
                path: [Hash], signature: Signature) {
        self.field = field
        self.index = index
        self.paymentHash = paymentHash
        self.batchRoot = batchRoot
        self.batchSize = batchSize
        self.position = position
        self.path = path
        self.signature = signature
    }

    /// The leaf of one receipt in its batch's tree.
    public static func leaf(index: UInt64, paymentHash: Hash) -> Hash {
        var encoder = CanonicalEncoder()
        encoder.encode(index)
        encoder.encode(paymentHash)
        return MerkleTree.leafHash(encoder.bytes)
    }

    /// What the leader signs for a batch: the field, the batch's root and size.
    public static func signedBytes(field: FieldId, batchRoot: Hash, batchSize: UInt32) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.encode(field)
        encoder.encode(batchRoot)
        encoder.encode(batchSize)
        return encoder.bytes
    }

    /// Signs receipts for consecutive log entries starting at `firstIndex`: one signature for all.
    public static func signBatch(field: FieldId, firstIndex: UInt64, paymentHashes: [Hash], leader: SigningKey,
                                 chainId: Hash) -> [FieldReceipt] {
        precondition(!paymentHashes.isEmpty && paymentHashes.count <= Int(UInt32.max), "a batch holds 1...2^32-1 receipts")
        let leaves = paymentHashes.enumerated().map { leaf(index: firstIndex + UInt64($0.offset), paymentHash: $0.element) }
        let (root, paths) = MerkleTree.allInclusionProofs(leafHashes: leaves)
        let size = UInt32(leaves.count)
        let signature = leader.sign(signedBytes(field: field, batchRoot: root, batchSize: size), domain: FieldDomains.receipts,
                                    chainId: chainId)
        return paymentHashes.indices.map { position in
            FieldReceipt(field: field, index: firstIndex + UInt64(position), paymentHash: paymentHashes[position],
                         batchRoot: root, batchSize: size, position: UInt32(position), path: paths[position],
                         signature: signature)
        }
    }

    /// Why this receipt is not `leader`'s promise (its batch unsigned by `leader`, or the receipt not in the
    /// batch), or nil when it is. The chain and the cores check receipts the same way. `batchVerified`: the
    /// caller already checked this batch's signature (same root, size and signature), so only the path is.
    public func refusal(leader: PublicKey, chainId: Hash, batchVerified: Bool = false) -> String? {
        guard position < batchSize else { return "position \(position) outside a batch of \(batchSize)" }
        guard batchVerified || leader.isValidSignature(signature, for: Self.signedBytes(field: field, batchRoot: batchRoot, batchSize: batchSize),
                                      domain: FieldDomains.receipts, chainId: chainId)
        else { return "the batch signature is not the leader's" }
        do {
            try MerkleTree.verifyInclusion(leafHash: Self.leaf(index: index, paymentHash: paymentHash), index: Int(position),
                                           treeSize: Int(batchSize), proof: path, root: batchRoot)
        } catch {
            return "not in the signed batch (\(error.description))"
        }
        return nil
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(field)
        encoder.encode(index)
        encoder.encode(paymentHash)
        encoder.encode(batchRoot)
        encoder.encode(batchSize)
        encoder.encode(position)
        encoder.encode(path)
        encoder.encode(signature)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        field = try decoder.decode()
        index = try decoder.decode()
        paymentHash = try decoder.decode()
        batchRoot = try decoder.decode()
        batchSize = try decoder.decode()
        position = try decoder.decode()
        path = try decoder.decodeArray(limit: Self.maximumPath)
        signature = try decoder.decode()
    }
}
