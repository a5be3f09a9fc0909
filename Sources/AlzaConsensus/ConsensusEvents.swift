import AlzaCore
import AlzaLedger

/// The keys of a block producer: its account's key (for its own transactions, such as `producer recover`)
/// and the key that signs its blocks.
public struct ProducerIdentity: Sendable {
    public let account: Address
    public let accountKey: SigningKey
    public let signingKey: SigningKey

    public init(account: Address, accountKey: SigningKey, signingKey: SigningKey) {
        self.account = account
        self.accountKey = accountKey
        self.signingKey = signingKey
    }
}

public struct ConsensusConfiguration: Sendable {
    /// Set on a SuperNode: the producer this node is.
    public var producer: ProducerIdentity?
    /// Send `producer recover` automatically after being removed for silence.
    public var autoRecover = true
    /// How far in the future a block's timestamp may be (clock skew between nodes).
    public var maxClockDriftMilliseconds: UInt64 = 500
    /// Blocks asked for per sync request.
    public var syncBatchSize: UInt32 = 256
    /// A sync request unanswered this long may be sent again (to any peer).
    public var syncTimeoutMilliseconds: UInt64 = 5_000
    /// Blocks kept while their parent is missing.
    public var orphanLimit = 512
    public var forkDatabaseCapacity = 100_000
    /// Set by the simulator only: its nodes execute each block once between them (`SharedBlockApplications`).
    public var sharedApplications: SharedBlockApplications?

    public init(producer: ProducerIdentity? = nil) {
        self.producer = producer
    }
}

/// Inputs of `ConsensusCore.handle(_:now:)`; each comes with the local time it happened at.
public enum ConsensusEvent: Sendable {
    /// A timer the core scheduled (`scheduleTick`) is due.
    case tick
    case received(ConsensusMessage, from: PeerID)
    /// A transaction submitted to this node by a client.
    case submitted(SignedTransaction)
    /// A connection to `peer` opened (the core introduces itself).
    case peerConnected(PeerID)
}

/// Outputs of `ConsensusCore.handle`, to be carried out in order.
public enum ConsensusEffect: Sendable {
    /// Gossip to the network. `relay` is true for a message first received from a peer (forwarded after
    /// validation), false for one this node originated.
    case broadcast(ConsensusMessage, relay: Bool)
    /// Point to point.
    case send(ConsensusMessage, to: PeerID)
    /// Answer a block request: the committed blocks in `committedHeights` (from the block log) followed by
    /// `reversible` ones, as one `BlockResponse`.
    case serveBlocks(to: PeerID, committedHeights: ClosedRange<UInt64>?, reversible: [Block], more: Bool)
    /// Persist the double-sign watermark before anything that follows leaves the node.
    case persistWatermark(slot: UInt64)
    /// Append newly irreversible blocks to the block log and journal; `committedState` is the state after the
    /// last of them (for a checkpoint, when one is due). Boxed: a state is large and effects are moved often.
    indirect case commit([CommittedBlock], committedState: LedgerState)
    /// Journal entries for blocks re-executed from the log at start.
    case repairJournal([CommittedBlock])
    /// Call `handle(.tick)` again at this time.
    case scheduleTick(at: UInt64)
    case transactionAccepted(Hash)
    case transactionRejected(Hash, MempoolError)
    case notify(ConsensusNotification)
}

/// What happened, for logs, metrics, transaction status and tests.
public enum ConsensusNotification: Sendable {
    case produced(BlockReference, transactions: Int)
    /// A block became part of the head branch; its transactions are included.
    case applied(BlockReference, transactions: [Hash], delayed: [DelayedExecution])
    /// A block left the head branch (fork switch); its transactions went back to the mempool.
    case reverted(BlockReference, transactions: [Hash])
    case forkSwitched(from: BlockReference, to: BlockReference, depth: Int)
    case irreversible(BlockReference)
    case blockRejected(id: Hash, reason: ConsensusError, from: PeerID?)
    case equivocation(producer: Address, slot: UInt64)
    case transactionsDropped([(Hash, LedgerError)])
    case syncRequested(from: PeerID, fromHeight: UInt64)
    case recoverSubmitted(Hash)
    case replayed(blocks: Int)
    case productionFailed(slot: UInt64, reason: ConsensusError)
}

/// Running counts kept by the core.
public struct ConsensusStatistics: Sendable, Equatable {
    public var blocksProduced: UInt64 = 0
    public var blocksApplied: UInt64 = 0
    public var blocksRejected: UInt64 = 0
    public var forkSwitches: UInt64 = 0
    public var deepestForkSwitch: Int = 0
    public var equivocationsDetected: UInt64 = 0
    public var transactionsAccepted: UInt64 = 0
    public var transactionsRejected: UInt64 = 0
    public var syncRequests: UInt64 = 0
}
