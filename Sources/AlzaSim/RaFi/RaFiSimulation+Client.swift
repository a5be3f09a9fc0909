import AlzaCore
import AlzaRaFi

/// The simulated client: writes the run's files one after the other, block by block through pipelines the
/// NameNode chooses, recovering a pipeline that loses a node; retries what a NameNode down or in safe mode refuses.
struct ClientWriter {
    enum Phase: Equatable { case create, addBlock, streaming, recovering, complete, done }

    struct File {
        var path: NamespacePath
        var data: [UInt8]
    }

    static let name = "rafi-client"
    let blockBytes: Int
    var files: [File] = []
    var current = 0
    var phase = Phase.create
    var blockIndex = 0
    var previous: ExtendedBlock?
    var writer: PipelineWriterCore?
    var finishedAt: UInt64?

    init(configuration: RaFiSimulationConfiguration, random: inout DeterministicRandom) {
        blockBytes = configuration.blockBytes
        for index in 0..<configuration.files {
            // The last block of each file is partial, so lengths are not all multiples of the block size.
            let length = configuration.blockBytes * configuration.blocksPerFile - Int(random.uniform(0...UInt64(configuration.blockBytes / 2)))
            var bytes = [UInt8](repeating: 0, count: length)
            for offset in stride(from: 0, to: length, by: 8) {
                let word = random.next()
                for byte in 0..<min(8, length - offset) { bytes[offset + byte] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(byte))) }
            }
            // A path is always valid: made of fixed, short components.
            let path = (try? NamespacePath("/chain/sim/segments/file-\(index)")) ?? .root
            files.append(File(path: path, data: bytes))
        }
    }

    var blockCount: Int { (files[current].data.count + blockBytes - 1) / blockBytes }

    func blockData(_ index: Int) -> [UInt8] {
        let data = files[current].data
        return Array(data[(index * blockBytes)..<min(data.count, (index + 1) * blockBytes)])
    }
}

extension RaFiSimulation {
    func clientStep() {
        guard client.phase != .done else { return }
        guard active.isUp else { return retryClient(after: 200) }
        let path = client.files[client.current].path
        do {
            switch client.phase {
            case .create:
                runNameNode(try active.core.mkdir(path.parent, user: nameNodeConfiguration.superuser, now: now))
                runNameNode(try active.core.create(path, replication: configuration.replication, user: nameNodeConfiguration.superuser,
                                                   client: ClientWriter.name, now: now))
                client.phase = .addBlock
                clientStep()
            case .addBlock:
                guard client.blockIndex < client.blockCount else {
                    client.phase = .complete
                    return clientStep()
                }
                let (located, effects) = try active.core.addBlock(path, client: ClientWriter.name, previous: client.previous, writer: nil, now: now)
                runNameNode(effects)
                client.writer = PipelineWriterCore(located: located, data: client.blockData(client.blockIndex))
                client.phase = .streaming
                startPipeline()
            case .recovering:
                recoverPipeline()
            case .complete:
                let (completed, effects) = try active.core.complete(path, client: ClientWriter.name, last: client.previous, now: now)
                runNameNode(effects)
                guard completed else { return retryClient(after: 100) }
                report.filesWritten += 1
                report.blocksWritten += client.blockCount
                report.bytesWritten += UInt64(client.files[client.current].data.count)
                nextFile()
            case .streaming, .done:
                break
            }
        } catch {
            retryClient(after: 200)
        }
    }

    private func nextFile() {
        client.current += 1
        client.blockIndex = 0
        client.previous = nil
        client.writer = nil
        if client.current == client.files.count {
            client.phase = .done
            client.finishedAt = now
        } else {
            client.phase = .create
            clientStep()
        }
    }

    private func retryClient(after delay: UInt64) {
        queue.schedule(.clientRetry, at: now + delay)
    }

    private func startPipeline() {
        guard let writer = client.writer, let first = index(of: writer.targets[0]) else { return }
        send(.setup(writer.setup, from: .client), from: .client, to: .dataNode(first))
        pumpClient()
    }

    private func pumpClient() {
        guard var writer = client.writer, let first = index(of: writer.targets[0]) else { return }
        for packet in writer.nextPackets() {
            send(.packet(packet, from: .client), from: .client, to: .dataNode(first), bytes: packet.data.count)
        }
        client.writer = writer
    }

    func clientReceive(_ message: Message) {
        guard client.phase == .streaming, var writer = client.writer else { return }
        switch message {
        case .ack(let ack, _):
            guard ack.blockID == writer.blockID, (try? writer.acknowledged(ack)) != nil else { return }
            client.writer = writer
            switch writer.phase {
            case .complete:
                client.previous = writer.block
                client.blockIndex += 1
                client.writer = nil
                client.phase = .addBlock
                clientStep()
            case .awaitingRecovery:
                client.phase = .recovering
                recoverPipeline()
            case .streaming:
                pumpClient()
            }
        case .peerFailed(let failed, let block) where block == writer.blockID && writer.targets.first?.address == dataNodes[failed].core.address:
            // Only the current pipeline's first node matters: a late notice about a node already left out is old news.
            writer.nodeFailed(index: 0)
            client.writer = writer
            client.phase = .recovering
            recoverPipeline()
        default:
            break
        }
    }

    /// A new generation stamp from the NameNode, then the unacked packets again to the nodes left; with none
    /// left, the block is abandoned and written again to a new pipeline.
    private func recoverPipeline() {
        guard var writer = client.writer else { return }
        guard active.isUp else { return retryClient(after: 200) }
        let path = client.files[client.current].path
        do {
            let survivors = writer.survivingTargets
            guard !survivors.isEmpty else {
                runNameNode(try active.core.abandonBlock(path, client: ClientWriter.name, block: writer.blockID, now: now))
                client.writer = nil
                client.phase = .addBlock
                return clientStep()
            }
            let (bumped, effects) = try active.core.recoverPipeline(path, client: ClientWriter.name, block: writer.block, now: now)
            runNameNode(effects)
            try writer.recover(newGenerationStamp: bumped.generationStamp, targets: survivors)
            client.writer = writer
            client.phase = .streaming
            report.pipelineRecoveries += 1
            startPipeline()
        } catch {
            retryClient(after: 200)
        }
    }
}
