import AlzaConsensus
import AlzaCore
import AlzaLedger

/// What a simulated node's roles do beside the consensus core, through the interpreters a node process uses:
/// the chain relay (`ChainRelayCore`: own transactions gossiped in batches after the 20 ms window, received
/// batches relayed as they came, the status cadence) carried out by `ChainEffects`, and the Satellite role's
/// agreement monitor fed with the statuses SuperNodes announce.
extension Simulation {
    /// Carries out a node's relay effects with the interpreter a node runs (`ChainEffects.perform`).
    func performRelay(_ effects: [ChainRelayCore.Effect], for node: Node) {
        var environment = SimulatedChainEnvironment(simulation: self, node: node)
        ChainEffects.perform(effects, in: &environment)
    }

    /// A gossiped transaction batch (its real bytes) reached `node`: decoded as a node decodes it, admitted and
    /// relayed by the interpreter a node runs (`ChainEffects.receive`). The invariants are checked once after the
    /// batch (admitting transactions moves no LIB, mints nothing, and the mempool bound holds per transaction).
    func receiveTransactions(_ payload: [UInt8], at node: Node, from peer: Node) {
        guard node.core != nil else { return }
        guard let batch = try? TransactionBatch(canonicalBytes: payload), !batch.transactions.isEmpty else {
            recoveryLog.append("\(node.name): undecodable transaction gossip from \(peer.name) dropped")
            return
        }
        node.batchesReceived += 1
        let local = node.clock.read(at: time)
        var environment = SimulatedChainEnvironment(simulation: self, node: node)
        ChainEffects.receive(batch, payload: payload, in: &environment, feed: { event in
            node.core?.handle(event, now: local)
        }, from: peer.peer)
        if let sample = node.core?.invariantSample { invariants.check(sample, node: node.index, name: node.name, at: time - configuration.genesisTime) }
    }

    /// A satellite compares a SuperNode's status with its own chain (`AgreementMonitor`, as `SatelliteService`
    /// does); a divergence goes to the recovery log.
    func observe(_ status: ChainStatus, at node: Node, from peer: Node) {
        // The monitor is changed in place and only the LIB read from the core: neither is copied per status.
        guard peer.roles.contains(.superNode), node.monitor != nil, let lib = node.core?.lib else { return }
        node.statusesObserved += 1
        let storage = node.chainStorage
        let found = node.monitor?.observe(peer: peer.name, status: status, ourLib: lib, now: node.clock.read(at: time)) {
            storage.reference(at: $0)?.id
        } ?? nil
        if let found {
            node.divergencesReported += 1
            recoveryLog.append("\(node.name): SuperNode \(peer.name) diverges at height \(found.height)")
        }
    }

    /// Divergences the satellites' monitors reported, over all satellites and their restarts.
    var divergencesReported: UInt64 { nodes.reduce(0) { $0 + $1.divergencesReported } }
}
