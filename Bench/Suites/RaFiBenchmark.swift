import AlzaCore
import AlzaRaFi
import AlzaSim
import Foundation

/// `alza-bench rafi`: bytes written through a 3-node pipeline (the real `PipelineWriterCore` and
/// `PipelineStageCore`s, each node's replica files on the real disk through `ReplicaFolder`, fsynced at each block's
/// end) against `dd`-style sequential writes with fsync on the same disk in the same run (goal ≥ 0.5 counting every
/// replica's bytes, since the three nodes share this disk); checked reads against raw reads of the same files; and
/// the re-replication time after a DataNode is lost, in the simulator's virtual time under the default throttle.
enum RaFiBenchmark {
    static let replication = 3

    static func run(limits: PhysicalLimits, quick: Bool, scratchDirectory: String) throws -> BenchReport {
        var report = BenchReport(suite: "rafi", limits: limits)
        let blockBytes = 8 << 20
        let blocks = quick ? 4 : 16
        let root = scratchDirectory + "/rafi-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let folders = try (0..<replication).map { index in ReplicaFolder(storage: try FileStorage(directory: root + "/dn\(index)")) }
        var random = SeededRandom(seed: 5)
        let data = random.bytes(count: blockBytes)
        var written: [ExtendedBlock] = []
        let writeSeconds = try Monotonic.seconds {
            for index in 0..<blocks { written.append(try writeBlock(BlockID(UInt64(index + 1)), data: data, folders: folders)) }
        }
        let megabytes = Double(blocks * blockBytes) / 1e6
        let writeRate = megabytes / writeSeconds
        report.add(BenchFigure(key: "pipelineWriteMBPerSecond", label: "Pipeline write, 3 replicas on this disk (client MB/s)",
                               value: round2(writeRate), unit: "MB/s", limitLabel: "dd with fsync ÷ 3",
                               limitValue: round2(limits.sequentialDiskWriteMBPerSecond / Double(replication)),
                               ratio: round3(writeRate * Double(replication) / limits.sequentialDiskWriteMBPerSecond)))
        var checked = 0.0
        var raw = 0.0
        for block in written {
            checked += try Monotonic.seconds { _ = try folders[0].read(block) }
            raw += try Monotonic.seconds { _ = try folders[0].storage.read(ReplicaFile.dataFileName(block.id)) }
        }
        report.add(BenchFigure(key: "checkedReadMBPerSecond", label: "Replica read with CRC32C checks (page cache)",
                               value: round2(megabytes / checked), unit: "MB/s", limitLabel: "raw read of the same files",
                               limitValue: round2(megabytes / raw), ratio: round3(raw / checked)))
        let (lost, recoveredMs) = reReplication(quick: quick)
        report.add(BenchFigure(key: "reReplicationVirtualMs", label: "Re-replication of a lost DataNode's \(lost) blocks (virtual time after it is declared dead)",
                               value: Double(recoveredMs), unit: "ms"))
        report.notes.append("The pipeline runs in one process: three stages, each writing its own replica files on the benchmark's disk (the three DataNodes share it, so the ratio counts every replica's bytes against dd with fsync). \(blocks) blocks of \(blockBytes >> 20) MiB.")
        report.notes.append("Reads follow the writes, so both come from the page cache: the ratio is the cost of the checksum checks, not of the disk.")
        report.notes.append("Re-replication: the simulator (NameNode timings at 1/20, 4 copy streams per DataNode, 2 blocks per live DataNode per 150 ms round) from the moment the NameNode declares the node dead (31.5 s after its last heartbeat) until every block is back at 3 intact replicas on live nodes. Not measured yet: `alza recover` for 10k and 100k blocks (issue 10).")
        return report
    }

    /// One block through a 3-stage pipeline, driven synchronously: packets down, acks up.
    static func writeBlock(_ id: BlockID, data: [UInt8], folders: [ReplicaFolder]) throws -> ExtendedBlock {
        let targets = folders.indices.map { DataNodeLocation(storageID: StorageID("dn\($0)"), address: "dn\($0)", rack: "r") }
        var writer = PipelineWriterCore(blockID: id, generationStamp: 1, targets: targets, data: data)
        var stages = try targets.indices.map { index in
            try PipelineStageCore(setup: PipelineSetup(block: ExtendedBlock(id: id, generationStamp: 1, length: 0),
                                                       targets: Array(targets[index...]), firstSequence: 0))
        }
        func carry(_ effects: [PipelineStageCore.Effect], at index: Int) throws {
            for effect in effects {
                switch effect {
                case .prepare(let block, let keeping): try folders[index].prepare(block, keepingBytes: keeping)
                case .forwardSetup: break
                case .forward(let packet, _): try carry(try stages[index + 1].receive(packet), at: index + 1)
                case .append(let block, let bytes): try folders[index].append(block, bytes)
                case .finalize(let block, let meta): try folders[index].finalize(block, meta: meta)
                case .ackUpstream(let ack):
                    if index == 0 { try writer.acknowledged(ack) } else { try carry(try stages[index - 1].downstreamAcked(ack), at: index - 1) }
                }
            }
        }
        for index in stages.indices { try carry(stages[index].openingEffects, at: index) }
        while !writer.isComplete {
            for packet in writer.nextPackets() { try carry(try stages[0].receive(packet), at: 0) }
        }
        return writer.block
    }

    static func reReplication(quick: Bool) -> (blocks: Int, milliseconds: UInt64) {
        var configuration = RaFiSimulationConfiguration()
        configuration.seed = 3
        configuration.files = quick ? 20 : 60
        configuration.faults = [RaFiFault(atMs: 15_000, .killDataNode(0))]
        configuration.readBack = false
        let report = RaFiSimulation(configuration).run()
        let deadAfter = NameNodeConfiguration().scaled(by: configuration.timeScale).deadAfterMs
        let lost = report.blocksWritten * Int(configuration.replication) / configuration.dataNodes
        return (lost, (report.recoveredAfterMs ?? 0) > deadAfter ? report.recoveredAfterMs! - deadAfter : 0)
    }
}
