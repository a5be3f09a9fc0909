import AlzaCore
import AlzaField
import AlzaLedger
import AlzaNet
import AlzaNode
import Foundation
import Testing

/// Money in and out of open fields across real nodes (D34): a top-up the leader credits once the chain has it,
/// a withdrawal the participant's node claims on chain by itself once a fully signed snapshot records it, and a
/// second field that opens with a deposit locked in the first.
@Suite(.serialized) struct FieldFlowNodeTests {
    typealias Net = FieldNodeTests.Net

    static func record(_ net: Net, _ field: String) async -> NodeAPI.FieldView? {
        try? await net.producer.client.get("/v1/fields/\(field)", as: NodeAPI.FieldView.self)
    }

    static func close(_ net: Net, _ field: String) async throws -> NodeAPI.FieldView {
        let _: NodeAPI.FieldCloseSubmitted = try await NodeClient(api: net.leader.api, timeout: 30).post("/v1/fields/\(field)/close", [String: String]())
        return try await eventuallyValue { () -> NodeAPI.FieldView? in
            guard let view = await record(net, field), view.status == "closed" else { return nil }
            return view
        }
    }

    @Test func aTopUpIsCreditedByTheLeaderAndAWithdrawalIsPaidOnChainByTheParticipantsNode() async throws {
        let net = try await FieldNodeTests.start()
        let field = try await FieldNodeTests.open(net)
        let deposited: NodeAPI.FieldActionSubmitted = try await net.other.client.post("/v1/fields/\(field)/deposits",
                                                                                       NodeAPI.FieldFlowRequest(amount: "30"))
        #expect(deposited.action == "field-deposit")
        // 70 is more than the 50 deposited at the opening: paid once the leader has credited the top-up.
        let paid = try await eventuallyValue { () -> NodeAPI.FieldPaymentReceipt? in
            try? await FieldNodeTests.pay(net.other, field: field, to: net.leaderAccount, amount: "70")
        }
        #expect(paid.index == 0)
        let withdrawn: NodeAPI.FieldPaymentReceipt = try await net.other.client.post("/v1/fields/\(field)/withdrawals",
                                                                                      NodeAPI.FieldFlowRequest(amount: "5"))
        #expect(withdrawn.payee == net.otherAccount.description && withdrawn.index == 1)
        let paidOut = try await eventuallyValue { () -> NodeAPI.FieldView? in
            guard let view = await Self.record(net, field), view.participants[1].withdrawn == 5 * Amounts.unit else { return nil }
            return view
        }
        #expect(paidOut.status == "open" && paidOut.anchoredSnapshot > 0)
        #expect(paidOut.participants[1].toppedUp == 30 * Amounts.unit)

        // Bad top-ups and withdrawals: each refused with its code, nothing moved.
        let (zero, zeroBody, _) = try await http("POST", net.other.api, "/v1/fields/\(field)/deposits",
                                                 body: try JSONEncoder().encode(NodeAPI.FieldFlowRequest(amount: "0")))
        #expect(zero == 400 && errorCode(zeroBody) == "field.zero-amount")
        let (over, overBody, _) = try await http("POST", net.other.api, "/v1/fields/\(field)/withdrawals",
                                                 body: try JSONEncoder().encode(NodeAPI.FieldFlowRequest(amount: "1000")))
        #expect(over == 409 && errorCode(overBody) == "field.insufficient-balance")
        let unknown = String(repeating: "ab", count: 32)
        let (none, noneBody, _) = try await http("POST", net.other.api, "/v1/fields/\(unknown)/deposits",
                                                 body: try JSONEncoder().encode(NodeAPI.FieldFlowRequest(amount: "1")))
        #expect(none == 409 && errorCode(noneBody) == "field.unknown")

        let closed = try await Self.close(net, field)
        #expect(closed.participants.map(\.finalBalance) == [170 * Amounts.unit, 5 * Amounts.unit],
                "50 + 30 topped up − 70 paid − 5 withdrawn (paid before the close)")
        await net.folder.stopAll()
    }

    @Test func aSecondFieldOpensWithADepositLockedInTheFirstAndBothClose() async throws {
        let net = try await FieldNodeTests.start()
        // The source's leader answers for a lock with its bond until a fully signed snapshot shows it: 20 here.
        let sourceRequest = NodeAPI.FieldOpenRequest(participants: [.init(account: net.leaderAccount.description, deposit: "100"),
                                                                    .init(account: net.otherAccount.description, deposit: "50")],
                                                     challengeSeconds: 60, bond: "20")
        let source = (try await NodeClient(api: net.leader.api, timeout: 60).post("/v1/fields", sourceRequest) as NodeAPI.FieldOpened).id
        let request = NodeAPI.FieldOpenRequest(participants: [.init(account: net.leaderAccount.description, deposit: "20"),
                                                              .init(account: net.otherAccount.description, deposit: "10", lockFrom: source)],
                                               challengeSeconds: 60)
        let opened: NodeAPI.FieldOpened = try await NodeClient(api: net.leader.api, timeout: 60).post("/v1/fields", request)
        let target = try #require(await Self.record(net, opened.id))
        #expect(target.participants[1].lockedFrom == source && target.participants[1].deposit == 10 * Amounts.unit)
        let locked = try #require(await Self.record(net, source))
        #expect(locked.participants[1].withdrawn == 10 * Amounts.unit && locked.bondInUseForLocks == 10 * Amounts.unit)
        // Asked again by the target's leader (a retried open): the same lock, not a second exit.
        let otherNode = net.other.runtime.transport.nodeId
        let participantActor = ActorAddress(.field, instance: InstanceId(net.otherAccount.bytes32.bytes))
        let again = try FieldWireMessage(canonicalBytes: try await net.leader.runtime.transport.request(
            FieldWireMessage.lockRequest(source: FieldId(hash: try Hash(hex: source)), target: FieldId(hash: try Hash(hex: opened.id)),
                                         participant: net.otherAccount, amount: 10 * Amounts.unit).canonicalBytes,
            to: otherNode, address: participantActor))
        guard case .lock(let lock) = again else {
            Issue.record("a repeated lock request was answered \(again)")
            return
        }
        #expect(lock.amount == 10 * Amounts.unit && lock.receipt.index == 0 && lock.source.hash.hex == source)
        // A field-open for the target that leaves the lock out (the account would pay twice) gets no consent.
        let info: NodeAPI.ChainInfo = try await net.producer.client.get("/v1/chain/info")
        let header = TransactionHeader(chainId: try Hash(hex: info.chainId),
                                       expiration: UInt64(Date().timeIntervalSince1970 * 1_000) + 60_000, nonce: 0, fee: 1)
        let withoutLock = Transaction(header: header, messages: [Message(
            .fieldOpen(field: FieldId(hash: try Hash(hex: opened.id)), deposits: [AmountEntry(net.otherAccount, 10 * Amounts.unit)],
                       challengeSeconds: 60), authorizer: net.leaderAccount)])
        let consent = try FieldWireMessage(canonicalBytes: try await net.leader.runtime.transport.request(
            FieldWireMessage.consentRequest(withoutLock, participant: net.otherAccount).canonicalBytes, to: otherNode, address: participantActor))
        guard case .refused(let code, let reason) = consent else {
            Issue.record("a field-open without the wallet's lock was answered \(consent)")
            return
        }
        #expect(code == "field.consent-declined" && reason.contains("leaves out the lock"), "\(reason)")
        // The locked 10 is gone from the first field: 45 of the 40 left there is refused; 4 in the second is paid.
        let (status, body, _) = try await http("POST", net.other.api, "/v1/fields/\(source)/payments",
                                               body: try JSONEncoder().encode(NodeAPI.FieldPaymentRequest(to: net.leaderAccount.description, amount: "45")))
        #expect(status == 409 && errorCode(body) == "field.insufficient-balance")
        _ = try await FieldNodeTests.pay(net.other, field: opened.id, to: net.leaderAccount, amount: "4")

        // A lock from a field the account is not in is refused before anything is claimed.
        let bad = NodeAPI.FieldOpenRequest(participants: [.init(account: net.leaderAccount.description, deposit: "1"),
                                                          .init(account: net.otherAccount.description, deposit: "1", lockFrom: opened.id + "00")])
        let (badStatus, badBody, _) = try await http("POST", net.leader.api, "/v1/fields", body: try JSONEncoder().encode(bad))
        #expect(badStatus == 400 && errorCode(badBody) == "request.bad-field-id")

        let sourceClosed = try await Self.close(net, source)
        #expect(sourceClosed.participants.map(\.finalBalance) == [100 * Amounts.unit, 40 * Amounts.unit])
        let targetClosed = try await Self.close(net, opened.id)
        #expect(targetClosed.participants.map(\.finalBalance) == [24 * Amounts.unit, 6 * Amounts.unit])

        // Both fields settled for good: a restarted participant node compacts their records out of its journal.
        let journal = net.folder.path + "/satellite-1/data/fields/fields.journal"
        let before = try #require(try FileManager.default.attributesOfItem(atPath: journal)[.size] as? Int)
        #expect(before > 0)
        await net.other.runtime.stop()
        _ = try await net.folder.start("satellite-1", peers: [net.producer.p2p], fields: FieldNodeTests.consenting)
        let after = try #require(try FileManager.default.attributesOfItem(atPath: journal)[.size] as? Int)
        #expect(after == 0, "journal of \(before) bytes, after compaction \(after)")
        await net.folder.stopAll()
    }

    /// A second node announcing a participant's account (here: one whose wallet holds the same key and consents to
    /// nothing, sorted first so it is asked first) neither keeps the field from opening nor the pushes from the
    /// participant: a consent that does not verify sends the request on, and pushes go to every announcing node.
    @Test func aSecondNodeAnnouncingAParticipantsAccountDoesNotStopItsField() async throws {
        let folder = try TestnetFolder(superNodes: 1, satellites: 3)
        let producer = try await folder.start("supernode-0")
        let leader = try await folder.start("satellite-0", peers: [producer.p2p], roles: ["satellite", "fieldleader"],
                                            fields: FieldNodeTests.consenting)
        func nodeKey(_ name: String) throws -> PublicKey {
            try PublicKey(bytes32: Address(parsing: try #require(folder.layout.nodes.first { $0.name == name }).address).bytes32)
        }
        // The node that sorts first plays the second announcer; the other is the participant's own.
        let (own, second) = try nodeKey("satellite-1") < nodeKey("satellite-2") ? ("satellite-2", "satellite-1") : ("satellite-1", "satellite-2")
        let participant = Address(try nodeKey(own))
        let real = try await folder.start(own, peers: [producer.p2p], fields: FieldNodeTests.consenting)
        _ = try await folder.start(second, peers: [producer.p2p],
                                   fields: .init(automaticConsent: false, walletKeyFiles: ["\(folder.path)/keys/\(own).json"]))
        let actor = ActorAddress(.field, instance: InstanceId(participant.bytes32.bytes))
        #expect(await eventually { await leader.runtime.transport.hosts(of: actor).count == 2 })
        let leaderAccount = Address(try nodeKey("satellite-0"))
        let request = NodeAPI.FieldOpenRequest(participants: [.init(account: leaderAccount.description, deposit: "10"),
                                                              .init(account: participant.description, deposit: "10")],
                                               challengeSeconds: 60)
        let opened: NodeAPI.FieldOpened = try await NodeClient(api: leader.api, timeout: 60).post("/v1/fields", request)
        _ = try await FieldNodeTests.pay(leader, field: opened.id, to: participant, amount: "3")
        // The push reached the participant's own node, which holds the receipt.
        #expect(await eventually {
            let view = try? await real.client.get("/v1/fields/\(opened.id)/local", as: FieldLocalView.self)
            return view?.participants.first?.receipts == 1
        })
        await folder.stopAll()
    }
}
