import AlzaCore

/// Why a RaFi core or file refused an input (DESIGN.md §7). Nothing of a refused input is applied.
public enum RaFiError: AlzaError, Equatable {
    // Registration and reports.
    case wrongNamespace(expected: UInt64, actual: UInt64)
    case unsupportedLayout(expected: UInt32, actual: UInt32)
    case unregisteredDataNode(StorageID)
    case unknownBlock(BlockID)
    case staleGenerationStamp(BlockID, expected: UInt64, actual: UInt64)
    // Namespace.
    case invalidPath(String, reason: String)
    case fileExists(String)
    case notFound(String)
    case notADirectory(String)
    case isADirectory(String)
    case directoryNotEmpty(String)
    case permissionDenied(path: String, user: String)
    case leaseHeld(path: String, holder: String)
    case noLease(path: String, client: String)
    case fileComplete(String)
    case blockNotLast(path: String, block: BlockID)
    case invalidReplication(requested: Int, limit: Int)
    case safeMode(reason: String)
    case notEnoughDataNodes(needed: Int, available: Int)
    case standby
    // Replica files and transfers.
    case checksumMismatch(block: BlockID, chunk: Int)
    case metaCorrupt(block: BlockID, reason: String)
    case lengthMismatch(block: BlockID, expected: UInt64, actual: UInt64)
    case packetTooLarge(bytes: Int, limit: Int)
    case packetOutOfOrder(block: BlockID, expected: UInt64, actual: UInt64)
    case replicaMissing(BlockID)
    case noReplicaReadable(BlockID, tried: Int)
    /// A pipeline packet, ack or setup that breaks the write protocol (wrong block, offset, shape or phase).
    case pipelineViolation(block: BlockID, reason: String)
    /// A DataNode did not answer (connection refused, reset or timed out).
    case dataNodeUnreachable(StorageID, reason: String)
    /// A replica store could not carry out a file operation.
    case io(file: String, operation: String, reason: String)
    // Storage proofs.
    case proofMismatch(block: BlockID, prover: StorageID)
    case proofRangeInvalid(block: BlockID, offset: UInt64, length: UInt64, blockLength: UInt64)
    // Journal and image.
    case journalCorrupt(reason: String)
    case imageCorrupt(reason: String)
    /// `format` found a namespace already in the NameNode's storage (its newest image).
    case alreadyFormatted(image: String)
    /// The NameNode's storage holds no image: it was never formatted.
    case notFormatted
    case undecodable(reason: String)

    public var code: String {
        switch self {
        case .wrongNamespace: "rafi.wrong-namespace"
        case .unsupportedLayout: "rafi.unsupported-layout"
        case .unregisteredDataNode: "rafi.unregistered-datanode"
        case .unknownBlock: "rafi.unknown-block"
        case .staleGenerationStamp: "rafi.stale-generation-stamp"
        case .invalidPath: "rafi.invalid-path"
        case .fileExists: "rafi.file-exists"
        case .notFound: "rafi.not-found"
        case .notADirectory: "rafi.not-a-directory"
        case .isADirectory: "rafi.is-a-directory"
        case .directoryNotEmpty: "rafi.directory-not-empty"
        case .permissionDenied: "rafi.permission-denied"
        case .leaseHeld: "rafi.lease-held"
        case .noLease: "rafi.no-lease"
        case .fileComplete: "rafi.file-complete"
        case .blockNotLast: "rafi.block-not-last"
        case .invalidReplication: "rafi.invalid-replication"
        case .safeMode: "rafi.safe-mode"
        case .notEnoughDataNodes: "rafi.not-enough-datanodes"
        case .standby: "rafi.standby"
        case .checksumMismatch: "rafi.checksum-mismatch"
        case .metaCorrupt: "rafi.meta-corrupt"
        case .lengthMismatch: "rafi.length-mismatch"
        case .packetTooLarge: "rafi.packet-too-large"
        case .packetOutOfOrder: "rafi.packet-out-of-order"
        case .replicaMissing: "rafi.replica-missing"
        case .noReplicaReadable: "rafi.no-replica-readable"
        case .pipelineViolation: "rafi.pipeline-violation"
        case .dataNodeUnreachable: "rafi.datanode-unreachable"
        case .io: "rafi.io"
        case .proofMismatch: "rafi.proof-mismatch"
        case .proofRangeInvalid: "rafi.proof-range-invalid"
        case .journalCorrupt: "rafi.journal-corrupt"
        case .imageCorrupt: "rafi.image-corrupt"
        case .alreadyFormatted: "rafi.already-formatted"
        case .notFormatted: "rafi.not-formatted"
        case .undecodable: "rafi.undecodable"
        }
    }

    public var description: String {
        switch self {
        case .wrongNamespace(let expected, let actual):
            "DataNode storage belongs to namespace \(actual), this NameNode serves \(expected); it must not join (format its storage folder to reuse it)"
        case .unsupportedLayout(let expected, let actual):
            "DataNode storage layout version \(actual) is not the layout version \(expected) this NameNode reads"
        case .unregisteredDataNode(let id): "DataNode \(id) is not registered; it must register again"
        case .unknownBlock(let id): "\(id) belongs to no file"
        case .staleGenerationStamp(let id, let expected, let actual):
            "\(id) has generation stamp \(actual), the current one is \(expected): the replica is stale"
        case .invalidPath(let path, let reason): "path \(path) is invalid: \(reason)"
        case .fileExists(let path): "\(path) already exists"
        case .notFound(let path): "\(path) does not exist"
        case .notADirectory(let path): "\(path) is not a directory"
        case .isADirectory(let path): "\(path) is a directory"
        case .directoryNotEmpty(let path): "directory \(path) is not empty (remove it recursively)"
        case .permissionDenied(let path, let user): "\(user) may not write \(path)"
        case .leaseHeld(let path, let holder): "\(path) is being written by \(holder)"
        case .noLease(let path, let client): "\(client) holds no lease on \(path)"
        case .fileComplete(let path): "\(path) is complete; it takes no more blocks"
        case .blockNotLast(let path, let block): "\(block) is not the last block of \(path)"
        case .invalidReplication(let requested, let limit): "replication \(requested) is outside 1...\(limit)"
        case .safeMode(let reason): "the NameNode is in safe mode: \(reason)"
        case .notEnoughDataNodes(let needed, let available):
            "placing a block needs \(needed) DataNodes, \(available) can take it"
        case .standby: "this NameNode is a BackupNode; send writes to the active NameNode"
        case .checksumMismatch(let block, let chunk): "\(block): checksum of chunk \(chunk) does not match its data"
        case .metaCorrupt(let block, let reason): "\(block): meta file is unreadable: \(reason)"
        case .lengthMismatch(let block, let expected, let actual): "\(block): \(actual) bytes, expected \(expected)"
        case .packetTooLarge(let bytes, let limit): "a packet of \(bytes) bytes exceeds the limit of \(limit)"
        case .packetOutOfOrder(let block, let expected, let actual):
            "\(block): packet \(actual) arrived where packet \(expected) was expected"
        case .replicaMissing(let id): "no replica of \(id) on this DataNode"
        case .noReplicaReadable(let id, let tried): "none of the \(tried) replicas of \(id) could be read intact"
        case .pipelineViolation(let block, let reason): "\(block): write pipeline protocol broken: \(reason)"
        case .dataNodeUnreachable(let id, let reason): "DataNode \(id) is unreachable: \(reason)"
        case .io(let file, let operation, let reason): "\(operation) \(file): \(reason)"
        case .proofMismatch(let block, let prover): "\(prover) answered a storage proof for \(block) with a wrong hash"
        case .proofRangeInvalid(let block, let offset, let length, let blockLength):
            "storage proof range \(offset)+\(length) of \(block) lies outside its \(blockLength) bytes"
        case .journalCorrupt(let reason): "the NameNode journal is corrupt: \(reason)"
        case .imageCorrupt(let reason): "the NameNode image is corrupt: \(reason)"
        case .alreadyFormatted(let image): "the NameNode storage already holds a namespace (\(image)); format refuses to overwrite it"
        case .notFormatted: "the NameNode storage holds no image: format it first"
        case .undecodable(let reason): "undecodable RaFi message: \(reason)"
        }
    }
}

extension RaFiError {
    /// A storage failure under a RaFi operation.
    public init(_ error: StorageError) {
        switch error {
        case .io(let file, let operation, let reason): self = .io(file: file, operation: operation, reason: reason)
        }
    }
}
