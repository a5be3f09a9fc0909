import AlzaCore

/// What a DataNode sends its NameNode (HDFS's DatanodeProtocol calls); the NameNode answers registrations and
/// heartbeats with `DataNodeCommand`s.
public enum DataNodeReport: Hashable, Sendable, CanonicalCodable, CustomStringConvertible {
    case register(DataNodeRegistration)
    case heartbeat(DataNodeHeartbeat)
    /// Every finalized, intact replica the node holds (at most `RaFiLimits.maximumReportedBlocks`; a node with
    /// more sends several).
    case blockReport(StorageID, [ExtendedBlock])
    /// A replica was finalized (end of a pipeline write or of a copy).
    case blockReceived(StorageID, ExtendedBlock)
    case blockDeleted(StorageID, BlockID)
    /// `reporter` found `holder`'s replica corrupt (its own, by the block scanner or a read; or a source's, by
    /// a copy that did not check).
    case corruptReplica(reporter: StorageID, holder: StorageID, block: ExtendedBlock, reason: String)

    /// Bytes of a reason carried in a report or a command.
    public static let maximumReasonBytes = 1_024

    public var description: String {
        switch self {
        case .register(let registration): "register \(registration.storageID?.description ?? "new node") at \(registration.address)"
        case .heartbeat(let heartbeat): "heartbeat from \(heartbeat.storageID)"
        case .blockReport(let id, let blocks): "block report from \(id): \(blocks.count) replicas"
        case .blockReceived(let id, let block): "\(id) received \(block)"
        case .blockDeleted(let id, let block): "\(id) deleted \(block)"
        case .corruptReplica(let reporter, let holder, let block, let reason):
            "\(reporter) reports \(block) on \(holder) corrupt: \(reason)"
        }
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case .register(let registration):
            encoder.encodeVarint(0)
            encoder.encode(registration)
        case .heartbeat(let heartbeat):
            encoder.encodeVarint(1)
            encoder.encode(heartbeat)
        case .blockReport(let id, let blocks):
            encoder.encodeVarint(2)
            encoder.encode(id)
            encoder.encode(blocks)
        case .blockReceived(let id, let block):
            encoder.encodeVarint(3)
            encoder.encode(id)
            encoder.encode(block)
        case .blockDeleted(let id, let block):
            encoder.encodeVarint(4)
            encoder.encode(id)
            encoder.encode(block)
        case .corruptReplica(let reporter, let holder, let block, let reason):
            encoder.encodeVarint(5)
            encoder.encode(reporter)
            encoder.encode(holder)
            encoder.encode(block)
            encoder.encode(reason)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let (tag, offset) = try decoder.decodeTag()
        switch tag {
        case 0: self = .register(try decoder.decode())
        case 1: self = .heartbeat(try decoder.decode())
        case 2: self = .blockReport(try decoder.decode(), try decoder.decodeArray(limit: RaFiLimits.maximumReportedBlocks))
        case 3: self = .blockReceived(try decoder.decode(), try decoder.decode())
        case 4: self = .blockDeleted(try decoder.decode(), try decoder.decode())
        case 5:
            self = .corruptReplica(reporter: try decoder.decode(), holder: try decoder.decode(), block: try decoder.decode(),
                                   reason: try decoder.decodeString(limit: Self.maximumReasonBytes))
        default: throw .unknownTag(offset: offset, tag: tag, type: "DataNodeReport")
        }
    }
}

extension DataNodeCommand: CanonicalCodable {
    public func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case .registered(let id, let namespace):
            encoder.encodeVarint(0)
            encoder.encode(id)
            encoder.encode(namespace)
        case .shutdown(let reason):
            encoder.encodeVarint(1)
            encoder.encode(reason)
        case .replicate(let block, let targets):
            encoder.encodeVarint(2)
            encoder.encode(block)
            encoder.encode(targets)
        case .delete(let blocks):
            encoder.encodeVarint(3)
            encoder.encode(blocks)
        case .reregister:
            encoder.encodeVarint(4)
        case .blockReportNow:
            encoder.encodeVarint(5)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let (tag, offset) = try decoder.decodeTag()
        switch tag {
        case 0: self = .registered(try decoder.decode(), try decoder.decode())
        case 1: self = .shutdown(reason: try decoder.decodeString(limit: DataNodeReport.maximumReasonBytes))
        case 2: self = .replicate(try decoder.decode(), targets: try decoder.decodeArray(limit: RaFiLimits.maximumReplication))
        case 3: self = .delete(try decoder.decodeArray(limit: RaFiLimits.maximumReportedBlocks))
        case 4: self = .reregister
        case 5: self = .blockReportNow
        default: throw .unknownTag(offset: offset, tag: tag, type: "DataNodeCommand")
        }
    }
}

extension NamespaceInfo {
    /// What a DataNode whose storage folder was never formatted sends in its first registration: namespace id 0
    /// (no NameNode formats with it) and this code's layout. The NameNode's `registered` answer gives it the
    /// real namespace, which it keeps from then on.
    public static let unformatted = NamespaceInfo(namespaceID: 0)

    public var isUnformatted: Bool { namespaceID == 0 }
}
