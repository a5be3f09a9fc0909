import AlzaCore
import AlzaNetCore
import Testing

@Suite struct ActorAddressCodecTests {
    @Test func addressesRoundTripWithAndWithoutAnInstance() throws {
        let field = ActorAddress(.field, instance: InstanceId(Hash.sha256(utf8: "field 7")))
        let chain = ActorAddress(.chain)
        #expect(try ActorAddress(canonicalBytes: field.canonicalBytes) == field)
        #expect(try ActorAddress(canonicalBytes: chain.canonicalBytes) == chain)
        // u16 protocol (little-endian) then the flag byte.
        #expect(chain.canonicalBytes == [1, 0, 0])
        #expect(field.description.hasPrefix("field/"))
        #expect(ProtocolId(rawValue: 700).description == "protocol-700")
        #expect(ProtocolPriority.allCases.map(\.description) == ["consensus", "payments", "transactions", "bulk"])
    }

    @Test func anUnknownInstanceFlagIsATypedError() {
        #expect(throws: CodecError.unknownTag(offset: 2, tag: 7, type: "ActorAddress.instance")) {
            _ = try ActorAddress(canonicalBytes: [3, 0, 7])
        }
    }

    @Test func anInstanceOverThirtyTwoBytesIsRefusedByTheDecoder() {
        var encoder = CanonicalEncoder()
        encoder.encode(ProtocolId.field)
        encoder.encode(UInt8(1))
        encoder.encodeBytes([UInt8](repeating: 1, count: 33))
        #expect(throws: CodecError.self) { _ = try ActorAddress(canonicalBytes: encoder.bytes) }
    }

    @Test func anyGossipTopicByteDecodes() throws {
        let message = GossipMessage(topic: GossipTopic(rawValue: 200), payload: [1, 2])
        #expect(try GossipMessage(canonicalBytes: message.canonicalBytes).topic == GossipTopic(rawValue: 200))
        #expect(GossipTopic(rawValue: 200).description == "topic-200")
    }
}

@Suite struct ProtocolRegistryTests {
    let fieldProtocol = ProtocolRegistration(.field, priority: .payments, topics: [GossipTopic(rawValue: 10)])

    @Test func registrationErrorsNameTheConflict() throws {
        var registry = ProtocolRegistry()
        try registry.register(ProtocolRegistration(.chain, priority: .consensus, topics: [.blocks, .transactions]))
        #expect(throws: NetworkError.protocolAlreadyRegistered(.chain)) {
            try registry.register(ProtocolRegistration(.chain, priority: .bulk))
        }
        #expect(throws: NetworkError.topicAlreadyRegistered(.blocks, owner: .chain)) {
            try registry.register(ProtocolRegistration(.rafi, priority: .bulk, topics: [.blocks]))
        }
        #expect(throws: NetworkError.topicReserved(.instances)) {
            try registry.register(ProtocolRegistration(.committee, priority: .consensus, topics: [.instances]))
        }
        #expect(throws: NetworkError.protocolNotRegistered(.field)) {
            _ = try registry.host(InstanceId([1]), of: .field)
        }
        // A refused registration leaves nothing behind.
        #expect(registry.registrations.keys.sorted() == [.chain])
        #expect(registry.owner(of: .blocks) == .chain)
    }

    @Test func messagesRouteToTheirProtocolOrSayWhyNot() throws {
        var registry = ProtocolRegistry()
        try registry.register(ProtocolRegistration(.chain, priority: .consensus, topics: [.blocks]))
        try registry.register(fieldProtocol)
        let hosted = InstanceId([7])
        let first = try registry.host(hosted, of: .field)
        let again = try registry.host(hosted, of: .field)
        #expect(first && !again)
        #expect(registry.route(ActorAddress(.chain)) == .deliver(.chain, .consensus))
        #expect(registry.route(ActorAddress(.field, instance: hosted)) == .deliver(.field, .payments))
        #expect(registry.route(ActorAddress(.field, instance: InstanceId([8])))
            == .unknownInstance(ActorAddress(.field, instance: InstanceId([8]))))
        #expect(registry.route(ActorAddress(.rafi)) == .unregisteredProtocol(.rafi))
        #expect(registry.route(.blocks) == .deliver(.chain, .consensus))
        #expect(registry.route(.committee) == .unregisteredTopic(.committee))
        #expect(registry.hostedAddresses == [ActorAddress(.field, instance: hosted)])
    }

    @Test func unregisteringReleasesTopicsAndInstances() throws {
        var registry = ProtocolRegistry()
        try registry.register(fieldProtocol)
        _ = try registry.host(InstanceId([1]), of: .field)
        registry.unregister(.field)
        #expect(registry.hostedAddresses.isEmpty)
        #expect(registry.route(GossipTopic(rawValue: 10)) == .unregisteredTopic(GossipTopic(rawValue: 10)))
        try registry.register(ProtocolRegistration(.rafi, priority: .bulk, topics: [GossipTopic(rawValue: 10)]))
        #expect(registry.owner(of: GossipTopic(rawValue: 10)) == .rafi)
        let withdrew = registry.withdraw(InstanceId([1]), of: .field)
        #expect(!withdrew)
    }
}

@Suite struct InstanceDirectoryTests {
    let chain = Hash.sha256(utf8: "directory-tests")
    let leader = SigningKey(deterministicLabel: "leader")
    let fieldA = ActorAddress(.field, instance: InstanceId([0xA]))
    let fieldB = ActorAddress(.field, instance: InstanceId([0xB]))

    @Test func aNewerAnnouncementReplacesTheOldAndAnOlderOneIsStale() {
        var directory = InstanceDirectory(chainId: chain)
        #expect(directory.apply(.signed(by: leader, chainId: chain, sequence: 5, instances: [fieldA])) == .updated)
        #expect(directory.hosts(of: fieldA) == [leader.publicKey])
        #expect(directory.apply(.signed(by: leader, chainId: chain, sequence: 6, instances: [fieldB])) == .updated)
        #expect(directory.hosts(of: fieldA).isEmpty)
        #expect(directory.hosts(of: fieldB) == [leader.publicKey])
        // Relayed late: the older list must not come back.
        #expect(directory.apply(.signed(by: leader, chainId: chain, sequence: 5, instances: [fieldA])) == .stale(known: 6))
        #expect(directory.instances(of: leader.publicKey) == [fieldB])
    }

    @Test func forgedOrUnorderedAnnouncementsAreInvalid() {
        var directory = InstanceDirectory(chainId: chain)
        var forged = InstanceAnnouncement.signed(by: leader, chainId: chain, sequence: 1, instances: [fieldA])
        forged.instances = [fieldB]
        #expect(directory.apply(forged) == .invalid)
        let unordered = InstanceAnnouncement(node: leader.publicKey, sequence: 1, instances: [fieldB, fieldA],
                                             signature: leader.sign(InstanceAnnouncement.digest(
                                                 chainId: chain, node: leader.publicKey, sequence: 1, instances: [fieldB, fieldA],
                                                 listenAddress: "")))
        #expect(directory.apply(unordered) == .invalid)
        // The listen address is signed: another one makes the signature fail.
        var moved = InstanceAnnouncement.signed(by: leader, chainId: chain, sequence: 1, instances: [fieldA], listenAddress: "10.0.0.1:17000")
        moved.listenAddress = "10.6.6.6:17000"
        #expect(directory.apply(moved) == .invalid)
        let otherChain = InstanceAnnouncement.signed(by: leader, chainId: Hash.sha256(utf8: "other"), sequence: 1, instances: [fieldA])
        #expect(directory.apply(otherChain) == .invalid)
        #expect(directory.nodeCount == 0)
    }

    @Test func anAnnouncementSaysWhereItsNodeListens() throws {
        var directory = InstanceDirectory(chainId: chain)
        #expect(directory.apply(.signed(by: leader, chainId: chain, sequence: 1, instances: [fieldA], listenAddress: "10.0.0.1:17000")) == .updated)
        #expect(directory.listenAddress(of: leader.publicKey) == "10.0.0.1:17000")
        #expect(directory.apply(.signed(by: leader, chainId: chain, sequence: 2, instances: [fieldA])) == .updated)
        #expect(directory.listenAddress(of: leader.publicKey) == nil)
        let long = InstanceAnnouncement(node: leader.publicKey, sequence: 3, instances: [], listenAddress: String(repeating: "x", count: 300),
                                        signature: Signature(bytes64: .zero))
        #expect(throws: CodecError.self) { try InstanceAnnouncement(canonicalBytes: long.canonicalBytes) }
    }

    @Test func theDirectoryIsBoundedButKnownNodesKeepUpdating() {
        var directory = InstanceDirectory(chainId: chain, capacity: 2)
        let keys = (0..<3).map { SigningKey(deterministicLabel: "node-\($0)") }
        #expect(directory.apply(.signed(by: keys[0], chainId: chain, sequence: 1, instances: [fieldA])) == .updated)
        #expect(directory.apply(.signed(by: keys[1], chainId: chain, sequence: 1, instances: [fieldA])) == .updated)
        #expect(directory.apply(.signed(by: keys[2], chainId: chain, sequence: 1, instances: [fieldA])) == .full(capacity: 2))
        #expect(directory.apply(.signed(by: keys[1], chainId: chain, sequence: 2, instances: [fieldB])) == .updated)
        #expect(directory.hosts(of: fieldA) == [keys[0].publicKey])
        #expect(directory.nodeCount == 2)
    }
}

@Suite struct RequestCorrelatorTests {
    let chain = ActorAddress(.chain)

    @Test func onlyTheAskedPeerCanAnswerAndOnlyOnce() {
        var correlator = RequestCorrelator()
        let id = correlator.start(to: "peer-a", address: chain, now: 1_000, timeoutMilliseconds: 500)!
        #expect(correlator.received(response: id, from: "peer-b") == .wrongPeer(id: id, asked: "peer-a"))
        #expect(correlator.received(response: id, from: "peer-a") == .matched(id: id))
        #expect(correlator.received(response: id, from: "peer-a") == .unknown(id: id))
    }

    @Test func requestsExpireAtTheirDeadlineInIdOrder() {
        var correlator = RequestCorrelator()
        let first = correlator.start(to: "a", address: chain, now: 0, timeoutMilliseconds: 100)!
        let second = correlator.start(to: "b", address: chain, now: 10, timeoutMilliseconds: 100)!
        let late = correlator.start(to: "c", address: chain, now: 0, timeoutMilliseconds: 1_000)!
        #expect(correlator.nextDeadline == 100)
        #expect(correlator.expire(now: 99).isEmpty)
        #expect(correlator.expire(now: 110).map(\.id) == [first, second])
        #expect(correlator.nextDeadline == 1_000)
        #expect(correlator.received(response: first, from: "a") == .unknown(id: first))
        #expect(correlator.cancelAll() == [late])
    }

    @Test func aDisconnectedPeersRequestsFailAtOnceAndTheLimitHolds() {
        var correlator = RequestCorrelator(limit: 2)
        let a = correlator.start(to: "a", address: chain, now: 0, timeoutMilliseconds: 100)!
        _ = correlator.start(to: "b", address: chain, now: 0, timeoutMilliseconds: 100)!
        #expect(correlator.start(to: "c", address: chain, now: 0, timeoutMilliseconds: 100) == nil)
        #expect(correlator.peerDisconnected("a") == [a])
        #expect(correlator.start(to: "c", address: chain, now: 0, timeoutMilliseconds: 100) != nil)
    }
}
