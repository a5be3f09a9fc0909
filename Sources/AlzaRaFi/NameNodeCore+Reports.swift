/// What a full block report found wrong (the report itself is applied for every block it could be).
public struct BlockReportOutcome: Sendable, Equatable {
    /// Reported blocks of no file: deleted from the DataNode (outside safe mode) and listed here.
    public var unknown: [BlockID] = []
    /// Replicas with an older generation stamp or a wrong length: marked corrupt.
    public var stale: [BlockID] = []
    /// Replicas the NameNode thought the node held and the report did not list.
    public var missing: [BlockID] = []
}

extension NameNodeCore {
    /// Any message from a DataNode, dispatched (the shell's one entry point for the `rafi` protocol's reports).
    public mutating func receive(_ report: DataNodeReport, now: UInt64) -> [Effect] {
        guard role == .active else { return [] }
        switch report {
        case .register(let registration): return register(registration, now: now)
        case .heartbeat(let heartbeat): return self.heartbeat(heartbeat, now: now)
        case .blockReport(let id, let blocks): return blockReport(from: id, blocks, now: now).effects
        case .blockReceived(let id, let block): return blockReceived(from: id, block, now: now)
        case .blockDeleted(let id, let block): return blockDeleted(from: id, block, now: now)
        case .corruptReplica(let reporter, let holder, let block, let reason):
            return reportCorrupt(holder: holder, block, reporter: reporter, reason: reason, now: now)
        }
    }

    // MARK: Block reports

    /// A DataNode's full list of finalized replicas: it replaces what the NameNode thought the node held.
    public mutating func blockReport(from id: StorageID, _ reported: [ExtendedBlock], now: UInt64)
        -> (outcome: BlockReportOutcome, effects: [Effect]) {
        guard var node = dataNodes[id], node.isAlive else {
            return (BlockReportOutcome(), [.command(.reregister, to: id)])
        }
        var outcome = BlockReportOutcome()
        var seen: Set<BlockID> = []
        for replica in reported.sorted(by: { $0.id < $1.id }) where seen.insert(replica.id).inserted {
            switch addReplica(replica, on: id) {
            case .added: break
            case .unknown: outcome.unknown.append(replica.id)
            case .stale: outcome.stale.append(replica.id)
            }
        }
        for old in node.blocks.subtracting(seen).sorted() {
            outcome.missing.append(old)
            blocks[old]?.replicas[id] = nil
            blocks[old]?.corrupt.remove(id)
            reevaluate(old)
        }
        node = dataNodes[id]!
        node.blocks = seen.subtracting(outcome.unknown)
        node.hasReported = true
        dataNodes[id] = node
        var effects: [Effect] = []
        if !outcome.unknown.isEmpty {
            let error = RaFiError.unknownBlock(outcome.unknown[0])
            effects.append(.log("block report from \(id): \(outcome.unknown.count) unknown blocks (\(error.description)\(outcome.unknown.count > 1 ? ", …" : ""))"
                + (isInSafeMode ? "; kept until safe mode ends" : "; deleted")))
            if !isInSafeMode {
                let doomed = reported.filter { outcome.unknown.contains($0.id) }
                enqueue(.delete(doomed), for: id)
            }
        }
        if !outcome.stale.isEmpty { effects.append(.log("block report from \(id): \(outcome.stale.count) stale replicas marked corrupt")) }
        effects += updateSafeMode(now: now)
        return (outcome, effects)
    }

    /// A DataNode finalized a replica (the end of a pipeline write or of a copy).
    public mutating func blockReceived(from id: StorageID, _ replica: ExtendedBlock, now: UInt64) -> [Effect] {
        guard dataNodes[id]?.isAlive == true else { return [.command(.reregister, to: id)] }
        if var pending = pendingReplications[replica.id], pending.targets.remove(id) != nil {
            pendingReplications[replica.id] = pending.targets.isEmpty ? nil : pending
        }
        switch addReplica(replica, on: id) {
        case .added:
            dataNodes[id]!.blocks.insert(replica.id)
            return invalidateCorruptIfSafe(replica.id) + updateSafeMode(now: now)
        case .unknown:
            enqueue(.delete([replica]), for: id)
            return [.log("\(id) received \(replica), which belongs to no file (\(RaFiError.unknownBlock(replica.id).description)); deleted")]
        case .stale:
            dataNodes[id]!.blocks.insert(replica.id)
            return [.log("\(id) received \(replica), which is stale; marked corrupt")]
        }
    }

    /// A DataNode deleted a replica (the answer to a delete command, or its own cleanup).
    public mutating func blockDeleted(from id: StorageID, _ block: BlockID, now: UInt64) -> [Effect] {
        guard dataNodes[id] != nil else { return [] }
        dataNodes[id]!.blocks.remove(block)
        dataNodes[id]!.pendingDeletes.remove(block)
        blocks[block]?.replicas[id] = nil
        blocks[block]?.corrupt.remove(id)
        reevaluate(block)
        return []
    }

    /// A reader or a DataNode's block scanner found `holder`'s replica corrupt. It is copied from a good replica
    /// first, and deleted only once enough good ones exist (HDFS's rule: never lose the last bytes, even bad ones).
    public mutating func reportCorrupt(holder: StorageID, _ replica: ExtendedBlock, reporter: StorageID, reason: String, now: UInt64) -> [Effect] {
        guard var record = blocks[replica.id] else {
            return [.log("corrupt report from \(reporter) for \(replica.id): \(RaFiError.unknownBlock(replica.id).description)")]
        }
        guard record.holders.contains(holder) else {
            // The holder re-registered and left the bad replica out of its report: nothing counts it, so it goes.
            guard reporter == holder, dataNodes[holder]?.isAlive == true, enqueue(.delete([replica]), for: holder) else {
                return [.log("corrupt report from \(reporter): \(holder) holds no replica of \(replica.id)")]
            }
            dataNodes[holder]!.pendingDeletes.insert(replica.id)
            return [.log("\(replica.id) on \(holder) is corrupt (\(reason)) and not counted; deleted")]
        }
        record.replicas[holder] = nil
        record.corrupt.insert(holder)
        blocks[replica.id] = record
        reevaluate(replica.id)
        let effects: [Effect] = [.log("\(replica.id) on \(holder) is corrupt (reported by \(reporter): \(reason)); \(countReplicas(replica.id).live) good replicas left")]
        return effects + invalidateCorruptIfSafe(replica.id)
    }

    // MARK: Replica bookkeeping

    enum ReplicaAddition { case added, unknown, stale }

    mutating func addReplica(_ replica: ExtendedBlock, on id: StorageID) -> ReplicaAddition {
        guard var record = blocks[replica.id] else { return .unknown }
        let lengthWrong = record.isComplete && replica.length != record.block.length
        if replica.generationStamp < record.block.generationStamp || lengthWrong {
            record.replicas[id] = nil
            record.corrupt.insert(id)
            blocks[replica.id] = record
            reevaluate(replica.id)
            _ = invalidateCorruptIfSafe(replica.id)
            return .stale
        }
        record.corrupt.remove(id)
        record.replicas[id] = replica.length
        blocks[replica.id] = record
        reevaluate(replica.id)
        return .added
    }

    /// Deletes corrupt replicas of a block once it has its replication in good ones.
    mutating func invalidateCorruptIfSafe(_ id: BlockID) -> [Effect] {
        guard !isInSafeMode, let record = blocks[id], !record.corrupt.isEmpty,
              countReplicas(id).live >= record.expected else { return [] }
        return scheduleDeletion(of: id, from: record.corrupt.sorted(), reason: "corrupt, with \(record.expected) good replicas elsewhere")
    }

    mutating func scheduleDeletion(of id: BlockID, from holders: [StorageID], reason: String) -> [Effect] {
        guard let record = blocks[id] else { return [] }
        var effects: [Effect] = []
        for holder in holders where enqueue(.delete([record.block]), for: holder) {
            dataNodes[holder]!.pendingDeletes.insert(id)
            blocks[id]!.replicas[holder] = nil
            blocks[id]!.corrupt.remove(holder)
            effects.append(.log("delete \(id) from \(holder): \(reason)"))
        }
        reevaluate(id)
        return effects
    }

    /// The replicas of a block as the replication rules count them.
    public func countReplicas(_ id: BlockID) -> ReplicaCount {
        var count = ReplicaCount()
        guard let record = blocks[id] else { return count }
        var racks: Set<String> = []
        for holder in record.replicas.keys {
            guard let node = dataNodes[holder], node.isAlive else { continue }
            if node.adminState == .normal {
                count.live += 1
                racks.insert(node.location.rack)
            } else {
                count.decommissioning += 1
            }
        }
        count.corrupt = record.corrupt.count
        count.pending = pendingReplications[id]?.targets.count ?? 0
        count.racks = racks.count
        return count
    }

    /// Puts a block in the low-redundancy level its replicas call for (or takes it out). Blocks of files still
    /// being written are left alone; so is everything during safe mode.
    mutating func reevaluate(_ id: BlockID) {
        guard let record = blocks[id], record.isComplete, !isInSafeMode else {
            lowRedundancy.remove(id)
            return
        }
        lowRedundancy.update(id, to: LowRedundancyQueue.level(for: countReplicas(id), expected: record.expected, rackCount: rackCount))
    }
}
