import AlzaCore
import AlzaNetCore
import Testing

@Suite struct ConnectionManagerTests {
    let low = SigningKey(deterministicLabel: "low")
    let high = SigningKey(deterministicLabel: "high")

    /// A manager whose own key is the lower of the two test keys when `lower`, with `seeds`.
    func manager(seeds: [String] = [], lower: Bool = true, configure: (inout ConnectionManager.Configuration) -> Void = { _ in })
        -> ConnectionManager {
        var configuration = ConnectionManager.Configuration()
        configure(&configuration)
        let (own, _) = ordered(lower: lower)
        return ConnectionManager(configuration: configuration, localKey: own,
                                 peerTable: PeerTable(seeds: seeds, ownAddress: "127.0.0.1:1", seed: 1))
    }

    /// (this node's key, the peer's key).
    func ordered(lower: Bool) -> (PublicKey, PublicKey) {
        let (a, b) = low.publicKey < high.publicKey ? (low.publicKey, high.publicKey) : (high.publicKey, low.publicKey)
        return lower ? (a, b) : (b, a)
    }

    func dials(_ effects: [ConnectionManager.Effect]) -> [String] {
        effects.compactMap { if case .dial(let address) = $0 { address } else { nil } }
    }

    @Test func dialsArePacedAndBatchedAndAnAttemptIsNotRepeatedWhileItIsOpen() {
        var connections = manager(seeds: ["a:1", "b:1", "c:1"]) { $0.dialsPerInterval = 2 }
        #expect(dials(connections.tick(now: 0)) == ["a:1", "b:1"])
        #expect(dials(connections.tick(now: 249)).isEmpty, "within the dial interval")
        #expect(dials(connections.tick(now: 250)) == ["c:1"])
        #expect(dials(connections.tick(now: 500)).isEmpty, "every address has an attempt in flight")
    }

    @Test func aFailedDialBacksOffBeforeItIsTriedAgain() {
        var connections = manager(seeds: ["a:1"])
        #expect(dials(connections.tick(now: 0)) == ["a:1"])
        connections.dialFailed("a:1", now: 10)
        #expect(dials(connections.tick(now: 260)).isEmpty, "backoff is at least 500 ms")
        #expect(dials(connections.tick(now: 10 + 500 + 126)) == ["a:1"], "500 ms plus at most a quarter of jitter")
    }

    @Test func atThePeerLimitNothingIsDialedAndInboundConnectionsStopAtTwiceTheLimit() {
        var connections = manager(seeds: ["a:1", "b:1"]) { $0.maximumPeers = 1 }
        let (_, peerKey) = ordered(lower: true)
        let id = connections.opened(inbound: true, address: "10.0.0.9:5", now: 0)!
        _ = connections.established(id, peer: "peer", peerKey: peerKey, listenAddress: "", now: 0)
        #expect(connections.peerCount == 1)
        #expect(dials(connections.tick(now: 0)).isEmpty)
        #expect(connections.opened(inbound: true, address: "10.0.0.9:6", now: 0) != nil)
        #expect(connections.opened(inbound: true, address: "10.0.0.9:7", now: 0) == nil, "2 × maximumPeers open")
        #expect(connections.opened(inbound: false, address: "a:1", now: 0) != nil, "a dial this node made is kept")
    }

    /// Both sides dialed each other: both keep the connection dialed by the lower key, whichever finished first.
    @Test func ofTwoConnectionsToOnePeerBothSidesKeepTheOneTheLowerKeyDialed() {
        let lowerPeer = ordered(lower: false).1   // the peer's key, lower than this node's
        for lower in [true, false] {
            var connections = manager(lower: lower)
            let peerKey = lower ? ordered(lower: true).1 : lowerPeer
            let outbound = connections.opened(inbound: false, address: "p:1", now: 0)!
            let inbound = connections.opened(inbound: true, address: "p:40000", now: 0)!
            #expect(connections.established(outbound, peer: "p", peerKey: peerKey, listenAddress: "p:1", now: 1)
                .isConnected)
            let second = connections.established(inbound, peer: "p", peerKey: peerKey, listenAddress: "p:1", now: 2)
            if lower {
                // This node dialed `outbound` and has the lower key: the inbound duplicate goes.
                #expect(second == .duplicate([.shutdown(inbound, reason: .closedByPeer(reason: "duplicate connection"))]))
                #expect(connections.connection(of: "p") == outbound)
                #expect(connections.closed(inbound, now: 3) == nil, "the peer stays connected")
            } else {
                #expect(second.effects.first == .shutdown(outbound, reason: .closedByPeer(reason: "duplicate connection")))
                #expect(second == .connected(second.effects, replaced: outbound), "the replaced connection is named")
                #expect(connections.connection(of: "p") == inbound)
                #expect(connections.closed(outbound, now: 3) == nil)
                #expect(dials(connections.tick(now: 4)).isEmpty, "the peer's address is not redialed while connected")
            }
            #expect(connections.peerCount == 1)
        }
    }

    @Test func anEstablishedPeerIsToldTheKnownAddressesAndItsOwnAreLearned() throws {
        var connections = manager(seeds: ["a:1"])
        connections.listening(on: "127.0.0.1:7000")
        let id = connections.opened(inbound: true, address: "10.0.0.2:9", now: 0)!
        let outcome = connections.established(id, peer: "p", peerKey: ordered(lower: true).1, listenAddress: "10.0.0.2:7000", now: 0)
        guard case .send(let frame, id) = outcome.effects.last, frame.kind == .peers else {
            Issue.record("no peer exchange in \(outcome)")
            return
        }
        #expect(try PeerAddresses(canonicalBytes: frame.payload).addresses == ["10.0.0.2:7000", "a:1", "127.0.0.1:7000"])
        connections.learned(["b:1", "127.0.0.1:7000"])
        #expect(connections.peerTable.knownAddresses == ["10.0.0.2:7000", "a:1", "b:1"], "its own address is never a peer")
    }

    @Test func aHandshakeThatDoesNotFinishIsRefusedAndCutAfterTheGoodbyeGrace() {
        var connections = manager { $0.handshakeTimeoutMilliseconds = 5_000 }
        let id = connections.opened(inbound: true, address: "x:1", now: 1_000)!
        #expect(connections.tick(now: 5_999).isEmpty)
        let refused = connections.tick(now: 6_000)
        #expect(refused.first == .refused(id, .handshakeTimeout(seconds: 5)))
        guard case .closeAfterFlush(id, let goodbye) = refused.last else {
            Issue.record("no goodbye in \(refused)")
            return
        }
        #expect(goodbye.kind == .goodbye)
        #expect(connections.tick(now: 6_999).isEmpty)
        #expect(connections.tick(now: 7_000) == [.shutdown(id, reason: .closedByPeer(reason: "closed locally"))])
        #expect(connections.tick(now: 8_000).isEmpty, "cut once")
        #expect(connections.closed(id, now: 8_001) == nil, "it never had a peer")
        #expect(connections.connections.isEmpty)
    }

    @Test func aSlowPeerIsCutAtOnceAndARefusalHappensOnce() {
        var connections = manager()
        let id = connections.opened(inbound: true, address: "x:1", now: 0)!
        let error = NetworkError.slowPeer(queuedBytes: 9, limit: 8)
        #expect(connections.refuse(id, error, now: 1) == [.refused(id, error), .shutdown(id, reason: error)])
        #expect(connections.refuse(id, .handshakeTimeout(seconds: 5), now: 2).isEmpty)
        #expect(connections.refuse(99, error, now: 2).isEmpty, "an unknown connection")
    }

    @Test func anAddressFoundToBeThisNodeIsNeverDialedAgain() {
        var connections = manager(seeds: ["me:1"])
        #expect(dials(connections.tick(now: 0)) == ["me:1"])
        let id = connections.opened(inbound: false, address: "me:1", now: 1)!
        _ = connections.refuse(id, .selfConnection, now: 2)
        _ = connections.closed(id, now: 3)
        #expect(dials(connections.tick(now: 200_000)).isEmpty)
        #expect(connections.peerTable.ownAddresses.contains("me:1"))
    }

    @Test func establishedPeersArePingedEveryKeepaliveIntervalUnlessItIsOff() {
        for keepalive in [UInt64(10_000), nil] {
            var connections = manager { $0.keepaliveMilliseconds = keepalive }
            let id = connections.opened(inbound: true, address: "x:1", now: 0)!
            _ = connections.established(id, peer: "p", peerKey: ordered(lower: true).1, listenAddress: "", now: 0)
            let pings = { (effects: [ConnectionManager.Effect]) in
                effects.filter { if case .send(let frame, id) = $0 { frame.kind == .ping } else { false } }.count
            }
            #expect(pings(connections.tick(now: 10_000)) == (keepalive == nil ? 0 : 1))
            #expect(pings(connections.tick(now: 15_000)) == 0)
            #expect(connections.closed(id, now: 16_000) == "p")
            #expect(connections.peerCount == 0)
        }
    }
}

extension ConnectionManager.Establishment {
    var isConnected: Bool { if case .connected = self { true } else { false } }
    var effects: [ConnectionManager.Effect] {
        switch self {
        case .connected(let effects, _), .duplicate(let effects): effects
        }
    }
}

@Suite struct ConnectionManagerWakeTests {
    @Test func theWakeTimeIsTheNextDialTimeoutOrPingAndNilWhenNothingIsDue() {
        var configuration = ConnectionManager.Configuration()
        configuration.keepaliveMilliseconds = nil
        var connections = ConnectionManager(configuration: configuration, localKey: SigningKey(deterministicLabel: "w").publicKey,
                                            peerTable: PeerTable(seeds: ["a:1"], ownAddress: "", seed: 2))
        #expect(connections.wakeAt == 0, "a seed never tried is due at once")
        _ = connections.tick(now: 1_000)
        #expect(connections.wakeAt == 61_000, "an attempt in flight is not repeated for a minute")
        connections.dialFailed("a:1", now: 1_100)
        let retry = connections.wakeAt!
        #expect(retry >= 1_600 && retry <= 1_725, "the backoff: 500 ms plus up to a quarter")
        let id = connections.opened(inbound: true, address: "b:9", now: 1_200)!
        var waiting = connections
        waiting.dialFailed("a:1", now: 1_000_000)   // the seed far off: the handshake timeout is what is due
        #expect(waiting.wakeAt == 6_200, "the handshake timeout of the open connection")
        _ = connections.established(id, peer: "b", peerKey: SigningKey(deterministicLabel: "b").publicKey, listenAddress: "", now: 1_300)
        #expect(connections.wakeAt == retry)
        var onlyConnected = ConnectionManager(configuration: configuration, localKey: SigningKey(deterministicLabel: "w").publicKey,
                                              peerTable: PeerTable(seeds: [], ownAddress: "", seed: 2))
        let peer = onlyConnected.opened(inbound: true, address: "c:9", now: 0)!
        _ = onlyConnected.established(peer, peer: "c", peerKey: SigningKey(deterministicLabel: "c").publicKey, listenAddress: "", now: 0)
        #expect(onlyConnected.wakeAt == nil, "connected, no keepalive, nothing to dial")
    }
}
