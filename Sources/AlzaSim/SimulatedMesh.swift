import AlzaConsensus
import AlzaCore
import AlzaNetCore

/// The network layer of a simulated node: the `GossipCore` and `HandshakeCore` a real node runs (AlzaNetCore),
/// fed real frames in virtual time. Blocks and transactions travel as gossip — pushed to a mesh of D = 6, announced
/// to the rest with `ihave`, fetched with `iwant`, relayed by each node only after its consensus core accepted
/// them — so loss and partitions hit the simulation where they hit a network. Direct messages (statuses, sync)
/// stay point to point, as on the transport.
///
/// A gossip payload here is a handle (8 bytes) to the `ConsensusMessage` it stands for, kept in `messages`:
/// the gossip core sees real frames, ids and caches, but a simulated node does not re-decode a block it shares
/// with 22 others in one process.
final class SimulatedMesh {
    /// What a node's gossip asks of the simulator.
    enum Output {
        case send(Frame, to: Int)
        case deliver(ConsensusMessage, from: Int)
    }

    private let names: [String]
    private let indices: [String: Int]
    private var cores: [GossipCore?]
    private var links: [Set<Int>]
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
    static let gossipConfiguration: GossipCore.Configuration = {
        var configuration = GossipCore.Configuration()
        configuration.lazyDegree = 6
        return configuration
    }()

    init(names: [String], chainId: Hash) {
        self.names = names
        indices = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        cores = Array(repeating: nil, count: names.count)
        links = Array(repeating: [], count: names.count)
        self.chainId = chainId
    }

    func isConnected(_ a: Int, _ b: Int) -> Bool { links[a].contains(b) }

    /// A node (re)starts with a fresh gossip core (its caches are memory, lost with a crash).
    func start(_ node: Int, seed: UInt64) {
        cores[node] = GossipCore(configuration: Self.gossipConfiguration, seed: seed)
        links[node] = []
    }

    /// A node went down: its peers see the connection close.
    func crash(_ node: Int) {
        for peer in links[node] {
            links[peer].remove(node)
            cores[peer]?.peerDisconnected(names[node])
        }
        links[node] = []
        cores[node] = nil
    }

    /// Connects two running nodes through the handshake cores of both (hellos and proofs with their real keys),
    /// then introduces them to each other's gossip. Returns the frames the gossip cores send (grafts, ihave).
    func connect(_ a: Int, key keyA: SigningKey, _ b: Int, key keyB: SigningKey, now: UInt64) -> [(from: Int, Output)] {
        guard a != b, cores[a] != nil, cores[b] != nil, !links[a].contains(b) else { return [] }
        handshakes += 1
        func hello(_ key: SigningKey) -> Hello {
            var random = SeededRandom(seed: handshakes &* 31 &+ UInt64(a &* 7 &+ b))
            return Hello(chainId: chainId, nodeKey: key.publicKey, roles: .superNode, listenAddress: "",
                         nonce: Bytes32(random.bytes(count: 32))!, agent: "alza-sim",
                         instances: .signed(by: key, chainId: chainId, sequence: 1, instances: []))
        }
        var sideA = HandshakeCore(local: hello(keyA), key: keyA)
        var sideB = HandshakeCore(local: hello(keyB), key: keyB)
        guard case .send(let proofFromA) = sideA.receive(sideB.openingFrame),
              case .send(let proofFromB) = sideB.receive(sideA.openingFrame),
              case .established = sideA.receive(proofFromB), case .established = sideB.receive(proofFromA)
        else {
            handshakeFailures.append("\(names[a]) and \(names[b]) did not complete the handshake")
            return []
        }
        links[a].insert(b)
        links[b].insert(a)
        var outputs: [(from: Int, Output)] = []
        outputs += map(cores[a]!.peerConnected(names[b], now: now), node: a).map { (a, $0) }
        outputs += map(cores[b]!.peerConnected(names[a], now: now), node: b).map { (b, $0) }
        return outputs
    }

    /// Gossips a message: the node's own, or one its core accepted (the relay). Every node's publication of the
    /// same block or transaction carries the same handle, so it has one gossip id network-wide.
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

    /// The handle of each message gossiped in the last three minutes, by its block or transaction id.
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
