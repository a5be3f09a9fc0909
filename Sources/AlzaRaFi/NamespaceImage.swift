import AlzaCore

/// The NameNode's checkpoint (HDFS's fsimage): the whole namespace as of one transaction, written atomically by
/// the shell; the journal from the next transaction on completes it. Format: `u32 CRC-32C of the rest` then
/// "ALZAFSI1", the namespace info, the counters and every inode (parents before children, by id).
public enum NamespaceImage {
    static let magic = Array("ALZAFSI1".utf8)

    public static func encode(_ namespace: Namespace, info: NamespaceInfo) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.encodeRaw(magic)
        encoder.encode(info)
        encoder.encode(namespace.lastTransaction)
        encoder.encode(namespace.nextINodeID)
        encoder.encode(namespace.nextBlockID)
        encoder.encode(namespace.nextGenerationStamp)
        let nodes = namespace.inodes.values.sorted { $0.id < $1.id }
        encoder.encodeLength(nodes.count)
        for node in nodes {
            encoder.encode(node.id)
            encoder.encode(node.parent)
            encoder.encode(node.name)
            encoder.encode(node.permission)
            encoder.encode(node.modified)
            switch node.kind {
            case .directory:
                encoder.encode(UInt8(0))
            case .file(let file):
                encoder.encode(UInt8(1))
                encoder.encode(file.replication)
                encoder.encode(file.blocks)
                encoder.encode(file.writer != nil)
                if let writer = file.writer { encoder.encode(writer) }
            }
        }
        var bytes: [UInt8] = []
        withUnsafeBytes(of: CRC32C.checksum(encoder.bytes).littleEndian) { bytes.append(contentsOf: $0) }
        return bytes + encoder.bytes
    }

    /// The namespace an image holds, checked end to end: checksum, magic, namespace, and a tree in which every
    /// inode hangs under an existing directory.
    public static func decode(_ bytes: [UInt8], expected info: NamespaceInfo) throws(RaFiError) -> Namespace {
        guard bytes.count > 4 else { throw .imageCorrupt(reason: "\(bytes.count) bytes") }
        let stored = bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
        let body = Array(bytes[4...])
        guard CRC32C.checksum(body) == stored else { throw .imageCorrupt(reason: "checksum mismatch") }
        do {
            return try decodeBody(body, expected: info)
        } catch let error as RaFiError {
            throw error
        } catch {
            throw .imageCorrupt(reason: "\(error)")
        }
    }

    private static func decodeBody(_ body: [UInt8], expected info: NamespaceInfo) throws -> Namespace {
        var decoder = CanonicalDecoder(body)
        guard Array(try decoder.decodeRaw(count: magic.count)) == magic else { throw RaFiError.imageCorrupt(reason: "not an image") }
        let stored: NamespaceInfo = try decoder.decode()
        guard stored.namespaceID == info.namespaceID else {
            throw RaFiError.wrongNamespace(expected: info.namespaceID, actual: stored.namespaceID)
        }
        let lastTransaction: UInt64 = try decoder.decode()
        let nextINodeID: UInt64 = try decoder.decode()
        let nextBlockID: UInt64 = try decoder.decode()
        let nextGenerationStamp: UInt64 = try decoder.decode()
        let count = try decoder.decodeLength(limit: 1 << 26, minimumElementSize: 20)
        var inodes: [UInt64: INode] = [:]
        for _ in 0..<count {
            let id: UInt64 = try decoder.decode()
            let parent: UInt64 = try decoder.decode()
            let name = try decoder.decodeString(limit: RaFiLimits.maximumNameBytes)
            let permission: Permission = try decoder.decode()
            let modified: UInt64 = try decoder.decode()
            let kind: INode.Kind
            switch try decoder.decode(UInt8.self) {
            case 0: kind = .directory(children: [:])
            case 1:
                let replication: UInt16 = try decoder.decode()
                let blocks = try decoder.decodeArray(of: ExtendedBlock.self, limit: RaFiLimits.maximumBlocksPerFile)
                let writer = try decoder.decode(Bool.self) ? try decoder.decodeString(limit: RaFiLimits.maximumNameBytes) : nil
                kind = .file(FileNode(replication: replication, blocks: blocks, writer: writer))
            case let tag: throw RaFiError.imageCorrupt(reason: "inode \(id) has kind \(tag)")
            }
            guard id < nextINodeID, inodes[id] == nil else { throw RaFiError.imageCorrupt(reason: "inode \(id) repeated or beyond the counter") }
            inodes[id] = INode(id: id, parent: parent, name: name, permission: permission, modified: modified, kind: kind)
        }
        try decoder.finish()
        try link(&inodes)
        return Namespace(inodes: inodes, nextINodeID: nextINodeID, nextBlockID: nextBlockID,
                         nextGenerationStamp: nextGenerationStamp, lastTransaction: lastTransaction)
    }

    /// Fills in the directories' children from the parents, checking that the root exists and each parent is a
    /// directory (ids grow, so a parent always precedes its children).
    private static func link(_ inodes: inout [UInt64: INode]) throws {
        guard case .directory = inodes[Namespace.rootID]?.kind else { throw RaFiError.imageCorrupt(reason: "no root directory") }
        for id in inodes.keys.sorted() where id != Namespace.rootID {
            let node = inodes[id]!
            guard node.parent < id, case .directory(var children) = inodes[node.parent]?.kind, children[node.name] == nil else {
                throw RaFiError.imageCorrupt(reason: "inode \(id) (\(node.name)) has no directory parent \(node.parent)")
            }
            children[node.name] = id
            inodes[node.parent]!.kind = .directory(children: children)
        }
    }
}
