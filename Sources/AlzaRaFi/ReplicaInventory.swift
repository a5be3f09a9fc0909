import AlzaCore

/// What a DataNode's storage folder holds, read at start-up (HDFS's volume scan at DataNode start): every
/// replica with a data file and a complete meta file of its newest generation stamp. Everything else a crash
/// or a pipeline recovery can leave is deleted and named in `removedTorn`:
/// - a data file without a meta file (the write did not reach its last step),
/// - a meta file without a data file,
/// - a meta file that is unreadable, shorter than its data implies, or whose length disagrees with the data,
/// - meta files of older generation stamps beside a newer one.
///
/// Checksums are not read here (that is the block scanner's job, over weeks); files whose names are not replica
/// names are left alone.
public struct ReplicaInventory: Hashable, Sendable {
    /// By block id.
    public var replicas: [ExtendedBlock]
    /// Deleted file names, sorted.
    public var removedTorn: [String]

    public init(replicas: [ExtendedBlock], removedTorn: [String]) {
        self.replicas = replicas
        self.removedTorn = removedTorn
    }

    /// Reads `store`, deleting what is torn or stale. An I/O failure is thrown: a DataNode that cannot read its
    /// folder must not start.
    public static func load(from store: any DurableStorage) throws(RaFiError) -> ReplicaInventory {
        do {
            return try scan(store)
        } catch {
            throw RaFiError(error)
        }
    }

    private static func scan(_ store: any DurableStorage) throws(StorageError) -> ReplicaInventory {
        var hasData: Set<BlockID> = []
        var metaStamps: [BlockID: [UInt64]] = [:]
        for name in try store.list() {
            guard let parsed = ReplicaFileName.parse(name) else { continue }
            if let stamp = parsed.generationStamp {
                metaStamps[parsed.id, default: []].append(stamp)
            } else {
                hasData.insert(parsed.id)
            }
        }
        var inventory = ReplicaInventory(replicas: [], removedTorn: [])
        for id in hasData.union(metaStamps.keys).sorted() {
            let stamps = (metaStamps[id] ?? []).sorted()
            var doomed = stamps.dropLast().map { ReplicaFile.metaFileName(ExtendedBlock(id: id, generationStamp: $0, length: 0)) }
            if hasData.contains(id), let newest = stamps.last, let replica = try intactReplica(id, stamp: newest, in: store) {
                inventory.replicas.append(replica)
            } else {
                if hasData.contains(id) { doomed.append(ReplicaFile.dataFileName(id)) }
                if let newest = stamps.last {
                    doomed.append(ReplicaFile.metaFileName(ExtendedBlock(id: id, generationStamp: newest, length: 0)))
                }
            }
            for name in doomed { try store.remove(name) }
            inventory.removedTorn += doomed
        }
        inventory.removedTorn.sort()
        return inventory
    }

    /// The replica if its meta file is complete and its data file is as long as the meta says (the header is
    /// read, the checksums only counted).
    private static func intactReplica(_ id: BlockID, stamp: UInt64, in store: any DurableStorage) throws(StorageError) -> ExtendedBlock? {
        let metaName = ReplicaFile.metaFileName(ExtendedBlock(id: id, generationStamp: stamp, length: 0))
        guard let metaSize = try store.size(metaName), metaSize >= ReplicaFile.headerBytes,
              let header = try? ReplicaMeta.header(of: try store.read(metaName, offset: 0, count: ReplicaFile.headerBytes), block: id),
              header.generationStamp == stamp, metaSize == ReplicaMeta.fileSize(forLength: header.dataLength),
              let size = try store.size(ReplicaFile.dataFileName(id)), UInt64(size) == header.dataLength else { return nil }
        return ExtendedBlock(id: id, generationStamp: stamp, length: header.dataLength)
    }
}
