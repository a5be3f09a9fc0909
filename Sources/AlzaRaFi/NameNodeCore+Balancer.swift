/// One block move the balancer asks for: a copy from `source` to `target`, after which the source's replica is
/// the excess one deleted.
public struct BlockMove: Sendable, Equatable {
    public var block: BlockID
    public var source: StorageID
    public var target: StorageID
}

extension NameNodeCore {
    /// Each in-service DataNode's utilization (used / capacity) and the cluster's.
    public func utilization() -> (cluster: Double, nodes: [StorageID: Double]) {
        let nodes = dataNodes.values.filter { $0.isInService && $0.capacity > 0 }
        let used = nodes.reduce(0.0) { $0 + Double($1.used) }
        let capacity = nodes.reduce(0.0) { $0 + Double($1.capacity) }
        return (capacity > 0 ? used / capacity : 0,
                Dictionary(uniqueKeysWithValues: nodes.map { ($0.storageID, Double($0.used) / Double($0.capacity)) }))
    }

    /// Whether every in-service DataNode is within `threshold` of the cluster's utilization (HDFS's balancer goal).
    public func isBalanced(threshold: Double) -> Bool {
        let (cluster, nodes) = utilization()
        return nodes.values.allSatisfy { abs($0 - cluster) <= threshold }
    }

    /// One balancer iteration: moves sealed blocks from nodes above the cluster's utilization + `threshold` to
    /// nodes below it − `threshold` (else below the average), at most `bytesPerNode` out of and into any node,
    /// never a move that leaves a block on fewer racks. The copies go out as replicate commands; the source's
    /// replica is then the excess one deleted.
    public mutating func balance(threshold: Double, bytesPerNode: UInt64, now: UInt64) -> (moves: [BlockMove], effects: [Effect]) {
        precondition(threshold > 0 && threshold < 1, "the threshold is a fraction of capacity")
        guard role == .active, !isInSafeMode else { return ([], []) }
        let (cluster, nodes) = utilization()
        // HDFS's pairing: over-utilized and above-average sources feed under-utilized targets, and over-utilized
        // sources feed below-average ones; nobody is pushed across the average.
        let overExists = nodes.values.contains { $0 > cluster + threshold }
        let underExists = nodes.values.contains { $0 < cluster - threshold }
        let sources = nodes.filter { $0.value > cluster + threshold || (underExists && $0.value > cluster) }
            .sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map(\.key)
        let targets = nodes.filter { $0.value < cluster - threshold || (overExists && $0.value < cluster) }
            .sorted { ($0.value, $0.key) < ($1.value, $1.key) }.map(\.key)
        var projected = Dictionary(uniqueKeysWithValues: nodes.keys.map { ($0, Double(dataNodes[$0]!.used)) })
        var sent: [StorageID: UInt64] = [:]
        var received: [StorageID: UInt64] = [:]
        var moves: [BlockMove] = []
        var effects: [Effect] = []
        for source in sources {
            let sourceFloor = cluster * Double(dataNodes[source]!.capacity)
            for id in dataNodes[source]!.blocks.sorted() {
                guard sent[source, default: 0] < bytesPerNode, projected[source]! > sourceFloor, let record = blocks[id],
                      record.isComplete, record.replicas[source] != nil, pendingReplications[id] == nil,
                      deleteHints[id] == nil else { continue }
                let size = Double(record.block.length)
                guard let target = targets.first(where: { target in
                    received[target, default: 0] < bytesPerNode
                        && projected[target]! + size <= cluster * Double(dataNodes[target]!.capacity) + threshold * Double(dataNodes[target]!.capacity)
                        && keepsRacks(record, from: source, to: target)
                }) else { continue }
                guard enqueue(.replicate(record.block, targets: [dataNodes[target]!.location]), for: source) else { break }
                pendingReplications[id] = ([target], now + configuration.pendingTimeoutMs)
                deleteHints[id] = source
                sent[source, default: 0] += record.block.length
                received[target, default: 0] += record.block.length
                projected[source]! -= size
                projected[target]! += size
                moves.append(BlockMove(block: id, source: source, target: target))
            }
        }
        if !moves.isEmpty { effects.append(.log("balancer: \(moves.count) moves scheduled (cluster utilization \(cluster))")) }
        return (moves, effects)
    }

    private func keepsRacks(_ record: BlockRecord, from source: StorageID, to target: StorageID) -> Bool {
        guard record.holders.contains(target) == false, let targetNode = dataNodes[target], let sourceNode = dataNodes[source],
              !targetNode.pendingDeletes.contains(record.block.id) else { return false }
        let racks = record.replicas.keys.filter { $0 != source }.compactMap { dataNodes[$0]?.location.rack }
        return racks.contains(sourceNode.location.rack) || targetNode.location.rack == sourceNode.location.rack
            || !racks.contains(targetNode.location.rack)
    }
}
