import AlzaCore
import AlzaNetCore
import Testing

/// The pure cores of the network layer, without sockets.
@Suite struct FrameDecoderTests {
    let frames = [
        Frame(kind: .hello, payload: Array(0..<200).map { UInt8($0) }),
        Frame(kind: .ping, payload: []),
        Frame(kind: .gossip, payload: [UInt8](repeating: 9, count: 70_000)),
        Frame(kind: .goodbye, payload: Array("bye".utf8)),
    ]

    @Test func framesSplitAtEveryPossibleBoundaryReassemble() throws {
        let stream = frames.flatMap(\.bytes)
        for cut in stride(from: 0, through: stream.count, by: 997) {
            var decoder = FrameDecoder(maximumPayload: 1 << 20)
            var decoded = try decoder.append(Array(stream[..<cut]))
            decoded += try decoder.append(Array(stream[cut...]))
            #expect(decoded == frames, "cut at \(cut)")
            #expect(decoder.pendingBytes == 0)
        }
    }

    @Test func randomChunkingGivesTheSameFrames() throws {
        var random = SeededRandom(seed: 42)
        let stream = frames.flatMap(\.bytes)
        for _ in 0..<50 {
            var decoder = FrameDecoder(maximumPayload: 1 << 20)
            var decoded: [Frame] = []
            var offset = 0
            while offset < stream.count {
                let size = 1 + Int(random.next() % 5_000)
                decoded += try decoder.append(Array(stream[offset..<min(stream.count, offset + size)]))
                offset += size
            }
            #expect(decoded == frames)
        }
    }

    @Test func anOversizeHeaderFailsBeforeItsPayloadArrives() {
        var decoder = FrameDecoder(maximumPayload: 1_000)
        var header: [UInt8] = []
        withUnsafeBytes(of: UInt32(1_001).littleEndian) { header += $0 }
        #expect(throws: FrameError.oversize(length: 1_001, limit: 1_000)) { try decoder.append(header + [FrameKind.gossip.rawValue]) }
    }

    @Test func anUnknownKindFails() {
        var decoder = FrameDecoder(maximumPayload: 1_000)
        #expect(throws: FrameError.unknownKind(0)) { try decoder.append([0, 0, 0, 0, 0]) }
        var other = FrameDecoder(maximumPayload: 1_000)
        #expect(throws: FrameError.unknownKind(200)) { try other.append([1, 0, 0, 0, 200, 1]) }
    }

    /// Each kind describes itself by name: the description used to call itself (a stack overflow that killed a
    /// node the first time it logged an unexpected or malformed frame).
    @Test func everyKindAndTheErrorsNamingItDescribeThemselves() {
        #expect(FrameKind.allCases.map(\.description) == ["hello", "proof", "gossip", "ihave", "iwant", "direct", "request",
                                                           "response", "ping", "pong", "peers", "goodbye", "graft", "prune"])
        #expect(NetworkError.unexpectedFrame(.hello, during: "established connection").description
            == "unexpected hello frame during established connection; closed")
        #expect(NetworkError.malformed(kind: .gossip, reason: "short").description == "malformed gossip frame: short; closed")
    }

    @Test func anIncompleteFrameWaitsAndHoldsOnlyItsBytes() throws {
        var decoder = FrameDecoder(maximumPayload: 1_000)
        let bytes = Frame(kind: .direct, payload: [1, 2, 3]).bytes
        #expect(try decoder.append(Array(bytes.prefix(6))).isEmpty)
        #expect(decoder.pendingBytes == 6)
        #expect(try decoder.append(Array(bytes.suffix(2))) == [Frame(kind: .direct, payload: [1, 2, 3])])
        #expect(decoder.pendingBytes == 0)
    }
}

@Suite struct HandshakeCoreTests {
    let chain = Hash.sha256(utf8: "handshake-tests")

    func side(_ label: String, chain: Hash? = nil, version: UInt16 = Hello.currentProtocolVersion,
              key: SigningKey? = nil, instances: InstanceAnnouncement? = nil) -> HandshakeCore {
        let key = key ?? SigningKey(deterministicLabel: label)
        let announcement = instances ?? .signed(by: key, chainId: chain ?? self.chain, sequence: 1,
                                                instances: [ActorAddress(.field, instance: InstanceId([1]))])
        let hello = Hello(protocolVersion: version, chainId: chain ?? self.chain, nodeKey: key.publicKey, roles: .superNode,
                          listenAddress: "127.0.0.1:1", nonce: Bytes32(SecureRandom.bytes(32))!, agent: label,
                          instances: announcement)
        return HandshakeCore(local: hello, key: key)
    }

    @Test func bothSidesAuthenticateEachOther() {
        var a = side("a")
        var b = side("b")
        guard case .send(let proofFromB) = b.receive(a.openingFrame), case .send(let proofFromA) = a.receive(b.openingFrame) else {
            Issue.record("hellos must be answered with proofs")
            return
        }
        #expect(a.receive(proofFromB) == .established(b.local))
        #expect(b.receive(proofFromA) == .established(a.local))
        #expect(a.isEstablished && b.isEstablished)
        // Handshake frames after the handshake are a protocol violation.
        guard case .failed(.unexpectedFrame(.hello, _)) = a.receive(b.openingFrame) else {
            Issue.record("a second hello must fail")
            return
        }
    }

    @Test func anInstanceAnnouncementNotSignedByThePeerIsRefused() {
        let b = SigningKey(deterministicLabel: "b")
        let forged = InstanceAnnouncement.signed(by: SigningKey(deterministicLabel: "someone else"), chainId: chain,
                                                 sequence: 1, instances: [ActorAddress(.field, instance: InstanceId([9]))])
        var a = side("a")
        // b claims someone else's announcement as its own: the node field names another key.
        #expect(a.receive(side("b", key: b, instances: forged).openingFrame) == .failed(.invalidAnnouncement(peer: b.publicKey)))
        // Its own key in the node field, but a signature that does not cover the list.
        var tampered = InstanceAnnouncement.signed(by: b, chainId: chain, sequence: 1, instances: [])
        tampered.instances = [ActorAddress(.field, instance: InstanceId([9]))]
        var c = side("c")
        #expect(c.receive(side("b", key: b, instances: tampered).openingFrame) == .failed(.invalidAnnouncement(peer: b.publicKey)))
    }

    @Test func aPeerOnAnotherChainIsRefused() {
        var a = side("a")
        let other = Hash.sha256(utf8: "other")
        #expect(a.receive(side("b", chain: other).openingFrame) == .failed(.wrongChain(expected: chain, actual: other)))
    }

    @Test func anotherProtocolVersionIsRefused() {
        var a = side("a")
        #expect(a.receive(side("b", version: 99).openingFrame) == .failed(.protocolMismatch(ours: Hello.currentProtocolVersion, theirs: 99)))
    }

    @Test func aConnectionToItselfIsRefused() {
        let key = SigningKey(deterministicLabel: "self")
        var a = side("a", key: key)
        #expect(a.receive(side("a2", key: key).openingFrame) == .failed(.selfConnection))
    }

    @Test func aProofByAnotherKeyIsRefused() {
        var a = side("a")
        let claimed = side("claimed")
        guard case .send = a.receive(claimed.openingFrame) else {
            Issue.record("hello must be answered")
            return
        }
        let digest = HelloProof.digest(chainId: chain, peerNonce: a.local.nonce, signer: claimed.local.nodeKey, verifier: a.local.nodeKey)
        let forged = Frame(kind: .proof, message: HelloProof(signature: SigningKey(deterministicLabel: "impostor").sign(digest)))
        #expect(a.receive(forged) == .failed(.badHandshakeSignature(peer: claimed.local.nodeKey)))
    }

    @Test func aProofReplayedFromAnotherConnectionIsRefused() {
        // b's proof for a's first nonce does not authenticate b on a connection with a fresh nonce.
        var first = side("a", key: SigningKey(deterministicLabel: "a"))
        var b = side("b")
        guard case .send(let proof) = b.receive(first.openingFrame) else {
            Issue.record("no proof")
            return
        }
        _ = first.receive(b.openingFrame)
        var second = side("a", key: SigningKey(deterministicLabel: "a"))
        _ = second.receive(b.openingFrame)
        #expect(second.receive(proof) == .failed(.badHandshakeSignature(peer: b.local.nodeKey)))
    }

    @Test func framesOutOfOrderOrMalformedAreRefused() {
        var a = side("a")
        guard case .failed(.unexpectedFrame(.gossip, _)) = a.receive(Frame(kind: .gossip, payload: [1])) else {
            Issue.record("gossip before the handshake must fail")
            return
        }
        #expect(a.receive(Frame(kind: .hello, payload: [1])) == .wait, "a failed handshake stays failed")
        var b = side("b")
        guard case .failed(.malformed(kind: .hello, _)) = b.receive(Frame(kind: .hello, payload: [1, 2, 3])) else {
            Issue.record("a truncated hello must fail")
            return
        }
    }
}

@Suite struct GossipCoreTests {
    func message(_ index: Int) -> GossipMessage { GossipMessage(topic: .transactions, payload: Array("tx-\(index)".utf8)) }

    func core(peers: Int, configure: (inout GossipCore.Configuration) -> Void = { _ in }) -> GossipCore {
        var configuration = GossipCore.Configuration()
        configure(&configuration)
        var core = GossipCore(configuration: configuration, seed: 1)
        for peer in 0..<peers { _ = core.peerConnected("p\(peer)", now: 0) }
        return core
    }

    func recipients(_ effects: [GossipCore.Effect], kind: FrameKind) -> Set<String> {
        Set(effects.compactMap { if case .send(let frame, let peer) = $0, frame.kind == kind { peer } else { nil } })
    }

    @Test func aPublishedMessageIsPushedToTheMeshAndAnnouncedToSixOthers() {
        var gossip = core(peers: 20) { $0.lazyDegree = 6 }
        #expect(gossip.mesh.count == 6)
        let pushed = recipients(gossip.publish(message(1), now: 0), kind: .gossip)
        #expect(pushed == gossip.mesh)
        let announced = recipients(gossip.tick(now: 100), kind: .ihave)
        // Six of the 14 peers outside the mesh (gossipsub's D_lazy), none of the mesh.
        #expect(announced.count == 6)
        #expect(announced.isDisjoint(with: gossip.mesh))
        #expect(announced.isSubset(of: Set((0..<20).map { "p\($0)" })))
        #expect(gossip.tick(now: 200).isEmpty, "announcements are sent once")
        // Another message is announced to another random six: over many, every peer outside the mesh hears.
        var heard = announced
        for index in 2...40 {
            _ = gossip.publish(message(index), now: 300)
            heard.formUnion(recipients(gossip.tick(now: 400), kind: .ihave))
        }
        #expect(heard == Set((0..<20).map { "p\($0)" }).subtracting(gossip.mesh))
    }

    @Test func withFewPeersOutsideTheMeshAllOfThemHearOfAMessage() {
        var gossip = core(peers: 9) { $0.lazyDegree = 6 }
        #expect(GossipCore.Configuration().lazyDegree == 64, "a node announces to all its peers by default")
        _ = gossip.publish(message(1), now: 0)
        #expect(recipients(gossip.tick(now: 100), kind: .ihave) == Set((0..<9).map { "p\($0)" }).subtracting(gossip.mesh))
    }

    @Test func aMessageIsDeliveredOnceAndNeverSentBackToItsSources() {
        var gossip = core(peers: 8)
        let sender = gossip.mesh.sorted()[0]
        let first = gossip.received(message(1), from: sender, now: 0)
        #expect(first.count == 1)
        #expect(gossip.received(message(1), from: "p7", now: 1).isEmpty)
        let forwarded = gossip.publish(message(1), now: 2)
        #expect(!recipients(forwarded, kind: .gossip).contains(sender))
        let announcedTo = recipients(gossip.tick(now: 3), kind: .ihave)
        #expect(!announcedTo.contains(sender) && !announcedTo.contains("p7"))
    }

    /// A peer that announced a message holds it: it is not pushed to, nor announced to, by this node.
    @Test func aPeerThatAnnouncedAMessageIsNeitherSentNorToldOfIt() {
        var gossip = core(peers: 10)
        #expect(gossip.mesh == ["p0", "p1", "p2", "p3", "p4", "p5"], "the first six peers are grafted")
        let (meshPeer, lazyPeer) = ("p0", "p6")
        _ = gossip.received(message(1), from: "p9", now: 0)
        #expect(gossip.receivedIHave([message(1).id], from: meshPeer, now: 1).isEmpty)
        #expect(gossip.receivedIHave([message(1).id], from: lazyPeer, now: 1).isEmpty)
        let pushed = recipients(gossip.publish(message(1), now: 2), kind: .gossip)
        #expect(!pushed.contains(meshPeer) && !pushed.isEmpty)
        let announced = recipients(gossip.tick(now: 3), kind: .ihave)
        #expect(!announced.contains(lazyPeer) && !announced.isEmpty)
        // Announced after the publication, before the flush: dropped from the queued announcement too.
        _ = gossip.publish(message(2), now: 4)
        let others = (0..<10).map { "p\($0)" }.filter { !gossip.mesh.contains($0) }
        for peer in others { _ = gossip.receivedIHave([message(2).id], from: peer, now: 5) }
        #expect(recipients(gossip.tick(now: 6), kind: .ihave).isEmpty)
    }

    @Test func announcementsAreFetchedOnceUntilTheRequestTimesOut() {
        var gossip = core(peers: 3)
        let id = message(5).id
        #expect(recipients(gossip.receivedIHave([id], from: "p0", now: 0), kind: .iwant) == ["p0"])
        #expect(gossip.receivedIHave([id], from: "p1", now: 1_000).isEmpty, "already asked p0")
        #expect(recipients(gossip.receivedIHave([id], from: "p1", now: 3_500), kind: .iwant) == ["p1"], "p0 did not answer in time")
        _ = gossip.received(message(5), from: "p1", now: 3_600)
        #expect(gossip.receivedIHave([id], from: "p2", now: 3_700).isEmpty, "seen messages are not fetched")
    }

    @Test func wantedMessagesAreServedFromTheCacheWhileItHoldsThem() {
        var gossip = core(peers: 2) { $0.messageCacheLimit = 10 }
        for index in 0..<20 { _ = gossip.publish(message(index), now: 0) }
        #expect(gossip.receivedIWant([message(19).id], from: "p0") == [.send(Frame(kind: .gossip, message: message(19)), to: "p0")])
        #expect(gossip.receivedIWant([message(0).id], from: "p0").isEmpty, "evicted beyond the cache limit")
        #expect(gossip.receivedIWant([Hash.sha256(utf8: "unknown")], from: "p0").isEmpty)
    }

    @Test func theSeenCacheForgetsAfterItsLifetime() {
        var gossip = core(peers: 1) { $0.seenMilliseconds = 1_000 }
        _ = gossip.received(message(1), from: "p0", now: 0)
        #expect(gossip.seenCount == 1)
        _ = gossip.tick(now: 999)
        #expect(gossip.seenCount == 1)
        _ = gossip.tick(now: 1_000)
        #expect(gossip.seenCount == 0)
    }

    @Test func theMeshIsRefilledWhenItFallsBelowItsLowBound() {
        var gossip = core(peers: 20)
        for peer in gossip.mesh.sorted().prefix(3) { gossip.peerDisconnected(peer) }
        #expect(gossip.mesh.count == 3)
        let before = gossip.mesh
        let grafted = recipients(gossip.tick(now: 0), kind: .graft)
        #expect(gossip.mesh.count == 6)
        #expect(gossip.mesh.isSubset(of: Set(gossip.connectedPeers)))
        #expect(grafted == gossip.mesh.subtracting(before), "each new member is told with a graft")
    }

    @Test func newPeersAreGraftedUntilTheMeshHasItsDegree() {
        var gossip = GossipCore(seed: 3)
        for peer in 0..<6 { #expect(gossip.peerConnected("p\(peer)", now: 0) == [.send(Frame(kind: .graft, payload: []), to: "p\(peer)")]) }
        #expect(gossip.peerConnected("p6", now: 0).isEmpty)
        #expect(gossip.mesh.count == 6)
    }

    @Test func graftsAreReciprocatedUpToTheHighBoundThenPruned() {
        var gossip = GossipCore(seed: 4)
        for peer in 0..<20 { _ = gossip.peerConnected("p\(peer)", now: 0) }
        var pruned: [String] = []
        for peer in 6..<20 {
            if gossip.receivedGraft(from: "p\(peer)") == [.send(Frame(kind: .prune, payload: []), to: "p\(peer)")] {
                pruned.append("p\(peer)")
            }
        }
        #expect(gossip.mesh.count == 12)
        #expect(pruned == (12..<20).map { "p\($0)" })
        #expect(gossip.receivedGraft(from: "stranger").isEmpty, "only connected peers join the mesh")
        gossip.receivedPrune(from: "p0")
        #expect(!gossip.mesh.contains("p0"))
    }

    @Test func aNewPeerHearsOfTheRecentMessagesItMissed() {
        var gossip = core(peers: 2)
        _ = gossip.publish(message(1), now: 0)
        _ = gossip.received(message(2), from: "p0", now: 9_000)
        _ = gossip.publish(message(3), now: 12_000)
        let effects = gossip.peerConnected("late", now: 15_000)
        let announced = effects.compactMap { effect -> [Hash]? in
            guard case .send(let frame, "late") = effect, frame.kind == .ihave else { return nil }
            return try? MessageIds(canonicalBytes: frame.payload).ids
        }
        #expect(announced == [[message(2).id, message(3).id]], "only the last 10 s, oldest first")
        let again = gossip.peerConnected("p0", now: 15_000)
        #expect(again.allSatisfy { if case .send(let frame, _) = $0 { frame.kind == .ihave } else { false } },
                "a replaced connection is not grafted twice")
        let toSource = again.compactMap { effect -> [Hash]? in
            guard case .send(let frame, _) = effect else { return nil }
            return try? MessageIds(canonicalBytes: frame.payload).ids
        }
        #expect(toSource == [[message(3).id]], "nothing is announced back to the peer it came from")
    }

    @Test func aMeshNeverGrowsBeyondItsHighBound() {
        var gossip = GossipCore(seed: 5)
        for peer in 0..<30 { _ = gossip.peerConnected("p\(peer)", now: 0) }
        for peer in 0..<30 { _ = gossip.receivedGraft(from: "p\(peer)") }
        #expect(gossip.mesh.count == gossip.configuration.meshHigh)
        #expect(recipients(gossip.tick(now: 0), kind: .prune).isEmpty)
    }
}

@Suite struct PeerTableTests {
    @Test func seedsAndLearnedAddressesExcludeThisNode() {
        var table = PeerTable(seeds: ["a:1", "me:1"], ownAddress: "me:1", maximumLearned: 4, seed: 1)
        #expect(table.knownAddresses == ["a:1"])
        table.learn(["b:1", "me:1", "", "a:1", "c:1", "d:1", "e:1"])
        #expect(table.knownAddresses == ["a:1", "b:1", "c:1", "d:1"], "bounded, no duplicates, never itself")
        table.markOwn("b:1")
        table.learn(["b:1"])
        #expect(!table.knownAddresses.contains("b:1"), "an address found to reach this node is not learned again")
    }

    @Test func failedAddressesBackOffExponentiallyUpToThirtySeconds() {
        var table = PeerTable(seeds: ["a:1"], ownAddress: "", seed: 7)
        #expect(table.dialCandidates(now: 0, limit: 8) == ["a:1"])
        table.attempting("a:1", now: 0)
        #expect(table.dialCandidates(now: 1_000, limit: 8).isEmpty, "no second dial while one is pending")
        var now: UInt64 = 0
        var delays: [UInt64] = []
        for _ in 0..<10 {
            table.disconnected("a:1", now: now)
            let next = table.entries["a:1"]!.nextAttempt
            delays.append(next - now)
            #expect(table.dialCandidates(now: next - 1, limit: 8).isEmpty)
            #expect(table.dialCandidates(now: next, limit: 8) == ["a:1"])
            now = next
        }
        for (index, delay) in delays.enumerated() {
            let base = min(30_000, UInt64(500) << UInt64(index))
            #expect(delay >= base && delay <= base + base / 4, "attempt \(index): \(delay) ms")
        }
        table.connected("a:1")
        #expect(table.entries["a:1"]?.failures == 0)
        #expect(table.dialCandidates(now: now, limit: 8).isEmpty, "connected addresses are not dialed")
    }
}
