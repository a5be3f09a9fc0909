import AlzaConsensus
import AlzaCore
import AlzaLedger

extension Simulation {
    /// What the run did, from every node's state at its end (the reference: the online node with the highest head).
    public func report(wallSeconds: Double) -> SimulationReport {
        let online = nodes.filter { $0.core != nil }
        let reference = online.max { ($0.core!.headReference.height, $1.index) < ($1.core!.headReference.height, $0.index) }
        let slots = lastSlot
        let blocks = reference?.core?.headReference.height ?? 0
        var heads: [SimulationReport.NodeHead] = []
        var libs: [SimulationReport.NodeHead] = []
        var roots: [String: String] = [:]
        var forkSwitches: UInt64 = 0
        var syncRequests: UInt64 = 0
        for node in nodes {
            guard let core = node.core else {
                heads.append(.init(node: node.name, online: false, height: node.chainStorage.height, id: ""))
                libs.append(.init(node: node.name, online: false, height: node.chainStorage.height, id: ""))
                continue
            }
            heads.append(.init(node: node.name, online: true, height: core.headReference.height, id: core.headReference.id.hex))
            libs.append(.init(node: node.name, online: true, height: core.lib.height, id: core.lib.id.hex))
            var state = core.head
            roots[node.name] = state.root().hex
            invariants.checkHoldings(state, name: node.name, at: time - configuration.genesisTime)
            forkSwitches += core.statistics.forkSwitches
            syncRequests += core.statistics.syncRequests
        }
        let referenceState = reference?.core?.head
        var removed: [SimulationReport.RemovedProducer] = []
        if let state = referenceState {
            for node in nodes {
                if let account = node.identity?.account, let producer = state.producers[account], producer.status != .active {
                    removed.append(.init(node: node.index, account: account.description,
                                         status: producer.status.description))
                }
            }
        }
        let reversibleTransfers = reference?.core?.reversibleBlocks.reduce(UInt64(0)) { $0 + Self.transferCount($1) } ?? 0
        let referenceLib = reference?.core?.lib.height ?? 0
        let finalTransfers = finalizedTransfers.filter { $0.key <= referenceLib }.values.reduce(0, +)
        let agreed = !online.isEmpty && Set(online.map { $0.core!.headReference.id }).count == 1
            && Set(roots.values).count == 1 && Set(online.map { $0.core!.lib.id }).count == 1
        let paymentFields = paymentFieldActivity(reference: referenceState)
        let fields = referenceState.map { Array($0.fields.values) } ?? []
        let settled = fields.filter { $0.isClosed || $0.status.name == "annulled" }
        return SimulationReport(
            seed: configuration.seed, producers: configuration.producers, satellites: configuration.satellites, slots: slots, blocks: blocks,
            missedSlots: slots - min(slots, blocks), forkSwitches: forkSwitches, maxLibLagSlots: maxLibLag,
            heads: heads, libs: libs, finalizedReverted: invariants.finalizedConflicts,
            equivocationsDetected: UInt64(referenceState?.evidence.count ?? 0), removedProducers: removed,
            rewardsPaid: referenceState?.chain.totalRewardsPaid ?? 0, totalSupply: referenceState?.chain.totalSupply ?? 0,
            transfersSubmitted: transfersSubmitted, transfersApplied: finalTransfers + reversibleTransfers,
            fieldsStarted: fieldsStarted,
            fieldsClosed: UInt64(fields.filter(\.isClosed).count),
            fieldsAnnulled: UInt64(fields.filter { $0.status.name == "annulled" }.count),
            fieldsForfeited: UInt64(fields.filter(\.leaderForfeited).count),
            fieldsToppedUp: UInt64(settled.filter { $0.flows[0].deposited > 0 }.count),
            fieldsWithdrawn: UInt64(settled.filter { $0.flows[1].withdrawn > 0 }.count),
            stateRoots: roots, agreed: agreed, messagesDelivered: delivered, messagesLost: lost,
            syncRequests: syncRequests, transactionBatches: nodes.reduce(0) { $0 + $1.batchesPublished },
            statusesObserved: nodes.reduce(0) { $0 + $1.statusesObserved }, divergencesReported: divergencesReported,
            restarts: restarts, paymentFields: paymentFields, recoveryLog: recoveryLog,
            violations: invariants.violations, wallSeconds: wallSeconds)
    }
}
