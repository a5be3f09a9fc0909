import AlzaConsensus
import AlzaCore
import AlzaLedger
import AlzaNetCore

/// The simulator's `ChainEnvironment` for one node (DESIGN.md §1): blocks and transaction batches gossip through
/// the node's `SimulatedMesh` cores, statuses go to its peers, direct messages cross the simulated links, writes go to its simulated disk,
/// wake-ups are events at the true time its clock reads the requested time. `ChainEffects.perform`, the
/// interpreter a node runs, drives it.
struct SimulatedChainEnvironment: ChainEnvironment {
    let simulation: Simulation
    let node: Simulation.Node

    var chainStorage: ChainStorage { node.chainStorage }

    /// Blocks gossip at once; transactions go through the relay's batching window, as on a node.
    mutating func publish(_ message: ConsensusMessage, relay: Bool) {
        switch message {
        case .block:
            let outputs = simulation.mesh.publish(message, topic: .blocks, from: node.index, now: node.clock.read(at: simulation.time))
            simulation.route(outputs, from: node)
            simulation.armGossipTick(node)
        case .transaction(let transaction):
            ChainEffects.perform(node.relay.queue(transaction, now: node.clock.read(at: simulation.time)), in: &self)
        case .blockRequest, .blockResponse, .status:
            simulation.recoveryLog.append("\(node.name): a broadcast of a point-to-point message, not sent")
        }
    }

    func publishTransactions(_ payload: [UInt8]) {
        node.batchesPublished += 1
        let outputs = simulation.mesh.publish(payload: payload, topic: .transactions, from: node.index,
                                              now: node.clock.read(at: simulation.time))
        simulation.route(outputs, from: node)
        simulation.armGossipTick(node)
    }

    /// To every node it is connected to, in index order, as a node sends to every peer its chain inbox knows.
    func announceStatus() {
        guard let core = node.core else { return }
        let status = ConsensusMessage.status(core.status)
        for peer in simulation.mesh.peers(of: node.index) { simulation.transmit(status, from: node, to: simulation.nodes[peer]) }
    }

    /// One pending relay wake-up per node, as for the core's ticks.
    func wakeRelay(at time: UInt64) {
        if let pending = node.relayWakeAt, pending <= time { return }
        node.relayWakeAt = time
        simulation.queue.schedule(.relayTick(node: node.index, generation: node.generation, at: time),
                                  at: max(simulation.time, node.clock.trueTime(at: time)))
    }

    func send(_ message: ConsensusMessage, to peer: PeerID) {
        guard let other = simulation.nodes.first(where: { $0.peer == peer }) else { return }
        simulation.transmit(message, from: node, to: other)
    }

    /// One pending tick per node: an earlier request replaces it (the event queued for the later one becomes stale
    /// and is ignored when it comes up), a later one leaves it.
    func wake(at time: UInt64) {
        if let pending = node.nextTick, pending <= time { return }
        node.nextTick = time
        simulation.queue.schedule(.tick(node: node.index, generation: node.generation, at: time),
                                  at: max(simulation.time, node.clock.trueTime(at: time)))
    }

    func halt(_ reason: String) { simulation.halt(node, reason) }

    func committed(_ blocks: [CommittedBlock]) {
        let elapsed = simulation.time - simulation.configuration.genesisTime
        simulation.invariants.committed(blocks.map(\.block), node: node.index, name: node.name, at: elapsed)
        for committed in blocks where simulation.finalizedTransfers[committed.block.height] == nil {
            simulation.finalizedTransfers[committed.block.height] = Simulation.transferCount(committed.block)
        }
    }

    func observe(_ effect: ConsensusEffect) {
        if case .notify(.blockRejected(_, .fromTheFuture, _)) = effect { node.refusedFromTheFuture += 1 }
    }

    func warn(_ message: String) { simulation.recoveryLog.append("\(node.name): \(message)") }
}
