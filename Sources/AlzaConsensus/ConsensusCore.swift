import AlzaCore
import AlzaLedger

/// The chain of one node as a pure state machine (DESIGN.md §1, §4): it holds the state at its head and at its
/// last irreversible block (LIB), the fork database, the mempool and the double-sign watermark; it takes events
/// (time, messages, submitted transactions) and returns effects (broadcasts, sends, commits, timers). No I/O,
/// no clock, no randomness: the simulator runs 23 of these in one thread, bit for bit reproducibly.
public struct ConsensusCore: Sendable {
    public let configuration: ConsensusConfiguration
    public let verifier: SignatureVerifier

    /// State after the head block.
    public private(set) var head: LedgerState
    public private(set) var headReference: BlockReference
    /// State after the last irreversible block.
    public private(set) var committed: LedgerState
    public private(set) var lib: BlockReference
    public private(set) var forkDatabase: ForkDatabase
    public internal(set) var mempool: Mempool
    public private(set) var watermark: UInt64?
    public internal(set) var statistics = ConsensusStatistics()
    /// Latest time seen, unix milliseconds.
    public private(set) var now: UInt64

    /// Blocks above the LIB on the head branch, oldest first, with the changes they made.
    var appliedBranch: [AppliedBlock] = []
    private var orphans: [Block] = []
    var syncInFlight: (peer: PeerID, since: UInt64)?
    /// A status whose head gossip was most likely bringing: synced from at the next tick if that head is still
    /// missing then, so the wait lasts at most until the next slot whatever gossip does.
    private var deferredSync: (peer: PeerID, head: BlockReference)?
    private var recoverTransaction: Hash?

    struct AppliedBlock: Sendable {
        var block: Block
        var changes: StateChangeSet
    }

    public var parameters: ChainParameters { head.parameters }
    public var chainId: Hash { head.chainId }
    public var currentSlot: UInt64 { head.slot(at: now) }
    public var reversibleBlocks: [Block] { appliedBranch.map(\.block) }

    // MARK: Starting

    /// A core continuing from what storage recovered: the blocks still to replay are re-executed (their journal
    /// entries come back as a `repairJournal` effect).
    public static func start(recovered: RecoveredChain, configuration: ConsensusConfiguration,
                             verifier: SignatureVerifier, watermark: UInt64?, now: UInt64) -> (ConsensusCore, [ConsensusEffect]) {
        var state = recovered.state
        var reference = recovered.stateBlock
        var repaired: [CommittedBlock] = []
        var effects: [ConsensusEffect] = []
        for block in recovered.blocksToReplay {
            do {
                let applied = try BlockProcessor.apply(block, parent: reference, to: &state, verifier: verifier)
                repaired.append(CommittedBlock(block: block, redo: applied.changes.redo))
                reference = BlockReference(block.signedHeader)
            } catch {
                effects.append(.notify(.blockRejected(id: block.id, reason: error, from: nil)))
                break
            }
        }
        if !repaired.isEmpty {
            effects.append(.repairJournal(repaired))
            effects.append(.notify(.replayed(blocks: repaired.count)))
        }
        let core = ConsensusCore(state: state, reference: reference, configuration: configuration, verifier: verifier,
                                 watermark: watermark, now: now)
        effects.append(.scheduleTick(at: max(now, core.head.slotStart(core.head.slot(at: now) + 1))))
        return (core, effects)
    }

    init(state: LedgerState, reference: BlockReference, configuration: ConsensusConfiguration,
         verifier: SignatureVerifier, watermark: UInt64?, now: UInt64) {
        self.configuration = configuration
        self.verifier = verifier
        head = state
        committed = state
        headReference = reference
        lib = reference
        self.watermark = watermark
        self.now = now
        let lastProduced = Dictionary(uniqueKeysWithValues: state.producers.values.map { ($0.account, $0.lastProducedHeight) })
        forkDatabase = ForkDatabase(root: reference, lastProduced: lastProduced, committee: state.chain.round.producers,
                                    capacity: configuration.forkDatabaseCapacity)
        mempool = Mempool(maximumCount: state.parameters.mempoolMaxTransactions,
                          maximumBytes: state.parameters.mempoolMaxBytes)
    }

    // MARK: Events

    /// Handles one event at local time `now` (unix milliseconds, virtual in the simulator). Time never moves back
    /// inside the core: a clock stepped backwards is taken as standing still until it catches up.
    public mutating func handle(_ event: ConsensusEvent, now time: UInt64) -> [ConsensusEffect] {
        now = max(now, time)
        var effects: [ConsensusEffect] = []
        switch event {
        case .tick:
            onTick(&effects)
        case .received(let message, let peer):
            switch message {
            case .block(let block):
                receive(block, from: peer, syncOnGap: true, effects: &effects)
            case .transaction(let transaction):
                admit(transaction, submitted: false, effects: &effects)
            case .blockRequest(let request):
                serve(request, to: peer, effects: &effects)
            case .blockResponse(let response):
                onResponse(response, from: peer, effects: &effects)
            case .status(let status):
                if status.head.height > headReference.height && !forkDatabase.contains(status.head.id) {
                    if gossipMayStillBring(status.head) {
                        deferredSync = (peer, status.head)
                    } else {
                        requestSync(from: peer, effects: &effects)
                    }
                }
            }
        case .submitted(let transaction):
            admit(transaction, submitted: true, effects: &effects)
        case .peerConnected(let peer):
            effects.append(.send(.status(status), to: peer))
        }
        return effects
    }

    private mutating func onTick(_ effects: inout [ConsensusEffect]) {
        let slot = currentSlot
        if let inFlight = syncInFlight, now >= inFlight.since + configuration.syncTimeoutMilliseconds {
            syncInFlight = nil
        }
        if let deferred = deferredSync {
            deferredSync = nil
            if headReference.height < deferred.head.height && !forkDatabase.contains(deferred.head.id) {
                requestSync(from: deferred.peer, effects: &effects)
            }
        }
        let dropped = mempool.prune(state: head, time: now, verifier: verifier)
        if !dropped.isEmpty { effects.append(.notify(.transactionsDropped(dropped))) }
        produceIfScheduled(slot: slot, effects: &effects)
        recoverIfRemoved(effects: &effects)
        effects.append(.scheduleTick(at: head.slotStart(slot + 1)))
    }

    // MARK: Production

    private mutating func produceIfScheduled(slot: UInt64, effects: inout [ConsensusEffect]) {
        guard let producer = configuration.producer, slot >= 1, slot > headReference.slot else { return }
        if let watermark, slot <= watermark { return }
        guard ProducerSchedule.producer(at: slot, after: head) == producer.account,
              head.producers[producer.account]?.status == .active
        else { return }
        let candidates = mempool.candidates(for: head, limit: parameters.maxBlockTransactions)
        let produced: BlockProcessor.Produced
        do {
            produced = try BlockProcessor.produce(on: &head, parent: headReference, slot: slot,
                                                  producerKey: producer.signingKey, producer: producer.account,
                                                  candidates: candidates, verifier: verifier)
        } catch {
            effects.append(.notify(.productionFailed(slot: slot, reason: error)))
            return
        }
        let block = produced.block
        watermark = slot
        effects.append(.persistWatermark(slot: slot))
        effects.append(.broadcast(.block(block), relay: false))
        let (result, _) = forkDatabase.add(block)
        guard case .added = result else { preconditionFailure("own block \(block.id.short) not added: \(result)") }
        forkDatabase.markApplied(block.id, committee: produced.applied.round.producers)
        appliedBranch.append(AppliedBlock(block: block, changes: produced.applied.changes))
        headReference = BlockReference(block.signedHeader)
        statistics.blocksProduced += 1
        statistics.blocksApplied += 1
        for included in block.transactions { mempool.remove(included.id) }
        for rejected in produced.applied.execution.rejected {
            // A queued transaction whose predecessor failed keeps its place; everything else is dropped.
            if case .badNonce(_, let expected, let actual) = rejected.error, actual > expected { continue }
            mempool.remove(rejected.transaction.id)
        }
        effects.append(.notify(.produced(headReference, transactions: block.transactions.count)))
        effects.append(.notify(.applied(headReference, transactions: block.transactions.map(\.id),
                                        delayed: produced.applied.execution.delayed)))
        advanceIrreversibility(effects: &effects)
    }

    /// Sends `producer recover` once this node's producer was removed for silence.
    private mutating func recoverIfRemoved(effects: inout [ConsensusEffect]) {
        guard configuration.autoRecover, let producer = configuration.producer,
              head.producers[producer.account]?.status == .inactive
        else {
            recoverTransaction = nil
            return
        }
        if let pending = recoverTransaction, mempool.contains(pending) { return }
        let header = TransactionHeader(chainId: chainId, expiration: now + 600_000,
                                       nonce: head.nextNonce(of: producer.account), fee: parameters.minimumFee)
        let message = Message(.producerRecover, authorizer: producer.account)
        let transaction = SignedTransaction.sign(Transaction(header: header, messages: [message]),
                                                 with: [producer.accountKey])
        if case .success = mempool.admit(transaction, state: head, time: now, verifier: verifier) {
            recoverTransaction = transaction.id
            effects.append(.broadcast(.transaction(transaction), relay: false))
            effects.append(.notify(.recoverSubmitted(transaction.id)))
        }
    }

    // MARK: Blocks

    mutating func receive(_ block: Block, from peer: PeerID?, syncOnGap: Bool, effects: inout [ConsensusEffect]) {
        let id = block.id
        guard !forkDatabase.contains(id), block.height > lib.height, !orphans.contains(where: { $0.id == id }) else { return }
        let latest = now + configuration.maxClockDriftMilliseconds
        guard block.header.timestamp <= latest else {
            reject(id, .fromTheFuture(slot: block.slot, currentSlot: currentSlot), from: peer, effects: &effects)
            return
        }
        guard let parent = forkDatabase.entry(block.header.previous) else {
            orphans.append(block)
            if orphans.count > configuration.orphanLimit { orphans.removeFirst(orphans.count - configuration.orphanLimit) }
            if syncOnGap, let peer { requestSync(from: peer, effects: &effects) }
            return
        }
        if let error = precheck(block, parent: parent.reference) {
            reject(id, error, from: peer, effects: &effects)
            return
        }
        let (result, equivocating) = forkDatabase.add(block)
        guard case .added = result else { return }
        if let equivocating { reportEquivocation(equivocating.signedHeader, block.signedHeader, effects: &effects) }
        selectHead(effects: &effects)
        if forkDatabase.entry(id)?.applied == true, isOnHeadBranch(id) {
            effects.append(.broadcast(.block(block), relay: true))
        }
        let children = orphans.filter { $0.header.previous == id }
        if !children.isEmpty {
            orphans.removeAll { $0.header.previous == id }
            for child in children { receive(child, from: peer, syncOnGap: false, effects: &effects) }
        }
    }

    /// Checks that need no state of the block's branch: linkage, and the producer's signature under its
    /// registered key (so garbage never enters the fork database). The schedule is checked when applied.
    private func precheck(_ block: Block, parent: BlockReference) -> ConsensusError? {
        let header = block.header
        guard header.height == parent.height + 1 else { return .wrongHeight(expected: parent.height + 1, actual: header.height) }
        guard header.slot > parent.slot else { return .slotNotAfterParent(parentSlot: parent.slot, slot: header.slot) }
        guard let producer = head.producers[header.producer] ?? committed.producers[header.producer] else {
            return .unknownProducer(header.producer)
        }
        guard verifier.isValid(block.signedHeader, signedBy: producer.signingKey, chainId: chainId) else {
            return .badBlockSignature(producer: header.producer)
        }
        return nil
    }

    private mutating func reject(_ id: Hash, _ error: ConsensusError, from peer: PeerID?, effects: inout [ConsensusEffect]) {
        statistics.blocksRejected += 1
        effects.append(.notify(.blockRejected(id: id, reason: error, from: peer)))
    }

    private func isOnHeadBranch(_ id: Hash) -> Bool {
        id == headReference.id || appliedBranch.contains { $0.block.id == id }
    }

    /// Follows the fork choice: reverts to the common ancestor and applies the best branch; a block that fails
    /// validation is removed with everything built on it, the previous head is restored, and the choice is
    /// made again.
    private mutating func selectHead(effects: inout [ConsensusEffect]) {
        let startHead = headReference
        for _ in 0..<64 {
            let best = forkDatabase.best()
            guard best.reference.id != headReference.id else { break }
            let oldHead = headReference
            let ancestor = forkDatabase.commonAncestor(oldHead.id, best.reference.id)
            var reverted: [AppliedBlock] = []
            while let last = appliedBranch.last, last.block.id != ancestor {
                head.apply(last.changes.undo)
                reverted.append(appliedBranch.removeLast())
            }
            headReference = appliedBranch.last.map { BlockReference($0.block.signedHeader) } ?? lib
            var failed = false
            var newlyApplied: [(BlockReference, [Hash], [DelayedExecution])] = []
            for entry in forkDatabase.path(from: ancestor, to: best.reference.id) {
                guard let block = entry.block else { continue }
                do {
                    let applied = try applyOnHead(block)
                    appliedBranch.append(AppliedBlock(block: block, changes: applied.changes))
                    headReference = entry.reference
                    forkDatabase.markApplied(block.id, committee: applied.round.producers)
                    statistics.blocksApplied += 1
                    newlyApplied.append((entry.reference, block.transactions.map(\.id), applied.execution.delayed))
                } catch {
                    reject(block.id, error, from: nil, effects: &effects)
                    forkDatabase.removeSubtree(block.id)
                    failed = true
                    break
                }
            }
            if failed {
                while let last = appliedBranch.last, last.block.id != ancestor {
                    head.apply(last.changes.undo)
                    appliedBranch.removeLast()
                }
                for record in reverted.reversed() {
                    head.apply(record.changes.redo)
                    appliedBranch.append(record)
                }
                headReference = oldHead
                continue
            }
            for record in reverted {
                for transaction in record.block.transactions where !transaction.messages.contains(where: { $0.code == .coinbase }) {
                    // Back to the pool, and out to the peers again: nodes that were on the other branch (the far
                    // side of a healed partition) never saw it, and only a producer holding it can include it.
                    if case .success = mempool.insert(transaction) {
                        effects.append(.broadcast(.transaction(transaction), relay: false))
                    }
                }
                effects.append(.notify(.reverted(BlockReference(record.block.signedHeader),
                                                 transactions: record.block.transactions.map(\.id))))
            }
            for (reference, transactions, delayed) in newlyApplied {
                for id in transactions { mempool.remove(id) }
                effects.append(.notify(.applied(reference, transactions: transactions, delayed: delayed)))
            }
            if !reverted.isEmpty {
                statistics.forkSwitches += 1
                statistics.deepestForkSwitch = max(statistics.deepestForkSwitch, reverted.count)
                effects.append(.notify(.forkSwitched(from: oldHead, to: headReference, depth: reverted.count)))
            }
        }
        if headReference != startHead {
            let dropped = mempool.prune(state: head, time: now, verifier: verifier)
            if !dropped.isEmpty { effects.append(.notify(.transactionsDropped(dropped))) }
            advanceIrreversibility(effects: &effects)
        }
    }

    /// `BlockProcessor.apply` of `block` on the head state, or the same application made by another core of this
    /// process on a state with the same root (`SharedBlockApplications`, the simulator's).
    private mutating func applyOnHead(_ block: Block) throws(ConsensusError) -> BlockProcessor.Applied {
        guard let shared = configuration.sharedApplications else {
            return try BlockProcessor.apply(block, parent: headReference, to: &head, verifier: verifier)
        }
        let parentRoot = head.root()
        if let entry = shared.entry(for: block.id, parentRoot: parentRoot) {
            head = entry.state
            return entry.applied
        }
        let applied = try BlockProcessor.apply(block, parent: headReference, to: &head, verifier: verifier)
        shared.store(.init(state: head, applied: applied), for: block.id, parentRoot: parentRoot)
        return applied
    }

    /// Commits head-branch blocks at or below the head's irreversible height.
    private mutating func advanceIrreversibility(effects: inout [ConsensusEffect]) {
        guard let entry = forkDatabase.entry(headReference.id), entry.irreversibleHeight > lib.height else { return }
        var committedBlocks: [CommittedBlock] = []
        var count = 0
        for record in appliedBranch where record.block.height <= entry.irreversibleHeight {
            if let shared = configuration.sharedApplications,
               let applied = shared.entry(for: record.block.id, parentRoot: committed.root()) {
                committed = applied.state
            } else {
                committed.apply(record.changes.redo)
            }
            committedBlocks.append(CommittedBlock(block: record.block, redo: record.changes.redo))
            lib = BlockReference(record.block.signedHeader)
            count += 1
        }
        guard count > 0 else { return }
        appliedBranch.removeFirst(count)
        forkDatabase.advanceRoot(to: lib.id)
        effects.append(.commit(committedBlocks, committedState: committed))
        effects.append(.notify(.irreversible(lib)))
    }

    private mutating func reportEquivocation(_ a: SignedBlockHeader, _ b: SignedBlockHeader, effects: inout [ConsensusEffect]) {
        statistics.equivocationsDetected += 1
        effects.append(.notify(.equivocation(producer: a.header.producer, slot: a.header.slot)))
        let evidence = ConsensusCore.evidenceTransaction(a, b, chainId: chainId)
        if case .success = mempool.admit(evidence, state: head, time: now, verifier: verifier) {
            effects.append(.broadcast(.transaction(evidence), relay: false))
        }
    }

    /// The evidence transaction for two headers, identical whichever node builds it (headers in id order).
    public static func evidenceTransaction(_ a: SignedBlockHeader, _ b: SignedBlockHeader, chainId: Hash) -> SignedTransaction {
        let (first, second) = a.id < b.id ? (a, b) : (b, a)
        let message = Message(.equivocationEvidence(first: first, second: second), authorizer: nil)
        let header = TransactionHeader(chainId: chainId, expiration: 0, nonce: 0, fee: 0)
        return SignedTransaction(transaction: Transaction(header: header, messages: [message]), signatures: [])
    }
}
