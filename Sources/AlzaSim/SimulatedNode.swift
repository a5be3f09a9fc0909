import AlzaConsensus
import AlzaCore
import AlzaLedger
import AlzaNetCore

extension Simulation {
    /// One simulated node: the roles it hosts (DESIGN.md §1 "Role host", chosen by the same `NodeRoles` a node's
    /// configuration names), its disk, and while up the cores a node process of those roles runs — the chain
    /// follower every process has (`ConsensusCore` with the chain relay `ChainRelayCore`), producing when it hosts
    /// the SuperNode role, the Satellite role's agreement monitor, and the network cores of `SimulatedMesh`.
    /// Memory (cores, relay, monitor) is lost with a crash; the disk is kept.
    public final class Node {
        public let index: Int
        public let name: String
        public let peer: PeerID
        public let roles: NodeRoles
        public let storage = MemoryStorage()
        /// The node key (handshake, instance announcements).
        let key: SigningKey
        /// The producer this node is when it hosts the SuperNode role.
        let identity: ProducerIdentity?
        public internal(set) var core: ConsensusCore?
        var relay: ChainRelayCore
        /// The Satellite role's watch over the SuperNodes it hears from (nil without that role).
        public internal(set) var monitor: AgreementMonitor?
        var chainStorage: ChainStorage
        var generation = 0
        /// Local time, as a due tick's `at`.
        var nextTick: UInt64?
        /// Local time of the relay's pending wake-up.
        var relayWakeAt: UInt64?
        var equivocateAt: UInt64?
        var gossipTickPending = false
        /// When the node's pending connection-manager tick is due (true time), if one is scheduled.
        var connectionTickAt: UInt64?
        /// What the node's clock reads (every input to its core carries this time, never the true one).
        public internal(set) var clock = SimulatedClock()
        /// Blocks this node refused as being from the future (a producer's clock ahead, or its own behind).
        public internal(set) var refusedFromTheFuture: UInt64 = 0
        /// Transaction batches it received and batches it published (its own and relays).
        public internal(set) var batchesReceived: UInt64 = 0
        public internal(set) var batchesPublished: UInt64 = 0
        /// As a satellite, the SuperNode statuses it compared with its chain.
        public internal(set) var statusesObserved: UInt64 = 0
        /// Divergences its monitor reported (counted here: a restart gives the monitor a fresh memory).
        public internal(set) var divergencesReported: UInt64 = 0
        /// The `field` protocol and the field actors this node hosts (with `--payment-fields`; lost with a crash).
        var fields: SimulatedFieldHost?
        var fieldTickPending = false

        /// Nodes `0..<producers` host the SuperNode role with producer `index`'s keys; the others the Satellite
        /// role, with a node key of their own.
        init(index: Int, producers: Int, genesis: Genesis, leadsFields: Bool = false) {
            self.index = index
            if index < producers {
                name = "supernode-\(index)"
                roles = .superNode
                key = SimulationConfiguration.producerKey(index)
                identity = ProducerIdentity(account: Address(key.publicKey), accountKey: key, signingKey: key)
            } else {
                name = "satellite-\(index - producers)"
                roles = leadsFields ? [.satellite, .fieldLeader] : .satellite
                key = SimulationConfiguration.satelliteKey(index - producers)
                identity = nil
            }
            peer = PeerID(name)
            relay = ChainRelayCore(now: 0)
            chainStorage = ChainStorage(storage: storage, genesis: genesis, segmentBytes: 4 << 20)
        }

        public var isOnline: Bool { core != nil }
    }
}
