import AlzaCore
import AlzaLedger

/// The consensus core's transaction admission and its sync (DESIGN.md §4): the locator it asks with, when a
/// status calls for a sync or for waiting on gossip, the responses it applies, and the requests it serves. Split
/// from `ConsensusCore.swift` to keep each file to one concern; the state it reads is the core's.
extension ConsensusCore {
    // MARK: Transactions

    mutating func admit(_ transaction: SignedTransaction, submitted: Bool, effects: inout [ConsensusEffect]) {
        if mempool.contains(transaction.id) {
            if submitted { effects.append(.transactionAccepted(transaction.id)) }
            return
        }
        switch mempool.admit(transaction, state: head, time: now, verifier: verifier) {
        case .success:
            statistics.transactionsAccepted += 1
            if submitted { effects.append(.transactionAccepted(transaction.id)) }
            effects.append(.broadcast(.transaction(transaction), relay: !submitted))
        case .failure(let error):
            statistics.transactionsRejected += 1
            if submitted { effects.append(.transactionRejected(transaction.id, error)) }
        }
    }

    // MARK: Sync

    /// Head, then exponentially spaced ancestors on the head branch, then the LIB.
    public func locator() -> [BlockReference] {
        var locator = [headReference]
        var step = 1
        var index = appliedBranch.count - 2
        while index >= 0 && locator.count < BlockRequest.maximumLocator - 1 {
            locator.append(BlockReference(appliedBranch[index].block.signedHeader))
            index -= step
            step *= 2
        }
        if locator.last != lib { locator.append(lib) }
        return locator
    }

    /// What this node tells its peers: its head and LIB (on connecting, and at the relay's status cadence).
    public var status: ChainStatus { ChainStatus(head: headReference, lib: lib) }

    /// A peer one block ahead whose head was produced in the current slot most likely has that block on its way
    /// here by gossip: a sync would fetch it twice, so the sync waits for the next tick (`deferredSync`). Found by
    /// the simulator once it ran the node's 2 s status cadence: 196,110 sync requests in a simulated day with no
    /// fault, about one per node every 3.4 slots.
    /// A peer further ahead, or whose head is a slot old, is synced from at once. (Slots are compared, not slot
    /// start times: the peer names the slot, and any `UInt64` must not overflow the arithmetic.)
    func gossipMayStillBring(_ peerHead: BlockReference) -> Bool {
        peerHead.height == headReference.height + 1 && peerHead.slot >= head.slot(at: now)
    }

    mutating func requestSync(from peer: PeerID, effects: inout [ConsensusEffect]) {
        if let inFlight = syncInFlight, now < inFlight.since + configuration.syncTimeoutMilliseconds { return }
        syncInFlight = (peer, now)
        statistics.syncRequests += 1
        effects.append(.send(.blockRequest(BlockRequest(locator: locator(), limit: configuration.syncBatchSize)), to: peer))
        effects.append(.notify(.syncRequested(from: peer, fromHeight: headReference.height)))
    }

    mutating func onResponse(_ response: BlockResponse, from peer: PeerID, effects: inout [ConsensusEffect]) {
        if syncInFlight?.peer == peer { syncInFlight = nil }
        let before = forkDatabase.count
        let headBefore = headReference
        for block in response.blocks { receive(block, from: peer, syncOnGap: false, effects: &effects) }
        if response.more && (forkDatabase.count != before || headReference != headBefore) {
            requestSync(from: peer, effects: &effects)
        }
    }

    /// Finds the newest locator entry on this node's head branch (anything at or below the LIB counts: it is
    /// final on every honest node) and serves the blocks after it.
    func serve(_ request: BlockRequest, to peer: PeerID, effects: inout [ConsensusEffect]) {
        var start: UInt64?
        for reference in request.locator {
            if reference.height <= lib.height {
                start = reference.height
                break
            }
            let offset = Int(reference.height - lib.height) - 1
            if offset < appliedBranch.count, appliedBranch[offset].block.id == reference.id {
                start = reference.height
                break
            }
        }
        guard let start, start < headReference.height else {
            effects.append(.send(.blockResponse(BlockResponse(blocks: [], more: false)), to: peer))
            return
        }
        let limit = UInt64(max(1, min(request.limit, BlockRequest.maximumLimit)))
        let end = min(headReference.height, start + limit)
        let committedEnd = min(lib.height, end)
        let committedHeights: ClosedRange<UInt64>? = start + 1 <= committedEnd ? (start + 1)...committedEnd : nil
        let reversible = appliedBranch.filter { $0.block.height > max(start, lib.height) && $0.block.height <= end }.map(\.block)
        effects.append(.serveBlocks(to: peer, committedHeights: committedHeights, reversible: reversible,
                                    more: end < headReference.height))
    }
}
