/// The client side of a pipelined block write (HDFS's DataStreamer) as a pure state machine: it cuts the
/// block's bytes into packets, keeps those not yet acked by every node (at most a window of them: the
/// backpressure a slow pipeline puts on the writer), and on a failed node waits for the caller to get a new
/// generation stamp from the NameNode (`updatePipeline`), then sends every unacked packet again to the
/// pipeline without that node. As HDFS does by default, the write goes on with fewer nodes and the NameNode
/// re-replicates the block later.
public struct PipelineWriterCore: Sendable {
    public enum Phase: Hashable, Sendable {
        case streaming
        /// A node failed (index into `targets`): call `recover` with a new generation stamp.
        case awaitingRecovery(failedNode: Int)
        /// Every node still in the pipeline acked the last packet.
        case complete
    }

    /// Unacked packets at most, by default (HDFS's dfs.client.write.max-packets-in-flight is of this order).
    public static let defaultWindow = 16

    public private(set) var phase: Phase = .streaming
    /// The pipeline, first node first.
    public private(set) var targets: [DataNodeLocation]
    public let blockID: BlockID
    public private(set) var generationStamp: UInt64
    /// Bytes every node of the pipeline has acked.
    public private(set) var ackedBytes: UInt64 = 0
    /// Bytes handed to the writer and not yet cut into packets: `pending[pendingHead...]`.
    private var pending: [UInt8] = []
    private var pendingHead = 0
    private var appendedBytes: UInt64 = 0
    private var finished = false
    private var lastPacketCut = false
    /// Packets sent and not acked by every node, in sequence order.
    private var unacked: [PipelinePacket] = []
    /// How many of `unacked` were sent to the current pipeline (after a recovery, none yet).
    private var sentToPipeline = 0
    private var nextSequence: UInt64 = 0
    private var nextOffset: UInt64 = 0

    /// A writer that takes its bytes through `append` and `finish`.
    public init(blockID: BlockID, generationStamp: UInt64, targets: [DataNodeLocation]) {
        precondition(!targets.isEmpty && targets.count <= RaFiLimits.maximumReplication, "a pipeline has 1...\(RaFiLimits.maximumReplication) nodes")
        self.blockID = blockID
        self.generationStamp = generationStamp
        self.targets = targets
    }

    /// A writer of exactly `data`.
    public init(blockID: BlockID, generationStamp: UInt64, targets: [DataNodeLocation], data: [UInt8]) {
        self.init(blockID: blockID, generationStamp: generationStamp, targets: targets)
        append(data)
        finish()
    }

    /// A writer for the block the NameNode allocated, to the pipeline it chose (its locations, in order).
    public init(located: LocatedBlock) {
        self.init(blockID: located.block.id, generationStamp: located.block.generationStamp, targets: located.locations)
    }

    public init(located: LocatedBlock, data: [UInt8]) {
        self.init(blockID: located.block.id, generationStamp: located.block.generationStamp, targets: located.locations, data: data)
    }

    /// The block as acked so far (what `updatePipeline` and `complete` tell the NameNode).
    public var block: ExtendedBlock { ExtendedBlock(id: blockID, generationStamp: generationStamp, length: ackedBytes) }

    /// What opens the current pipeline: sent to `targets[0]`, which passes it on.
    public var setup: PipelineSetup {
        PipelineSetup(block: block, targets: targets, firstSequence: unacked.first?.sequence ?? nextSequence)
    }

    public var isComplete: Bool { phase == .complete }
    public var unackedCount: Int { unacked.count }

    /// The pipeline without the failed node, while a recovery is awaited.
    public var survivingTargets: [DataNodeLocation] {
        guard case .awaitingRecovery(let failed) = phase else { return targets }
        return targets.enumerated().filter { $0.offset != failed }.map(\.element)
    }

    // MARK: Input bytes

    public mutating func append(_ bytes: [UInt8]) {
        precondition(!finished, "no bytes after finish")
        precondition(appendedBytes + UInt64(bytes.count) <= UInt64(RaFiLimits.maximumBlockBytes), "a block holds at most \(RaFiLimits.maximumBlockBytes) bytes")
        appendedBytes += UInt64(bytes.count)
        pending.append(contentsOf: bytes)
    }

    /// No more bytes: what is pending goes out as the last packet.
    public mutating func finish() { finished = true }

    // MARK: Packets and acks

    /// Packets to send now: first every unacked packet not yet sent to the current pipeline, then new ones
    /// while fewer than `window` are unacked. Nothing while a recovery is awaited.
    public mutating func nextPackets(window: Int = defaultWindow) -> [PipelinePacket] {
        precondition(window > 0, "a window holds packets")
        guard phase == .streaming else { return [] }
        var packets = Array(unacked[sentToPipeline...])
        while unacked.count < window, let packet = cutPacket() {
            unacked.append(packet)
            packets.append(packet)
        }
        sentToPipeline = unacked.count
        return packets
    }

    /// The next packet from the pending bytes: full packets while more may follow (a partial one only once
    /// `finish` says none will), the last one flagged.
    private mutating func cutPacket() -> PipelinePacket? {
        guard !lastPacketCut else { return nil }
        let available = pending.count - pendingHead
        guard finished || available > RaFiLimits.packetBytes else { return nil }
        let count = min(available, RaFiLimits.packetBytes)
        let isLast = finished && available <= RaFiLimits.packetBytes
        let data = Array(pending[pendingHead..<(pendingHead + count)])
        pendingHead += count
        if pendingHead == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingHead = 0
        } else if pendingHead * 2 > pending.count {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
        let packet = PipelinePacket(block: block, sequence: nextSequence, offsetInBlock: nextOffset, data: data, isLast: isLast)
        nextSequence += 1
        nextOffset += UInt64(count)
        lastPacketCut = isLast
        return packet
    }

    /// An ack from the first node. One reporting a failed node starts a recovery; acks of the current pipeline
    /// that arrive after it are ignored. An ack of another block, of an older generation stamp, out of order
    /// or with the wrong number of replies is refused and changes nothing.
    public mutating func acknowledged(_ ack: PipelineAck) throws(RaFiError) {
        guard ack.blockID == blockID else { throw .pipelineViolation(block: blockID, reason: "ack for \(ack.blockID)") }
        guard ack.generationStamp == generationStamp else {
            throw .staleGenerationStamp(blockID, expected: generationStamp, actual: ack.generationStamp)
        }
        guard phase == .streaming else { return }
        guard let first = unacked.first, sentToPipeline > 0 else {
            throw .pipelineViolation(block: blockID, reason: "ack for packet \(ack.sequence) with no packet outstanding")
        }
        if let failed = ack.firstFailedNode {
            guard failed < targets.count else {
                throw .pipelineViolation(block: blockID, reason: "ack names node \(failed) of a pipeline of \(targets.count)")
            }
            phase = .awaitingRecovery(failedNode: failed)
            return
        }
        guard ack.sequence == first.sequence else {
            throw .packetOutOfOrder(block: blockID, expected: first.sequence, actual: ack.sequence)
        }
        guard ack.replies.count == targets.count else {
            throw .pipelineViolation(block: blockID, reason: "\(ack.replies.count) replies from a pipeline of \(targets.count)")
        }
        unacked.removeFirst()
        sentToPipeline -= 1
        ackedBytes = first.block.length
        if first.isLast { phase = .complete }
    }

    /// The connection to a node broke (index into `targets`; the client sees only the first node's, index 0,
    /// and learns of the others from error acks).
    public mutating func nodeFailed(index: Int) {
        precondition(targets.indices.contains(index), "node \(index) is not in a pipeline of \(targets.count)")
        if phase == .streaming { phase = .awaitingRecovery(failedNode: index) }
    }

    // MARK: Recovery

    /// Goes on with a new generation stamp (from the NameNode, so replicas left by the old pipeline are
    /// recognisably stale) and `targets` (usually `survivingTargets`). Send `setup` to the first target, then
    /// `nextPackets` resends every unacked packet from the first unacked one. No target left is
    /// `notEnoughDataNodes`: the write of this block has failed.
    public mutating func recover(newGenerationStamp: UInt64, targets: [DataNodeLocation]) throws(RaFiError) {
        guard case .awaitingRecovery = phase else { preconditionFailure("recover without a failed node") }
        guard newGenerationStamp > generationStamp else {
            throw .staleGenerationStamp(blockID, expected: generationStamp + 1, actual: newGenerationStamp)
        }
        guard !targets.isEmpty else { throw .notEnoughDataNodes(needed: 1, available: 0) }
        precondition(targets.count <= RaFiLimits.maximumReplication, "a pipeline has at most \(RaFiLimits.maximumReplication) nodes")
        generationStamp = newGenerationStamp
        self.targets = targets
        unacked = unacked.map { packet in
            var restamped = packet
            restamped.block.generationStamp = newGenerationStamp
            return restamped
        }
        sentToPipeline = 0
        phase = .streaming
    }
}
