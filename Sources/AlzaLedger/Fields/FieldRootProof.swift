import AlzaCore

/// Inclusion proofs of settled field commitments in a block's field root, read back from the block and the
/// field records (what the API serves). A close carries its snapshot; a finalize settled the snapshot its field's
/// record shows as closed at that height. Settlements by delayed actions come first in the root and are not in
/// the block's transactions: a block holding one gives no proof here (`proof` says so), since the list read
/// back would not reproduce the header's root.
public enum FieldRootProof {
    public struct Proof: Sendable, Equatable {
        public var commitment: Hash
        public var index: Int
        public var treeSize: Int
        public var path: [Hash]
    }

    /// The commitments `block`'s transactions settled, in block order.
    public static func settledCommitments(of block: Block, fields: (FieldId) -> FieldRecord?) -> [(FieldId, Hash)] {
        var settled: [(FieldId, Hash)] = []
        for transaction in block.transactions {
            for message in transaction.messages where message.code == .fieldClose || message.code == .fieldFinalize {
                guard let payload = try? message.payload(), let id = payload.field, let record = fields(id),
                      case .closed(let settlement, let height) = record.status, height == block.header.height
                else { continue }
                settled.append((id, record.commitment(of: settlement)))
            }
        }
        return settled
    }

    /// The proof that `field`'s settlement is in `block`'s field root, or why there is none.
    public static func proof(for field: FieldId, in block: Block, fields: (FieldId) -> FieldRecord?) -> Result<Proof, ProofUnavailable> {
        let settled = settledCommitments(of: block, fields: fields)
        guard let index = settled.firstIndex(where: { $0.0 == field }) else { return .failure(.notSettledInBlock) }
        let leaves = settled.map { MerkleTree.leafHash($0.1.bytes) }
        guard MerkleTree.root(leafHashes: leaves) == block.header.fieldRoot else { return .failure(.rootNotReproduced) }
        guard let path = try? MerkleTree.inclusionProof(index: index, leafHashes: leaves) else { return .failure(.rootNotReproduced) }
        return .success(Proof(commitment: settled[index].1, index: index, treeSize: leaves.count, path: path))
    }

    public enum ProofUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
        case notSettledInBlock
        /// The block settled a field through a delayed action too, which its transactions do not show.
        case rootNotReproduced

        public var description: String {
            switch self {
            case .notSettledInBlock: "the block does not settle this field"
            case .rootNotReproduced: "the block's field root includes settlements by delayed actions; no proof from its transactions"
            }
        }
    }
}
