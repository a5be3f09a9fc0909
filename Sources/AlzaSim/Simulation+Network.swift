import AlzaConsensus
import AlzaCore
import AlzaNetCore

/// How the simulator carries out what a node's network cores ask (`SimulatedMesh`): dials onto the simulated
/// network, frames and messages onto links with loss, partitions and latency, gossip and connection-manager
/// ticks at the times the cores name.
extension Simulation {
    /// The gossip heartbeat runs when there is work for it (announcements queued by a publication, a mesh to
    /// refill after a peer left), at most once per `gossipHeartbeatMilliseconds`: an idle node does not beat, which
    /// changes nothing a beat would do but keeps a simulated day fast.
    func armGossipTick(_ node: Node) {
        guard !node.gossipTickPending, node.core != nil else { return }
        node.gossipTickPending = true
        queue.schedule(.gossipTick(node: node.index, generation: node.generation), at: time + configuration.gossipHeartbeatMilliseconds)
    }

    /// Wakes the node's connection manager at its `wakeAt` (its local time, read on the node's clock), unless a
    /// tick at that time or earlier is already scheduled.
    func armConnectionTick(_ node: Node) {
        guard node.core != nil, let local = mesh.connectionWakeAt(node.index) else { return }
        let at = max(time, node.clock.trueTime(at: local))
        if let pending = node.connectionTickAt, pending <= at { return }
        node.connectionTickAt = at
        queue.schedule(.connectionTick(node: node.index, generation: node.generation), at: at)
    }

    /// Carries out what a node's network cores ask: frames onto the network, messages into its consensus core,
    /// dials, and the introduction of a new peer to the consensus core (it answers with its status).
    func route(_ outputs: [SimulatedMesh.Output], from node: Node) {
        for output in outputs {
            switch output {
            case .send(let frame, let to):
                transmit(frame, from: node, to: nodes[to])
            case .deliver(let message, let from):
                delivered += 1
                feed(node, .received(message, from: nodes[from].peer))
            case .deliverTransactions(let payload, let from):
                delivered += 1
                receiveTransactions(payload, at: node, from: nodes[from])
            case .dial(let to):
                dial(from: node, to: nodes[to])
            case .connected(let peer):
                armGossipTick(node)
                feed(node, .peerConnected(nodes[peer].peer))
            case .learned(let announcement, let peer):
                learn(announcement, at: node, from: nodes[peer], gossiped: nil)
            case .deliverAnnouncement(let payload, let peer):
                learnGossiped(payload, at: node, from: nodes[peer])
            case .addressed(let frame, let peer):
                receiveAddressed(frame, at: node, from: nodes[peer])
            }
        }
    }

    /// A dial gets through when the other node is up and reachable (no partition between them): both sides'
    /// handshake and connection cores run. Otherwise the dialer backs off, as from a refused TCP connect.
    func dial(from node: Node, to other: Node) {
        guard other.core != nil, network.reachable(node.index, other.index) else {
            mesh.dialFailed(node.index, to: other.index, now: node.clock.read(at: time))
            return
        }
        let outputs = mesh.connect(node.index, key: node.key, other.index, key: other.key) {
            self.nodes[$0].clock.read(at: self.time)
        }
        for (from, output) in outputs { route([output], from: nodes[from]) }
        armConnectionTick(other)
    }

    /// A direct message onto the link from `from` to `to`.
    func transmit(_ message: ConsensusMessage, from: Node, to: Node) {
        send(from: from, to: to, .deliver(node: to.index, generation: to.generation, message: message, from: from.index))
    }

    /// A gossip frame onto the link, with the same loss, partitions and latency as a direct message.
    func transmit(_ frame: Frame, from: Node, to: Node) {
        send(from: from, to: to, .frame(node: to.index, generation: to.generation, frame: frame, from: from.index))
    }

    /// The link itself: unreachable (down node, partition) or lost (drawn), else delivered after a drawn latency.
    private func send(from: Node, to: Node, _ arrival: @autoclosure () -> Event) {
        guard to.core != nil, network.reachable(from.index, to.index) else { return }
        if random.chance(network.loss) {
            lost += 1
            return
        }
        let delay = random.uniform(network.latency)
        queue.schedule(arrival(), at: time + delay)
    }
}
