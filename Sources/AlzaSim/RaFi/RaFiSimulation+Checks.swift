import AlzaCore
import AlzaRaFi

extension RaFiSimulation {
    /// Once a second: how replicated the blocks are while a decommission runs, and when the cluster was whole
    /// again after the last fault.
    func sample() {
        defer { queue.schedule(.sample, at: now + 1_000) }
        guard active.isUp, !active.core.isInSafeMode else { return }
        if active.core.dataNodes.values.contains(where: { $0.adminState == .decommissioning }) {
            for id in active.core.blocks.keys where active.core.blocks[id]!.isComplete {
                let count = active.core.countReplicas(id)
                let readable = count.live + count.decommissioning
                report.fewestReplicasDuringDecommission = min(report.fewestReplicasDuringDecommission ?? .max, readable)
            }
        }
        if now >= lastFaultAt, client.phase == .done, report.recoveredAfterMs == nil, isWhole() {
            report.recoveredAfterMs = now - lastFaultAt
        }
    }

    /// Every sealed block has its replication in intact replicas on DataNodes that are really up and in service
    /// (the truth, not the NameNode's belief, which lags a death by 10.5 minutes), and the NameNode agrees.
    func isWhole() -> Bool {
        guard let fsck = try? active.core.fsck(), fsck.isHealthy, fsck.underConstruction == 0 else { return false }
        let serving = dataNodes.indices.filter { index in
            dataNodes[index].isUp && active.core.dataNodes[dataNodes[index].core.storageID ?? StorageID("")]?.adminState == .normal
        }
        let target = min(Int(configuration.replication), serving.count)
        return active.core.blocks.values.allSatisfy { record in
            serving.filter { index in
                guard let replica = dataNodes[index].core.replicas[record.block.id], replica.state == .finalized,
                      replica.block == record.block else { return false }
                return (try? dataNodes[index].folder.read(record.block)) != nil
            }.count >= target
        }
    }

    /// A reader reads every file: nearest replica first, falling back past ones whose checksum fails and reporting
    /// those to the NameNode (as HDFS's DFSInputStream does). Returns the files read intact.
    @discardableResult
    func readEverything() -> Int {
        var intact = 0
        for file in client.files.prefix(client.current) {
            guard let located = try? active.core.locate(file.path) else { continue }
            var bytes: [UInt8] = []
            for block in located {
                var reader = BlockReader(block, readerAddress: "reader", readerRack: "none")
                while !reader.isDone, let location = try? reader.nextLocation() {
                    guard let holder = index(of: location), dataNodes[holder].isUp else {
                        reader.readFailed(.dataNodeUnreachable(location.storageID, reason: "down"))
                        continue
                    }
                    do {
                        bytes += try dataNodes[holder].folder.read(block.block)
                        reader.readSucceeded()
                    } catch {
                        reader.readFailed(error)
                    }
                }
                for bad in reader.corrupt {
                    runNameNode(active.core.reportCorrupt(holder: bad.storageID, block.block, reporter: StorageID("reader"),
                                                          reason: "checksum failed on read", now: now))
                }
            }
            if bytes == file.data { intact += 1 }
        }
        return intact
    }

    /// The end of the run: the final state, read back, against the promises.
    func finish() {
        report.endMs = now
        if client.phase != .done {
            report.violations.append("the client wrote \(report.filesWritten) of \(client.files.count) files")
        }
        guard active.isUp else {
            report.violations.append("no NameNode is up at the end")
            return
        }
        if configuration.readBack {
            report.filesVerified = readEverything()
            if report.filesVerified != report.filesWritten {
                report.violations.append("\(report.filesWritten - report.filesVerified) of \(report.filesWritten) files did not read back intact")
            }
        }
        if let fsck = try? active.core.fsck() {
            report.replicationHistogram = fsck.replicationHistogram
            report.missingBlocks = fsck.missing.count
            report.underReplicatedBlocks = fsck.underReplicated.count
            report.corruptBlocks = fsck.corrupt.count
            if !fsck.missing.isEmpty { report.violations.append("\(fsck.missing.count) blocks have no good replica: \(fsck.missing.map(\.block))") }
        }
        report.decommissioned = active.core.dataNodes.values.filter { $0.adminState == .decommissioned }.count
        if report.recoveredAfterMs == nil, isWhole() { report.recoveredAfterMs = now - lastFaultAt }
        if report.recoveredAfterMs == nil {
            report.violations.append("the cluster never had every block at its replication again after the last fault (\(report.underReplicatedBlocks) under-replicated, \(report.corruptBlocks) corrupt)")
        }
        if let fewest = report.fewestReplicasDuringDecommission, fewest < Int(configuration.replication) {
            report.violations.append("a block fell to \(fewest) readable replicas during a decommission")
        }
        if balancing != nil, report.balanced != true { report.violations.append("the balancer did not converge") }
    }
}
