import AlzaCore
import AlzaNet
import Foundation
import Testing

/// The multiplexed transport on real sockets: protocols get their own inboxes, messages go by actor address,
/// what a node does not serve is counted (not delivered, not blamed), full inboxes drop and count, and hosted
/// instances reach peers through the hello and through gossip.
@Suite(.serialized) struct TransportRoutingTests {
    let fieldProtocol = ProtocolRegistration(.field, priority: .payments, topics: [GossipTopic(rawValue: 30)])
    let leaderOfF = InstanceId(Hash.sha256(utf8: "field F"))

    @Test func eachProtocolGetsOnlyItsOwnMessagesAndAnUnknownInstanceIsCounted() async throws {
        let b = try await makeTransport(label: "route-b")
        let chainLog = try await EventLog(b)
        let fieldLog = try await EventLog(b, registration: fieldProtocol)
        try await b.host(leaderOfF, of: .field)
        let a = try await makeTransport(label: "route-a", seeds: [try #require(await b.boundAddress)])
        #expect(await eventually { await a.peers.count == 1 })
        let bId = b.nodeId
        try await a.sendDirect([1], to: bId, address: ActorAddress(.chain))
        try await a.sendDirect([2], to: bId, address: ActorAddress(.field, instance: leaderOfF))
        try await a.sendDirect([3], to: bId, address: ActorAddress(.field, instance: InstanceId([0xEE])))
        try await a.sendDirect([4], to: bId, address: ActorAddress(.rafi))
        try await a.sendDirect([5], to: bId, address: ActorAddress(.field))
        #expect(await eventually {
            let unroutable = await b.statistics.unroutable
            return fieldLog.directs.count == 2 && chainLog.directs.count == 1 && unroutable == 2
        })
        #expect(chainLog.directs.map(\.payload) == [[1]])
        #expect(fieldLog.directs.map(\.payload) == [[2], [5]])
        #expect(fieldLog.directs.map(\.instance) == [leaderOfF, nil])
        #expect(fieldLog.directs.allSatisfy { $0.from == a.nodeId })
        // Both inboxes heard of the peer; the unroutable messages cost the peer nothing.
        #expect(chainLog.connectedPeers.map(\.id) == [a.nodeId])
        #expect(fieldLog.connectedPeers.map(\.id) == [a.nodeId])
        #expect(await b.peers.count == 1)
        #expect(await b.statistics.refusals == 0)
        await a.stop()
        await b.stop()
    }

    @Test func aFullInboxDropsAndCountsWithoutGrowing() async throws {
        let b = try await makeTransport(label: "inbox-b")
        // Nobody reads this inbox: it holds 3 events, the rest are dropped and counted.
        let unread = try await b.register(ProtocolRegistration(.rafi, priority: .bulk, inboxCapacity: 3))
        let a = try await makeTransport(label: "inbox-a", seeds: [try #require(await b.boundAddress)])
        #expect(await eventually { await a.peers.count == 1 })
        for byte in UInt8(1)...5 { try await a.sendDirect([byte], to: b.nodeId, address: ActorAddress(.rafi)) }
        #expect(await eventually {
            let traffic = await b.statistics.protocols[.rafi]
            return (traffic?.delivered ?? 0) + (traffic?.dropped ?? 0) == 6
        })
        // The peer connection, then the first two messages; the last three were dropped.
        let traffic = await b.statistics.protocols[.rafi]
        #expect(traffic == ProtocolTraffic(priority: .bulk, delivered: 3, dropped: 3))
        #expect(await b.statistics.eventsDropped == 3)
        var kept: [[UInt8]] = []
        await a.stop()
        await b.stop()
        for await event in unread {
            if case .direct(let payload, _, _) = event { kept.append(payload) }
        }
        #expect(kept == [[1], [2]])
    }

    @Test func requestsAreRoutedToTheAddressedInstanceAndAnsweredFromIt() async throws {
        let b = try await makeTransport(label: "instreq-b")
        try await b.register(fieldProtocol).forEachInBackground { event in
            if case .request(let payload, let instance, let requestId, let from) = event {
                await b.respond(to: from, requestId: requestId, address: ActorAddress(.field, instance: instance),
                                payload: payload + (instance?.bytes.prefix(1) ?? []))
            }
        }
        try await b.host(leaderOfF, of: .field)
        let a = try await makeTransport(label: "instreq-a", seeds: [try #require(await b.boundAddress)])
        #expect(await eventually { await a.peers.count == 1 })
        let answer = try await a.request([7], to: b.nodeId, address: ActorAddress(.field, instance: leaderOfF))
        #expect(answer == [7, leaderOfF.bytes[0]])
        await a.stop()
        await b.stop()
    }

    @Test func hostedInstancesReachPeersByHelloAndByGossip() async throws {
        let b = try await makeTransport(label: "dir-b")
        _ = try await EventLog(b, registration: fieldProtocol)
        try await b.host(leaderOfF, of: .field)
        let a = try await makeTransport(label: "dir-a", seeds: [try #require(await b.boundAddress)])
        let c = try await makeTransport(label: "dir-c", seeds: [try #require(await a.boundAddress)])
        let addressF = ActorAddress(.field, instance: leaderOfF)
        // a learns b's list from b's hello. c never connects to b (a's hello carries only a's own list): it learns
        // of b's instances from the announcement b gossips when its list changes, relayed by a.
        #expect(await eventually { await a.hosts(of: addressF) == [b.nodeId] })
        #expect(await eventually { await c.peers.count == 1 })
        let addressG = ActorAddress(.field, instance: InstanceId([0x47]))
        try await b.host(InstanceId([0x47]), of: .field)
        #expect(await eventually { await c.hosts(of: addressG) == [b.nodeId] })
        #expect(await c.hosts(of: addressF) == [b.nodeId], "the gossiped list is b's whole list")
        await b.withdraw(leaderOfF, of: .field)
        #expect(await eventually {
            let (atC, atA) = (await c.hosts(of: addressF), await a.hosts(of: addressF))
            return atC.isEmpty && atA.isEmpty
        })
        #expect(await b.hosts(of: addressG) == [b.nodeId], "a node finds its own instances too")
        #expect(await a.statistics.announcementsInvalid == 0)
        for node in [a, b, c] { await node.stop() }
    }

    @Test func gossipOnATopicNoProtocolOwnsIsNeitherDeliveredNorRelayed() async throws {
        let b = try await makeTransport(label: "topic-b")
        let bLog = try await EventLog(b)
        let a = try await makeTransport(label: "topic-a", seeds: [try #require(await b.boundAddress)])
        _ = try await EventLog(a, registration: fieldProtocol)
        #expect(await eventually { await a.meshPeers.count == 1 })
        await a.publish(GossipTopic(rawValue: 30), payload: [1, 2, 3])
        #expect(await eventually { await b.statistics.unroutable == 1 })
        #expect(bLog.gossip.isEmpty)
        #expect(await b.statistics.gossipReceived == 0)
        #expect(await b.peers.count == 1, "not the peer's fault: it stays connected")
        await a.stop()
        await b.stop()
    }

    @Test func aNodeDialsTheHostOfAnActorAtTheAddressItAnnounced() async throws {
        // a and c dial once, at start (a: nobody, c: b); they hear of each other only through b.
        let once: (inout NetworkConfiguration) -> Void = { $0.connections.dialIntervalMilliseconds = 3_600_000 }
        let a = try await makeTransport(label: "dial-a", adjust: once)
        _ = try await EventLog(a, registration: fieldProtocol)
        try await a.host(InstanceId([0x51]), of: .field)
        let b = try await makeTransport(label: "dial-b", seeds: [try #require(await a.boundAddress)])
        let c = try await makeTransport(label: "dial-c", seeds: [try #require(await b.boundAddress)], adjust: once)
        let address = ActorAddress(.field, instance: InstanceId([0x51]))
        #expect(await eventually { await c.hosts(of: address) == [a.nodeId] })
        #expect(await !c.peers.contains { $0.id == a.nodeId })
        #expect(await c.ensureConnected(to: a.nodeId))
        #expect(await c.peers.contains { $0.id == a.nodeId })
        // A node that announced no address (or none at all) cannot be dialed.
        #expect(await !c.ensureConnected(to: SigningKey(deterministicLabel: "dial-nobody").publicKey.hex, timeoutMilliseconds: 100))
        for node in [a, b, c] { await node.stop() }
    }
}

extension AsyncStream where Element == TransportEvent {
    /// Consumes the inbox in a task of its own (the test's handler answers requests).
    func forEachInBackground(_ handle: @escaping @Sendable (TransportEvent) async -> Void) {
        Task { for await event in self { await handle(event) } }
    }
}
