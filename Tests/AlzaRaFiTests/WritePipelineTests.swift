import AlzaCore
import AlzaRaFi
import XCTest

final class WritePipelineTests: XCTestCase {
    let nodes = [DataPath.location("a"), DataPath.location("b", rack: "/rack-b"), DataPath.location("c", rack: "/rack-b")]
    let packetBytes = RaFiLimits.packetBytes

    // MARK: The writer

    func testTheWriterCutsFullPacketsAndFlagsTheLast() {
        var writer = PipelineWriterCore(blockID: BlockID(1), generationStamp: 1, targets: nodes, data: DataPath.bytes(2 * packetBytes + 100))
        let packets = writer.nextPackets()
        XCTAssertEqual(packets.map(\.data.count), [packetBytes, packetBytes, 100])
        XCTAssertEqual(packets.map(\.sequence), [0, 1, 2])
        XCTAssertEqual(packets.map(\.offsetInBlock), [0, UInt64(packetBytes), UInt64(2 * packetBytes)])
        XCTAssertEqual(packets.map(\.isLast), [false, false, true])
        for packet in packets { XCTAssertNoThrow(try packet.validate()) }
        XCTAssertEqual(writer.nextPackets(), [], "everything is out")

        var exact = PipelineWriterCore(blockID: BlockID(2), generationStamp: 1, targets: nodes, data: DataPath.bytes(packetBytes))
        XCTAssertEqual(exact.nextPackets().map(\.isLast), [true], "no empty packet after a full last one")
        var empty = PipelineWriterCore(blockID: BlockID(3), generationStamp: 1, targets: nodes, data: [])
        XCTAssertEqual(empty.nextPackets().map(\.data.count), [0], "an empty block is one empty last packet")
    }

    func testAStreamingWriterHoldsAPartialPacketUntilItKnowsMoreFollows() {
        var writer = PipelineWriterCore(blockID: BlockID(1), generationStamp: 1, targets: nodes)
        writer.append(DataPath.bytes(packetBytes))
        XCTAssertEqual(writer.nextPackets(), [], "a full packet may still be the last")
        writer.append(DataPath.bytes(10))
        XCTAssertEqual(writer.nextPackets().map(\.data.count), [packetBytes])
        writer.finish()
        let last = writer.nextPackets()
        XCTAssertEqual(last.map(\.data.count), [10])
        XCTAssertEqual(last.map(\.isLast), [true])
    }

    func testTheWindowBoundsUnackedPacketsAndAcksFreeIt() throws {
        var writer = PipelineWriterCore(blockID: BlockID(1), generationStamp: 5, targets: nodes, data: DataPath.bytes(20 * packetBytes))
        XCTAssertEqual(writer.nextPackets().count, 16)
        XCTAssertEqual(writer.nextPackets(), [], "backpressure: the window is full")
        try writer.acknowledged(PipelineAck(blockID: BlockID(1), generationStamp: 5, sequence: 0, replies: [.success, .success, .success]))
        XCTAssertEqual(writer.ackedBytes, UInt64(packetBytes))
        XCTAssertEqual(writer.nextPackets().map(\.sequence), [16])
        assertFails(with: .packetOutOfOrder(block: BlockID(1), expected: 1, actual: 2)) {
            try writer.acknowledged(PipelineAck(blockID: BlockID(1), generationStamp: 5, sequence: 2, replies: [.success, .success, .success]))
        }
        assertFails(with: .staleGenerationStamp(BlockID(1), expected: 5, actual: 4)) {
            try writer.acknowledged(PipelineAck(blockID: BlockID(1), generationStamp: 4, sequence: 1, replies: [.success, .success, .success]))
        }
        assertFails(with: .pipelineViolation(block: BlockID(1), reason: "2 replies from a pipeline of 3")) {
            try writer.acknowledged(PipelineAck(blockID: BlockID(1), generationStamp: 5, sequence: 1, replies: [.success, .success]))
        }
        XCTAssertEqual(writer.unackedCount, 16, "refused acks change nothing")
    }

    func testAnErrorAckWaitsForARecoveryWithANewGenerationStamp() throws {
        var writer = PipelineWriterCore(blockID: BlockID(1), generationStamp: 5, targets: nodes, data: DataPath.bytes(3 * packetBytes))
        let first = writer.nextPackets()
        try writer.acknowledged(PipelineAck(blockID: BlockID(1), generationStamp: 5, sequence: 0, replies: [.success, .success, .success]))
        try writer.acknowledged(PipelineAck(blockID: BlockID(1), generationStamp: 5, sequence: 1, replies: [.success, .error]))
        XCTAssertEqual(writer.phase, .awaitingRecovery(failedNode: 1))
        XCTAssertEqual(writer.survivingTargets, [nodes[0], nodes[2]])
        XCTAssertEqual(writer.nextPackets(), [], "nothing is sent to a broken pipeline")
        assertFails(with: .staleGenerationStamp(BlockID(1), expected: 6, actual: 5)) {
            try writer.recover(newGenerationStamp: 5, targets: writer.survivingTargets)
        }
        assertFails(with: .notEnoughDataNodes(needed: 1, available: 0)) { try writer.recover(newGenerationStamp: 6, targets: []) }
        try writer.recover(newGenerationStamp: 6, targets: writer.survivingTargets)
        XCTAssertEqual(writer.setup, PipelineSetup(block: ExtendedBlock(id: BlockID(1), generationStamp: 6, length: UInt64(packetBytes)),
                                                   targets: [nodes[0], nodes[2]], firstSequence: 1))
        let resent = writer.nextPackets()
        XCTAssertEqual(resent.map(\.sequence), [1, 2])
        XCTAssertEqual(resent.map(\.data), first.dropFirst().map(\.data))
        XCTAssertEqual(resent.map(\.block.generationStamp), [6, 6])
    }

    // MARK: A stage

    func testAMiddleStageForwardsStoresAndAcksOnlyAfterItsDownstream() throws {
        let block = ExtendedBlock(id: BlockID(4), generationStamp: 2, length: 0)
        var stage = try PipelineStageCore(setup: PipelineSetup(block: block, targets: Array(nodes[1...]), firstSequence: 0))
        XCTAssertEqual(stage.openingEffects, [.prepare(block, keepingBytes: 0),
                                              .forwardSetup(PipelineSetup(block: block, targets: [nodes[2]], firstSequence: 0), to: nodes[2])])
        let data = DataPath.bytes(1_000)
        let packet = PipelinePacket(block: block, sequence: 0, offsetInBlock: 0, data: data, isLast: true)
        XCTAssertEqual(try stage.receive(packet), [.forward(packet, to: nodes[2]), .append(BlockID(4), data)])
        let effects = try stage.downstreamAcked(PipelineAck(blockID: BlockID(4), generationStamp: 2, sequence: 0, replies: [.success]))
        let finalized = ExtendedBlock(id: BlockID(4), generationStamp: 2, length: 1_000)
        XCTAssertEqual(effects, [.finalize(finalized, meta: ReplicaFile.meta(for: data, generationStamp: 2)),
                                 .ackUpstream(PipelineAck(blockID: BlockID(4), generationStamp: 2, sequence: 0, replies: [.success, .success]))])
        XCTAssertEqual(stage.phase, .finalized)
    }

    func testAStageRefusesPacketsOutOfOrderOrCorruptAndStaysAsItWas() throws {
        let block = ExtendedBlock(id: BlockID(4), generationStamp: 2, length: 0)
        var stage = try PipelineStageCore(setup: PipelineSetup(block: block, targets: [nodes[2]], firstSequence: 0))
        let data = DataPath.bytes(2 * packetBytes)
        let first = PipelinePacket(block: block, sequence: 0, offsetInBlock: 0, data: Array(data.prefix(packetBytes)), isLast: false)
        let second = PipelinePacket(block: block, sequence: 1, offsetInBlock: UInt64(packetBytes), data: Array(data.suffix(packetBytes)), isLast: true)
        assertFails(with: .packetOutOfOrder(block: BlockID(4), expected: 0, actual: 1)) { _ = try stage.receive(second) }
        var corrupt = first
        corrupt.data[700] ^= 0x10
        assertFails(with: .checksumMismatch(block: BlockID(4), chunk: 1)) { _ = try stage.receive(corrupt) }
        assertFails(with: .staleGenerationStamp(BlockID(4), expected: 2, actual: 1)) {
            _ = try stage.receive(PipelinePacket(block: ExtendedBlock(id: BlockID(4), generationStamp: 1, length: 0), sequence: 0,
                                                 offsetInBlock: 0, data: first.data, isLast: false))
        }
        XCTAssertEqual(stage.receivedBytes, 0)
        XCTAssertEqual(try stage.receive(first).count, 2, "the last node stores and acks at once")
        assertFails(with: .packetOutOfOrder(block: BlockID(4), expected: 1, actual: 0)) { _ = try stage.receive(first) }
        let last = try stage.receive(second)
        XCTAssertEqual(last.last, .ackUpstream(PipelineAck(blockID: BlockID(4), generationStamp: 2, sequence: 1, replies: [.success])))
        XCTAssertEqual(last[1], .finalize(ExtendedBlock(id: BlockID(4), generationStamp: 2, length: UInt64(2 * packetBytes)),
                                          meta: ReplicaFile.meta(for: data, generationStamp: 2)))
    }

    func testAFailedDownstreamIsNamedInTheAckUpstream() throws {
        let block = ExtendedBlock(id: BlockID(4), generationStamp: 2, length: 0)
        var stage = try PipelineStageCore(setup: PipelineSetup(block: block, targets: nodes, firstSequence: 0))
        let packet = PipelinePacket(block: block, sequence: 0, offsetInBlock: 0, data: DataPath.bytes(packetBytes), isLast: false)
        _ = try stage.receive(packet)
        XCTAssertEqual(stage.downstreamFailed(),
                       [.ackUpstream(PipelineAck(blockID: BlockID(4), generationStamp: 2, sequence: 0, replies: [.success, .error]))])
        XCTAssertEqual(stage.phase, .failed)
    }

    // MARK: Three nodes, one fails

    /// Node b (index 1) crashes mid-write: node a names it in an error ack, the client takes a new generation
    /// stamp and resends every unacked packet to a and c, and both end with exactly the client's bytes under
    /// the new stamp, while b's leftover is a torn replica its restart deletes.
    func testAPipelineOfThreeLosesItsMiddleNodeAndFinishesOnTwo() throws {
        let data = DataPath.bytes(40 * packetBytes + 1_000, seed: 11)
        let located = LocatedBlock(block: ExtendedBlock(id: BlockID(9), generationStamp: 1, length: 0), offset: 0, locations: nodes)
        var writer = PipelineWriterCore(located: located, data: data)
        var harness = PipelineHarness(nodes: nodes)
        harness.open(writer.setup)
        var round = 0
        while !writer.isComplete {
            round += 1
            XCTAssertLessThan(round, 20, "the write converges")
            harness.send(writer.nextPackets())
            if round == 2 {
                try harness.run(limit: 30)
                try harness.crash(nodes[1].storageID)
            }
            try harness.run()
            for ack in harness.acksToClient { try writer.acknowledged(ack) }
            harness.acksToClient.removeAll()
            if case .awaitingRecovery(let failed) = writer.phase {
                XCTAssertEqual(failed, 1)
                XCTAssertGreaterThan(writer.unackedCount, 0)
                try writer.recover(newGenerationStamp: writer.generationStamp + 1, targets: writer.survivingTargets)
                harness.open(writer.setup)
            }
        }
        let final = ExtendedBlock(id: BlockID(9), generationStamp: 2, length: UInt64(data.count))
        XCTAssertEqual(writer.block, final)
        XCTAssertEqual(writer.targets, [nodes[0], nodes[2]])
        for node in [nodes[0], nodes[2]] {
            let store = try XCTUnwrap(harness.stores[node.storageID])
            XCTAssertEqual(try store.read(ReplicaFile.dataFileName(final.id)), data, "\(node) holds the input")
            XCTAssertEqual(harness.finalized[node.storageID], final)
            XCTAssertEqual(try ReplicaInventory.load(from: store), ReplicaInventory(replicas: [final], removedTorn: []))
            XCTAssertNoThrow(try DataPath.verify(final, in: store).get())
        }
        let failed = try XCTUnwrap(harness.stores[nodes[1].storageID])
        XCTAssertEqual(try ReplicaInventory.load(from: failed), ReplicaInventory(replicas: [], removedTorn: ["blk_9"]))
    }
}
