import AlzaCore

/// One file of the namespace: its replication factor and blocks, and its writer while under construction.
public struct FileNode: Hashable, Sendable {
    public var replication: UInt16
    public var blocks: [ExtendedBlock]
    /// The lease holder while the file is being written; nil once it is complete.
    public var writer: String?

    public var isComplete: Bool { writer == nil }
    public var length: UInt64 { blocks.reduce(0) { $0 + $1.length } }
}

/// An inode: a directory (its children by name) or a file, with its owner, mode and modification time.
public struct INode: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case directory(children: [String: UInt64])
        case file(FileNode)
    }

    public var id: UInt64
    public var parent: UInt64
    public var name: String
    public var permission: Permission
    public var modified: UInt64
    public var kind: Kind

    public var file: FileNode? {
        if case .file(let file) = kind { return file }
        return nil
    }
}

/// The namespace a NameNode keeps in memory (HDFS's FSDirectory): inodes by id, the block id and generation
/// stamp counters, and the id of the last journaled transaction it holds. Changed only by `apply`, so the active
/// NameNode, a restart replaying its journal, and a BackupNode fed the journal stream hold the same namespace.
public struct Namespace: Hashable, Sendable {
    public static let rootID: UInt64 = 1
    public private(set) var inodes: [UInt64: INode]
    public private(set) var nextINodeID: UInt64 = 2
    public private(set) var nextBlockID: UInt64 = 1
    public private(set) var nextGenerationStamp: UInt64 = 1_000
    public private(set) var lastTransaction: UInt64 = 0

    public init(rootOwner: String) {
        inodes = [Self.rootID: INode(id: Self.rootID, parent: 0, name: "", permission: Permission(owner: rootOwner, mode: 0o755),
                                     modified: 0, kind: .directory(children: [:]))]
    }

    init(inodes: [UInt64: INode], nextINodeID: UInt64, nextBlockID: UInt64, nextGenerationStamp: UInt64, lastTransaction: UInt64) {
        self.inodes = inodes
        self.nextINodeID = nextINodeID
        self.nextBlockID = nextBlockID
        self.nextGenerationStamp = nextGenerationStamp
        self.lastTransaction = lastTransaction
    }

    // MARK: Queries

    /// The inode at `path`, or nil.
    public func inode(at path: NamespacePath) -> INode? {
        var current = inodes[Self.rootID]!
        for component in path.components {
            guard case .directory(let children) = current.kind, let child = children[component] else { return nil }
            current = inodes[child]!
        }
        return current
    }

    public func file(at path: NamespacePath) throws(RaFiError) -> FileNode {
        guard let node = inode(at: path) else { throw .notFound(path.description) }
        guard let file = node.file else { throw .isADirectory(path.description) }
        return file
    }

    /// Every file with its path, in path order.
    public func files(under path: NamespacePath = .root) -> [(path: NamespacePath, file: FileNode)] {
        guard let start = inode(at: path) else { return [] }
        var result: [(NamespacePath, FileNode)] = []
        var stack: [(NamespacePath, INode)] = [(path, start)]
        while let (nodePath, node) = stack.popLast() {
            switch node.kind {
            case .file(let file): result.append((nodePath, file))
            case .directory(let children):
                for (name, child) in children { stack.append((nodePath.appending(name), inodes[child]!)) }
            }
        }
        return result.sorted { $0.0 < $1.0 }
    }

    // MARK: Applying edits

    /// Applies one journaled edit. The active NameNode checked it before journaling; an edit that does not fit
    /// (a replayed journal that does not follow its image) is `journalCorrupt`, and nothing is changed.
    public mutating func apply(_ record: JournalRecord) throws(RaFiError) {
        guard record.transaction == lastTransaction + 1 else {
            throw .journalCorrupt(reason: "transaction \(record.transaction) follows \(lastTransaction)")
        }
        switch record.edit {
        case .mkdir(let path, let permission, let time):
            try insert(path, permission: permission, time: time, kind: .directory(children: [:]))
        case .create(let path, let replication, let permission, let client, let time):
            try insert(path, permission: permission, time: time,
                       kind: .file(FileNode(replication: replication, blocks: [], writer: client)))
        case .addBlock(let path, let block):
            try updateFile(path) { file in file.blocks.append(block) }
            nextBlockID = max(nextBlockID, block.id.rawValue + 1)
            nextGenerationStamp = max(nextGenerationStamp, block.generationStamp + 1)
        case .updateBlock(let path, let block):
            try updateFile(path) { file in
                guard let last = file.blocks.indices.last, file.blocks[last].id == block.id else { return false }
                file.blocks[last] = block
                return true
            }
            nextGenerationStamp = max(nextGenerationStamp, block.generationStamp + 1)
        case .abandonBlock(let path, let id):
            try updateFile(path) { file in
                guard file.blocks.last?.id == id else { return false }
                file.blocks.removeLast()
                return true
            }
        case .close(let path, let blocks, let time):
            try updateFile(path) { file in
                guard file.blocks.map(\.id) == blocks.map(\.id) else { return false }
                file.blocks = blocks
                file.writer = nil
                return true
            }
            touch(path, time: time)
        case .delete(let path, let time):
            try remove(path, time: time)
        case .setReplication(let path, let replication):
            try updateFile(path) { file in file.replication = replication }
        case .reassignLease(let path, let client):
            try updateFile(path) { file in
                guard file.writer != nil else { return false }
                file.writer = client
                return true
            }
        }
        lastTransaction = record.transaction
    }

    private mutating func insert(_ path: NamespacePath, permission: Permission, time: UInt64, kind: INode.Kind) throws(RaFiError) {
        guard !path.isRoot, let parent = inode(at: path.parent), case .directory(var children) = parent.kind,
              children[path.name] == nil
        else { throw .journalCorrupt(reason: "cannot create \(path)") }
        let id = nextINodeID
        nextINodeID += 1
        inodes[id] = INode(id: id, parent: parent.id, name: path.name, permission: permission, modified: time, kind: kind)
        children[path.name] = id
        inodes[parent.id]!.kind = .directory(children: children)
        inodes[parent.id]!.modified = time
    }

    private mutating func updateFile(_ path: NamespacePath, _ change: (inout FileNode) -> Bool) throws(RaFiError) {
        guard let node = inode(at: path), var file = node.file, change(&file) else {
            throw .journalCorrupt(reason: "edit does not fit file \(path)")
        }
        inodes[node.id]!.kind = .file(file)
    }

    private mutating func updateFile(_ path: NamespacePath, _ change: (inout FileNode) -> Void) throws(RaFiError) {
        try updateFile(path) { (file: inout FileNode) -> Bool in
            change(&file)
            return true
        }
    }

    private mutating func touch(_ path: NamespacePath, time: UInt64) {
        if let node = inode(at: path) { inodes[node.id]!.modified = time }
    }

    private mutating func remove(_ path: NamespacePath, time: UInt64) throws(RaFiError) {
        guard !path.isRoot, let node = inode(at: path), case .directory(var children) = inodes[node.parent]!.kind else {
            throw .journalCorrupt(reason: "cannot delete \(path)")
        }
        var stack = [node.id]
        while let id = stack.popLast() {
            if case .directory(let grandchildren) = inodes[id]!.kind { stack += grandchildren.values }
            inodes[id] = nil
        }
        children[path.name] = nil
        inodes[node.parent]!.kind = .directory(children: children)
        inodes[node.parent]!.modified = time
    }
}
