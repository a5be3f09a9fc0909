/// One entry of a directory listing.
public struct ListingEntry: Sendable, Equatable {
    public var path: NamespacePath
    public var isDirectory: Bool
    public var length: UInt64
    public var replication: UInt16
    public var permission: Permission
    public var modified: UInt64
    public var isComplete: Bool
}

extension NameNodeCore {
    // MARK: Client operations (each checks, then journals, then changes)

    /// Creates a directory and any missing parents (`mkdir -p`).
    public mutating func mkdir(_ path: NamespacePath, user: String, mode: UInt16 = 0o755, now: UInt64) throws(RaFiError) -> [Effect] {
        try checkWritable()
        var effects: [Effect] = []
        var current = NamespacePath.root
        for component in path.components {
            current = current.appending(component)
            if let existing = namespace.inode(at: current) {
                guard existing.file == nil else { throw .notADirectory(current.description) }
                continue
            }
            try checkPermission(current.parent, user: user)
            effects += commit(.mkdir(current, Permission(owner: user, mode: mode), time: now))
        }
        return effects
    }

    /// Creates a file for `client` to write, holding its lease. An existing file whose writer's lease passed the
    /// soft limit is taken over (its last block is the new writer's to recover).
    public mutating func create(_ path: NamespacePath, replication: UInt16 = RaFiLimits.defaultReplication, user: String,
                                client: String, mode: UInt16 = 0o644, now: UInt64) throws(RaFiError) -> [Effect] {
        try checkWritable()
        guard (1...RaFiLimits.maximumReplication).contains(Int(replication)) else {
            throw .invalidReplication(requested: Int(replication), limit: RaFiLimits.maximumReplication)
        }
        guard !path.isRoot else { throw .isADirectory("/") }
        guard let parent = namespace.inode(at: path.parent) else { throw .notFound(path.parent.description) }
        guard parent.file == nil else { throw .notADirectory(path.parent.description) }
        try checkPermission(path.parent, user: user)
        if let existing = namespace.inode(at: path) {
            guard let file = existing.file else { throw .isADirectory(path.description) }
            guard let holder = file.writer else { throw .fileExists(path.description) }
            guard holder != client, now >= (leases[holder] ?? 0) + configuration.leaseSoftLimitMs else {
                throw .leaseHeld(path: path.description, holder: holder)
            }
            leases[client] = now
            return [.log("lease on \(path) taken from \(holder) (silent past the soft limit) by \(client)")]
                + commit(.reassignLease(path, client: client))
        }
        leases[client] = now
        return commit(.create(path, replication: replication, Permission(owner: user, mode: mode), client: client, time: now))
    }

    /// Seals the file's previous block at the length the writer reports and allocates the next, with the
    /// DataNodes of its pipeline (the writer's own node first when it is a DataNode).
    public mutating func addBlock(_ path: NamespacePath, client: String, previous: ExtendedBlock?, writer: StorageID?,
                                  now: UInt64) throws(RaFiError) -> (LocatedBlock, [Effect]) {
        try checkWritable()
        let file = try leasedFile(path, client: client, now: now)
        guard file.blocks.count < RaFiLimits.maximumBlocksPerFile else { throw .fileComplete(path.description) }
        var effects: [Effect] = []
        if let previous {
            guard let last = file.blocks.last, last.id == previous.id else { throw .blockNotLast(path: path.description, block: previous.id) }
            guard previous.generationStamp == last.generationStamp else {
                throw .staleGenerationStamp(previous.id, expected: last.generationStamp, actual: previous.generationStamp)
            }
            if previous.length != last.length { effects += commit(.updateBlock(path, previous)) }
        }
        let targets = chooseTargets(count: Int(file.replication), writer: writer, chosen: [], excluded: [], blockBytes: 0)
        guard !targets.isEmpty else {
            throw .notEnoughDataNodes(needed: Int(file.replication), available: dataNodes.values.filter(\.isInService).count)
        }
        let block = ExtendedBlock(id: BlockID(namespace.nextBlockID), generationStamp: namespace.nextGenerationStamp, length: 0)
        effects += commit(.addBlock(path, block))
        let offset = file.blocks.reduce(0) { $0 + $1.length }
        return (LocatedBlock(block: block, offset: offset, locations: targets), effects)
    }

    /// A new generation stamp for the last block after a pipeline lost a node (HDFS's updatePipeline): replicas of
    /// the old stamp, such as the failed node's, are stale from now on.
    public mutating func recoverPipeline(_ path: NamespacePath, client: String, block: ExtendedBlock,
                                         now: UInt64) throws(RaFiError) -> (ExtendedBlock, [Effect]) {
        try checkWritable()
        let file = try leasedFile(path, client: client, now: now)
        guard let last = file.blocks.last, last.id == block.id else { throw .blockNotLast(path: path.description, block: block.id) }
        let bumped = ExtendedBlock(id: block.id, generationStamp: namespace.nextGenerationStamp, length: block.length)
        let effects = commit(.updateBlock(path, bumped))
        return (bumped, effects)
    }

    /// The writer could not set up a pipeline for its last block: it is dropped.
    public mutating func abandonBlock(_ path: NamespacePath, client: String, block: BlockID, now: UInt64) throws(RaFiError) -> [Effect] {
        try checkWritable()
        let file = try leasedFile(path, client: client, now: now)
        guard file.blocks.last?.id == block else { throw .blockNotLast(path: path.description, block: block) }
        return commit(.abandonBlock(path, block))
    }

    /// Closes the file with its last block at `last`'s length. Returns false (nothing changed) until a DataNode has
    /// reported that block finalized at that length; the writer asks again (HDFS's complete()).
    public mutating func complete(_ path: NamespacePath, client: String, last: ExtendedBlock?,
                                  now: UInt64) throws(RaFiError) -> (completed: Bool, effects: [Effect]) {
        try checkWritable()
        let file = try leasedFile(path, client: client, now: now)
        var final = file.blocks
        if let last {
            guard let index = final.indices.last, final[index].id == last.id else { throw .blockNotLast(path: path.description, block: last.id) }
            guard final[index].generationStamp == last.generationStamp else {
                throw .staleGenerationStamp(last.id, expected: final[index].generationStamp, actual: last.generationStamp)
            }
            final[index].length = last.length
            guard blocks[last.id]?.replicas.values.contains(last.length) == true else { return (false, []) }
        }
        let effects = commit(.close(path, blocks: final, time: now))
        releaseLeaseIfIdle(client)
        return (true, effects)
    }

    /// Deletes a file or a directory (with `recursive`, a non-empty one); the replicas are deleted from the DataNodes.
    public mutating func delete(_ path: NamespacePath, recursive: Bool, user: String, now: UInt64) throws(RaFiError) -> [Effect] {
        try checkWritable()
        guard !path.isRoot else { throw .invalidPath("/", reason: "the root cannot be deleted") }
        guard let node = namespace.inode(at: path) else { throw .notFound(path.description) }
        if case .directory(let children) = node.kind, !children.isEmpty, !recursive { throw .directoryNotEmpty(path.description) }
        try checkPermission(path.parent, user: user)
        return commit(.delete(path, time: now))
    }

    public mutating func setReplication(_ path: NamespacePath, _ replication: UInt16, user: String) throws(RaFiError) -> [Effect] {
        try checkWritable()
        guard (1...RaFiLimits.maximumReplication).contains(Int(replication)) else {
            throw .invalidReplication(requested: Int(replication), limit: RaFiLimits.maximumReplication)
        }
        _ = try namespace.file(at: path)
        try checkPermission(path, user: user)
        return commit(.setReplication(path, replication))
    }

    public mutating func renewLease(client: String, now: UInt64) {
        if leases[client] != nil { leases[client] = now }
    }

    // MARK: Reads

    /// A file's blocks with the DataNodes holding them (good replicas first, corrupt ones last).
    public func locate(_ path: NamespacePath) throws(RaFiError) -> [LocatedBlock] {
        guard role == .active else { throw .standby }
        let file = try namespace.file(at: path)
        var offset: UInt64 = 0
        return file.blocks.map { block in
            defer { offset += block.length }
            let record = blocks[block.id]
            let good = (record?.replicas.keys.sorted() ?? []).compactMap { dataNodes[$0] }.filter(\.isAlive).map(\.location)
            let bad = (record?.corrupt.sorted() ?? []).compactMap { dataNodes[$0] }.filter(\.isAlive).map(\.location)
            return LocatedBlock(block: record?.block ?? block, offset: offset, locations: good + bad, corrupt: Set(bad.map(\.storageID)))
        }
    }

    public func list(_ path: NamespacePath) throws(RaFiError) -> [ListingEntry] {
        guard let node = namespace.inode(at: path) else { throw .notFound(path.description) }
        func entry(_ node: INode, _ path: NamespacePath) -> ListingEntry {
            ListingEntry(path: path, isDirectory: node.file == nil, length: node.file?.length ?? 0,
                         replication: node.file?.replication ?? 0, permission: node.permission,
                         modified: node.modified, isComplete: node.file?.isComplete ?? true)
        }
        guard case .directory(let children) = node.kind else { return [entry(node, path)] }
        return children.keys.sorted().map { entry(namespace.inodes[children[$0]!]!, path.appending($0)) }
    }

    // MARK: Journal

    /// Applies a journal record from the active NameNode's stream (BackupNode) or from the journal at start-up.
    public mutating func replay(_ record: JournalRecord, now: UInt64) throws(RaFiError) {
        try namespace.apply(record)
        _ = applyToBlockMap(record.edit, now: now)
    }

    /// Journals an edit the caller checked, applies it, and brings the block map along.
    mutating func commit(_ edit: NamespaceEdit) -> [Effect] {
        precondition(role == .active, "only the active NameNode journals")
        let record = JournalRecord(transaction: namespace.lastTransaction + 1, edit: edit)
        do {
            try namespace.apply(record)
        } catch {
            preconditionFailure("a checked edit does not apply: \(error)")
        }
        return [.journal(record)] + applyToBlockMap(edit, now: 0)
    }

    private mutating func applyToBlockMap(_ edit: NamespaceEdit, now: UInt64) -> [Effect] {
        switch edit {
        case .mkdir: return []
        case .create(_, _, _, let client, _), .reassignLease(_, let client):
            if leases[client] == nil { leases[client] = now }
            return []
        case .addBlock(let path, let block):
            let replication = (try? namespace.file(at: path).replication) ?? RaFiLimits.defaultReplication
            blocks[block.id] = BlockRecord(block: block, path: path, expected: Int(replication), isComplete: false)
            return []
        case .updateBlock(_, let block):
            guard var record = blocks[block.id] else { return [] }
            record.block = block
            blocks[block.id] = record
            return []
        case .abandonBlock(_, let id):
            return dropBlock(id)
        case .close(_, let sealed, _):
            for block in sealed {
                guard var record = blocks[block.id] else { continue }
                record.block = block
                record.isComplete = true
                for (holder, length) in record.replicas where length != block.length {
                    record.replicas[holder] = nil
                    record.corrupt.insert(holder)
                }
                blocks[block.id] = record
                reevaluate(block.id)
            }
            return []
        case .delete(let path, _):
            return blocks.values.filter { $0.path.isWithin(path) }.map(\.block.id).sorted().flatMap { dropBlock($0) }
        case .setReplication(let path, let replication):
            for id in blocks.values.filter({ $0.path == path }).map(\.block.id) {
                blocks[id]!.expected = Int(replication)
                reevaluate(id)
            }
            return []
        }
    }

    private mutating func dropBlock(_ id: BlockID) -> [Effect] {
        guard let record = blocks[id] else { return [] }
        let effects = role == .active ? scheduleDeletion(of: id, from: record.holders.sorted(), reason: "its file was deleted") : []
        blocks[id] = nil
        lowRedundancy.remove(id)
        pendingReplications[id] = nil
        for holder in record.holders { dataNodes[holder]?.blocks.remove(id) }
        return effects
    }

    // MARK: Checks

    func checkWritable() throws(RaFiError) {
        guard role == .active else { throw .standby }
        guard !isInSafeMode else {
            let (reported, total) = reportedBlocks
            throw .safeMode(reason: "\(reported) of \(total) blocks reported")
        }
    }

    func checkPermission(_ path: NamespacePath, user: String) throws(RaFiError) {
        guard let node = namespace.inode(at: path) else { throw .notFound(path.description) }
        guard node.permission.allowsWrite(by: user, superuser: configuration.superuser) else {
            throw .permissionDenied(path: path.description, user: user)
        }
    }

    mutating func leasedFile(_ path: NamespacePath, client: String, now: UInt64) throws(RaFiError) -> FileNode {
        let file = try namespace.file(at: path)
        guard let writer = file.writer else { throw .fileComplete(path.description) }
        guard writer == client else { throw .noLease(path: path.description, client: client) }
        leases[client] = now
        return file
    }

    mutating func releaseLeaseIfIdle(_ client: String) {
        // One pass over the inodes, without building the sorted file list `files()` makes.
        if !namespace.inodes.values.contains(where: { $0.file?.writer == client }) { leases[client] = nil }
    }
}
