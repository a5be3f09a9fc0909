import AlzaCore

/// A DataNode's storage folder: its replica files and its identity file, on a `DurableStorage`. The one place
/// replica bytes are read and written, used by the node's DataNode actor and by the simulator, so both carry out
/// `DataNodeCore` and `PipelineStageCore` effects the same way (and crash the same way).
///
/// Crash safety comes from the order: the data file is written and synced, then the meta file is written
/// atomically; a data file without a complete meta file is torn, and `ReplicaInventory.load` deletes it.
public struct ReplicaFolder: Sendable {
    public let storage: any DurableStorage
    /// HDFS's `VERSION` file: the namespace this folder belongs to and the node's permanent storage id.
    public static let identityFile = "VERSION"

    public init(storage: any DurableStorage) { self.storage = storage }

    // MARK: Identity

    /// The namespace and storage id this folder was registered with, or nil for a folder never registered.
    public func identity() throws(RaFiError) -> (StorageID, NamespaceInfo)? {
        let bytes: [UInt8]?
        do { bytes = try storage.read(Self.identityFile) } catch { throw RaFiError(error) }
        guard let bytes else { return nil }
        var decoder = CanonicalDecoder(bytes)
        do {
            guard Array(try decoder.decodeRaw(count: 8)) == Array("ALZADN01".utf8) else { throw RaFiError.metaCorrupt(block: BlockID(0), reason: "VERSION") }
            let id: StorageID = try decoder.decode()
            let info: NamespaceInfo = try decoder.decode()
            try decoder.finish()
            return (id, info)
        } catch {
            throw .io(file: Self.identityFile, operation: "decode", reason: "not a DataNode identity file: \(error)")
        }
    }

    public func saveIdentity(_ id: StorageID, _ info: NamespaceInfo) throws(RaFiError) {
        var encoder = CanonicalEncoder()
        encoder.encodeRaw(Array("ALZADN01".utf8))
        encoder.encode(id)
        encoder.encode(info)
        do { try storage.writeAtomically(Self.identityFile, encoder.bytes) } catch { throw RaFiError(error) }
    }

    // MARK: Replicas

    /// The finalized replicas, after deleting torn ones (at start-up).
    public func inventory() throws(RaFiError) -> ReplicaInventory { try ReplicaInventory.load(from: storage) }

    /// Opens a replica being written holding exactly `keepingBytes` of its data (0 for a new one); any meta file
    /// of the block goes, so a crash from here on leaves a torn replica, never a stale "good" one.
    public func prepare(_ block: ExtendedBlock, keepingBytes: UInt64) throws(RaFiError) {
        do {
            for name in try storage.list() where ReplicaFileName.parse(name)?.id == block.id && name != ReplicaFile.dataFileName(block.id) {
                try storage.remove(name)
            }
            try storage.truncate(ReplicaFile.dataFileName(block.id), to: Int(keepingBytes))
        } catch {
            throw RaFiError(error)
        }
    }

    public func append(_ id: BlockID, _ bytes: [UInt8]) throws(RaFiError) {
        do { try storage.append(ReplicaFile.dataFileName(id), bytes) } catch { throw RaFiError(error) }
    }

    /// Syncs the data, then writes the meta file atomically: from here on the replica is finalized.
    public func finalize(_ block: ExtendedBlock, meta: [UInt8]) throws(RaFiError) {
        do {
            try storage.sync(ReplicaFile.dataFileName(block.id))
            try storage.writeAtomically(ReplicaFile.metaFileName(block), meta)
        } catch {
            throw RaFiError(error)
        }
    }

    /// Writes a whole finalized replica at once (a copy received in one piece, or a test).
    public func store(_ block: ExtendedBlock, data: [UInt8]) throws(RaFiError) {
        precondition(UInt64(data.count) == block.length, "a replica holds its block's length")
        try prepare(block, keepingBytes: 0)
        try append(block.id, data)
        try finalize(block, meta: ReplicaFile.meta(for: data, generationStamp: block.generationStamp))
    }

    /// The replica's bytes, checked against its meta file: a checksum, length or meta failure is thrown, and the
    /// caller reports the replica corrupt (`DataNodeCore.readFailed`).
    public func read(_ block: ExtendedBlock) throws(RaFiError) -> [UInt8] {
        let data: [UInt8]?
        let meta: [UInt8]?
        do {
            data = try storage.read(ReplicaFile.dataFileName(block.id))
            meta = try storage.read(ReplicaFile.metaFileName(block))
        } catch {
            throw RaFiError(error)
        }
        guard let data, let meta else { throw .replicaMissing(block.id) }
        try ReplicaFile.verify(data: data, meta: meta, block: block)
        return data
    }

    /// The first `count` bytes of a replica's data file, unchecked, or nil if it holds fewer: what a pipeline
    /// recovery keeps of a replica whose stage is gone (the recovery writes a new meta file for it).
    public func prefix(of id: BlockID, count: UInt64) throws(RaFiError) -> [UInt8]? {
        do {
            guard let size = try storage.size(ReplicaFile.dataFileName(id)), UInt64(size) >= count else { return nil }
            return try storage.read(ReplicaFile.dataFileName(id), offset: 0, count: Int(count))
        } catch {
            throw RaFiError(error)
        }
    }

    /// The block scanner's check (`DataNodeCore.Effect.verify`).
    public func verify(_ block: ExtendedBlock) -> Result<Void, RaFiError> {
        Result { () throws(RaFiError) in _ = try read(block) }
    }

    /// Bytes `offset..<offset+count` of a finalized replica, checked chunk by chunk (storage proofs, ranged reads).
    public func read(_ block: ExtendedBlock, offset: UInt64, count: UInt64) throws(RaFiError) -> [UInt8] {
        let data = try read(block)
        guard offset <= UInt64(data.count), count <= UInt64(data.count) - offset else {
            throw .proofRangeInvalid(block: block.id, offset: offset, length: count, blockLength: UInt64(data.count))
        }
        return Array(data[Int(offset)..<Int(offset + count)])
    }

    public func remove(_ block: ExtendedBlock) throws(RaFiError) {
        do {
            for name in try storage.list() where ReplicaFileName.parse(name)?.id == block.id { try storage.remove(name) }
        } catch {
            throw RaFiError(error)
        }
    }
}
