import AlzaConsensus
import AlzaCore
import AlzaLedger
import AlzaNetCore
import Foundation

/// A whole network of consensus cores in one thread, in virtual time (DESIGN.md §1): every node has its own
/// simulated disk and recovers from it after a crash; nodes connect through the handshake core and gossip blocks
/// and transactions through the gossip core of a real node (`SimulatedMesh`); frames and messages cross a
/// simulated network with latency, loss and partitions; faults come from the configuration; all randomness
/// comes from the seed. Same seed, same run.
public final class Simulation {
    public let configuration: SimulationConfiguration
    public let genesis: Genesis
    /// Shared by every core: it memoizes a pure function (signature validity), so sharing changes no outcome.
    public let verifier = SignatureVerifier(capacity: 1_000_000)
    /// Shared the same way: each block executes once, not once per node (the parent state's root is checked).
    public let sharedApplications = SharedBlockApplications()

    var random: DeterministicRandom
    var queue = EventQueue<Event>()
    public private(set) var nodes: [Node] = []
    public private(set) var time: UInt64
    var network: SimulatedNetwork
    var mesh: SimulatedMesh
    private let endTime: UInt64

    // Observations.
    var invariants: InvariantMonitor
    /// Transfers in each finalized block, by height (the same on every node, finality being safe).
    var finalizedTransfers: [UInt64: UInt64] = [:]
    var maxLibLag: UInt64 = 0
    var transfersSubmitted: UInt64 = 0
    var fieldsStarted: UInt64 = 0
    var delivered: UInt64 = 0
    var lost: UInt64 = 0
    var restarts: UInt64 = 0
    var recoveryLog: [String] = []
    /// The off-chain payment fields (`--payment-fields`), what their actors did, and each node by its key (the
    /// instance directory names hosts by key).
    let paymentFieldPlans: [PaymentField]
    var fieldCounters = PaymentFieldActivity()
    let paymentFieldWindowSeconds: UInt32
    /// The snapshot number each field's stale solo close posted.
    var staleSnapshotsPosted: [FieldId: UInt64] = [:]
    let nodeIndex: [PublicKey: Int]

    /// What happens at a point of virtual time. The queue keeps events in slots and moves only keys; the cases
    /// that carry a whole message or transaction are boxed, so the frequent ones (frames, ticks) stay small.
    enum Event {
        /// `at`: the local time the core asked for; a tick superseded by another request is stale (ignored).
        case tick(node: Int, generation: Int, at: UInt64)
        indirect case deliver(node: Int, generation: Int, message: ConsensusMessage, from: Int)
        case frame(node: Int, generation: Int, frame: Frame, from: Int)
        case gossipTick(node: Int, generation: Int)
        case connectionTick(node: Int, generation: Int)
        case relayTick(node: Int, generation: Int, at: UInt64)
        case fieldTick(node: Int, generation: Int)
        indirect case submit(node: Int, transaction: SignedTransaction)
        case crash(node: Int)
        case restart(node: Int)
        case setPartition([Set<Int>])
        case setLoss(Double)
        case damageLog(node: Int, bytes: Int, corrupt: Bool)
        case setClock(node: Int, SimulatedClock)
        case slotStart(UInt64)
    }

    public init(configuration: SimulationConfiguration) throws {
        self.configuration = configuration
        genesis = try Genesis(configuration.genesisFile())
        random = DeterministicRandom(seed: configuration.seed)
        network = configuration.network
        time = configuration.genesisTime
        endTime = configuration.genesisTime + configuration.durationMilliseconds + configuration.slotMilliseconds / 2
        invariants = InvariantMonitor(genesisSupply: try genesis.initialState().chain.totalSupply)
        let genesis = self.genesis
        paymentFieldPlans = Self.planPaymentFields(configuration)
        paymentFieldWindowSeconds = Self.paymentFieldWindowSeconds(configuration)
        fieldCounters.fields = paymentFieldPlans.count
        let leaders = Set(paymentFieldPlans.map(\.leaderNode))
        let made = (0..<configuration.producers + configuration.satellites).map {
            Node(index: $0, producers: configuration.producers, genesis: genesis, leadsFields: leaders.contains($0))
        }
        mesh = SimulatedMesh(names: made.map(\.name), roles: made.map(\.roles), chainId: genesis.chainId)
        nodes = made
        nodeIndex = Dictionary(uniqueKeysWithValues: made.map { ($0.key.publicKey, $0.index) })
        for node in nodes { try start(node) }
        scheduleFaults()
        queue.schedule(.slotStart(1), at: slotStart(1))
    }

    private func slotStart(_ slot: UInt64) -> UInt64 { configuration.genesisTime + slot * configuration.slotMilliseconds }

    /// The last slot of the run.
    public var lastSlot: UInt64 { configuration.durationMilliseconds / configuration.slotMilliseconds }

    private func scheduleFaults() {
        let start = configuration.genesisTime
        for fault in configuration.faults {
            switch fault {
            case .offline(let node, let from, let to):
                queue.schedule(.crash(node: node), at: start + from)
                queue.schedule(.restart(node: node), at: start + to)
            case .partition(let sizes, let from, let to):
                var groups: [Set<Int>] = []
                var next = 0
                for size in sizes {
                    groups.append(Set(next..<min(configuration.producers, next + size)))
                    next += size
                }
                // Satellites join the groups in turn (a partition of SuperNodes splits their watchers too).
                for satellite in 0..<configuration.satellites where !groups.isEmpty {
                    groups[satellite % groups.count].insert(configuration.producers + satellite)
                }
                queue.schedule(.setPartition(groups), at: start + from)
                queue.schedule(.setPartition([]), at: start + to)
            case .equivocate(let node, let at):
                nodes[node].equivocateAt = start + at
                invariants.byzantine.insert(node)
            case .truncateBlockLog(let node, let at, let bytes):
                queue.schedule(.damageLog(node: node, bytes: bytes, corrupt: false), at: start + at)
            case .corruptBlockLog(let node, let at, let fromEnd):
                queue.schedule(.damageLog(node: node, bytes: fromEnd, corrupt: true), at: start + at)
            case .loss(let probability, let from, let to):
                queue.schedule(.setLoss(probability), at: start + from)
                queue.schedule(.setLoss(configuration.network.loss), at: start + to)
            case .clockSkew(let node, let offset, let drift, let from, let to):
                queue.schedule(.setClock(node: node, SimulatedClock(offset: offset, driftPartsPerMillion: drift, since: start + from)),
                               at: start + from)
                queue.schedule(.setClock(node: node, SimulatedClock()), at: start + to)
            }
        }
    }

    // MARK: Running

    /// Runs to the end and reports.
    public func run() -> SimulationReport {
        let wallStart = Date()
        run(until: endTime)
        return report(wallSeconds: Date().timeIntervalSince(wallStart))
    }

    /// Processes events up to virtual time `limit` (for tests that inspect the network mid-run).
    public func run(until limit: UInt64) {
        while let next = queue.nextTime, next <= limit, let (eventTime, event) = queue.pop() {
            time = eventTime
            dispatch(event)
        }
        time = max(time, limit)
    }

    private func dispatch(_ event: Event) {
        switch event {
        case .tick(let index, let generation, let at):
            let node = nodes[index]
            guard node.generation == generation, node.core != nil, node.nextTick == at else { return }
            node.nextTick = nil
            if let at = node.equivocateAt, time >= at, isScheduled(node) {
                node.equivocateAt = nil
                equivocate(node)
            } else {
                feed(node, .tick)
            }
        case .deliver(let index, let generation, let message, let from):
            let node = nodes[index]
            guard node.generation == generation, node.core != nil else { return }
            delivered += 1
            if case .status(let status) = message { observe(status, at: node, from: nodes[from]) }
            feed(node, .received(message, from: nodes[from].peer))
        case .frame(let index, let generation, let frame, let from):
            let node = nodes[index]
            guard node.generation == generation, node.core != nil else { return }
            // A node's message to an actor on itself never touches the network.
            if from == index { return receiveAddressed(frame, at: node, from: node) }
            route(mesh.receive(frame, at: index, from: from, now: node.clock.read(at: time)), from: node)
        case .gossipTick(let index, let generation):
            let node = nodes[index]
            guard node.generation == generation, node.core != nil else { return }
            node.gossipTickPending = false
            route(mesh.tick(index, now: node.clock.read(at: time)), from: node)
        case .connectionTick(let index, let generation):
            let node = nodes[index]
            // A tick superseded by an earlier one is stale.
            guard node.generation == generation, node.core != nil, node.connectionTickAt == time else { return }
            node.connectionTickAt = nil
            route(mesh.connectionTick(index, now: node.clock.read(at: time)), from: node)
            armConnectionTick(node)
        case .relayTick(let index, let generation, let at):
            let node = nodes[index]
            guard node.generation == generation, node.core != nil, node.relayWakeAt == at else { return }
            node.relayWakeAt = nil
            performRelay(node.relay.tick(now: node.clock.read(at: time)), for: node)
        case .fieldTick(let index, let generation):
            let node = nodes[index]
            guard node.generation == generation, node.core != nil else { return }
            fieldTick(node)
        case .submit(let index, let transaction):
            guard nodes[index].core != nil else { return }
            feed(nodes[index], .submitted(transaction))
        case .crash(let index):
            crash(nodes[index])
        case .restart(let index):
            let node = nodes[index]
            guard node.core == nil else { return }
            restarts += 1
            do { try start(node) } catch { recoveryLog.append("\(node.name): restart failed: \(error)") }
        case .setPartition(let groups):
            network.partition = groups
        case .setLoss(let probability):
            network.loss = probability
        case .setClock(let index, let clock):
            // The node's pending tick was placed by the old clock: tick now, and the core schedules anew.
            let node = nodes[index]
            node.clock = clock
            guard node.core != nil else { return }
            let local = clock.read(at: time)
            node.nextTick = local
            queue.schedule(.tick(node: index, generation: node.generation, at: local), at: time)
        case .damageLog(let index, let bytes, let corrupt):
            let node = nodes[index]
            guard node.core == nil,
                  let segment = ((try? node.storage.list()) ?? []).filter({ $0.hasPrefix("blocks-") }).max(),
                  let size = try? node.storage.size(segment), size > 0
            else { return }
            if corrupt {
                node.storage.corrupt(segment, at: max(0, size - bytes))
            } else {
                node.storage.chop(segment, bytes: bytes)
            }
        case .slotStart(let slot):
            onSlot(slot)
            if slot < lastSlot { queue.schedule(.slotStart(slot + 1), at: slotStart(slot + 1)) }
        }
    }

    private func start(_ node: Node) throws {
        node.chainStorage = ChainStorage(storage: node.storage, genesis: genesis, segmentBytes: 4 << 20)
        let recovered = try node.chainStorage.open()
        recoveryLog += recovered.log.map { "\(node.name): \($0)" }
        let watermark = try node.chainStorage.readWatermark()
        var configuration = ConsensusConfiguration(producer: node.identity)
        configuration.syncTimeoutMilliseconds = 2 * self.configuration.slotMilliseconds
        configuration.sharedApplications = sharedApplications
        let local = node.clock.read(at: time)
        let (core, effects) = ConsensusCore.start(recovered: recovered, configuration: configuration, verifier: verifier,
                                                  watermark: watermark, now: local)
        node.core = core
        node.generation += 1
        node.nextTick = nil
        node.relayWakeAt = nil
        node.relay = ChainRelayCore(configuration: self.configuration.relay, now: local)
        node.monitor = node.roles.contains(.satellite) ? AgreementMonitor() : nil
        invariants.restarted(node.index)
        mesh.start(node.index, key: node.key, seed: random.next(), now: local)
        node.fieldTickPending = false
        if !paymentFieldPlans.isEmpty {
            // The field journal as the node left it; the actors come back from it when the workload or a message
            // needs them.
            node.fields = try SimulatedFieldHost(storage: node.storage, chainId: genesis.chainId)
            if let repair = node.fields?.repair { recoveryLog.append("\(node.name): \(repair)") }
        }
        perform(effects, for: node)
        performRelay([.wakeAt(node.relay.nextWake)], for: node)
        node.gossipTickPending = false
        node.connectionTickAt = nil
        armConnectionTick(node)
    }

    private func crash(_ node: Node) {
        stop(node)
        node.storage.crash(random: &random)
    }

    /// A write the chain depends on failed (`ChainEnvironment.halt`): the node stops following and producing, as
    /// a node does; the simulator takes it off the network, its disk as it is.
    func halt(_ node: Node, _ reason: String) {
        recoveryLog.append("\(node.name): halted: \(reason)")
        stop(node)
    }

    /// The node's core and connections go; its peers see the connections close.
    private func stop(_ node: Node) {
        guard node.core != nil else { return }
        node.core = nil
        node.generation += 1
        node.nextTick = nil
        node.relayWakeAt = nil
        node.connectionTickAt = nil
        node.fields = nil
        let peers = nodes.filter { $0.core != nil && mesh.isConnected(node.index, $0.index) }
        mesh.crash(node.index) { self.nodes[$0].clock.read(at: self.time) }
        for peer in peers {
            armGossipTick(peer)
            armConnectionTick(peer)
            fieldPeerGone(node, at: peer)
        }
    }

    func feed(_ node: Node, _ event: ConsensusEvent) {
        // Mutated in place through the node: the core is neither copied nor its buffers shared.
        guard let effects = node.core?.handle(event, now: node.clock.read(at: time)) else { return }
        perform(effects, for: node)
        if let sample = node.core?.invariantSample { invariants.check(sample, node: node.index, name: node.name, at: time - configuration.genesisTime) }
    }

    /// Every invariant broken so far (checked after every event every node handles).
    public var violations: [InvariantViolation] { invariants.violations }

    // MARK: Effects

    /// Carries out a node's consensus effects through the interpreter a node uses (`ChainEffects.perform`), with
    /// the simulated world behind `ChainEnvironment` (`SimulatedChainEnvironment`).
    func perform(_ effects: [ConsensusEffect], for node: Node) {
        var environment = SimulatedChainEnvironment(simulation: self, node: node)
        ChainEffects.perform(effects, in: &environment)
    }

    static func transferCount(_ block: Block) -> UInt64 {
        UInt64(block.transactions.reduce(0) { $0 + $1.messages.filter { $0.code == .transfer }.count })
    }

    // MARK: Workload and sampling

    private func onSlot(_ slot: UInt64) {
        for node in nodes {
            guard let core = node.core else { continue }
            maxLibLag = max(maxLibLag, core.headReference.slot - min(core.headReference.slot, core.lib.slot))
        }
        submitFieldWorkload(slot: slot)
        runPaymentFields(slot: slot)
        guard configuration.transfersPerSlot > 0 else { return }
        let users = configuration.userAccounts
        for count in 0..<configuration.transfersPerSlot {
            let senderIndex = Int((slot * UInt64(configuration.transfersPerSlot) + UInt64(count)) % UInt64(users))
            var receiverIndex = Int(random.uniform(0...UInt64(users - 1)))
            if receiverIndex == senderIndex { receiverIndex = (receiverIndex + 1) % users }
            guard let nodeIndex = entryNode(forUser: senderIndex), let core = nodes[nodeIndex].core else { return }
            let sender = SimulationConfiguration.userKey(senderIndex)
            let senderAddress = Address(sender.publicKey)
            let receiver = Address(SimulationConfiguration.userKey(receiverIndex).publicKey)
            let amount = random.uniform(1...1_000) * 1_000
            let header = TransactionHeader(chainId: genesis.chainId, expiration: time + 600_000,
                                           nonce: core.mempool.nextNonce(for: senderAddress, state: core.head),
                                           fee: genesis.parameters.minimumFee)
            let message = Message(.transfer(inputs: [AmountEntry(senderAddress, amount)],
                                            outputs: [AmountEntry(receiver, amount)], memo: []), authorizer: senderAddress)
            let transaction = SignedTransaction.sign(Transaction(header: header, messages: [message]), with: [sender])
            transfersSubmitted += 1
            queue.schedule(.submit(node: nodeIndex, transaction: transaction), at: time + 200)
        }
    }

    /// The node user `user` talks to (its wallet's node: a satellite when the network has them, as users reach
    /// the chain through satellites), the next online one if that is down; nil if all are.
    func entryNode(forUser user: Int) -> Int? {
        let first = configuration.satellites > 0 ? configuration.producers : 0
        let start = first + user % (nodes.count - first)
        // Past the last node the search wraps to the SuperNodes: with every satellite down a user still gets in.
        return (0..<nodes.count).lazy.map { (start + $0) % self.nodes.count }.first { self.nodes[$0].core != nil }
    }
}
