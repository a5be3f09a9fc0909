import AlzaCore
import AlzaRaFi

extension RaFiSimulation {
    // MARK: The DataNode's shell

    func dataNodeReceive(_ message: Message, at index: Int) {
        switch message {
        case .command(let command):
            run(dataNodes[index].core.handle(command: command, now: now), on: index)
        case .setup(let setup, let upstream):
            openStage(setup, upstream: upstream, at: index)
        case .packet(let packet, let upstream):
            guard var entry = dataNodes[index].stages[packet.block.id], entry.upstream == upstream else { return }
            do {
                let effects = try entry.stage.receive(packet)
                dataNodes[index].stages[packet.block.id] = entry
                runStage(effects, of: packet.block.id, at: index)
            } catch {
                // A refused packet drops the stream: the upstream sees this node fail.
                dataNodes[index].stages[packet.block.id] = nil
                queue.schedule(.deliver(.peerFailed(index, block: packet.block.id), to: upstream), at: now + configuration.failureDetectionMs)
            }
        case .ack(let ack, _):
            if dataNodes[index].transfers[ack.blockID] != nil {
                transferAcked(ack, at: index)
            } else if var entry = dataNodes[index].stages[ack.blockID] {
                guard let effects = try? entry.stage.downstreamAcked(ack) else { return }
                dataNodes[index].stages[ack.blockID] = entry
                runStage(effects, of: ack.blockID, at: index)
            }
        case .peerFailed(let failed, let block):
            let address = dataNodes[failed].core.address
            if let writer = dataNodes[index].transfers[block], writer.targets.first?.address == address {
                dataNodes[index].transfers[block] = nil
                run(dataNodes[index].core.transferFinished(writer.block, ok: false, now: now), on: index)
            } else if var entry = dataNodes[index].stages[block], entry.stage.downstream?.address == address {
                let effects = entry.stage.downstreamFailed()
                dataNodes[index].stages[block] = entry
                runStage(effects, of: block, at: index)
            }
        case .report:
            break
        }
    }

    /// A new stage, or (a pipeline recovery) one that keeps the bytes its predecessor acked.
    private func openStage(_ setup: PipelineSetup, upstream: Endpoint, at index: Int) {
        let id = setup.block.id
        let kept: [UInt32]
        let held = max(dataNodes[index].core.replicas[id]?.block.generationStamp ?? 0, dataNodes[index].stages[id]?.stage.generationStamp ?? 0)
        if held > setup.block.generationStamp {
            // A setup older than what this node already holds (an overtaken recovery): refused, never applied.
            queue.schedule(.deliver(.peerFailed(index, block: id), to: upstream), at: now + configuration.failureDetectionMs)
            return
        }
        if setup.block.length == 0 {
            kept = []
        } else if let previous = dataNodes[index].stages[id], previous.stage.receivedBytes >= setup.block.length {
            kept = previous.stage.checksums(keepingBytes: setup.block.length)
        } else if let held = try? dataNodes[index].folder.prefix(of: id, count: setup.block.length) {
            // The stage is gone (the replica was finalized before the ack was lost): reopen from the disk.
            kept = ReplicaFile.checksums(of: held)
        } else {
            queue.schedule(.deliver(.peerFailed(index, block: id), to: upstream), at: now + configuration.failureDetectionMs)
            return
        }
        guard let stage = try? PipelineStageCore(setup: setup, keptChecksums: kept) else { return }
        dataNodes[index].stages[id] = (stage, upstream)
        runStage(stage.openingEffects, of: id, at: index)
    }

    private func runStage(_ effects: [PipelineStageCore.Effect], of block: BlockID, at index: Int) {
        let folder = dataNodes[index].folder
        for effect in effects {
            do {
                switch effect {
                case .prepare(let replica, let keeping):
                    try folder.prepare(replica, keepingBytes: keeping)
                    dataNodes[index].core.replicaBeingWritten(replica)
                case .forwardSetup(let setup, let target):
                    if let next = self.index(of: target) { send(.setup(setup, from: .dataNode(index)), from: .dataNode(index), to: .dataNode(next)) }
                case .forward(let packet, let target):
                    if let next = self.index(of: target) {
                        send(.packet(packet, from: .dataNode(index)), from: .dataNode(index), to: .dataNode(next), bytes: packet.data.count)
                    }
                case .append(let id, let bytes):
                    try folder.append(id, bytes)
                case .finalize(let replica, let meta):
                    try folder.finalize(replica, meta: meta)
                    run(dataNodes[index].core.replicaFinalized(replica), on: index)
                case .ackUpstream(let ack):
                    send(.ack(ack, from: index), from: .dataNode(index), to: dataNodes[index].stages[block]?.upstream ?? .client)
                }
            } catch {
                report.violations.append("dn\(index) could not carry out \(effect): \(error)")
            }
        }
        // A finalized stage is done (a recovery reopens the replica from the disk); a failed one stays, since a
        // recovery keeps the bytes it acked and needs their checksums.
        if dataNodes[index].stages[block]?.stage.phase == .finalized { dataNodes[index].stages[block] = nil }
    }

    /// Carries out a DataNode core's effects.
    func run(_ effects: [DataNodeCore.Effect], on index: Int) {
        var work = effects[...]
        while let effect = work.popFirst() {
            guard dataNodes[index].isUp else { return }
            switch effect {
            case .send(let report):
                send(.report(report, from: index), from: .dataNode(index), to: .nameNode, bytes: 64)
            case .persistIdentity(let id, let info):
                do { try dataNodes[index].folder.saveIdentity(id, info) } catch { report.violations.append("dn\(index): \(error)") }
            case .transfer(let block, let targets):
                startTransfer(block, to: targets, at: index)
            case .remove(let block):
                do { try dataNodes[index].folder.remove(block) } catch { report.violations.append("dn\(index): \(error)") }
            case .verify(let block):
                work.append(contentsOf: dataNodes[index].core.verified(block, result: dataNodes[index].folder.verify(block), now: now))
            case .wakeAt(let time):
                if time < dataNodes[index].scheduledWake {
                    dataNodes[index].scheduledWake = max(time, now)
                    queue.schedule(.wakeDataNode(index), at: max(time, now))
                }
            case .log:
                break
            case .shutdown(let reason):
                report.violations.append("dn\(index) shut down: \(reason)")
                dataNodes[index].isUp = false
            }
        }
    }

    // MARK: Copies (a source DataNode writes a pipeline of the NameNode's targets)

    private func startTransfer(_ block: ExtendedBlock, to targets: [DataNodeLocation], at index: Int) {
        let data: [UInt8]
        do {
            data = try dataNodes[index].folder.read(block)
        } catch {
            run(dataNodes[index].core.readFailed(block, error: error, now: now), on: index)
            run(dataNodes[index].core.transferFinished(block, ok: false, now: now), on: index)
            return
        }
        guard let first = targets.first.flatMap({ self.index(of: $0) }) else {
            run(dataNodes[index].core.transferFinished(block, ok: false, now: now), on: index)
            return
        }
        var writer = PipelineWriterCore(blockID: block.id, generationStamp: block.generationStamp, targets: targets, data: data)
        send(.setup(writer.setup, from: .dataNode(index)), from: .dataNode(index), to: .dataNode(first))
        for packet in writer.nextPackets() {
            send(.packet(packet, from: .dataNode(index)), from: .dataNode(index), to: .dataNode(first), bytes: packet.data.count)
        }
        dataNodes[index].transfers[block.id] = writer
    }

    private func transferAcked(_ ack: PipelineAck, at index: Int) {
        guard var writer = dataNodes[index].transfers[ack.blockID], let first = self.index(of: writer.targets[0]) else { return }
        do {
            try writer.acknowledged(ack)
        } catch {
            return
        }
        switch writer.phase {
        case .complete:
            dataNodes[index].transfers[ack.blockID] = nil
            run(dataNodes[index].core.transferFinished(writer.block, ok: true, now: now), on: index)
        case .awaitingRecovery:
            dataNodes[index].transfers[ack.blockID] = nil
            run(dataNodes[index].core.transferFinished(writer.block, ok: false, now: now), on: index)
        case .streaming:
            for packet in writer.nextPackets() {
                send(.packet(packet, from: .dataNode(index)), from: .dataNode(index), to: .dataNode(first), bytes: packet.data.count)
            }
            dataNodes[index].transfers[ack.blockID] = writer
        }
    }
}
