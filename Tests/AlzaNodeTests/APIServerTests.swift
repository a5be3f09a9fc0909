import AlzaCore
import AlzaLedger
import AlzaNode
import Foundation
import Testing

/// The HTTP API of a real node (one SuperNode producing alone, and a satellite) on loopback: every route answers,
/// and every kind of bad request gets a 4xx with a typed error code, never a crash.
@Suite(.serialized) struct APIServerTests {
    @Test func readRoutesDescribeTheChain() async throws {
        let folder = try TestnetFolder(superNodes: 1, satellites: 0)
        let node = try await folder.start("supernode-0")
        #expect(await eventually { ((try? await node.info())?.lib.height ?? 0) >= 3 })

        let info = try await node.info()
        #expect(info.chainId == folder.layout.chainId)
        #expect(info.roles == ["supernode"])
        #expect(info.schedule.producers == [folder.layout.nodes[0].address])
        #expect(info.slotMilliseconds == 100)

        let block: NodeAPI.BlockView = try await node.client.get("/v1/blocks/1")
        #expect(block.height == 1 && block.irreversible)
        #expect(block.producer == folder.layout.nodes[0].address)
        let raw = try await node.client.raw("/v1/blocks/1/raw")
        #expect(Array(raw.prefix(4)) == [0x04, 0x22, 0x4d, 0x18], "an LZ4 frame, as stored")
        #expect(raw.count == block.bodyFrameBytes)

        let producers: [NodeAPI.ProducerView] = try await node.client.get("/v1/producers")
        #expect(producers.map(\.account) == [folder.layout.nodes[0].address])

        let account: NodeAPI.AccountView = try await node.client.get("/v1/accounts/\(folder.layout.nodes[0].address)")
        #expect(account.staked == 100_000 * Amounts.unit)

        let health = try await http("GET", node.api, "/health")
        #expect(health.status == 200)
        let metrics = String(decoding: try await http("GET", node.api, "/metrics").body, as: UTF8.self)
        #expect(metrics.contains("alza_head_height"))
        #expect(metrics.contains("alza_blocks_produced_total"))
        // The transport's and the lanes' drop counters are exported (0 here: nothing was dropped).
        #expect(await eventually {
            let text = String(decoding: (try? await http("GET", node.api, "/metrics").body) ?? Data(), as: UTF8.self)
            return ["alza_network_slow_peers_dropped_total 0", "alza_network_events_dropped_total 0",
                    "alza_transaction_batches_dropped_total 0", "alza_chain_events_dropped_total 0",
                    "alza_network_unroutable_total 0", "alza_network_overloaded_connections_total 0",
                    "alza_network_outgoing_dropped_total 0", "alza_protocol_events_dropped_total{protocol=\"chain\"} 0"]
                .allSatisfy(text.contains)
        })
        await folder.stopAll()
    }

    /// Every socket of the API (the listener and each accepted connection) has TCP_NODELAY, so a response's header
    /// and body writes never wait for the client's delayed ACK (44 ms per request on a kept-alive connection).
    @Test func theAPISocketsSendWithoutNagleDelay() async throws {
        let folder = try TestnetFolder(superNodes: 1, satellites: 0)
        let node = try await folder.start("supernode-0")
        let port = try #require(node.api.split(separator: ":").last.flatMap { UInt16($0) })
        let client = try RawHTTPConnection(address: node.api)
        for _ in 0..<3 { #expect(try client.get("/health").hasPrefix("HTTP/1.1 200")) }
        let sockets = socketsOfThisProcess(boundTo: port)
        #expect(sockets.count >= 2, "the listener and the accepted connection")
        for socket in sockets { #expect(socket.noDelay, "fd \(socket.descriptor) on port \(port) has TCP_NODELAY") }
        client.close()
        await folder.stopAll()
    }

    @Test func badRequestsGetTypedClientErrors() async throws {
        let folder = try TestnetFolder(superNodes: 1, satellites: 0)
        let node = try await folder.start("supernode-0")
        let api = node.api

        func expect(_ method: String, _ path: String, body: String? = nil, contentType: String = "application/json",
                    status: Int, code: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
            let answer = try await http(method, api, path, body: body.map { Data($0.utf8) }, contentType: contentType)
            #expect(answer.status == status, "\(method) \(path)", sourceLocation: sourceLocation)
            #expect(errorCode(answer.body) == code, "\(method) \(path)", sourceLocation: sourceLocation)
        }

        try await expect("GET", "/nothing/here", status: 404, code: "route.not-found")
        try await expect("GET", "/v1/nothing", status: 404, code: "route.not-found")
        try await expect("DELETE", "/v1/chain/info", status: 405, code: "method.not-allowed")
        try await expect("GET", "/v1/transactions", status: 405, code: "method.not-allowed")
        try await expect("GET", "/v1/blocks/abc", status: 400, code: "request.bad-height")
        try await expect("GET", "/v1/blocks/0", status: 400, code: "request.bad-height")
        try await expect("GET", "/v1/blocks/99999999", status: 404, code: "block.not-found")
        try await expect("GET", "/v1/transactions/xyz", status: 400, code: "hex.odd-length")
        try await expect("GET", "/v1/transactions/\(String(repeating: "g", count: 64))", status: 400, code: "hex.invalid-character")
        try await expect("GET", "/v1/accounts/not-an-address!", status: 400, code: "ledger.invalid-address")
        try await expect("GET", "/v1/accounts/\(Address(SigningKey.generate().publicKey))", status: 404, code: "account.not-found")
        try await expect("POST", "/v1/transactions", body: "{not json", status: 400, code: "request.bad-json")
        try await expect("POST", "/v1/transactions", body: #"{"tx": "00"}"#, status: 400, code: "request.bad-json")
        try await expect("POST", "/v1/transactions", body: #"{"transaction": "zz"}"#, status: 400, code: "hex.invalid-character")
        try await expect("POST", "/v1/transactions", body: #"{"transaction": "00010203"}"#, status: 400, code: "codec.truncated")
        try await expect("POST", "/v1/transactions", body: String(repeating: " ", count: (1 << 20) + 1),
                         status: 413, code: "request.too-large")
        try await expect("GET", "/v1/wallet", status: 404, code: "route.not-found")

        let otherChain = try loadTransfer(folder.layout, from: 0, to: 1, amount: 5, nonce: 0,
                                          chainId: Hash.sha256(utf8: "another chain"))
        try await expect("POST", "/v1/transactions", body: #"{"transaction": "\#(Hex.encode(otherChain.canonicalBytes))"}"#,
                         status: 400, code: "tx.wrong-chain")
        // Signed by another key than the one it names.
        let honest = try loadTransfer(folder.layout, from: 0, to: 1, amount: 5, nonce: 0)
        let forged = SignedTransaction(transaction: honest.transaction, signatures: [
            TransactionSignature(key: folder.layout.loadKey(0).publicKey, signature: SigningKey.generate().sign(honest.signingDigest)),
        ])
        try await expect("POST", "/v1/transactions", body: #"{"transaction": "\#(Hex.encode(forged.canonicalBytes))"}"#,
                         status: 400, code: "tx.invalid-signature")
        try await expect("POST", "/v1/transactions/batch",
                         body: #"{"transactions": [\#(Array(repeating: "\"00\"", count: 1_001).joined(separator: ","))]}"#,
                         status: 413, code: "request.batch-too-large")

        // The node is still serving after all that.
        #expect(try await http("GET", api, "/health").status == 200)
        await folder.stopAll()
    }

    @Test func submittedTransfersBecomeIrreversibleAndBatchesReportEachOutcome() async throws {
        let folder = try TestnetFolder(superNodes: 1, satellites: 0)
        let node = try await folder.start("supernode-0")

        let single = try loadTransfer(folder.layout, from: 0, to: 1, amount: 7, nonce: 0)
        let submitted: NodeAPI.Submitted = try await node.client.post(
            "/v1/transactions", NodeAPI.SubmitRequest(transaction: Hex.encode(single.canonicalBytes)))
        #expect(submitted.id == single.id.hex)
        let included = try await eventuallyValue {
            let status = try? await node.client.get("/v1/transactions/\(single.id.hex)", as: NodeAPI.TransactionStatusView.self)
            return status?.height
        }
        let full: NodeAPI.BlockView = try await node.client.get("/v1/blocks/\(included)")
        let idsOnly: NodeAPI.BlockView = try await node.client.get("/v1/blocks/\(included)?transactions=ids")
        #expect(full.transactionIds.contains(single.id.hex))
        #expect(full.transactions.map(\.id) == full.transactionIds)
        #expect(idsOnly.transactionIds == full.transactionIds && idsOnly.transactions.isEmpty)

        let good = try loadTransfer(folder.layout, from: 2, to: 3, amount: 9, nonce: 0)
        let batch: NodeAPI.BatchSubmitted = try await node.client.post(
            "/v1/transactions/batch", NodeAPI.BatchSubmitRequest(transactions: [Hex.encode(good.canonicalBytes), "zz"]))
        #expect(batch.results.count == 2)
        #expect(batch.results[0].id == good.id.hex)
        #expect(batch.results[1].error == "hex.invalid-character")

        for id in [single.id, good.id] {
            #expect(await eventually {
                let status = try? await node.client.get("/v1/transactions/\(id.hex)", as: NodeAPI.TransactionStatusView.self)
                return status?.status == "irreversible"
            })
        }
        // Once applied, the same transaction is a replay: its nonce is spent.
        let replay: NodeAPI.BatchSubmitted = try await node.client.post(
            "/v1/transactions/batch", NodeAPI.BatchSubmitRequest(transactions: [Hex.encode(single.canonicalBytes)]))
        #expect(replay.results.first?.error == "tx.bad-nonce")
        let receiver: NodeAPI.AccountView = try await node.client.get("/v1/accounts/\(Address(folder.layout.loadKey(1).publicKey))")
        #expect(receiver.balance == 100_000 * Amounts.unit + 7)
        let unknown = try await node.client.get("/v1/transactions/\(Hash.sha256(utf8: "never").hex)",
                                                as: NodeAPI.TransactionStatusView.self)
        #expect(unknown.status == "unknown")
        await folder.stopAll()
    }
}
