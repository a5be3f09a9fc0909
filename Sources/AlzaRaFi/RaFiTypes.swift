import AlzaCore

/// A RaFi block's number, given by the NameNode in increasing order (HDFS's block id).
public struct BlockID: Hashable, Comparable, Sendable, CanonicalCodable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (lhs: BlockID, rhs: BlockID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "blk_\(rawValue)" }
    public func encode(to encoder: inout CanonicalEncoder) { encoder.encode(rawValue) }
    public init(from decoder: inout CanonicalDecoder) throws(CodecError) { rawValue = try decoder.decode() }
}

/// A DataNode's permanent identity, given by the NameNode at its first registration and kept in its storage
/// folder, so a node that comes back on another address is still the node that holds those replicas.
public struct StorageID: Hashable, Comparable, Sendable, CanonicalCodable, CustomStringConvertible {
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public static func < (lhs: StorageID, rhs: StorageID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
    public func encode(to encoder: inout CanonicalEncoder) { encoder.encode(rawValue) }
    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        rawValue = try decoder.decodeString(limit: RaFiLimits.maximumNameBytes)
    }
}

/// One version of a block: its id, its generation stamp (raised by every pipeline recovery, so a replica left
/// behind by a failed pipeline is recognisably stale) and its length in bytes.
public struct ExtendedBlock: Hashable, Sendable, CanonicalCodable, CustomStringConvertible {
    public var id: BlockID
    public var generationStamp: UInt64
    public var length: UInt64

    public init(id: BlockID, generationStamp: UInt64, length: UInt64) {
        self.id = id
        self.generationStamp = generationStamp
        self.length = length
    }

    public var description: String { "\(id)_\(generationStamp) (\(length) B)" }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(id)
        encoder.encode(generationStamp)
        encoder.encode(length)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        id = try decoder.decode()
        generationStamp = try decoder.decode()
        length = try decoder.decode()
        guard length <= UInt64(RaFiLimits.maximumBlockBytes) else {
            throw decoder.invalid("block length \(length) exceeds \(RaFiLimits.maximumBlockBytes)")
        }
    }
}

/// What a DataNode must share with its NameNode to join it (HDFS's NamespaceInfo): a node formatted for another
/// namespace, or with a storage layout this code does not read, holds replicas that mean nothing here.
public struct NamespaceInfo: Hashable, Sendable, CanonicalCodable, CustomStringConvertible {
    public var namespaceID: UInt64
    public var layoutVersion: UInt32

    /// The storage layout this code writes and reads (replica + meta files, CRC32C per 512 bytes).
    public static let currentLayoutVersion: UInt32 = 1

    public init(namespaceID: UInt64, layoutVersion: UInt32 = NamespaceInfo.currentLayoutVersion) {
        self.namespaceID = namespaceID
        self.layoutVersion = layoutVersion
    }

    public var description: String { "namespace \(namespaceID) layout \(layoutVersion)" }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(namespaceID)
        encoder.encode(layoutVersion)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        namespaceID = try decoder.decode()
        layoutVersion = try decoder.decode()
    }
}

/// Where a DataNode is: its storage id, the address its transport answers on, and its rack (a zone, a region,
/// a host group: whatever fails together).
public struct DataNodeLocation: Hashable, Sendable, CanonicalCodable, CustomStringConvertible {
    public var storageID: StorageID
    public var address: String
    public var rack: String

    public init(storageID: StorageID, address: String, rack: String) {
        self.storageID = storageID
        self.address = address
        self.rack = rack
    }

    public var description: String { "\(storageID)@\(address) [\(rack)]" }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(storageID)
        encoder.encode(address)
        encoder.encode(rack)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        storageID = try decoder.decode()
        address = try decoder.decodeString(limit: RaFiLimits.maximumNameBytes)
        rack = try decoder.decodeString(limit: RaFiLimits.maximumNameBytes)
    }
}

/// A block of a file with the DataNodes that hold it (what a reader asks the NameNode for, and what a writer is
/// given for its pipeline).
public struct LocatedBlock: Hashable, Sendable, CanonicalCodable {
    public var block: ExtendedBlock
    /// Offset of the block's first byte in its file.
    public var offset: UInt64
    public var locations: [DataNodeLocation]
    /// Locations whose replica the NameNode knows to be corrupt (listed last; a reader tries them only if no good
    /// one answers).
    public var corrupt: Set<StorageID>

    public init(block: ExtendedBlock, offset: UInt64, locations: [DataNodeLocation], corrupt: Set<StorageID> = []) {
        self.block = block
        self.offset = offset
        self.locations = locations
        self.corrupt = corrupt
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(block)
        encoder.encode(offset)
        encoder.encode(locations)
        encoder.encode(corrupt.sorted())
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        block = try decoder.decode()
        offset = try decoder.decode()
        locations = try decoder.decodeArray(limit: RaFiLimits.maximumReplication)
        corrupt = Set(try decoder.decodeArray(of: StorageID.self, limit: RaFiLimits.maximumReplication))
    }
}

/// The bounds every RaFi decoder and queue enforces (DESIGN.md §10).
public enum RaFiLimits {
    /// Bytes per pipeline packet (HDFS's 64 KB).
    public static let packetBytes = 64 << 10
    /// Bytes per checksum chunk: one CRC32C per 512 bytes of a replica.
    public static let checksumChunkBytes = 512
    /// A block's largest size. Chain segments are cut well below it.
    public static let maximumBlockBytes = 64 << 20
    public static let defaultReplication: UInt16 = 3
    public static let maximumReplication = 16
    public static let maximumNameBytes = 255
    public static let maximumPathBytes = 4_096
    /// Blocks per block report (a DataNode with more sends several reports).
    public static let maximumReportedBlocks = 1 << 20
    /// Blocks per file.
    public static let maximumBlocksPerFile = 1 << 20
}
