import AlzaCore

/// What a DataNode tells its NameNode when it (re)joins: the namespace its storage folder was formatted for, the
/// permanent storage id it was given (nil the first time), where it is, and what it can hold.
public struct DataNodeRegistration: Hashable, Sendable, CanonicalCodable {
    public var namespace: NamespaceInfo
    public var storageID: StorageID?
    public var address: String
    public var rack: String
    public var capacity: UInt64

    public init(namespace: NamespaceInfo, storageID: StorageID?, address: String, rack: String, capacity: UInt64) {
        self.namespace = namespace
        self.storageID = storageID
        self.address = address
        self.rack = rack
        self.capacity = capacity
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(namespace)
        encoder.encode(storageID)
        encoder.encode(address)
        encoder.encode(rack)
        encoder.encode(capacity)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        namespace = try decoder.decode()
        storageID = try decoder.decodeOptional(StorageID.self)
        address = try decoder.decodeString(limit: RaFiLimits.maximumNameBytes)
        rack = try decoder.decodeString(limit: RaFiLimits.maximumNameBytes)
        capacity = try decoder.decode()
    }
}

/// A DataNode's periodic sign of life (every 3 s, DESIGN.md §10), with the load the NameNode places blocks by.
public struct DataNodeHeartbeat: Hashable, Sendable, CanonicalCodable {
    public var storageID: StorageID
    public var capacity: UInt64
    public var used: UInt64
    public var transfersInProgress: UInt32

    public init(storageID: StorageID, capacity: UInt64, used: UInt64, transfersInProgress: UInt32) {
        self.storageID = storageID
        self.capacity = capacity
        self.used = used
        self.transfersInProgress = transfersInProgress
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(storageID)
        encoder.encode(capacity)
        encoder.encode(used)
        encoder.encode(transfersInProgress)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        storageID = try decoder.decode()
        capacity = try decoder.decode()
        used = try decoder.decode()
        transfersInProgress = try decoder.decode()
    }
}

/// What the NameNode asks of one DataNode, carried in the answer to its heartbeat (or registration).
public enum DataNodeCommand: Hashable, Sendable, CustomStringConvertible {
    /// Registration accepted: keep this storage id for good.
    case registered(StorageID, NamespaceInfo)
    /// Registration refused (another namespace, another layout): the DataNode logs the reason and shuts down.
    case shutdown(reason: String)
    /// Copy this replica to these DataNodes (re-replication, decommissioning, balancing).
    case replicate(ExtendedBlock, targets: [DataNodeLocation])
    /// Delete these replicas (excess, corrupt with enough good ones elsewhere, stale, of deleted files).
    case delete([ExtendedBlock])
    /// The NameNode does not know this DataNode (it restarted, or declared it dead): register again.
    case reregister
    /// Send a full block report now.
    case blockReportNow

    public var description: String {
        switch self {
        case .registered(let id, let namespace): "registered as \(id) in \(namespace)"
        case .shutdown(let reason): "shut down: \(reason)"
        case .replicate(let block, let targets): "replicate \(block) to \(targets.map(\.storageID))"
        case .delete(let blocks): "delete \(blocks.map(\.id))"
        case .reregister: "register again"
        case .blockReportNow: "send a block report"
        }
    }
}
