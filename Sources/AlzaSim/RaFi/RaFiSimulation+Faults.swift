import AlzaCore
import AlzaRaFi

extension RaFiSimulation {
    func inject(_ fault: RaFiFault.Kind) {
        switch fault {
        case .killDataNode(let index):
            crashDataNode(index)
        case .restartDataNode(let index, let downMs):
            crashDataNode(index)
            queue.schedule(.restartDataNode(index), at: now + downMs)
        case .loseRack(let rack):
            for index in dataNodes.indices where dataNodes[index].core.rack == rack { crashDataNode(index) }
        case .corruptReplicas(let count):
            corruptReplicas(count: count, nearestToReader: false)
        case .corruptForReader(let count):
            corruptReplicas(count: count, nearestToReader: true)
            readEverything()
        case .decommission(let index):
            runNameNode(active.core.decommission(address: dataNodes[index].core.address))
        case .restartNameNode(let downMs):
            active.isUp = false
            report.nameNodeRestarts += 1
            queue.schedule(.restartNameNode, at: now + downMs)
        case .failover:
            failOver()
        case .killPipelineNode:
            guard let writer = client.writer, client.phase == .streaming, let first = index(of: writer.targets[0]) else {
                // Nothing in flight now: try again shortly (the fault is about a write, so it waits for one).
                guard client.phase != .done else {
                    return report.violations.append("no write was in flight to lose a pipeline node (the client finished)")
                }
                return queue.schedule(.fault(.killPipelineNode), at: now + 1)
            }
            crashDataNode(first)
        case .addNodesAndBalance(let count, let threshold):
            for _ in 0..<count { addDataNode(dataNodes.count) }
            balancing = threshold
            queue.schedule(.balance(threshold: threshold), at: now + 5 * nameNodeConfiguration.heartbeatIntervalMs)
        }
    }

    /// A power cut: unsynced bytes torn, stages and copies gone. A node that comes back reads its folder again
    /// (deleting torn replicas) and registers with what it finds.
    func crashDataNode(_ index: Int) {
        guard dataNodes.indices.contains(index) else {
            return report.violations.append("a fault names DataNode \(index) of \(dataNodes.count)")
        }
        guard dataNodes[index].isUp else { return }
        dataNodes[index].isUp = false
        dataNodes[index].stages = [:]
        dataNodes[index].transfers = [:]
        dataNodes[index].scheduledWake = .max
        dataNodes[index].storage.crash(random: &random)
        resetConnections(to: index)
    }

    /// Everyone with an open pipeline connection to a crashed node sees it break (a TCP reset or read timeout).
    private func resetConnections(to index: Int) {
        let address = dataNodes[index].core.address
        let detected = now + configuration.failureDetectionMs
        if let writer = client.writer, client.phase == .streaming, writer.targets.first?.address == address {
            queue.schedule(.deliver(.peerFailed(index, block: writer.blockID), to: .client), at: detected)
        }
        for other in dataNodes.indices where other != index && dataNodes[other].isUp {
            for (block, entry) in dataNodes[other].stages.sorted(by: { $0.key < $1.key }) where entry.stage.downstream?.address == address {
                queue.schedule(.deliver(.peerFailed(index, block: block), to: .dataNode(other)), at: detected)
            }
            for (block, writer) in dataNodes[other].transfers.sorted(by: { $0.key < $1.key }) where writer.targets.first?.address == address {
                queue.schedule(.deliver(.peerFailed(index, block: block), to: .dataNode(other)), at: detected)
            }
        }
    }

    func restartDataNode(_ index: Int) {
        let old = dataNodes[index]
        let folder = old.folder
        do {
            let inventory = try folder.inventory()
            report.tornReplicasRemoved += inventory.removedTorn.filter { !$0.hasSuffix(".meta") }.count
            let identity = try folder.identity()
            var node = DataNode(core: DataNodeCore(configuration: dataNodeConfiguration(), address: old.core.address, rack: old.core.rack,
                                                   capacity: configuration.capacity, namespace: identity?.1, storageID: identity?.0,
                                                   replicas: inventory.replicas), storage: old.storage)
            node.isUp = true
            dataNodes[index] = node
            run(dataNodes[index].core.start(now: now), on: index)
        } catch {
            report.violations.append("dn\(index) could not read its folder after a restart: \(error)")
        }
    }

    /// The NameNode restarts from its image and journal, in safe mode until the DataNodes report again.
    func restartNameNode() {
        do {
            let (namespace, _) = try active.storage.load()
            active.core = NameNodeCore(info: info, namespace: namespace, configuration: nameNodeConfiguration, now: now)
            active.isUp = true
        } catch {
            report.violations.append("the NameNode could not load its image and journal: \(error)")
        }
    }

    /// The active NameNode is lost; the BackupNode, which applied every journal record, takes over.
    private func failOver() {
        guard var standby = backup else { return }
        active.isUp = false
        _ = standby.core.promote(now: now)
        active = standby
        backup = nil
        report.failovers += 1
    }

    private func corruptReplicas(count: Int, nearestToReader: Bool) {
        var candidates: [(Int, ExtendedBlock)] = []
        for index in dataNodes.indices where dataNodes[index].isUp {
            for replica in dataNodes[index].core.replicas.values.sorted(by: { $0.block.id < $1.block.id }) where replica.state == .finalized {
                candidates.append((index, replica.block))
            }
        }
        if nearestToReader {
            // One replica of each of the first `count` blocks, on the node a reader tries first.
            var chosen: [(Int, ExtendedBlock)] = []
            for id in Set(candidates.map(\.1.id)).sorted().prefix(count) {
                guard let located = locateBlock(id) else { continue }
                let order = ReplicaReadOrder.ordered(located, readerAddress: "reader", readerRack: "none")
                if let first = order.first.flatMap({ index(of: $0) }), let pick = candidates.first(where: { $0.0 == first && $0.1.id == id }) {
                    chosen.append(pick)
                }
            }
            candidates = chosen
        } else {
            candidates.shuffle(using: &random)
            candidates = Array(candidates.prefix(count))
        }
        for (index, block) in candidates where block.length > 0 {
            let offset = Int(random.uniform(0...(block.length - 1)))
            dataNodes[index].storage.corrupt(ReplicaFile.dataFileName(block.id), at: offset)
        }
    }

    func locateBlock(_ id: BlockID) -> LocatedBlock? {
        for file in client.files {
            if let located = try? active.core.locate(file.path).first(where: { $0.block.id == id }) { return located }
        }
        return nil
    }

    func balance(_ threshold: Double) {
        guard active.isUp else { return }
        if active.core.isBalanced(threshold: threshold) {
            report.balanced = true
            return
        }
        balanceRounds += 1
        guard balanceRounds <= 60 else {
            report.balanced = false
            return
        }
        let (moves, effects) = active.core.balance(threshold: threshold, bytesPerNode: 8 << 20, now: now)
        report.balancerMoves += moves.count
        runNameNode(effects)
        lastFaultAt = now
        queue.schedule(.balance(threshold: threshold), at: now + 10 * nameNodeConfiguration.heartbeatIntervalMs)
    }
}
