import AlzaCore
import AlzaLedger
import AlzaNode
import Foundation
import Testing

/// A node whose disk stops accepting writes halts: it stops producing and following, says why on /health,
/// refuses submissions, and keeps answering queries.
@Suite(.serialized) struct NodeHaltTests {
    @Test func aNodeThatCannotWriteItsChainHaltsAndSaysWhy() async throws {
        let folder = try TestnetFolder(superNodes: 1, satellites: 0)
        let storage = try FailingStorage(directory: "\(folder.path)/supernode-0/data")
        let node = try await folder.start("supernode-0", storage: storage)
        #expect(await eventually { ((try? await node.info())?.lib.height ?? 0) >= 3 })

        storage.failWrites()
        #expect(await eventually { (try? await http("GET", node.api, "/health"))?.status == 503 })
        let health = try JSONDecoder().decode(NodeAPI.Health.self, from: try await http("GET", node.api, "/health").body)
        #expect(health.status == "halted")
        #expect(health.reason?.contains("No space left on device") == true, "\(health.reason ?? "")")

        let transfer = try loadTransfer(folder.layout, from: 0, to: 1, amount: 5, nonce: 0)
        let refused = try await http("POST", node.api, "/v1/transactions",
                                     body: Data(#"{"transaction": "\#(Hex.encode(transfer.canonicalBytes))"}"#.utf8))
        #expect(refused.status == 503)
        #expect(errorCode(refused.body) == "node.halted")

        // Queries still work, and the head stays where the halt left it while slots pass (by the node's clock).
        let before = try await node.info()
        #expect(await eventually { ((try? await node.info())?.currentSlot ?? 0) >= before.currentSlot + 8 })
        #expect(try await node.info().head == before.head)
        await folder.stopAll()
    }
}
