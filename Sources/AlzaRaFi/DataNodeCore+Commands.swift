extension DataNodeCore {
    // MARK: Copies

    /// Queues a copy of a local replica to `targets`; at most `maximumConcurrentTransfers` run at once, the
    /// rest wait (up to `maximumQueuedTransfers`, beyond which the NameNode asks again later).
    mutating func replicate(_ block: ExtendedBlock, to targets: [DataNodeLocation]) -> [Effect] {
        if transfersInProgress.contains(block.id) || queuedTransfers.contains(where: { $0.block.id == block.id }) {
            return [.log("a copy of \(block.id) is already under way; the second request is ignored")]
        }
        guard queuedTransfers.count < configuration.maximumQueuedTransfers else {
            return [.log("\(configuration.maximumQueuedTransfers) copies wait already; copy of \(block) to \(targets.map(\.storageID)) refused")]
        }
        queuedTransfers.append((block, targets))
        return startTransfers()
    }

    /// Starts waiting copies while transfers are free. A copy of a replica this node does not hold finalized
    /// at that generation stamp is dropped (and, if it holds none at all, the NameNode is told so).
    mutating func startTransfers() -> [Effect] {
        var effects: [Effect] = []
        while transfersInProgress.count < configuration.maximumConcurrentTransfers, !queuedTransfers.isEmpty {
            let (block, targets) = queuedTransfers.removeFirst()
            guard let replica = replicas[block.id], replica.state == .finalized,
                  replica.block.generationStamp == block.generationStamp else {
                let held = replicas[block.id].map { "holds \($0.block) (\($0.state))" } ?? "holds no replica"
                effects.append(.log("cannot copy \(block): this DataNode \(held)"))
                if replicas[block.id] == nil { effects += incremental { .blockDeleted($0, block.id) } }
                continue
            }
            transfersInProgress.insert(block.id)
            effects.append(.transfer(replica.block, to: targets))
        }
        return effects
    }

    /// A copy ended; the next waiting one starts. A failed copy is only logged: the NameNode notices the
    /// missing replica and schedules it again.
    public mutating func transferFinished(_ block: ExtendedBlock, ok: Bool, now: UInt64) -> [Effect] {
        guard phase != .shutDown else { return [] }
        precondition(transfersInProgress.contains(block.id), "transferFinished(\(block.id)) without a transfer of it")
        transfersInProgress.remove(block.id)
        var effects: [Effect] = ok ? [] : [.log("copy of \(block) failed; the NameNode will schedule it again")]
        effects += startTransfers()
        return effects
    }

    // MARK: Deletions

    /// Deletes the named replicas held at the named generation stamp (a newer local one is kept, as in HDFS)
    /// and tells the NameNode, also of those already gone, so its pending deletions clear.
    mutating func delete(_ blocks: [ExtendedBlock]) -> [Effect] {
        var effects: [Effect] = []
        for block in blocks {
            if let replica = replicas[block.id] {
                guard replica.block.generationStamp == block.generationStamp else {
                    effects.append(.log("delete \(block) skipped: this DataNode holds generation stamp \(replica.block.generationStamp)"))
                    continue
                }
                dropReplica(block.id)
                effects.append(.remove(replica.block))
            }
            effects += incremental { .blockDeleted($0, block.id) }
        }
        return effects
    }

    // MARK: Bad replicas

    /// A read of a local replica (a client's read, a copy) failed its check. Checksum, meta and length
    /// failures make it corrupt; a missing replica is dropped; other failures (I/O) are only logged.
    public mutating func readFailed(_ block: ExtendedBlock, error: RaFiError, now: UInt64) -> [Effect] {
        guard phase != .shutDown else { return [] }
        return replicaFailedCheck(block, error: error)
    }

    mutating func replicaFailedCheck(_ block: ExtendedBlock, error: RaFiError) -> [Effect] {
        guard let replica = replicas[block.id], replica.block.generationStamp == block.generationStamp else { return [] }
        switch error {
        case .checksumMismatch, .metaCorrupt, .lengthMismatch, .staleGenerationStamp:
            guard replica.state != .corrupt else { return [] }
            replicas[block.id]!.state = .corrupt
            var effects: [Effect] = [.log("\(replica.block) is corrupt: \(error.description); reported to the NameNode")]
            if let storageID {
                let report = DataNodeReport.corruptReplica(reporter: storageID, holder: storageID, block: replica.block,
                                                           reason: Self.clipped(error.description))
                if phase == .registered { effects.append(.send(report)) } else { pendingReports.append(report) }
            }
            return effects
        case .replicaMissing:
            dropReplica(block.id)
            return [.log("\(replica.block) is missing from the storage folder")] + incremental { .blockDeleted($0, block.id) }
        default:
            return [.log("reading \(replica.block) failed: \(error.description)")]
        }
    }

    /// `reason` cut to what a report carries, at a character boundary.
    static func clipped(_ reason: String) -> String {
        guard reason.utf8.count > DataNodeReport.maximumReasonBytes else { return reason }
        var clipped = ""
        for character in reason {
            guard clipped.utf8.count + character.utf8.count <= DataNodeReport.maximumReasonBytes else { break }
            clipped.append(character)
        }
        return clipped
    }
}
