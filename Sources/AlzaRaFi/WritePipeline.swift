import AlzaCore

// The messages of a pipelined block write (HDFS's DataTransferProtocol writeBlock): the client sends a setup
// down the pipeline, then packets of up to 64 KB, each with one CRC32C per 512-byte chunk; every DataNode
// stores and forwards each packet, and acks travel back up once every node downstream has the packet.

/// Opens (or, after a recovery, reopens) a pipeline: each DataNode takes the first target as itself and
/// forwards the setup, less itself, to the next.
public struct PipelineSetup: Hashable, Sendable, CanonicalCodable {
    /// The block with its current generation stamp; `length` is how many bytes every node already holds and
    /// keeps (0 for a new block; what was acked by all before a recovery).
    public var block: ExtendedBlock
    /// This node first, then the nodes downstream of it.
    public var targets: [DataNodeLocation]
    /// The sequence number of the first packet to come.
    public var firstSequence: UInt64

    public init(block: ExtendedBlock, targets: [DataNodeLocation], firstSequence: UInt64) {
        self.block = block
        self.targets = targets
        self.firstSequence = firstSequence
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(block)
        encoder.encode(targets)
        encoder.encode(firstSequence)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        block = try decoder.decode()
        targets = try decoder.decodeArray(limit: RaFiLimits.maximumReplication)
        firstSequence = try decoder.decode()
    }
}

/// Up to `RaFiLimits.packetBytes` of a block, at `offsetInBlock`, with one CRC32C per 512-byte chunk. Every
/// packet but the last holds whole chunks, so each starts at a chunk and the checksums of a block are its
/// packets' checksums in order.
public struct PipelinePacket: Hashable, Sendable, CanonicalCodable {
    /// Id and generation stamp of the block; `length` is the bytes sent so far, this packet's included.
    public var block: ExtendedBlock
    public var sequence: UInt64
    public var offsetInBlock: UInt64
    public var data: [UInt8]
    public var checksums: [UInt32]
    public var isLast: Bool

    /// Checksums nil: computed from `data`. `block.length` is set to the end of this packet.
    public init(block: ExtendedBlock, sequence: UInt64, offsetInBlock: UInt64, data: [UInt8], checksums: [UInt32]? = nil,
                isLast: Bool) {
        self.block = ExtendedBlock(id: block.id, generationStamp: block.generationStamp, length: offsetInBlock + UInt64(data.count))
        self.sequence = sequence
        self.offsetInBlock = offsetInBlock
        self.data = data
        self.checksums = checksums ?? ReplicaFile.checksums(of: data)
        self.isLast = isLast
    }

    /// Checksums per packet at most.
    public static let maximumChecksums = RaFiLimits.packetBytes / RaFiLimits.checksumChunkBytes

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(block)
        encoder.encode(sequence)
        encoder.encode(offsetInBlock)
        encoder.encodeBytes(data)
        encoder.encode(checksums)
        encoder.encode(isLast)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        block = try decoder.decode()
        sequence = try decoder.decode()
        offsetInBlock = try decoder.decode()
        data = try decoder.decodeBytes(limit: RaFiLimits.packetBytes)
        checksums = try decoder.decodeArray(limit: Self.maximumChecksums)
        isLast = try decoder.decode()
    }

    /// Checks a packet before its bytes are stored: its size, its shape (chunk-aligned, whole chunks unless
    /// last, within a block, one checksum per chunk) and every checksum (the first bad chunk is named by its
    /// index in the block).
    public func validate() throws(RaFiError) {
        guard data.count <= RaFiLimits.packetBytes else { throw .packetTooLarge(bytes: data.count, limit: RaFiLimits.packetBytes) }
        let chunk = ReplicaFile.chunkBytes
        func violation(_ reason: String) -> RaFiError { .pipelineViolation(block: block.id, reason: "packet \(sequence): \(reason)") }
        guard offsetInBlock % UInt64(chunk) == 0 else { throw violation("offset \(offsetInBlock) does not start a chunk") }
        guard isLast || (!data.isEmpty && data.count % chunk == 0) else {
            throw violation("\(data.count) bytes; every packet but the last holds whole chunks")
        }
        let end = offsetInBlock + UInt64(data.count)
        guard end <= UInt64(RaFiLimits.maximumBlockBytes) else { throw violation("ends at \(end), past the largest block") }
        guard block.length == end else { throw violation("says the block has \(block.length) bytes, it ends at \(end)") }
        let computed = ReplicaFile.checksums(of: data)
        guard computed.count == checksums.count else {
            throw violation("\(checksums.count) checksums for \(computed.count) chunks")
        }
        let first = Int(offsetInBlock / UInt64(chunk))
        for index in computed.indices where computed[index] != checksums[index] {
            throw .checksumMismatch(block: block.id, chunk: first + index)
        }
    }
}

/// One pipeline node's verdict on a packet.
public enum PipelineReply: UInt8, Hashable, Sendable {
    case success = 0
    case error = 1
}

/// The answer to one packet, travelling up the pipeline: each node puts its own reply in front of the replies
/// of the nodes after it. A node whose downstream failed replies `success` for itself and `error` for the
/// downstream, so the client learns which node to drop.
public struct PipelineAck: Hashable, Sendable, CanonicalCodable {
    public var blockID: BlockID
    /// Acks of a pipeline before its recovery carry the old stamp and are told apart by it.
    public var generationStamp: UInt64
    public var sequence: UInt64
    /// One per node, from the node that sent the ack on; it stops at the first `error`.
    public var replies: [PipelineReply]

    public init(blockID: BlockID, generationStamp: UInt64, sequence: UInt64, replies: [PipelineReply]) {
        self.blockID = blockID
        self.generationStamp = generationStamp
        self.sequence = sequence
        self.replies = replies
    }

    /// The index of the first failed node (relative to the node that sent the ack), if any.
    public var firstFailedNode: Int? { replies.firstIndex(of: .error) }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(blockID)
        encoder.encode(generationStamp)
        encoder.encode(sequence)
        encoder.encodeLength(replies.count)
        for reply in replies { encoder.encode(reply.rawValue) }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        blockID = try decoder.decode()
        generationStamp = try decoder.decode()
        sequence = try decoder.decode()
        let count = try decoder.decodeLength(limit: RaFiLimits.maximumReplication)
        replies = []
        for _ in 0..<count {
            let offset = decoder.offset
            let raw: UInt8 = try decoder.decode()
            guard let reply = PipelineReply(rawValue: raw) else { throw .unknownTag(offset: offset, tag: UInt64(raw), type: "PipelineReply") }
            replies.append(reply)
        }
    }
}
