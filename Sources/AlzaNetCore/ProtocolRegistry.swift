import AlzaCore

/// What a role tells the transport about a protocol it speaks (DESIGN.md §8): the gossip topics it owns, how
/// urgent its traffic is, and how many events its inbox holds before it drops and counts.
public struct ProtocolRegistration: Sendable, Equatable {
    public var id: ProtocolId
    public var priority: ProtocolPriority
    public var topics: Set<GossipTopic>
    public var inboxCapacity: Int

    public init(_ id: ProtocolId, priority: ProtocolPriority, topics: Set<GossipTopic> = [], inboxCapacity: Int = 16_384) {
        precondition(inboxCapacity > 0, "an inbox holds at least one event")
        self.id = id
        self.priority = priority
        self.topics = topics
        self.inboxCapacity = inboxCapacity
    }
}

/// The protocols a node speaks and the topics each owns, and where an incoming message goes. Pure: the
/// transport asks it for every direct, request and gossip message it receives.
public struct ProtocolRegistry: Sendable {
    /// Where a message is delivered, or why it is not.
    public enum Route: Sendable, Equatable {
        case deliver(ProtocolId, ProtocolPriority)
        /// No role of this node speaks the protocol (counted and logged; the peer is not at fault).
        case unregisteredProtocol(ProtocolId)
        /// The protocol is spoken but this instance is not hosted here (a leader that moved, a stale directory).
        case unknownInstance(ActorAddress)
        /// No protocol owns the gossip topic.
        case unregisteredTopic(GossipTopic)
    }

    /// Topics the transport serves itself: no protocol may claim them.
    public static let reservedTopics: Set<GossipTopic> = [.instances]

    public private(set) var registrations: [ProtocolId: ProtocolRegistration] = [:]
    private var topicOwners: [GossipTopic: ProtocolId] = [:]
    /// Instances hosted on this node, per protocol.
    public private(set) var hosted: [ProtocolId: Set<InstanceId>] = [:]

    public init() {}

    public mutating func register(_ registration: ProtocolRegistration) throws(NetworkError) {
        guard registrations[registration.id] == nil else { throw .protocolAlreadyRegistered(registration.id) }
        for topic in registration.topics.sorted() {
            if Self.reservedTopics.contains(topic) { throw .topicReserved(topic) }
            if let owner = topicOwners[topic] { throw .topicAlreadyRegistered(topic, owner: owner) }
        }
        registrations[registration.id] = registration
        for topic in registration.topics { topicOwners[topic] = registration.id }
    }

    /// Removes a protocol, its topics and its instances (a role stopped).
    public mutating func unregister(_ id: ProtocolId) {
        guard let registration = registrations.removeValue(forKey: id) else { return }
        for topic in registration.topics { topicOwners[topic] = nil }
        hosted[id] = nil
    }

    /// Starts hosting an instance of a registered protocol; false if it was hosted already.
    public mutating func host(_ instance: InstanceId, of id: ProtocolId) throws(NetworkError) -> Bool {
        guard registrations[id] != nil else { throw .protocolNotRegistered(id) }
        return hosted[id, default: []].insert(instance).inserted
    }

    /// Stops hosting an instance; false if it was not hosted.
    public mutating func withdraw(_ instance: InstanceId, of id: ProtocolId) -> Bool {
        hosted[id]?.remove(instance) != nil
    }

    /// Every hosted instance as an address, for this node's announcement.
    public var hostedAddresses: [ActorAddress] {
        hosted.flatMap { id, instances in instances.map { ActorAddress(id, instance: $0) } }.sorted()
    }

    public func owner(of topic: GossipTopic) -> ProtocolId? { topicOwners[topic] }

    public func route(_ address: ActorAddress) -> Route {
        guard let registration = registrations[address.protocolId] else { return .unregisteredProtocol(address.protocolId) }
        if let instance = address.instance, hosted[address.protocolId]?.contains(instance) != true {
            return .unknownInstance(address)
        }
        return .deliver(registration.id, registration.priority)
    }

    public func route(_ topic: GossipTopic) -> Route {
        guard let owner = topicOwners[topic], let registration = registrations[owner] else { return .unregisteredTopic(topic) }
        return .deliver(owner, registration.priority)
    }
}
