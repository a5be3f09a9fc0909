import AlzaCore
import AlzaRaFi
import XCTest

/// DataNodes running `PipelineStageCore`s over a FIFO network, each with its own `MemoryStorage`, as their
/// shells would: files written as the effects say, packets and acks delivered in order, a crashed node's
/// connections broken (its upstream sees `downstreamFailed`).
struct PipelineHarness {
    enum Delivery {
        case setup(PipelineSetup, to: StorageID)
        case packet(PipelinePacket, to: StorageID)
        case ack(PipelineAck, from: StorageID)
    }

    let nodes: [DataNodeLocation]
    var stores: [StorageID: MemoryStorage] = [:]
    var stages: [StorageID: PipelineStageCore] = [:]
    /// The pipeline as the client set it up last.
    var pipeline: [DataNodeLocation] = []
    var queue: [Delivery] = []
    var crashed: Set<StorageID> = []
    var acksToClient: [PipelineAck] = []
    var finalized: [StorageID: ExtendedBlock] = [:]

    init(nodes: [DataNodeLocation]) {
        self.nodes = nodes
        for node in nodes { stores[node.storageID] = MemoryStorage() }
    }

    /// The client opens (or reopens after a recovery) a pipeline: old connections are closed.
    mutating func open(_ setup: PipelineSetup) {
        pipeline = setup.targets
        queue.removeAll()
        acksToClient.removeAll()
        queue.append(.setup(setup, to: setup.targets[0].storageID))
    }

    mutating func send(_ packets: [PipelinePacket]) {
        for packet in packets { queue.append(.packet(packet, to: pipeline[0].storageID)) }
    }

    /// Delivers queued messages, at most `limit` of them.
    mutating func run(limit: Int = .max) throws {
        var delivered = 0
        while !queue.isEmpty, delivered < limit {
            delivered += 1
            try deliver(queue.removeFirst())
        }
    }

    mutating func crash(_ id: StorageID) throws {
        crashed.insert(id)
        stores[id]!.crash()
        guard let index = pipeline.firstIndex(where: { $0.storageID == id }), index > 0 else { return }
        let upstream = pipeline[index - 1].storageID
        try apply(stages[upstream]!.downstreamFailed(), at: upstream)
    }

    private mutating func deliver(_ delivery: Delivery) throws {
        switch delivery {
        case .setup(let setup, let to):
            guard !crashed.contains(to) else { return }
            let kept = stages[to]?.checksums(keepingBytes: setup.block.length) ?? []
            let stage = try PipelineStageCore(setup: setup, keptChecksums: kept)
            stages[to] = stage
            try apply(stage.openingEffects, at: to)
        case .packet(let packet, let to):
            guard !crashed.contains(to) else { return }
            try apply(stages[to]!.receive(packet), at: to)
        case .ack(let ack, let from):
            guard !crashed.contains(from), let index = pipeline.firstIndex(where: { $0.storageID == from }) else { return }
            if index == 0 {
                acksToClient.append(ack)
            } else {
                let upstream = pipeline[index - 1].storageID
                guard !crashed.contains(upstream) else { return }
                try apply(stages[upstream]!.downstreamAcked(ack), at: upstream)
            }
        }
    }

    private mutating func apply(_ effects: [PipelineStageCore.Effect], at id: StorageID) throws {
        let store = stores[id]!
        for effect in effects {
            switch effect {
            case .prepare(let block, let keepingBytes):
                try store.truncate(ReplicaFile.dataFileName(block.id), to: Int(keepingBytes))
            case .forwardSetup(let setup, let to):
                queue.append(.setup(setup, to: to.storageID))
            case .forward(let packet, let to):
                queue.append(.packet(packet, to: to.storageID))
            case .append(let block, let bytes):
                try store.append(ReplicaFile.dataFileName(block), bytes)
            case .finalize(let block, let meta):
                try store.sync(ReplicaFile.dataFileName(block.id))
                try store.writeAtomically(ReplicaFile.metaFileName(block), meta)
                finalized[id] = block
            case .ackUpstream(let ack):
                queue.append(.ack(ack, from: id))
            }
        }
    }
}
