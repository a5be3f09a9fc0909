import AlzaCore
import AlzaLedger
import AlzaNode
import Foundation
import Testing

/// A payment field claimed, opened and closed on a real node's chain, read back through `GET /v1/fields` and
/// `GET /v1/fields/{id}`: the record, the final balances, and the settled commitment's inclusion proof in the
/// settling block's field root.
@Suite(.serialized) struct FieldAPITests {
    @Test func aClosedFieldShowsItsSettlementAndItsProofInTheBlocksFieldRoot() async throws {
        let folder = try TestnetFolder(superNodes: 1, satellites: 0)
        let node = try await folder.start("supernode-0")
        let chainId = try Hash(hex: folder.layout.chainId)
        let leader = folder.layout.loadKey(0)
        let alice = folder.layout.loadKey(1)
        let bob = folder.layout.loadKey(2)
        let leaderKey = SigningKey(deterministicLabel: "field-api-test/leader")
        let field = FieldId(leader: leaderKey.publicKey, nonce: 7)
        let (a, b) = (Address(alice.publicKey), Address(bob.publicKey))

        func sign(_ payload: MessagePayload, by keys: [SigningKey], nonce: UInt64, scope: [Address] = []) -> SignedTransaction {
            let header = TransactionHeader(chainId: chainId, expiration: UInt64(Date().timeIntervalSince1970 * 1000) + 600_000,
                                           nonce: nonce, fee: ChainParameters().minimumFee)
            let message = Message(payload, authorizer: Address(keys[0].publicKey), extraScope: scope)
            return SignedTransaction.sign(Transaction(header: header, messages: [message]), with: keys)
        }
        func include(_ transaction: SignedTransaction) async throws -> UInt64 {
            let _: NodeAPI.Submitted = try await node.client.post(
                "/v1/transactions", NodeAPI.SubmitRequest(transaction: Hex.encode(transaction.canonicalBytes)))
            return try await eventuallyValue {
                try? await node.client.get("/v1/transactions/\(transaction.id.hex)", as: NodeAPI.TransactionStatusView.self).height
            }
        }

        _ = try await include(sign(.fieldClaim(nonce: 7, leaderKey: leaderKey.publicKey, bond: Amounts.unit), by: [leader], nonce: 0))
        _ = try await include(sign(.fieldOpen(field: field, deposits: [AmountEntry(a, 30 * Amounts.unit), AmountEntry(b, 20 * Amounts.unit)],
                                              challengeSeconds: 10), by: [leader, alice, bob], nonce: 1))
        let opened: NodeAPI.FieldView = try await node.client.get("/v1/fields/\(field.hash.hex)")
        #expect(opened.status == "open")
        #expect(opened.participants.map(\.deposit) == [30 * Amounts.unit, 20 * Amounts.unit])
        #expect(opened.participants.allSatisfy { $0.finalBalance == nil })

        let balances = [45 * Amounts.unit, 5 * Amounts.unit]
        let snapshot = FieldSnapshot(field: field, number: 2, paymentCount: 3, paymentsRoot: Hash.sha256(utf8: "three payments"),
                                     balancesHash: FieldSnapshot.balancesHash(participants: [a, b], balances: balances))
        let commitment = snapshot.commitment(participantsHash: FieldSnapshot.participantsHash([a, b]))
        let signatures = [alice, bob].map { $0.sign(commitment.bytes, domain: FieldDomains.close, chainId: chainId) }
        let close = sign(.fieldClose(field: field, snapshot: SignedFieldSnapshot(snapshot: snapshot, balances: balances, signatures: signatures)),
                         by: [alice], nonce: 0, scope: [a, b, Address(leader.publicKey)])
        let height = try await include(close)

        let closed: NodeAPI.FieldView = try await node.client.get("/v1/fields/\(field.hash.hex)")
        #expect(closed.status == "closed")
        #expect(closed.participants.map(\.finalBalance) == balances)
        let settled = try #require(closed.snapshot)
        #expect(settled.commitment == commitment.hex)
        #expect(settled.height == height)
        #expect(settled.proofUnavailable == nil)
        let block: NodeAPI.BlockView = try await node.client.get("/v1/blocks/\(height)")
        let path = try (settled.proofPath ?? []).map { try Hash(hex: $0) }
        try MerkleTree.verifyInclusion(leafHash: MerkleTree.leafHash(commitment.bytes), index: try #require(settled.proofIndex),
                                       treeSize: try #require(settled.proofTreeSize), proof: path, root: try Hash(hex: block.fieldRoot))
        #expect(block.fieldRoot != MerkleTree.emptyRoot.hex)

        let list: [NodeAPI.FieldSummary] = try await node.client.get("/v1/fields")
        #expect(list.map(\.id) == [field.hash.hex])
        #expect(list.first?.status == "closed" && list.first?.participants == 2 && list.first?.held == 0)
        #expect(list.first?.leader == Address(leader.publicKey).description)
        let bad = try await http("GET", node.api, "/v1/fields/not-hex")
        #expect(bad.status == 400 && errorCode(bad.body) == "request.bad-field-id")
        let missing = try await http("GET", node.api, "/v1/fields/\(Hash.sha256(utf8: "no such field").hex)")
        #expect(missing.status == 404 && errorCode(missing.body) == "field.unknown")
        await folder.stopAll()
    }
}
