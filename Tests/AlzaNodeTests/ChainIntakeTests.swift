import AlzaConsensus
import AlzaCore
import AlzaLedger
import AlzaNet
import AlzaNode
import Foundation
import Testing

/// How a node takes work in: transaction gossip travels in batches, network events wait in two lanes (blocks
/// before transactions), and an overloaded node refuses new submissions with 503 and a hint to retry.
@Suite(.serialized) struct ChainIntakeTests {
    private func transactionGossip(_ byte: UInt8) -> TransportEvent {
        .gossip(GossipMessage(topic: .transactions, payload: [byte]), id: Hash.sha256([byte]), from: "peer")
    }

    private func payload(_ event: TransportEvent?) -> [UInt8]? {
        switch event {
        case .gossip(let message, _, _): message.payload
        case .direct(let bytes, _, _): bytes
        default: nil
        }
    }

    @Test func blocksAndControlEventsOvertakeWaitingTransactionGossip() async {
        let lanes = EventLanes()
        lanes.push(transactionGossip(1), now: 1_000)
        lanes.push(transactionGossip(2), now: 1_010)
        lanes.push(.gossip(GossipMessage(topic: .blocks, payload: [9]), id: Hash.sha256([9]), from: "peer"), now: 1_020)
        lanes.push(.direct([8], instance: nil, from: "peer"), now: 1_030)
        #expect(lanes.transactionWait(now: 1_500) == 500, "the oldest waiting batch came at 1000")

        #expect(payload(await lanes.next()) == [9], "the block first")
        #expect(payload(await lanes.next()) == [8], "then the direct message, in arrival order")
        #expect(payload(await lanes.next()) == [1])
        #expect(lanes.transactionWait(now: 1_500) == 490)
        #expect(payload(await lanes.next()) == [2])
        #expect(lanes.transactionWait(now: 1_500) == 0, "nothing waits")

        lanes.push(transactionGossip(3), now: 2_000)
        lanes.finish()
        #expect(payload(await lanes.next()) == [3], "what was queued before finishing is still handed out")
        #expect(await lanes.next() == nil)
    }

    @Test func theTransactionLaneIsBoundedAndDropsItsOldest() async {
        let lanes = EventLanes(transactionLimit: 3)
        for byte in UInt8(1)...5 { lanes.push(transactionGossip(byte), now: UInt64(byte)) }
        #expect(lanes.droppedTransactionBatches == 2)
        #expect(lanes.transactionWait(now: 10) == 7, "batches 1 and 2 were dropped; 3 is the oldest")
        lanes.push(.direct([7], instance: nil, from: "peer"), now: 6)
        #expect(payload(await lanes.next()) == [7], "control events overtake transactions")
        #expect(payload(await lanes.next()) == [3])
        #expect(payload(await lanes.next()) == [4])
        #expect(payload(await lanes.next()) == [5])
    }

    @Test func theUrgentLaneIsBoundedTooAndDropsItsOldest() async {
        let lanes = EventLanes(transactionLimit: 8, urgentLimit: 2)
        for byte in UInt8(1)...4 { lanes.push(.direct([byte], instance: nil, from: "peer"), now: UInt64(byte)) }
        #expect(lanes.droppedUrgentEvents == 2)
        #expect(lanes.droppedTransactionBatches == 0)
        #expect(payload(await lanes.next()) == [3])
        #expect(payload(await lanes.next()) == [4])
    }

    @Test func aWaitingReaderIsWokenByTheNextEvent() async {
        let lanes = EventLanes()
        let reader = Task { await lanes.next() }
        while !lanes.hasWaitingReader { await Task.yield() }
        lanes.push(transactionGossip(4), now: 0)
        #expect(payload(await reader.value) == [4])
        #expect(!lanes.hasWaitingReader)
        #expect(lanes.transactionWait(now: 100) == 0, "handed straight to the reader, never queued")
    }

    @Test func transactionBatchesRoundTripAndRefuseMalformedBytes() throws {
        let folder = try TestnetFolder(superNodes: 1, satellites: 0)
        let transactions = try (0..<3).map { try loadTransfer(folder.layout, from: $0, to: $0 + 1, amount: 5, nonce: 0) }
        let batch = TransactionBatch(transactions)
        let bytes = batch.canonicalBytes
        #expect(try TransactionBatch(canonicalBytes: bytes) == batch)

        for length in 0..<bytes.count {
            #expect(throws: CodecError.self) { try TransactionBatch(canonicalBytes: Array(bytes.prefix(length))) }
        }
        let trailing = #expect(throws: CodecError.self) { try TransactionBatch(canonicalBytes: bytes + [0]) }
        #expect(trailing?.code == "codec.trailing-bytes")
        let oversized = TransactionBatch(Array(repeating: transactions[0], count: TransactionBatch.maximumCount + 1))
        let over = #expect(throws: CodecError.self) { try TransactionBatch(canonicalBytes: oversized.canonicalBytes) }
        #expect(over?.code == "codec.length-over-limit")
    }

    @Test func admissionRefusesWhileTransactionsWaitBlocksRunLateOrTheMempoolFills() {
        var admission = AdmissionControl(slotMilliseconds: 500)
        #expect(admission.waitLimit == 1_000, "two slots, at least a second")
        #expect(AdmissionControl(slotMilliseconds: 3_000).waitLimit == 6_000)
        func refusal(_ now: UInt64, wait: UInt64 = 0, mempool: Int = 0) -> String? {
            admission.refusal(now: now, transactionWait: wait, mempoolCount: mempool, mempoolLimit: 100)
        }
        #expect(refusal(0) == nil)
        #expect(refusal(0, wait: 1_000) == nil, "at the limit is still on time")
        #expect(refusal(0, wait: 1_001)?.contains("wait 1001 ms") == true)
        #expect(refusal(0, mempool: 74) == nil)
        #expect(refusal(0, mempool: 75)?.contains("mempool holds 75") == true)

        admission.blockReceived(lateness: 2_001, at: 50_000)
        #expect(refusal(50_000)?.contains("2001 ms after their slot") == true)
        #expect(refusal(59_999) != nil)
        #expect(refusal(60_000) == nil, "a late block counts for 10 s")
        admission.blockReceived(lateness: 2_001, at: 70_000)
        admission.blockProduced(at: 70_100)
        #expect(refusal(70_200) == nil, "producing on time clears it")
        admission.blockReceived(lateness: 2_000, at: 80_000)
        #expect(refusal(80_000) == nil)
    }

    /// A satellite alone (no producer runs, so nothing leaves its mempool) with a mempool of 4: once it is
    /// three-quarters full the node says it is overloaded and when to retry, instead of taking more.
    @Test func anOverloadedNodeRefusesSubmissionsWithRetryAfter() async throws {
        let folder = try TestnetFolder(superNodes: 1, satellites: 1)
        let path = folder.path + "/genesis.json"
        var file = try folder.genesis.file
        file.parameters.mempoolMaxTransactions = 4
        try Data(file.jsonBytes()).write(to: URL(fileURLWithPath: path))
        let chainId = try folder.genesis.chainId
        let node = try await folder.start("satellite-0")

        let first = try (0..<3).map {
            Hex.encode(try loadTransfer(folder.layout, from: $0, to: 10, amount: 5, nonce: 0, chainId: chainId).canonicalBytes)
        }
        let accepted: NodeAPI.BatchSubmitted = try await node.client.post(
            "/v1/transactions/batch", NodeAPI.BatchSubmitRequest(transactions: first))
        #expect(accepted.results.allSatisfy { $0.id != nil }, "\(accepted.results)")

        let fourth = try loadTransfer(folder.layout, from: 3, to: 10, amount: 5, nonce: 0, chainId: chainId)
        let body = try JSONEncoder().encode(NodeAPI.SubmitRequest(transaction: Hex.encode(fourth.canonicalBytes)))
        let refused = try await http("POST", node.api, "/v1/transactions", body: body)
        #expect(refused.status == 503)
        #expect(errorCode(refused.body) == "node.overloaded")
        #expect(refused.headers["retry-after"] == "1")
        let status = try await node.client.get("/v1/transactions/\(fourth.id.hex)", as: NodeAPI.TransactionStatusView.self)
        #expect(status.status == "unknown", "a refused submission is not pooled")
        await folder.stopAll()
    }
}
