/// One DataNode's part in a pipelined write of one block (HDFS's BlockReceiver and PacketResponder) as a pure
/// state machine: it checks each packet (order, offset, size, checksums), stores it, forwards it downstream,
/// and acks it upstream only once the downstream node acked it (at once when it is the last node). On the
/// last packet it finalizes the replica before its ack leaves, so a client that saw the block complete knows
/// every node in the pipeline holds it durably.
///
/// A refused packet throws and changes nothing: the shell drops the stream, which its upstream node sees as
/// this node failing (and reports to the client in an error ack).
public struct PipelineStageCore: Sendable {
    public enum Phase: Hashable, Sendable {
        case receiving
        /// The last packet was stored, finalized and acked.
        case finalized
        /// The downstream failed and the client was told; the client will recover with a new stage.
        case failed
    }

    public enum Effect: Hashable, Sendable {
        /// Open the replica being written: its data file `blk_<id>` holds exactly `keepingBytes` bytes (created
        /// empty, or cut back to what every node acked before a recovery); tell `DataNodeCore.replicaBeingWritten`.
        case prepare(ExtendedBlock, keepingBytes: UInt64)
        /// Open the downstream node's stage with this setup.
        case forwardSetup(PipelineSetup, to: DataNodeLocation)
        case forward(PipelinePacket, to: DataNodeLocation)
        /// Append to the data file of the replica being written.
        case append(BlockID, [UInt8])
        /// Sync the data file, write `meta` atomically as `ReplicaFile.metaFileName(block)`, then tell
        /// `DataNodeCore.replicaFinalized(block)`, which reports `blockReceived` to the NameNode.
        case finalize(ExtendedBlock, meta: [UInt8])
        case ackUpstream(PipelineAck)
    }

    public let setup: PipelineSetup
    public private(set) var phase: Phase = .receiving
    /// Bytes of the block this node holds.
    public private(set) var receivedBytes: UInt64
    public private(set) var nextSequence: UInt64
    /// One per chunk of the bytes held.
    private var checksums: [UInt32]
    /// Packets forwarded and not yet acked by the downstream node, in order.
    private var awaitingDownstream: [(sequence: UInt64, isLast: Bool)] = []
    /// The downstream failed while nothing was outstanding: the next packet is answered with an error ack.
    private var downstreamLost = false

    /// A stage for `setup` (this node first among its targets). After a recovery the node keeps the
    /// `setup.block.length` bytes it holds; `keptChecksums` are their checksums, from the node's previous stage
    /// for the block (`checksums(keepingBytes:)`). A setup with no target, or keeping a partial chunk, is
    /// refused.
    public init(setup: PipelineSetup, keptChecksums: [UInt32] = []) throws(RaFiError) {
        let id = setup.block.id
        guard !setup.targets.isEmpty else { throw .pipelineViolation(block: id, reason: "a setup without targets") }
        guard setup.block.length % UInt64(ReplicaFile.chunkBytes) == 0 else {
            throw .pipelineViolation(block: id, reason: "a recovery keeping \(setup.block.length) bytes, not whole chunks")
        }
        precondition(keptChecksums.count == ReplicaFile.chunkCount(forLength: setup.block.length), "one kept checksum per kept chunk")
        self.setup = setup
        receivedBytes = setup.block.length
        nextSequence = setup.firstSequence
        checksums = keptChecksums
    }

    public var blockID: BlockID { setup.block.id }
    public var generationStamp: UInt64 { setup.block.generationStamp }
    public var downstream: DataNodeLocation? { setup.targets.count > 1 ? setup.targets[1] : nil }
    /// Nodes after this one.
    public var downstreamCount: Int { setup.targets.count - 1 }

    /// What opening the stage takes: the replica file, and the setup sent on downstream.
    public var openingEffects: [Effect] {
        var effects: [Effect] = [.prepare(setup.block, keepingBytes: setup.block.length)]
        if let downstream {
            var next = setup
            next.targets.removeFirst()
            effects.append(.forwardSetup(next, to: downstream))
        }
        return effects
    }

    /// The checksums of the first `bytes` bytes held, for the stage that replaces this one after a recovery.
    public func checksums(keepingBytes bytes: UInt64) -> [UInt32] {
        precondition(bytes <= receivedBytes && bytes % UInt64(ReplicaFile.chunkBytes) == 0, "kept bytes are whole chunks held")
        return Array(checksums.prefix(ReplicaFile.chunkCount(forLength: bytes)))
    }

    // MARK: Packets

    /// A packet from upstream: checked, then forwarded, stored, and (on the last node) acked.
    public mutating func receive(_ packet: PipelinePacket) throws(RaFiError) -> [Effect] {
        guard phase == .receiving else { throw .pipelineViolation(block: blockID, reason: "packet \(packet.sequence) after the stage \(phase)") }
        guard packet.block.id == blockID else { throw .pipelineViolation(block: blockID, reason: "packet of \(packet.block.id)") }
        guard packet.block.generationStamp == generationStamp else {
            throw .staleGenerationStamp(blockID, expected: generationStamp, actual: packet.block.generationStamp)
        }
        guard packet.sequence == nextSequence else {
            throw .packetOutOfOrder(block: blockID, expected: nextSequence, actual: packet.sequence)
        }
        guard packet.offsetInBlock == receivedBytes else {
            throw .pipelineViolation(block: blockID, reason: "packet \(packet.sequence) starts at \(packet.offsetInBlock), this node holds \(receivedBytes) bytes")
        }
        try packet.validate()
        receivedBytes += UInt64(packet.data.count)
        checksums += packet.checksums
        nextSequence += 1
        var effects: [Effect] = []
        if let downstream, !downstreamLost { effects.append(.forward(packet, to: downstream)) }
        effects.append(.append(blockID, packet.data))
        if downstream == nil {
            effects += acknowledge(packet.sequence, isLast: packet.isLast, downstreamReplies: [])
        } else if downstreamLost {
            phase = .failed
            effects.append(.ackUpstream(ack(packet.sequence, [.success, .error])))
        } else {
            awaitingDownstream.append((packet.sequence, packet.isLast))
        }
        return effects
    }

    // MARK: Downstream

    /// The downstream node's ack: passed upstream with this node's `success` in front; on the last packet the
    /// replica is finalized first. An ack naming a failed node goes up the same way and ends this stage.
    public mutating func downstreamAcked(_ ack: PipelineAck) throws(RaFiError) -> [Effect] {
        guard phase == .receiving else { throw .pipelineViolation(block: blockID, reason: "ack \(ack.sequence) after the stage \(phase)") }
        guard ack.blockID == blockID else { throw .pipelineViolation(block: blockID, reason: "ack for \(ack.blockID)") }
        guard ack.generationStamp == generationStamp else {
            throw .staleGenerationStamp(blockID, expected: generationStamp, actual: ack.generationStamp)
        }
        guard let first = awaitingDownstream.first else {
            throw .pipelineViolation(block: blockID, reason: "ack \(ack.sequence) with no packet outstanding downstream")
        }
        guard ack.sequence == first.sequence else {
            throw .packetOutOfOrder(block: blockID, expected: first.sequence, actual: ack.sequence)
        }
        if ack.firstFailedNode != nil, ack.replies.count <= downstreamCount {
            phase = .failed
            return [.ackUpstream(self.ack(ack.sequence, [.success] + ack.replies))]
        }
        guard ack.replies.count == downstreamCount, ack.firstFailedNode == nil else {
            throw .pipelineViolation(block: blockID, reason: "\(ack.replies.count) replies from \(downstreamCount) downstream nodes")
        }
        awaitingDownstream.removeFirst()
        return acknowledge(first.sequence, isLast: first.isLast, downstreamReplies: ack.replies)
    }

    /// The connection to the downstream node broke: the oldest packet waiting for it is acked upstream with an
    /// error naming it (or, with none waiting, the next packet is).
    public mutating func downstreamFailed() -> [Effect] {
        guard phase == .receiving, downstream != nil else { return [] }
        guard let first = awaitingDownstream.first else {
            downstreamLost = true
            return []
        }
        phase = .failed
        return [.ackUpstream(ack(first.sequence, [.success, .error]))]
    }

    private mutating func acknowledge(_ sequence: UInt64, isLast: Bool, downstreamReplies: [PipelineReply]) -> [Effect] {
        var effects: [Effect] = []
        if isLast {
            let block = ExtendedBlock(id: blockID, generationStamp: generationStamp, length: receivedBytes)
            let meta = ReplicaMeta(generationStamp: generationStamp, dataLength: receivedBytes, checksums: checksums)
            effects.append(.finalize(block, meta: meta.bytes))
            phase = .finalized
        }
        effects.append(.ackUpstream(ack(sequence, [.success] + downstreamReplies)))
        return effects
    }

    private func ack(_ sequence: UInt64, _ replies: [PipelineReply]) -> PipelineAck {
        PipelineAck(blockID: blockID, generationStamp: generationStamp, sequence: sequence, replies: replies)
    }
}
