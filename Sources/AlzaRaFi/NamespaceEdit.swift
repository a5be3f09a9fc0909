import AlzaCore

/// One change of the namespace, as the NameNode journals it before answering (HDFS's FSEditLog op). Replaying
/// the journal over the image it follows rebuilds the namespace exactly; a BackupNode applies the same stream.
/// Replica locations are not here: they come from the DataNodes' block reports, as in HDFS.
public enum NamespaceEdit: Hashable, Sendable {
    case mkdir(NamespacePath, Permission, time: UInt64)
    case create(NamespacePath, replication: UInt16, Permission, client: String, time: UInt64)
    /// A new last block of a file under construction (its id and generation stamp come from the NameNode's
    /// counters, which this edit advances).
    case addBlock(NamespacePath, ExtendedBlock)
    /// The last block's new generation stamp after a pipeline recovery (so replicas left behind are stale).
    case updateBlock(NamespacePath, ExtendedBlock)
    /// The writer gave up its last block before writing it (the pipeline could not be set up).
    case abandonBlock(NamespacePath, BlockID)
    /// The file is complete: its blocks with their final lengths; the lease is released.
    case close(NamespacePath, blocks: [ExtendedBlock], time: UInt64)
    case delete(NamespacePath, time: UInt64)
    case setReplication(NamespacePath, UInt16)
    /// Lease recovery gave the file to another holder (the NameNode itself when the hard limit passed).
    case reassignLease(NamespacePath, client: String)
}

/// A journal record: an edit and its transaction id (consecutive from 1; the image names the last one it holds).
public struct JournalRecord: Hashable, Sendable {
    public var transaction: UInt64
    public var edit: NamespaceEdit

    public init(transaction: UInt64, edit: NamespaceEdit) {
        self.transaction = transaction
        self.edit = edit
    }
}

extension JournalRecord: CanonicalCodable {
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(transaction)
        switch edit {
        case .mkdir(let path, let permission, let time):
            encoder.encodeVarint(0); encoder.encode(path); encoder.encode(permission); encoder.encode(time)
        case .create(let path, let replication, let permission, let client, let time):
            encoder.encodeVarint(1); encoder.encode(path); encoder.encode(replication); encoder.encode(permission)
            encoder.encode(client); encoder.encode(time)
        case .addBlock(let path, let block):
            encoder.encodeVarint(2); encoder.encode(path); encoder.encode(block)
        case .updateBlock(let path, let block):
            encoder.encodeVarint(3); encoder.encode(path); encoder.encode(block)
        case .abandonBlock(let path, let id):
            encoder.encodeVarint(4); encoder.encode(path); encoder.encode(id)
        case .close(let path, let blocks, let time):
            encoder.encodeVarint(5); encoder.encode(path); encoder.encode(blocks); encoder.encode(time)
        case .delete(let path, let time):
            encoder.encodeVarint(6); encoder.encode(path); encoder.encode(time)
        case .setReplication(let path, let replication):
            encoder.encodeVarint(7); encoder.encode(path); encoder.encode(replication)
        case .reassignLease(let path, let client):
            encoder.encodeVarint(8); encoder.encode(path); encoder.encode(client)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        transaction = try decoder.decode()
        let (tag, offset) = try decoder.decodeTag()
        let path: NamespacePath = try decoder.decode()
        switch tag {
        case 0: edit = .mkdir(path, try decoder.decode(), time: try decoder.decode())
        case 1:
            let replication: UInt16 = try decoder.decode()
            let permission: Permission = try decoder.decode()
            let client = try decoder.decodeString(limit: RaFiLimits.maximumNameBytes)
            edit = .create(path, replication: replication, permission, client: client, time: try decoder.decode())
        case 2: edit = .addBlock(path, try decoder.decode())
        case 3: edit = .updateBlock(path, try decoder.decode())
        case 4: edit = .abandonBlock(path, try decoder.decode())
        case 5:
            let blocks = try decoder.decodeArray(of: ExtendedBlock.self, limit: RaFiLimits.maximumBlocksPerFile)
            edit = .close(path, blocks: blocks, time: try decoder.decode())
        case 6: edit = .delete(path, time: try decoder.decode())
        case 7: edit = .setReplication(path, try decoder.decode())
        case 8: edit = .reassignLease(path, client: try decoder.decodeString(limit: RaFiLimits.maximumNameBytes))
        default: throw .unknownTag(offset: offset, tag: tag, type: "NamespaceEdit")
        }
    }
}
