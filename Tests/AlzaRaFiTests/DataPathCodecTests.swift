import AlzaCore
import AlzaRaFi
import XCTest

/// Every message of the DataNode side survives its encoding; bytes that are not one are a typed codec error.
final class DataPathCodecTests: XCTestCase {
    let id = StorageID("DS-1")
    let block = ExtendedBlock(id: BlockID(77), generationStamp: 3, length: 1_234)

    func roundTrip<Value: CanonicalCodable & Equatable>(_ value: Value, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(try Value(canonicalBytes: value.canonicalBytes), value, file: file, line: line)
    }

    func testReportsRoundTrip() {
        let registration = DataNodeRegistration(namespace: DataPath.namespace, storageID: id, address: "dn:1", rack: "/r", capacity: 9)
        let reports: [DataNodeReport] = [
            .register(registration),
            .register(DataNodeRegistration(namespace: .unformatted, storageID: nil, address: "dn:2", rack: "/r", capacity: 1)),
            .heartbeat(DataNodeHeartbeat(storageID: id, capacity: 10, used: 4, transfersInProgress: 2)),
            .blockReport(id, [block, ExtendedBlock(id: BlockID(78), generationStamp: 1, length: 0)]),
            .blockReport(id, []),
            .blockReceived(id, block),
            .blockDeleted(id, BlockID(5)),
            .corruptReplica(reporter: id, holder: StorageID("DS-2"), block: block, reason: "checksum of chunk 3 does not match"),
        ]
        for report in reports { roundTrip(report) }
        assertDecodeFails(DataNodeReport.self, [6], with: .unknownTag(offset: 0, tag: 6, type: "DataNodeReport"))
    }

    func testCommandsRoundTrip() {
        let commands: [DataNodeCommand] = [
            .registered(id, DataPath.namespace), .shutdown(reason: "wrong namespace"),
            .replicate(block, targets: [DataPath.location("a"), DataPath.location("b", rack: "/rack-b")]),
            .delete([block]), .delete([]), .reregister, .blockReportNow,
        ]
        for command in commands { roundTrip(command) }
        assertDecodeFails(DataNodeCommand.self, [6], with: .unknownTag(offset: 0, tag: 6, type: "DataNodeCommand"))
        let tooLong = DataNodeCommand.shutdown(reason: String(repeating: "x", count: 1_025)).canonicalBytes
        assertDecodeFails(DataNodeCommand.self, tooLong, with: .lengthOverLimit(offset: 1, length: 1_025, limit: 1_024))
    }

    func testPipelineMessagesAndProofsRoundTrip() {
        let packet = PipelinePacket(block: block, sequence: 4, offsetInBlock: 2_048, data: DataPath.bytes(700), isLast: true)
        XCTAssertEqual(packet.block.length, 2_748, "the length says how far the block reaches")
        roundTrip(packet)
        roundTrip(PipelinePacket(block: block, sequence: 0, offsetInBlock: 0, data: [], isLast: true))
        roundTrip(PipelineAck(blockID: BlockID(77), generationStamp: 3, sequence: 9, replies: [.success, .success, .error]))
        roundTrip(PipelineSetup(block: block, targets: [DataPath.location("a")], firstSequence: 12))
        roundTrip(StorageChallenge(block: block, nonce: Hash.sha256(utf8: "n"), offset: 5, length: 6))
        roundTrip(StorageProofAnswer(blockID: BlockID(77), prover: id, hash: Hash.sha256(utf8: "h")))
        var badReply = PipelineAck(blockID: BlockID(77), generationStamp: 3, sequence: 9, replies: [.success]).canonicalBytes
        badReply[badReply.count - 1] = 2
        assertDecodeFails(PipelineAck.self, badReply, with: .unknownTag(offset: 25, tag: 2, type: "PipelineReply"))
    }

    func testAnOversizePacketIsRefusedByTheDecoderAndByValidation() {
        let oversize = PipelinePacket(block: block, sequence: 0, offsetInBlock: 0, data: DataPath.bytes(RaFiLimits.packetBytes + 1), isLast: true)
        // Block (24 bytes), sequence (8) and offset (8) come before the data's length.
        assertDecodeFails(PipelinePacket.self, oversize.canonicalBytes,
                          with: .lengthOverLimit(offset: 40, length: UInt64(RaFiLimits.packetBytes + 1), limit: RaFiLimits.packetBytes))
        assertFails(with: .packetTooLarge(bytes: 65_537, limit: 65_536)) { try oversize.validate() }
        let full = PipelinePacket(block: block, sequence: 0, offsetInBlock: 0, data: DataPath.bytes(RaFiLimits.packetBytes), isLast: false)
        XCTAssertNoThrow(try full.validate())
        roundTrip(full)
    }

    func testAPacketOfTheWrongShapeIsRefused() {
        let data = DataPath.bytes(1_024)
        let id = block.id
        assertFails(with: .pipelineViolation(block: id, reason: "packet 1: offset 100 does not start a chunk")) {
            try PipelinePacket(block: block, sequence: 1, offsetInBlock: 100, data: data, isLast: true).validate()
        }
        assertFails(with: .pipelineViolation(block: id, reason: "packet 1: 1000 bytes; every packet but the last holds whole chunks")) {
            try PipelinePacket(block: block, sequence: 1, offsetInBlock: 0, data: Array(data.prefix(1_000)), isLast: false).validate()
        }
        assertFails(with: .pipelineViolation(block: id, reason: "packet 1: 1 checksums for 2 chunks")) {
            try PipelinePacket(block: block, sequence: 1, offsetInBlock: 0, data: data, checksums: [0], isLast: true).validate()
        }
        var wrongSum = ReplicaFile.checksums(of: data)
        wrongSum[1] ^= 1
        assertFails(with: .checksumMismatch(block: id, chunk: 9)) {
            try PipelinePacket(block: block, sequence: 1, offsetInBlock: 4_096, data: data, checksums: wrongSum, isLast: true).validate()
        }
        var lying = PipelinePacket(block: block, sequence: 1, offsetInBlock: 0, data: data, isLast: true)
        lying.block.length = 5
        assertFails(with: .pipelineViolation(block: id, reason: "packet 1: says the block has 5 bytes, it ends at 1024")) {
            try lying.validate()
        }
    }
}
