import AlzaCore

/// A node's signed list of the actor instances it hosts (DESIGN.md §1: "a node announces in its handshake and
/// in gossip which instances it hosts"). Carried in `Hello` and gossiped on `GossipTopic.instances` whenever the
/// list changes; the sequence orders a node's announcements, so an old one relayed late never undoes a new one.
/// It carries the node's listen address too, so a node that must reach an actor (a field leader its participant)
/// can dial the host when the mesh did not connect them.
public struct InstanceAnnouncement: Hashable, Sendable, CanonicalCodable {
    public var node: PublicKey
    public var sequence: UInt64
    /// Sorted and without duplicates.
    public var instances: [ActorAddress]
    /// host:port the node listens on ("" when it takes no connections).
    public var listenAddress: String
    public var signature: Signature

    public static let maximumInstances = 4_096
    public static let maximumAddressBytes = 256
    public static let domain = SigningDomain("instances")

    public static func digest(chainId: Hash, node: PublicKey, sequence: UInt64, instances: [ActorAddress],
                              listenAddress: String) -> Hash {
        var encoder = CanonicalEncoder()
        encoder.encode(node)
        encoder.encode(sequence)
        encoder.encode(instances)
        encoder.encode(listenAddress)
        return domain.digest(chainId: chainId, bytes: encoder.bytes)
    }

    /// The announcement of `instances` by the owner of `key`.
    public static func signed(by key: SigningKey, chainId: Hash, sequence: UInt64, instances: some Sequence<ActorAddress>,
                              listenAddress: String = "") -> InstanceAnnouncement {
        let sorted = Array(Set(instances)).sorted()
        precondition(sorted.count <= maximumInstances, "a node announces at most \(maximumInstances) instances")
        precondition(listenAddress.utf8.count <= maximumAddressBytes, "a listen address is at most \(maximumAddressBytes) bytes")
        let digest = digest(chainId: chainId, node: key.publicKey, sequence: sequence, instances: sorted, listenAddress: listenAddress)
        return InstanceAnnouncement(node: key.publicKey, sequence: sequence, instances: sorted, listenAddress: listenAddress,
                                    signature: key.sign(digest))
    }

    public init(node: PublicKey, sequence: UInt64, instances: [ActorAddress], listenAddress: String = "", signature: Signature) {
        self.node = node
        self.sequence = sequence
        self.instances = instances
        self.listenAddress = listenAddress
        self.signature = signature
    }

    public func isValid(chainId: Hash) -> Bool {
        instances == Array(Set(instances)).sorted()
            && node.isValidSignature(signature, for: Self.digest(chainId: chainId, node: node, sequence: sequence, instances: instances,
                                                                 listenAddress: listenAddress))
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(node)
        encoder.encode(sequence)
        encoder.encode(instances)
        encoder.encode(listenAddress)
        encoder.encode(signature)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        node = try decoder.decode()
        sequence = try decoder.decode()
        instances = try decoder.decodeArray(limit: Self.maximumInstances)
        listenAddress = try decoder.decodeString(limit: Self.maximumAddressBytes)
        signature = try decoder.decode()
    }
}

/// Which node hosts which actor instance, learnt from announcements alone (no central directory): a participant
/// finds the node of "the leader of field F" here. Pure; the transport feeds it hellos and gossip.
public struct InstanceDirectory: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// The node's list is now this announcement's (forward it).
        case updated
        /// An announcement of this node with this sequence or a newer one is already known (do not forward).
        case stale(known: UInt64)
        /// Not signed by the node it names, or not in canonical order: ignored, and the sender is to blame.
        case invalid
        /// The directory already holds `capacity` nodes and this is a new one: ignored (keys are free to make,
        /// so the directory is bounded; known nodes keep updating).
        case full(capacity: Int)
    }

    public let chainId: Hash
    public let capacity: Int
    private var announcements: [PublicKey: InstanceAnnouncement] = [:]
    private var hosts: [ActorAddress: Set<PublicKey>] = [:]

    public init(chainId: Hash, capacity: Int = 10_000) {
        precondition(capacity > 0, "the directory holds at least one node")
        self.chainId = chainId
        self.capacity = capacity
    }

    public mutating func apply(_ announcement: InstanceAnnouncement) -> Outcome {
        if let known = announcements[announcement.node], known.sequence >= announcement.sequence {
            return .stale(known: known.sequence)
        }
        guard announcement.isValid(chainId: chainId) else { return .invalid }
        if announcements[announcement.node] == nil && announcements.count >= capacity { return .full(capacity: capacity) }
        for address in announcements[announcement.node]?.instances ?? [] {
            hosts[address]?.remove(announcement.node)
            if hosts[address]?.isEmpty == true { hosts[address] = nil }
        }
        announcements[announcement.node] = announcement
        for address in announcement.instances { hosts[address, default: []].insert(announcement.node) }
        return .updated
    }

    /// The nodes that announced `address`, in key order.
    public func hosts(of address: ActorAddress) -> [PublicKey] { (hosts[address] ?? []).sorted() }

    public func instances(of node: PublicKey) -> [ActorAddress] { announcements[node]?.instances ?? [] }

    /// Every node's newest announcement that lists instances, in key order (what a newly connected peer is told).
    public var hostingAnnouncements: [InstanceAnnouncement] {
        announcements.values.filter { !$0.instances.isEmpty }.sorted { $0.node < $1.node }
    }

    /// Where `node` said it listens, if it announced an address.
    public func listenAddress(of node: PublicKey) -> String? {
        announcements[node].flatMap { $0.listenAddress.isEmpty ? nil : $0.listenAddress }
    }

    public func announcement(of node: PublicKey) -> InstanceAnnouncement? { announcements[node] }

    public var nodeCount: Int { announcements.count }
}
