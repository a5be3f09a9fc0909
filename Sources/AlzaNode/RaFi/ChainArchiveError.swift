import AlzaConsensus
import AlzaCore
import AlzaLedger

/// Why an archived copy of the chain (DESIGN.md §7) was refused. Each case names what a recovery operator must
/// fetch again or distrust: a file name, a height range, or a block and the consensus rule it breaks.
public enum ChainArchiveError: AlzaError, Equatable {
    /// A RaFi name that is not one of the archive's layouts (`ChainArchiveLayout`).
    case invalidName(String, reason: String)
    /// The file's structure cannot be read (magic, lengths, trailing bytes).
    case undecodable(String)
    /// The file or path belongs to another chain.
    case wrongChain(expected: Hash, found: Hash)
    /// A segment's content does not match its name (its height range or the hash of its last block).
    case segmentMismatch(name: String, reason: String)
    /// A block does not follow the block before it (height or `previous` id).
    case brokenLink(height: UInt64, reason: String)
    /// No segment holds these heights, while the archive has blocks beyond them.
    case missingBlocks(from: UInt64, to: UInt64)
    /// A block that consensus refuses: undecodable body, tampered transactions, wrong producer, bad signature,
    /// wrong state root.
    case forgedBlock(height: UInt64, reason: ConsensusError)
    /// There is nothing to rebuild from.
    case noSegments
    /// The genesis file given is not a genesis.
    case invalidGenesis(String)
    /// The rebuilt chain's folder could not be read or written.
    case storage(StorageError)

    public var code: String {
        switch self {
        case .invalidName: "archive.invalid-name"
        case .undecodable: "archive.undecodable"
        case .wrongChain: "archive.wrong-chain"
        case .segmentMismatch: "archive.segment-mismatch"
        case .brokenLink: "archive.broken-link"
        case .missingBlocks: "archive.missing-blocks"
        case .forgedBlock: "archive.forged-block"
        case .noSegments: "archive.no-segments"
        case .invalidGenesis: "archive.invalid-genesis"
        case .storage: "archive.storage"
        }
    }

    public var description: String {
        switch self {
        case .invalidName(let name, let reason): "\(name) is not an archive file name: \(reason)"
        case .undecodable(let reason): "undecodable archive file: \(reason)"
        case .wrongChain(let expected, let found): "archive file of chain \(found.short), expected \(expected.short)"
        case .segmentMismatch(let name, let reason): "segment \(name) does not match its content: \(reason)"
        case .brokenLink(let height, let reason): "block \(height) does not follow its parent: \(reason)"
        case .missingBlocks(let from, let to): "no archived segment holds blocks \(from)-\(to)"
        case .forgedBlock(let height, let reason): "block \(height) is refused (\(reason.code)): \(reason.description)"
        case .noSegments: "no archived segments to rebuild from"
        case .invalidGenesis(let reason): "invalid genesis: \(reason)"
        case .storage(let error): "chain folder: \(error.description)"
        }
    }
}
