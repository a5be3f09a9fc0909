import AlzaCore
import AlzaLedger
import AlzaNode
import Foundation
import Testing

/// Nodes in this process on loopback sockets: a late node syncs, a stopped node restarts from its disk and
/// catches up, a satellite's wallet pays.
@Suite(.serialized) struct NodeSyncTests {
    @Test func aLateNodeSyncsAndARestartedOneCatchesUpFromItsDisk() async throws {
        let folder = try TestnetFolder(superNodes: 1, satellites: 1)
        let producer = try await folder.start("supernode-0")
        #expect(await eventually { ((try? await producer.info())?.lib.height ?? 0) >= 40 })

        let target = try await producer.info().head.height
        let late = try await folder.start("satellite-0", peers: [producer.p2p])
        #expect(await eventually { ((try? await late.info())?.head.height ?? 0) >= target + 5 })
        let synced: NodeAPI.BlockView = try await late.client.get("/v1/blocks/\(target)")
        let original: NodeAPI.BlockView = try await producer.client.get("/v1/blocks/\(target)")
        #expect(synced.id == original.id)
        #expect(synced.stateRoot == original.stateRoot)

        // Stop it, let the chain move on, start it again on the same data directory.
        let libBeforeStop = try await late.info().lib.height
        await late.runtime.stop()
        let producerHead = try await producer.info().head.height
        #expect(await eventually { ((try? await producer.info())?.head.height ?? 0) >= producerHead + 30 })
        let restarted = try await folder.start("satellite-0", peers: [producer.p2p])
        #expect(try await restarted.info().lib.height >= libBeforeStop, "reopened at its committed LIB, not from genesis")
        let goal = try await producer.info().head.height
        #expect(await eventually { ((try? await restarted.info())?.head.height ?? 0) >= goal })
        let caughtUp: NodeAPI.BlockView = try await restarted.client.get("/v1/blocks/\(goal)")
        let reference: NodeAPI.BlockView = try await producer.client.get("/v1/blocks/\(goal)")
        #expect(caughtUp.id == reference.id)
        await folder.stopAll()
    }

    @Test func aSatelliteWalletPaysAndWatchesTheSuperNodes() async throws {
        let folder = try TestnetFolder(superNodes: 1, satellites: 1)
        let producer = try await folder.start("supernode-0")
        let satellite = try await folder.start("satellite-0", peers: [producer.p2p])

        let wallet: NodeAPI.Wallet = try await satellite.client.get("/v1/wallet")
        #expect(wallet.address == folder.layout.nodes[1].address)
        #expect(wallet.balance == 1_000_000 * Amounts.unit)
        let recipient = Address(folder.layout.loadKey(9).publicKey)
        let sent: NodeAPI.Submitted = try await satellite.client.post(
            "/v1/wallet/transfer", NodeAPI.TransferRequest(to: recipient.description, amount: "1.5", fee: nil))
        #expect(await eventually {
            let status = try? await satellite.client.get("/v1/transactions/\(sent.id)", as: NodeAPI.TransactionStatusView.self)
            return status?.status == "irreversible"
        })
        let account: NodeAPI.AccountView = try await producer.client.get("/v1/accounts/\(recipient)")
        #expect(account.balance == 100_000 * Amounts.unit + 150_000_000)

        let refused = try await http("POST", satellite.api, "/v1/wallet/transfer",
                                     body: Data(#"{"to": "\#(recipient)", "amount": "-3"}"#.utf8))
        #expect(refused.status == 400)
        #expect(errorCode(refused.body) == "ledger.invalid-amount")

        // The monitor hears the SuperNode's status announcements and finds it on the same chain.
        #expect(await eventually {
            let monitor = try? await satellite.client.get("/v1/monitor", as: NodeAPI.Monitor.self)
            return monitor?.observations.contains { $0.agrees && $0.lib > 0 } == true
        })
        let monitor: NodeAPI.Monitor = try await satellite.client.get("/v1/monitor")
        #expect(monitor.divergences.isEmpty)
        await folder.stopAll()
    }
}
