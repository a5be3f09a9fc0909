import AlzaCore
import AlzaLedger
import AlzaNet
import AlzaField
import AlzaNode
import Foundation
import Testing

/// Payment fields across real nodes (DESIGN.md §6): a satellite that leads a field gathers the other satellite's
/// consent over the transport, both pay through the leader's actor, and the cooperative close settles on chain
/// what the receipts say; a restarted leader recovers its receipted payments from its journal.
@Suite(.serialized) struct FieldNodeTests {
    static let consenting = NodeConfiguration.Fields(automaticConsent: true, maximumDeposit: "1000")

    struct Net {
        let folder: TestnetFolder
        let producer: RunningNode
        let leader: RunningNode
        let other: RunningNode
        let leaderAccount: Address
        let otherAccount: Address
    }

    static func start() async throws -> Net {
        let folder = try TestnetFolder(superNodes: 1, satellites: 2)
        let producer = try await folder.start("supernode-0")
        let leader = try await folder.start("satellite-0", peers: [producer.p2p], roles: ["satellite", "fieldleader"], fields: consenting)
        let other = try await folder.start("satellite-1", peers: [producer.p2p], fields: consenting)
        let accounts = try ["satellite-0", "satellite-1"].map { name in
            try Address(parsing: try #require(folder.layout.nodes.first { $0.name == name }).address)
        }
        // The leader finds the other wallet's participant actor through the instance directory.
        let otherActor = ActorAddress(.field, instance: InstanceId(accounts[1].bytes32.bytes))
        #expect(await eventually { await !leader.runtime.transport.hosts(of: otherActor).isEmpty })
        return Net(folder: folder, producer: producer, leader: leader, other: other, leaderAccount: accounts[0], otherAccount: accounts[1])
    }

    static func open(_ net: Net) async throws -> String {
        let request = NodeAPI.FieldOpenRequest(participants: [.init(account: net.leaderAccount.description, deposit: "100"),
                                                              .init(account: net.otherAccount.description, deposit: "50")],
                                               challengeSeconds: 60)
        let opened: NodeAPI.FieldOpened = try await NodeClient(api: net.leader.api, timeout: 60).post("/v1/fields", request)
        #expect(opened.participants == [net.leaderAccount.description, net.otherAccount.description])
        return opened.id
    }

    static func pay(_ node: RunningNode, field: String, to: Address, amount: String) async throws -> NodeAPI.FieldPaymentReceipt {
        try await node.client.post("/v1/fields/\(field)/payments", NodeAPI.FieldPaymentRequest(to: to.description, amount: amount))
    }

    @Test func aFieldOpensOverTheTransportPaysThroughItsLeaderAndClosesWithWhatTheReceiptsSay() async throws {
        let net = try await Self.start()
        let field = try await Self.open(net)
        let first = try await Self.pay(net.other, field: field, to: net.leaderAccount, amount: "7")
        let second = try await Self.pay(net.leader, field: field, to: net.otherAccount, amount: "2")
        let third = try await Self.pay(net.other, field: field, to: net.leaderAccount, amount: "3")
        #expect([first.index, second.index, third.index] == [0, 1, 2])
        #expect([first.sequence, second.sequence, third.sequence] == [0, 0, 1])

        // More than the payer holds in the field: refused with its reason, nothing logged.
        let (status, body, _) = try await http("POST", net.other.api, "/v1/fields/\(field)/payments",
                                               body: try JSONEncoder().encode(NodeAPI.FieldPaymentRequest(to: net.leaderAccount.description, amount: "1000")))
        #expect(status == 409)
        #expect(errorCode(body) == "field.insufficient-balance")

        let local: FieldLocalView = try await net.leader.client.get("/v1/fields/\(field)/local")
        #expect(local.leader?.payments == 3)
        #expect(local.leader?.balances.map(\.balance) == [108 * Amounts.unit, 42 * Amounts.unit])
        #expect(local.participants.map(\.account) == [net.leaderAccount.description])
        // A node that takes no part in the field has no view of it.
        let (absent, absentBody, _) = try await http("GET", net.producer.api, "/v1/fields/\(field)/local")
        #expect(absent == 404)
        #expect(errorCode(absentBody) == "field.unknown-here")

        let close: NodeAPI.FieldCloseSubmitted = try await NodeClient(api: net.leader.api, timeout: 30).post("/v1/fields/\(field)/close", [String: String]())
        #expect(close.paymentCount == 3)
        let closed = try await eventuallyValue { () -> NodeAPI.FieldView? in
            guard let view = try? await net.producer.client.get("/v1/fields/\(field)", as: NodeAPI.FieldView.self),
                  view.status == "closed" else { return nil }
            return view
        }
        #expect(closed.participants.map(\.finalBalance) == [108 * Amounts.unit, 42 * Amounts.unit])
        #expect(closed.snapshot?.paymentCount == 3)
        // The other participant's node holds the fully signed snapshot the close posted.
        let otherView: FieldLocalView = try await net.other.client.get("/v1/fields/\(field)/local")
        #expect(otherView.participants.first?.newestFullySigned == close.snapshot)
        #expect(otherView.participants.first?.receipts == 3)
        await net.folder.stopAll()
    }

    @Test func aBatchOfPaymentsGoesToTheLeaderPerPayerAndEachGetsItsReceiptOrItsError() async throws {
        let net = try await Self.start()
        let field = try await Self.open(net)
        func item(_ amount: String, to: Address, field text: String = field) -> NodeAPI.FieldPaymentBatchRequest.Item {
            .init(field: text, payment: .init(to: to.description, amount: amount))
        }
        let request = NodeAPI.FieldPaymentBatchRequest(payments: [
            item("1", to: net.leaderAccount), item("2", to: net.leaderAccount),
            item("999", to: net.leaderAccount),                       // more than the 47 left
            item("1", to: net.leaderAccount, field: "not-a-field"),
            item("4", to: net.leaderAccount),
        ])
        let result: NodeAPI.FieldPaymentBatchResult = try await net.other.client.post("/v1/fields/payments", request)
        #expect(result.results.map(\.receipt?.index) == [0, 1, nil, nil, 2])
        #expect(result.results.map(\.receipt?.sequence) == [0, 1, nil, nil, 2])
        #expect(result.results.map(\.error) == [nil, nil, "field.insufficient-balance", "request.bad-field-id", nil])
        let local: FieldLocalView = try await net.leader.client.get("/v1/fields/\(field)/local")
        #expect(local.leader?.payments == 3)
        #expect(local.leader?.balances.map(\.balance) == [107 * Amounts.unit, 43 * Amounts.unit])
        let (status, body, _) = try await http("POST", net.other.api, "/v1/fields/payments",
                                               body: try JSONEncoder().encode(NodeAPI.FieldPaymentBatchRequest(payments: [])))
        #expect(status == 400)
        #expect(errorCode(body) == "request.batch-size")
        await net.folder.stopAll()
    }

    @Test func aParticipantSoloClosesWithItsNewestFullySignedSnapshotWhenAskedTo() async throws {
        let net = try await Self.start()
        let field = try await Self.open(net)
        _ = try await Self.pay(net.other, field: field, to: net.leaderAccount, amount: "9")
        // The leader's next snapshot (within 500 ms) is signed by both and reaches both.
        let full = try await eventuallyValue { () -> UInt64? in
            let view = try? await net.other.client.get("/v1/fields/\(field)/local", as: FieldLocalView.self)
            return view?.participants.first.flatMap { $0.newestFullySigned > 0 ? $0.newestFullySigned : nil }
        }
        let submitted: NodeAPI.FieldActionSubmitted = try await net.other.client.post("/v1/fields/\(field)/dispute", [String: String]())
        #expect(submitted.action == "field-solo-close")
        let closing = try await eventuallyValue { () -> NodeAPI.FieldView? in
            guard let view = try? await net.producer.client.get("/v1/fields/\(field)", as: NodeAPI.FieldView.self),
                  view.status == "closing" else { return nil }
            return view
        }
        #expect(closing.snapshot?.number ?? 0 >= full)
        #expect(closing.deadline != nil)
        await net.folder.stopAll()
    }

    @Test func proposalsAndCloseRequestsFromANodeThatIsNotTheLeaderAreRefused() async throws {
        let net = try await Self.start()
        let field = try await Self.open(net)
        let id = FieldId(hash: try Hash(hex: field))
        let leaderNode = net.leader.runtime.transport.nodeId
        let target = ActorAddress(.field, instance: InstanceId(net.leaderAccount.bytes32.bytes))
        // The other participant's node forges a proposal giving the leader's account nothing.
        let snapshot = FieldSnapshot(field: id, number: 99, paymentCount: 0, paymentsRoot: MerkleAccumulator().root,
                                     balancesHash: FieldSnapshot.balancesHash(participants: [net.leaderAccount, net.otherAccount],
                                                                              balances: [0, 150 * Amounts.unit]))
        let forged = SnapshotProposal(snapshot: snapshot, firstIndex: 0, paymentHashes: [], participantIndex: 0, balance: 0, balanceProof: [])
        try await net.other.runtime.transport.sendDirect(FieldWireMessage.propose(forged).canonicalBytes, to: leaderNode, address: target)
        #expect(await eventually {
            let roles = try? await net.leader.client.get("/v1/roles", as: NodeAPI.Roles.self)
            return roles?.roles.first { $0.name == "satellite" }?.details["fieldInputsRefused"] == "1"
        })
        let view: FieldLocalView = try await net.leader.client.get("/v1/fields/\(field)/local")
        #expect(view.participants.first?.newestSigned == 0)
        // And a close request: answered with the refusal, nothing signed.
        let final = SignedFieldSnapshot(snapshot: snapshot, balances: [0, 150 * Amounts.unit], signatures: [])
        let answer = try FieldWireMessage(canonicalBytes: try await net.other.runtime.transport.request(
            FieldWireMessage.closeRequest(final, participant: net.leaderAccount, closeBy: .max).canonicalBytes, to: leaderNode, address: target))
        guard case .refused(let code, _) = answer else {
            Issue.record("a close request from another node was answered \(answer)")
            return
        }
        #expect(code == "field.not-from-leader")
        await net.folder.stopAll()
    }

    @Test func aRestartedLeaderRecoversEveryReceiptedPaymentFromItsJournal() async throws {
        let net = try await Self.start()
        let field = try await Self.open(net)
        for amount in ["1", "2", "3"] { _ = try await Self.pay(net.other, field: field, to: net.leaderAccount, amount: amount) }
        await net.leader.runtime.stop()
        let restarted = try await net.folder.start("satellite-0", peers: [net.producer.p2p], roles: ["satellite", "fieldleader"],
                                                   fields: Self.consenting)
        let leaderActor = ActorAddress(.field, instance: InstanceId(try Hash(hex: field).bytes))
        #expect(await eventually { await !net.other.runtime.transport.hosts(of: leaderActor).isEmpty })
        let local: FieldLocalView = try await restarted.client.get("/v1/fields/\(field)/local")
        #expect(local.leader?.recovered == 3)
        #expect(local.leader?.balances.map(\.balance) == [106 * Amounts.unit, 44 * Amounts.unit])
        // The payer's sequence goes on where the journal left it.
        let next = try await Self.pay(net.other, field: field, to: net.leaderAccount, amount: "4")
        #expect(next.index == 3)
        #expect(next.sequence == 3)
        await net.folder.stopAll()
    }

    @Test func aParticipantThatDoesNotConsentKeepsTheFieldFromOpening() async throws {
        let folder = try TestnetFolder(superNodes: 1, satellites: 2)
        let producer = try await folder.start("supernode-0")
        let leader = try await folder.start("satellite-0", peers: [producer.p2p], roles: ["satellite", "fieldleader"], fields: Self.consenting)
        _ = try await folder.start("satellite-1", peers: [producer.p2p])   // consents to nothing (the default)
        let other = try Address(parsing: try #require(folder.layout.nodes.first { $0.name == "satellite-1" }).address)
        let actor = ActorAddress(.field, instance: InstanceId(other.bytes32.bytes))
        #expect(await eventually { await !leader.runtime.transport.hosts(of: actor).isEmpty })
        let self0 = try #require(folder.layout.nodes.first { $0.name == "satellite-0" }).address
        let body = try JSONEncoder().encode(NodeAPI.FieldOpenRequest(participants: [.init(account: self0, deposit: "10"),
                                                                                     .init(account: other.description, deposit: "10")]))
        let (status, reply, _) = try await http("POST", leader.api, "/v1/fields", body: body)
        #expect(status == 409)
        #expect(errorCode(reply) == "field.consent-declined")
        await folder.stopAll()
    }
}
