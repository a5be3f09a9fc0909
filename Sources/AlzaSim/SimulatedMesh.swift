import AlzaConsensus
import AlzaCore
import AlzaNetCore

/// The network layer of a simulated node: the `ConnectionManager` (with its `PeerTable`), `HandshakeCore` and
/// `GossipCore` a real node runs (AlzaNetCore), fed real frames in virtual time. Every node knows the others'
/// addresses (their names) as seeds; its manager decides when to dial, backs off from a peer that is down or cut
/// off, and keeps one connection per peer; the simulator wakes it at its `wakeAt`. Blocks and transactions travel as gossip — pushed to a mesh of D = 6, announced
/// to the rest with `ihave`, fetched with `iwant`, relayed by each node only after its consensus core accepted
/// them — so loss and partitions hit the simulation where they hit a network. Direct messages (statuses, sync)
/// stay point to point, as on the transport.
///
/// A block's gossip payload here is a handle (8 bytes) to the block it stands for, kept in `messages`: the gossip
/// core sees real frames, ids and caches, but a simulated node does not re-decode a block it shares with 22
/// others in one process. Transaction batches travel as their real bytes and are decoded by each receiver.
final class SimulatedMesh {
    /// What a node's gossip asks of the simulator.
    enum Output {
        case send(Frame, to: Int)
        case deliver(ConsensusMessage, from: Int)
        /// A transaction batch's bytes, as gossiped (`TransactionBatch`).
        case deliverTransactions([UInt8], from: Int)
        /// The node's manager dials the node `Int`.
        case dial(Int)
        /// A connection to the node `Int` is established (the consensus core is introduced to the peer).
        case connected(Int)
        /// The instance announcement the peer's hello carried (DESIGN.md §1: hosted actors), for the directory.
        case learned(InstanceAnnouncement, from: Int)
        /// An instance announcement gossiped on `GossipTopic.instances` (its bytes; the receiver validates it).
        case deliverAnnouncement([UInt8], from: Int)
        /// A direct, request or response frame: for the node's protocols, not for the mesh.
        case addressed(Frame, from: Int)
    }

    private let names: [String]
    /// The roles each node announces in its hello.
    private let roles: [NodeRoles]
    private let indices: [String: Int]
    private var cores: [GossipCore?]
    private var managers: [ConnectionManager?]
    private var links: [Set<Int>]
    /// Each node's signed list of the actor instances it hosts, as its hello carries it.
    private var announcements: [InstanceAnnouncement?]
    private var messages: [UInt64: ConsensusMessage] = [:]
    private var messageOrder: [(expiry: UInt64, handle: UInt64)] = []
    private var messageOrderStart = 0
    private var nextHandle: UInt64 = 1
    private let chainId: Hash
    /// Handshakes run and refused (a refused one leaves the pair unconnected).
    private(set) var handshakes: UInt64 = 0
    private(set) var handshakeFailures: [String] = []
    /// Frames that did not decode (counted; a simulated node never sends one, so any is a bug).
    private(set) var malformedFrames: UInt64 = 0

    /// A real node's gossip, announcing each message to 6 peers outside the mesh instead of all (D29): a third of
    /// the frames of a simulated day, and a mesh push still reaches every node.
    /// A real node's connection manager without keepalive: a simulated link reports its close exactly, where a
    /// socket needs a failed write to notice a vanished peer.
    static let connectionConfiguration: ConnectionManager.Configuration = {
        var configuration = ConnectionManager.Configuration()
        configuration.keepaliveMilliseconds = nil
        return configuration
    }()

    static let gossipConfiguration: GossipCore.Configuration = {
        var configuration = GossipCore.Configuration()
        configuration.lazyDegree = 6
        return configuration
    }()

    init(names: [String], roles: [NodeRoles], chainId: Hash) {
        precondition(names.count == roles.count, "one role set per node")
        self.names = names
        self.roles = roles
        indices = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        cores = Array(repeating: nil, count: names.count)
        managers = Array(repeating: nil, count: names.count)
        links = Array(repeating: [], count: names.count)
        announcements = Array(repeating: nil, count: names.count)
        self.chainId = chainId
    }

    /// What the node's hellos say it hosts from now on (a node announces a changed list by gossip as well).
    func setAnnouncement(_ announcement: InstanceAnnouncement, of node: Int) { announcements[node] = announcement }
    func announcement(of node: Int) -> InstanceAnnouncement? { announcements[node] }

    func isConnected(_ a: Int, _ b: Int) -> Bool { links[a].contains(b) }

    /// The nodes `node` is connected to, in index order.
    func peers(of node: Int) -> [Int] { links[node].sorted() }

    /// A node (re)starts with a fresh gossip core and connection manager (memory, lost with a crash); its peer
    /// table holds every other node.
    func start(_ node: Int, key: SigningKey, seed: UInt64, now: UInt64) {
        // A restarted node's first announcement is newer than any it made before (its clock orders them, as a node's).
        announcements[node] = .signed(by: key, chainId: chainId, sequence: now, instances: [])
        cores[node] = GossipCore(configuration: Self.gossipConfiguration, seed: seed)
        let table = PeerTable(seeds: names.filter { $0 != names[node] }, ownAddress: names[node], seed: seed &+ 1)
        var manager = ConnectionManager(configuration: Self.connectionConfiguration, localKey: key.publicKey, peerTable: table)
        manager.listening(on: names[node])
        managers[node] = manager
        links[node] = []
    }

    /// A node went down: its peers see the connection close (and their managers back off from its address).
    func crash(_ node: Int, now: (Int) -> UInt64) {
        for peer in links[node] { disconnect(peer, from: node, now: now(peer)) }
        links[node] = []
        cores[node] = nil
        managers[node] = nil
    }

    private func disconnect(_ node: Int, from peer: Int, now: UInt64) {
        links[node].remove(peer)
        cores[node]?.peerDisconnected(names[peer])
        guard let id = managers[node]?.connection(of: names[peer]) else { return }
        _ = managers[node]?.closed(id, now: now)
    }

    /// When node's connection manager next has work (its local time), nil if none.
    func connectionWakeAt(_ node: Int) -> UInt64? { managers[node]?.wakeAt }

    /// The node's connection manager's periodic work: its dials (for the simulator to attempt) and frames.
    func connectionTick(_ node: Int, now: UInt64) -> [Output] {
        guard let effects = managers[node]?.tick(now: now) else { return [] }
        return effects.compactMap { effect in
            switch effect {
            case .dial(let address): return indices[address].map { .dial($0) }
            case .send(let frame, let id):
                return managers[node]?.connections[id]?.peer.flatMap { indices[$0] }.map { .send(frame, to: $0) }
            case .closeAfterFlush, .shutdown, .refused:
                // The simulator opens a connection with a completed handshake, so nothing times out or is refused.
                preconditionFailure("\(names[node]): a simulated connection was refused: \(effect)")
            }
        }
    }

    /// A dial of `b` by `a` that did not get through (`b` down or cut off): `a` backs off.
    func dialFailed(_ a: Int, to b: Int, now: UInt64) {
        managers[a]?.dialFailed(names[b], now: now)
    }

    /// A dial of `b` by `a` that got through: both connection managers open the connection, the handshake cores
    /// of both run (hellos and proofs with their real keys), both managers and gossip cores learn the peer.
    /// Returns, per node, the frames they send (peer exchange, grafts, ihave) and the connections made.
    func connect(_ a: Int, key keyA: SigningKey, _ b: Int, key keyB: SigningKey,
                 now: (Int) -> UInt64) -> [(from: Int, Output)] {
        guard a != b, cores[a] != nil, cores[b] != nil, !links[a].contains(b),
              let outbound = managers[a]?.opened(inbound: false, address: names[b], now: now(a)),
              let inbound = managers[b]?.opened(inbound: true, address: "\(names[a]):dialed", now: now(b))
        else { return [] }
        handshakes += 1
        func hello(_ key: SigningKey, _ node: Int) -> Hello {
            var random = SeededRandom(seed: handshakes &* 31 &+ UInt64(a &* 7 &+ b))
            return Hello(chainId: chainId, nodeKey: key.publicKey, roles: roles[node], listenAddress: "",
                         nonce: Bytes32(random.bytes(count: 32))!, agent: "alza-sim",
                         instances: announcements[node] ?? .signed(by: key, chainId: chainId, sequence: 1, instances: []))
        }
        let (helloA, helloB) = (hello(keyA, a), hello(keyB, b))
        var sideA = HandshakeCore(local: helloA, key: keyA)
        var sideB = HandshakeCore(local: helloB, key: keyB)
        guard case .send(let proofFromA) = sideA.receive(sideB.openingFrame),
              case .send(let proofFromB) = sideB.receive(sideA.openingFrame),
              case .established = sideA.receive(proofFromB), case .established = sideB.receive(proofFromA)
        else {
            handshakeFailures.append("\(names[a]) and \(names[b]) did not complete the handshake")
            _ = managers[a]?.closed(outbound, now: now(a))
            _ = managers[b]?.closed(inbound, now: now(b))
            return []
        }
        links[a].insert(b)
        links[b].insert(a)
        var outputs: [(from: Int, Output)] = []
        for (node, peer, id, key, peerHello) in [(a, b, outbound, keyB, helloB), (b, a, inbound, keyA, helloA)] {
            guard case .connected(let effects, _) = managers[node]!.established(id, peer: names[peer], peerKey: key.publicKey,
                                                                          listenAddress: names[peer], now: now(node))
            else { preconditionFailure("\(names[node]) holds a second connection to \(names[peer])") }
            for case .send(let frame, _) in effects { outputs.append((node, .send(frame, to: peer))) }
            outputs.append((node, .connected(peer)))
            outputs.append((node, .learned(peerHello.instances, from: peer)))
            outputs += map(cores[node]!.peerConnected(names[peer], now: now(node)), node: node).map { (node, $0) }
        }
        return outputs
    }

    /// Gossips a block: the node's own, or one its core accepted (the relay). Every node's publication of the same
    /// block carries the same handle, so it has one gossip id network-wide.
    func publish(_ message: ConsensusMessage, topic: GossipTopic, from node: Int, now: UInt64) -> [Output] {
        guard cores[node] != nil else { return [] }
        let key = message.gossipKey
        let handle: UInt64
        if let existing = handles[key] {
            handle = existing
        } else {
            handle = nextHandle
            nextHandle += 1
            messages[handle] = message
            handles[key] = handle
            messageOrder.append((now + 180_000, handle))
        }
        expireMessages(now: now)
        let gossip = GossipMessage(topic: topic, payload: withUnsafeBytes(of: handle.littleEndian) { Array($0) })
        return map(cores[node]!.publish(gossip, now: now), node: node)
    }

    /// Gossips real bytes (transaction batches: each node decodes what it receives, as a node does).
    func publish(payload: [UInt8], topic: GossipTopic, from node: Int, now: UInt64) -> [Output] {
        guard cores[node] != nil else { return [] }
        return map(cores[node]!.publish(GossipMessage(topic: topic, payload: payload), now: now), node: node)
    }

    /// The handle of each block gossiped in the last three minutes, by its id.
    private var handles: [Hash: UInt64] = [:]

    /// A frame arrived at `node` from `peer` (the simulator checked the link and drew the delay).
    func receive(_ frame: Frame, at node: Int, from peer: Int, now: UInt64) -> [Output] {
        guard cores[node] != nil, links[node].contains(peer) else { return [] }
        let name = names[peer]
        do {
            switch frame.kind {
            case .gossip:
                return map(cores[node]!.received(try GossipMessage(canonicalBytes: frame.payload), from: name, now: now), node: node)
            case .ihave:
                return map(cores[node]!.receivedIHave(try MessageIds(canonicalBytes: frame.payload).ids, from: name, now: now), node: node)
            case .iwant:
                return map(cores[node]!.receivedIWant(try MessageIds(canonicalBytes: frame.payload).ids, from: name), node: node)
            case .graft:
                return map(cores[node]!.receivedGraft(from: name), node: node)
            case .prune:
                cores[node]!.receivedPrune(from: name)
                return []
            case .peers:
                managers[node]?.learned(try PeerAddresses(canonicalBytes: frame.payload).addresses)
                return []
            case .direct, .request, .response:
                return [.addressed(frame, from: peer)]
            default:
                malformedFrames += 1
                return []
            }
        } catch {
            malformedFrames += 1
            return []
        }
    }

    /// The gossip heartbeat of one node: queued announcements go out, the mesh is kept between its bounds.
    func tick(_ node: Int, now: UInt64) -> [Output] {
        guard cores[node] != nil else { return [] }
        return map(cores[node]!.tick(now: now), node: node)
    }

    func meshSize(of node: Int) -> Int { cores[node]?.mesh.count ?? 0 }

    private func map(_ effects: [GossipCore.Effect], node: Int) -> [Output] {
        effects.compactMap { effect in
            switch effect {
            case .send(let frame, let peer):
                return indices[peer].map { .send(frame, to: $0) }
            case .deliver(let message, _, let from):
                if message.topic == .transactions, let sender = indices[from] { return .deliverTransactions(message.payload, from: sender) }
                if message.topic == .instances, let sender = indices[from] { return .deliverAnnouncement(message.payload, from: sender) }
                guard message.payload.count == 8, let sender = indices[from] else {
                    malformedFrames += 1
                    return nil
                }
                let handle = message.payload.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
                return messages[handle].map { .deliver($0, from: sender) }
            }
        }
    }

    /// Messages are kept as long as a gossip core may still serve them (its cache lives 120 s).
    private func expireMessages(now: UInt64) {
        while messageOrderStart < messageOrder.count, messageOrder[messageOrderStart].expiry <= now {
            let handle = messageOrder[messageOrderStart].handle
            if let message = messages.removeValue(forKey: handle) { handles[message.gossipKey] = nil }
            messageOrderStart += 1
        }
        if messageOrderStart > 4_096 {
            messageOrder.removeFirst(messageOrderStart)
            messageOrderStart = 0
        }
    }
}

extension ConsensusMessage {
    /// What identifies a gossiped message across relays: the block's or transaction's id.
    var gossipKey: Hash {
        switch self {
        case .block(let block): block.id
        case .transaction(let transaction): transaction.id
        default: Hash.sha256(canonicalBytes)
        }
    }
}
