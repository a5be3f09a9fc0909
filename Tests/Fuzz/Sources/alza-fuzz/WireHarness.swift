import AlzaCore
import AlzaConsensus
import AlzaLedger
import AlzaNetCore

// `wire`: every message type a frame payload decodes into, chosen by the first byte.

/// The wire types, in selector order (the first input byte modulo the count).
let wireTypes: [(name: String, run: @Sendable ([UInt8]) -> Void)] = [
    ("Hello", { bytes in
        guard let hello = roundTrip(Hello.self, bytes) else { return }
        describe(hello.roles)
        _ = hello.roles.names
        _ = hello.instances.isValid(chainId: Fixture.netChainId)
        for address in hello.instances.instances { describe(address) }
    }),
    ("HelloProof", { bytes in roundTrip(HelloProof.self, bytes) }),
    ("GossipMessage", { bytes in
        guard let message = roundTrip(GossipMessage.self, bytes) else { return }
        describe(message.topic)
        var hasher = SHA256Hasher()
        hasher.update([message.topic.rawValue])
        hasher.update(message.payload)
        check(message.id == hasher.finalize(), "gossip id is not SHA-256(topic || payload)")
    }),
    ("MessageIds", { bytes in
        guard let ids = roundTrip(MessageIds.self, bytes) else { return }
        check(ids.ids.count <= MessageIds.maximum, "\(ids.ids.count) ids decoded, limit \(MessageIds.maximum)")
    }),
    ("Correlated", { bytes in
        guard let message = roundTrip(Correlated.self, bytes) else { return }
        describe(message.address)
        describe(message.address.protocolId)
    }),
    ("AddressedMessage", { bytes in
        guard let message = roundTrip(AddressedMessage.self, bytes) else { return }
        describe(message.address)
        if let instance = message.address.instance { describe(instance) }
    }),
    ("PeerAddresses", { bytes in
        guard let peers = roundTrip(PeerAddresses.self, bytes) else { return }
        check(peers.addresses.count <= PeerAddresses.maximum, "\(peers.addresses.count) addresses decoded")
    }),
    ("InstanceAnnouncement", { bytes in
        guard let announcement = roundTrip(InstanceAnnouncement.self, bytes) else { return }
        var directory = InstanceDirectory(chainId: Fixture.netChainId, capacity: 4)
        let outcome = directory.apply(announcement)
        _ = "\(outcome)"
        if outcome == .updated {
            check(announcement.isValid(chainId: Fixture.netChainId), "directory took an invalid announcement")
            check(directory.instances(of: announcement.node) == announcement.instances, "directory lost instances")
            for address in announcement.instances {
                check(directory.hosts(of: address) == [announcement.node], "\(address) not hosted by its announcer")
            }
            check(directory.apply(announcement) == .stale(known: announcement.sequence), "replayed announcement not stale")
        }
    }),
    ("ActorAddress", { bytes in
        guard let address = roundTrip(ActorAddress.self, bytes) else { return }
        describe(address)
        check(!(address < address), "ActorAddress < is not irreflexive")
    }),
    ("InstanceId", { bytes in
        guard let instance = roundTrip(InstanceId.self, bytes) else { return }
        describe(instance)
    }),
    ("NodeRoles", { bytes in
        guard let roles = roundTrip(NodeRoles.self, bytes) else { return }
        describe(roles)
    }),
    ("ConsensusMessage", { bytes in
        guard let message = roundTrip(ConsensusMessage.self, bytes) else { return }
        switch message {
        case .block(let block): describe(BlockReference(block.signedHeader))
        case .transaction(let transaction): _ = transaction.witnessHash
        case .blockRequest(let request): for reference in request.locator { describe(reference) }
        case .blockResponse(let response): for block in response.blocks { describe(BlockReference(block.signedHeader)) }
        case .status(let status): describe(status.head); describe(status.lib)
        }
    }),
    ("BlockRequest", { bytes in roundTrip(BlockRequest.self, bytes) }),
    ("BlockResponse", { bytes in roundTrip(BlockResponse.self, bytes) }),
    ("ChainStatus", { bytes in roundTrip(ChainStatus.self, bytes) }),
]

let wireHarness = Harness(
    name: "wire",
    summary: "first byte picks a wire type (\(wireTypes.count)); decode, and when it decodes, re-encode to the same bytes",
    run: { input in
        guard let selector = input.first else { return }
        wireTypes[Int(selector) % wireTypes.count].run(Array(input.dropFirst()))
    },
    seeds: {
        func seed(_ name: String, _ value: some CanonicalEncodable) -> [UInt8] {
            guard let index = wireTypes.firstIndex(where: { $0.name == name }) else { violation("no wire type \(name)") }
            return [UInt8(index)] + value.canonicalBytes
        }
        let field = ActorAddress(.field, instance: InstanceId(Hash.sha256(utf8: "field")))
        let block = Fixture.blocks[1]
        let reference = BlockReference(block.signedHeader)
        return [
            seed("Hello", Fixture.remoteHello),
            seed("HelloProof", Fixture.remoteProof),
            seed("GossipMessage", GossipMessage(topic: .transactions, payload: Array("payload".utf8))),
            seed("MessageIds", MessageIds([Hash.sha256(utf8: "x"), Hash.sha256(utf8: "y")])),
            seed("Correlated", Correlated(address: field, id: 42, payload: [1, 2, 3])),
            seed("AddressedMessage", AddressedMessage(address: ActorAddress(.chain), payload: [0xaa])),
            seed("PeerAddresses", PeerAddresses(["127.0.0.1:7000", "[::1]:7001"])),
            seed("InstanceAnnouncement", Fixture.remoteHello.instances),
            seed("ActorAddress", field),
            seed("InstanceId", InstanceId([1, 2, 3, 4])),
            seed("NodeRoles", NodeRoles([.superNode, .satellite])),
            seed("ConsensusMessage", ConsensusMessage.block(block)),
            seed("ConsensusMessage", ConsensusMessage.transaction(Fixture.transfer(nonce: 9, amount: 1))),
            seed("ConsensusMessage", ConsensusMessage.status(ChainStatus(head: reference, lib: reference))),
            seed("BlockRequest", BlockRequest(locator: [reference], limit: 16)),
            seed("BlockResponse", BlockResponse(blocks: [Fixture.blocks[0]], more: true)),
            seed("ChainStatus", ChainStatus(head: reference, lib: reference)),
        ]
    })
