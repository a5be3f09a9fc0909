extension NameNodeCore {
    // MARK: The monitor

    /// Time passes: dead DataNodes, safe mode, leases past their hard limit, copies that never arrived, then
    /// (every `monitorIntervalMs`, outside safe mode) the replication work, excess replicas and decommissioning.
    public mutating func tick(now: UInt64) -> [Effect] {
        guard role == .active else { return [] }
        var effects = checkHeartbeats(now: now)
        effects += updateSafeMode(now: now)
        guard now >= nextMonitorAt else { return effects }
        nextMonitorAt = now + configuration.monitorIntervalMs
        guard !isInSafeMode else { return effects }
        effects += recoverExpiredLeases(now: now)
        effects += timeOutPendingReplications(now: now)
        effects += scheduleReplicationWork(now: now)
        effects += removeExcessReplicas()
        effects += checkDecommissioning()
        return effects
    }

    private mutating func checkHeartbeats(now: UInt64) -> [Effect] {
        var effects: [Effect] = []
        for id in dataNodes.keys.sorted() {
            let node = dataNodes[id]!
            guard node.isAlive, now > node.lastHeartbeat + configuration.deadAfterMs else { continue }
            dataNodes[id]!.isAlive = false
            dataNodes[id]!.pendingCommands = []
            dataNodes[id]!.pendingDeletes = []
            effects.append(.log("DataNode \(node.location) is dead: no heartbeat for \(now - node.lastHeartbeat) ms; its \(node.blocks.count) replicas will be copied"))
            forgetReplicas(of: node)
            dataNodes[id]!.blocks = []
        }
        return effects
    }

    private mutating func timeOutPendingReplications(now: UInt64) -> [Effect] {
        let expired = pendingReplications.filter { $0.value.deadline <= now }.keys.sorted()
        for id in expired {
            pendingReplications[id] = nil
            reevaluate(id)
        }
        return expired.isEmpty ? [] : [.log("\(expired.count) copies not confirmed in \(configuration.pendingTimeoutMs) ms; scheduled again")]
    }

    /// Copies for the most endangered blocks first, at most `workPerDataNode` per live DataNode per round, each
    /// from a source under its stream and bandwidth limits.
    private mutating func scheduleReplicationWork(now: UInt64) -> [Effect] {
        let live = dataNodes.values.filter(\.isAlive).count
        var effects: [Effect] = []
        for (id, level) in lowRedundancy.next(max(1, live * configuration.workPerDataNode)) {
            guard let record = blocks[id] else { lowRedundancy.remove(id); continue }
            let count = countReplicas(id)
            let needed = level == .badlyDistributed ? 1 : record.expected - count.live - count.pending
            guard needed > 0, let source = chooseSource(for: record, now: now) else { continue }
            var excluded = record.holders.union(pendingReplications[id]?.targets ?? [])
            excluded.formUnion(dataNodes.values.filter { $0.pendingDeletes.contains(id) }.map(\.storageID))
            let chosen = record.replicas.keys.sorted().compactMap { dataNodes[$0] }.filter(\.isInService).map(\.location)
            let targets = chooseTargets(count: needed, writer: nil, chosen: chosen, excluded: excluded, blockBytes: record.block.length)
            guard !targets.isEmpty else {
                // Nowhere to copy to. If a corrupt replica holds the only other node (3 replicas on exactly 3
                // DataNodes, one corrupt), delete it first so that node can take a good copy.
                if !record.corrupt.isEmpty, count.live >= 1 {
                    effects += scheduleDeletion(of: id, from: record.corrupt.sorted(), reason: "corrupt, and no other DataNode can take a copy")
                }
                continue
            }
            guard enqueue(.replicate(record.block, targets: targets), for: source) else { continue }
            dataNodes[source]!.windowBytes += record.block.length
            let earlier = pendingReplications[id]?.targets ?? []
            pendingReplications[id] = (earlier.union(targets.map(\.storageID)), now + configuration.pendingTimeoutMs)
            reevaluate(id)
        }
        return effects
    }

    /// A live holder of a good replica with a free stream and bandwidth left this second; decommissioning nodes
    /// first (they serve no new writes), then the least busy.
    private mutating func chooseSource(for record: BlockRecord, now: UInt64) -> StorageID? {
        var best: (StorageID, Int, Bool)?
        for holder in record.replicas.keys.sorted() {
            guard var node = dataNodes[holder], node.isAlive else { continue }
            if now >= node.windowStart + 1_000 {
                node.windowStart = now
                node.windowBytes = 0
                dataNodes[holder] = node
            }
            let busy = Int(node.transfersInProgress) + node.pendingCommands.filter { if case .replicate = $0 { true } else { false } }.count
            guard busy < configuration.replicationStreams, node.windowBytes < configuration.replicationBytesPerSecond else { continue }
            let decommissioning = node.adminState != .normal
            if let current = best, (current.2 && !decommissioning) || (current.2 == decommissioning && current.1 <= busy) { continue }
            best = (holder, busy, decommissioning)
        }
        return best?.0
    }

    mutating func chooseTargets(count: Int, writer: StorageID?, chosen: [DataNodeLocation], excluded: Set<StorageID>,
                                blockBytes: UInt64) -> [DataNodeLocation] {
        let candidates = dataNodes.values.filter(\.isInService).sorted { $0.storageID < $1.storageID }.map {
            PlacementCandidate(location: $0.location, remaining: $0.remaining, transfersInProgress: $0.transfersInProgress)
        }
        return policy.chooseTargets(count: count, writer: writer, chosen: chosen, excluded: excluded,
                                    candidates: candidates, blockBytes: blockBytes, random: &random)
    }

    /// Deletes replicas beyond a block's replication from in-service nodes, never emptying a rack of its only one.
    private mutating func removeExcessReplicas() -> [Effect] {
        var effects: [Effect] = []
        for id in blocks.keys.sorted() {
            guard let record = blocks[id], record.isComplete else { continue }
            var live = record.replicas.keys.sorted().compactMap { dataNodes[$0] }.filter(\.isInService)
            guard live.count > record.expected, pendingReplications[id] == nil else { continue }
            var doomed: [StorageID] = []
            while live.count > record.expected {
                let candidates = live.map { PlacementCandidate(location: $0.location, remaining: $0.remaining, transfersInProgress: $0.transfersInProgress) }
                guard let victim = policy.replicaToDelete(from: candidates, deleteHint: deleteHints[id]) else { break }
                doomed.append(victim)
                live.removeAll { $0.storageID == victim }
            }
            deleteHints[id] = nil
            effects += scheduleDeletion(of: id, from: doomed, reason: "excess replica (replication \(record.expected))")
        }
        return effects
    }

    // MARK: Decommissioning

    /// Starts decommissioning the DataNode at `address` (it joins the exclude list): its blocks are copied to
    /// other nodes, and it becomes `decommissioned` when each has its replication without it.
    public mutating func decommission(address: String) -> [Effect] {
        excludedAddresses.insert(address)
        var effects: [Effect] = []
        for id in dataNodes.keys.sorted() where dataNodes[id]!.location.address == address && dataNodes[id]!.adminState == .normal {
            dataNodes[id]!.adminState = .decommissioning
            effects.append(.log("decommissioning \(dataNodes[id]!.location): \(dataNodes[id]!.blocks.count) blocks to copy"))
            for block in dataNodes[id]!.blocks.sorted() { reevaluate(block) }
        }
        return effects
    }

    /// Takes the address off the exclude list; its node serves again.
    public mutating func recommission(address: String) -> [Effect] {
        excludedAddresses.remove(address)
        var effects: [Effect] = []
        for id in dataNodes.keys.sorted() where dataNodes[id]!.location.address == address && dataNodes[id]!.adminState != .normal {
            dataNodes[id]!.adminState = .normal
            effects.append(.log("\(dataNodes[id]!.location) is in service again"))
            for block in dataNodes[id]!.blocks.sorted() { reevaluate(block) }
        }
        return effects
    }

    private mutating func checkDecommissioning() -> [Effect] {
        var effects: [Effect] = []
        for id in dataNodes.keys.sorted() where dataNodes[id]!.adminState == .decommissioning && dataNodes[id]!.isAlive {
            let node = dataNodes[id]!
            let waiting = node.blocks.filter { block in
                guard let record = blocks[block] else { return false }
                return !record.isComplete || countReplicas(block).live < record.expected
            }
            if waiting.isEmpty {
                dataNodes[id]!.adminState = .decommissioned
                effects.append(.log("\(node.location) is decommissioned: every one of its \(node.blocks.count) blocks is replicated elsewhere"))
            }
        }
        return effects
    }

    // MARK: Leases

    /// Files whose writer was silent past the hard limit are closed by the NameNode at the shortest length a
    /// DataNode reported for the last block (no replica: the block is dropped), as HDFS's lease recovery does.
    private mutating func recoverExpiredLeases(now: UInt64) -> [Effect] {
        var effects: [Effect] = []
        for (client, renewed) in leases.sorted(by: { $0.key < $1.key }) where now >= renewed + configuration.leaseHardLimitMs {
            for (path, file) in namespace.files() where file.writer == client {
                var final = file.blocks
                if let last = final.last {
                    let lengths = blocks[last.id]?.replicas.values.sorted() ?? []
                    if let shortest = lengths.first {
                        final[final.count - 1].length = shortest
                    } else {
                        effects += commit(.abandonBlock(path, last.id))
                        final.removeLast()
                    }
                }
                effects.append(.log("lease of \(client) on \(path) expired (hard limit); closed at \(final.reduce(0) { $0 + $1.length }) bytes"))
                effects += commit(.close(path, blocks: final, time: now))
            }
            leases[client] = nil
        }
        return effects
    }
}
