import AlzaCore
import AlzaNet
import Foundation
import Testing

@Suite(.serialized) struct TransportTests {
    @Test func handshakeAuthenticatesBothSides() async throws {
        let a = try await makeTransport(label: "a")
        let address = try #require(await a.boundAddress)
        let b = try await makeTransport(label: "b", seeds: [address])
        let logA = try await EventLog(a)
        let logB = try await EventLog(b)
        #expect(await eventually { logA.connectedPeers.count == 1 && logB.connectedPeers.count == 1 })
        #expect(logA.connectedPeers.first?.nodeKey == SigningKey(deterministicLabel: "net-b").publicKey)
        #expect(logB.connectedPeers.first?.nodeKey == SigningKey(deterministicLabel: "net-a").publicKey)
        #expect(logB.connectedPeers.first?.inbound == false)
        await a.stop()
        await b.stop()
    }

    @Test func peerOnAnotherChainIsRefused() async throws {
        let a = try await makeTransport(label: "chain-a")
        let logA = try await EventLog(a)
        let address = try #require(await a.boundAddress)
        let other = Hash.sha256(utf8: "another chain")
        let b = try await makeTransport(label: "chain-b", seeds: [address], chainId: other)
        #expect(await eventually { logA.refusals.contains(.wrongChain(expected: testChainId, actual: other)) })
        #expect(await a.peers.isEmpty)
        await a.stop()
        await b.stop()
    }

    @Test func handshakeSignedWithTheWrongKeyIsRefused() async throws {
        let a = try await makeTransport(label: "sig-a")
        let logA = try await EventLog(a)
        let client = try RawClient(address: try #require(await a.boundAddress))
        // Announce one key, sign with another.
        let claimed = SigningKey(deterministicLabel: "claimed")
        let actual = SigningKey(deterministicLabel: "impostor")
        let hello = Hello(chainId: testChainId, nodeKey: claimed.publicKey, roles: .satellite, listenAddress: "",
                          nonce: Bytes32(SecureRandom.bytes(32))!, agent: "test",
                          instances: .signed(by: claimed, chainId: testChainId, sequence: 1, instances: []))
        client.write(Frame(kind: .hello, message: hello).bytes)
        let theirHello = try Hello(canonicalBytes: try #require(await client.readFrames(count: 1).first).payload)
        let digest = HelloProof.digest(chainId: testChainId, peerNonce: theirHello.nonce, signer: claimed.publicKey,
                                       verifier: theirHello.nodeKey)
        client.write(Frame(kind: .proof, message: HelloProof(signature: actual.sign(digest))).bytes)
        #expect(await eventually { logA.refusals.contains(.badHandshakeSignature(peer: claimed.publicKey)) })
        #expect(await client.waitForClose())
        await a.stop()
    }

    @Test func garbageBytesAreRefused() async throws {
        let a = try await makeTransport(label: "garbage")
        let logA = try await EventLog(a)
        let client = try RawClient(address: try #require(await a.boundAddress))
        client.write([0x05, 0x00, 0x00, 0x00, 0xee, 1, 2, 3, 4, 5])   // kind 0xee does not exist
        #expect(await eventually { logA.refusals.contains(.frame(.unknownKind(0xee))) })
        #expect(await client.waitForClose())
        await a.stop()
    }

    @Test func frameOverTheLimitIsRefusedWithoutReadingIt() async throws {
        let a = try await makeTransport(label: "oversize") { $0.maximumFramePayload = 1 << 20 }
        let logA = try await EventLog(a)
        let client = try RawClient(address: try #require(await a.boundAddress))
        var header: [UInt8] = []
        withUnsafeBytes(of: UInt32(1 << 30).littleEndian) { header += $0 }
        client.write(header + [FrameKind.hello.rawValue])
        #expect(await eventually { logA.refusals.contains(.frame(.oversize(length: 1 << 30, limit: 1 << 20))) })
        #expect(await client.waitForClose())
        await a.stop()
    }

    @Test func silentPeerIsDroppedAfterTheHandshakeTimeout() async throws {
        let a = try await makeTransport(label: "silent") { $0.connections.handshakeTimeoutMilliseconds = 300 }
        let logA = try await EventLog(a)
        let client = try RawClient(address: try #require(await a.boundAddress))
        #expect(await eventually { logA.refusals.contains(.handshakeTimeout(seconds: 0.3)) })
        #expect(await client.waitForClose())
        await a.stop()
    }

    @Test func requestGetsItsResponseAndAnUnansweredOneTimesOut() async throws {
        let a = try await makeTransport(label: "req-a")
        let b = try await makeTransport(label: "req-b", seeds: [try #require(await a.boundAddress)])
        let bId = b.nodeId
        _ = try await EventLog(b) { event in
            if case .request(let payload, _, let requestId, let from) = event, payload != [0] {
                await b.respond(to: from, requestId: requestId, address: ActorAddress(.chain), payload: payload.reversed())
            }
        }
        #expect(await eventually { await a.peers.count == 1 })
        let answer = try await a.request([1, 2, 3], to: bId, address: ActorAddress(.chain))
        #expect(answer == [3, 2, 1])
        await #expect(throws: NetworkError.requestTimeout(peer: String(bId.prefix(16)))) {
            _ = try await a.request([0], to: bId, address: ActorAddress(.chain), timeoutMilliseconds: 200)
        }
        await a.stop()
        await b.stop()
    }

    @Test func peerThatStopsReadingIsDroppedAndMemoryStaysBounded() async throws {
        let a = try await makeTransport(label: "slow-a") {
            $0.sendQueueLimitBytes = 1 << 20
        }
        let logA = try await EventLog(a)
        let client = try RawClient(address: try #require(await a.boundAddress))
        let key = SigningKey(deterministicLabel: "slow-client")
        let hello = Hello(chainId: testChainId, nodeKey: key.publicKey, roles: .satellite, listenAddress: "",
                          nonce: Bytes32(SecureRandom.bytes(32))!, agent: "test",
                          instances: .signed(by: key, chainId: testChainId, sequence: 1, instances: []))
        client.write(Frame(kind: .hello, message: hello).bytes)
        let theirHello = try Hello(canonicalBytes: try #require(await client.readFrames(count: 1).first).payload)
        let digest = HelloProof.digest(chainId: testChainId, peerNonce: theirHello.nonce, signer: key.publicKey,
                                       verifier: theirHello.nodeKey)
        client.write(Frame(kind: .proof, message: HelloProof(signature: key.sign(digest))).bytes)
        #expect(await eventually { await a.peers.count == 1 })
        // The client never reads again: gossip 64 MiB at it.
        let payload = [UInt8](repeating: 7, count: 256 << 10)
        for index in 0..<256 {
            await a.publish(.blocks, payload: payload + [UInt8(truncatingIfNeeded: index), UInt8(index >> 8)])
            if logA.refusals.contains(where: { if case .slowPeer = $0 { true } else { false } }) { break }
        }
        #expect(await eventually { logA.refusals.contains { if case .slowPeer = $0 { true } else { false } } })
        #expect(await eventually { await a.peers.isEmpty })
        // The bound held: the peer was dropped once its queue would pass 1 MiB, before one more 256 KiB frame.
        let slow = logA.refusals.compactMap { if case .slowPeer(let queued, let limit) = $0 { (queued, limit) } else { nil } }
        #expect(slow.count == 1)
        #expect(slow.first?.1 == 1 << 20)
        #expect((slow.first?.0 ?? .max) <= (1 << 20) + payload.count + 2 + Frame.headerSize + 64)
        await a.stop()
    }

    /// The redial itself; its backoff schedule (doubling from 500 ms, capped at 30 s) is checked on the pure peer
    /// table in NetCoreTests.
    @Test func droppedPeerIsRedialedByItself() async throws {
        // a listens below the kernel's ephemeral range: b's redials to a port in it could be given that very port
        // as their source (a loopback self-connect) and hold it, so a second listener could not bind it.
        var random = SeededRandom(label: "re-a-port-\(getpid())")
        var listening: Transport?
        for _ in 0..<50 where listening == nil {
            let port = 20_000 + random.next(below: 12_000)
            listening = try? await makeTransport(label: "re-a") { $0.listenAddress = "127.0.0.1:\(port)" }
        }
        let a = try #require(listening, "no free port between 20000 and 32000")
        let address = try #require(await a.boundAddress)
        let b = try await makeTransport(label: "re-b", seeds: [address])
        #expect(await eventually { await b.peers.count == 1 })
        await a.stop()
        #expect(await eventually { await b.peers.isEmpty })
        // A new node on the same address: b dials it again by itself.
        let port = address.split(separator: ":").last!
        let again = try await makeTransport(label: "re-a2") { $0.listenAddress = "127.0.0.1:\(port)" }
        #expect(await eventually(within: 15) { await b.peers.count == 1 })
        await again.stop()
        await b.stop()
    }
}

@Suite(.serialized) struct GossipMeshTests {
    /// 20 transports in this process on real sockets, each connected to a few others; each node's application
    /// "validates" and relays. Every message reaches every node exactly once.
    @Test func gossipReachesEveryNodeOfATwentyNodeMeshExactlyOnce() async throws {
        var started: [Transport] = []
        var addresses: [String] = []
        for index in 0..<20 {
            let seeds = index == 0 ? [] : [addresses[index - 1], addresses[index / 2]]
            let node = try await makeTransport(label: "mesh-\(index)", seeds: Array(Set(seeds)))
            started.append(node)
            addresses.append(try #require(await node.boundAddress))
        }
        let nodes = started
        var registered: [EventLog] = []
        for node in nodes {
            registered.append(try await EventLog(node) { event in
                if case .gossip(let message, _, _) = event { await node.publish(message.topic, payload: message.payload) }
            })
        }
        let logs = registered
        #expect(await eventually(within: 15) {
            for node in nodes where await node.peers.isEmpty { return false }
            return true
        })
        let messages = (0..<10).map { [UInt8]("message \($0)".utf8) }
        for (index, payload) in messages.enumerated() {
            await nodes[index % 20].publish(.transactions, payload: payload)
        }
        #expect(await eventually(within: 15) {
            logs.enumerated().allSatisfy { index, log in
                log.gossip.count == messages.indices.filter { $0 % 20 != index }.count
            }
        })
        for (index, log) in logs.enumerated() {
            let received = log.gossip.map(\.0.payload)
            #expect(Set(received).count == received.count, "node \(index) delivered a message twice")
            #expect(Set(received) == Set(messages.indices.filter { $0 % 20 != index }.map { messages[$0] }), "node \(index)")
        }
        #expect(logs.map { $0.gossip.count }.reduce(0, +) == 10 * 19)
        for node in nodes { await node.stop() }
    }
}
