import AlzaConsensus
import AlzaCore
import AlzaLedger
import AlzaNet
import FlyingFox

/// The SuperNode role (DESIGN.md §1): the producer's duties. It holds the producer identity (account and block
/// signing key) the chain follower's core produces with — producing, signing and the double-sign watermark are
/// consensus decisions and stay in the pure core — and reports those duties: the producer's status, blocks
/// produced, whether it is in the current round and its next slot there (`GET /v1/supernode`). The committee
/// sign-ins, storage challenges and the NameNode it will host arrive with their protocols.
public actor SuperNodeRole: NodeRole {
    public nonisolated let producer: ProducerIdentity
    private let chain: ChainService

    public init(producer: ProducerIdentity, chain: ChainService) {
        self.producer = producer
        self.chain = chain
    }

    public nonisolated var name: String { "supernode" }
    public nonisolated var protocols: [ProtocolRegistration] { [] }

    public func start(_ context: RoleContext) async throws(NodeError) {
        context.logger.info("SuperNode \(producer.account) producing with key \(producer.signingKey.publicKey.hex.prefix(16))")
    }

    public func stop() async {}

    /// The producer's duties as the chain sees them now.
    public func duties() async -> NodeAPI.SuperNodeDuties {
        let snapshot = await chain.snapshot()
        let record = snapshot.state.producers[producer.account]
        let roundLength = UInt64(max(1, snapshot.round.producers.count)) * 6
        let nextSlot = (snapshot.currentSlot..<(snapshot.currentSlot + roundLength)).first {
            ProducerSchedule.producer(at: $0, after: snapshot.state) == producer.account
        }
        return NodeAPI.SuperNodeDuties(
            account: producer.account.description, signingKey: producer.signingKey.publicKey.hex,
            registered: record != nil, status: record?.status.description, producedBlocks: record?.producedBlocks ?? 0,
            lastProducedSlot: record?.lastProducedSlot, inCurrentRound: snapshot.round.producers.contains(producer.account),
            nextSlot: nextSlot, currentSlot: snapshot.currentSlot)
    }

    public func details() async -> [String: String] {
        let duties = await duties()
        return ["account": duties.account, "status": duties.status ?? "not registered",
                "producedBlocks": "\(duties.producedBlocks)", "inCurrentRound": "\(duties.inCurrentRound)",
                "nextSlot": duties.nextSlot.map { "\($0)" } ?? "-"]
    }

    public nonisolated var routes: [RoleRoute] {
        [RoleRoute(.GET, "v1/supernode") { _, _ in try APIResponse.json(await self.duties()) }]
    }
}
