import AlzaCore
import AlzaRaFi
import XCTest

final class NameNodeReplicationTests: XCTestCase {
    private func cluster(nodes: Int = 6, racks: Int = 3, configuration: NameNodeConfiguration = NameNodeConfiguration()) -> NameNodeHarness {
        var harness = NameNodeHarness(configuration: configuration)
        for index in 0..<nodes { harness.addNode("n\(index)", rack: "r\(index % racks)") }
        return harness
    }

    private func kill(_ id: StorageID, in harness: inout NameNodeHarness) {
        harness.down.insert(id)
        harness.run(forMs: harness.core.configuration.deadAfterMs + harness.core.configuration.heartbeatIntervalMs)
    }

    func testCopiesOfALostNodeAreThrottledPerSourceAndTheLimitsChangeAtRunTime() throws {
        var configuration = NameNodeConfiguration().scaled(by: 100)
        configuration.replicationStreams = 1
        configuration.workPerDataNode = 100
        var harness = cluster(nodes: 4, racks: 2, configuration: configuration)
        for index in 0..<20 { try harness.write("/d/f\(index)", blocks: 1) }
        let victim = harness.ids["n0"]!
        harness.down.insert(victim)
        harness.now += configuration.deadAfterMs + 1
        harness.heartbeatAll()
        harness.record(harness.core.tick(now: harness.now))
        // One round: each source gets at most one copy (one stream).
        let queued = harness.core.dataNodes.values.map { node in node.pendingCommands.filter { if case .replicate = $0 { true } else { false } }.count }
        XCTAssertEqual(queued.max(), 1)
        XCTAssertGreaterThan(harness.core.lowRedundancy.count, 0)
        harness.core.setReplicationLimits(streams: 8, bytesPerSecond: 1 << 30)
        harness.heartbeatAll()
        harness.run(forMs: 10 * configuration.monitorIntervalMs)
        let fsck = try harness.core.fsck()
        XCTAssertTrue(fsck.isHealthy, "\(fsck)")
        XCTAssertEqual(fsck.replicationHistogram, [3: 20])
    }

    func testTheMostEndangeredBlocksAreCopiedFirst() throws {
        var configuration = NameNodeConfiguration()
        configuration.workPerDataNode = 1
        var harness = cluster(nodes: 5, racks: 5, configuration: configuration)
        let two = try harness.write("/two", blocks: 1)[0]
        let one = try harness.write("/one", blocks: 1)[0]
        // Take replicas away by hand: /one keeps one, /two keeps two.
        for holder in harness.holders(one.id).dropFirst() { harness.record(harness.core.blockDeleted(from: holder, one.id, now: harness.now)) }
        harness.record(harness.core.blockDeleted(from: harness.holders(two.id)[0], two.id, now: harness.now))
        XCTAssertEqual(harness.core.lowRedundancy.level(of: one.id), .highest)
        XCTAssertEqual(harness.core.lowRedundancy.level(of: two.id), .low)
        var queue = harness.core.lowRedundancy
        XCTAssertEqual(queue.next(1).map(\.0), [one.id])
    }

    func testACorruptReplicaIsCopiedFirstAndDeletedOnlyOnceEnoughGoodOnesExist() throws {
        var harness = cluster()
        let block = try harness.write("/f", blocks: 1)[0]
        let bad = harness.holders(block.id)[0]
        let reporter = harness.holders(block.id)[1]
        harness.record(harness.core.reportCorrupt(holder: bad, block, reporter: reporter, reason: "checksum of chunk 3", now: harness.now))
        XCTAssertEqual(harness.core.blocks[block.id]?.corrupt, [bad])
        XCTAssertTrue(harness.core.dataNodes[bad]!.pendingCommands.isEmpty, "not deleted while only 2 good replicas exist")
        XCTAssertEqual(harness.core.lowRedundancy.level(of: block.id), .low)
        harness.run(forMs: 12_000)
        XCTAssertEqual(harness.holders(block.id).count, 3)
        XCTAssertNil(harness.held[bad]![block.id], "the corrupt replica was deleted after the copy")
        XCTAssertTrue(try harness.core.fsck().isHealthy)
    }

    func testThreeReplicasOnExactlyThreeNodesWithOneCorruptEndWithThreeGoodOnes() throws {
        var harness = cluster(nodes: 3, racks: 2)
        let block = try harness.write("/f", blocks: 1)[0]
        let bad = harness.holders(block.id)[2]
        harness.record(harness.core.reportCorrupt(holder: bad, block, reporter: bad, reason: "scanner", now: harness.now))
        harness.run(forMs: 30_000)
        XCTAssertTrue(harness.log.contains { $0.contains("corrupt, and no other DataNode can take a copy") })
        XCTAssertEqual(harness.holders(block.id).count, 3)
        XCTAssertTrue(harness.holders(block.id).contains(bad), "the node that held the corrupt replica got a good copy")
        XCTAssertTrue(try harness.core.fsck().isHealthy)
    }

    func testLoweringReplicationDeletesExcessReplicasWithoutLosingARack() throws {
        var harness = cluster(nodes: 6, racks: 2)
        let block = try harness.write("/f", blocks: 1, replication: 5)[0]
        XCTAssertEqual(harness.holders(block.id).count, 5)
        harness.record(try harness.core.setReplication(try NamespacePath("/f"), 2, user: "rafi"))
        harness.run(forMs: 6_000)
        XCTAssertEqual(harness.holders(block.id).count, 2)
        XCTAssertEqual(harness.racks(block.id).count, 2)
    }

    func testDecommissioningCompletesWithNoBlockBelowItsReplication() throws {
        var harness = cluster(nodes: 6, racks: 3)
        for index in 0..<10 { try harness.write("/f\(index)", blocks: 2) }
        let leaving = harness.core.dataNodes[harness.ids["n1"]!]!
        XCTAssertGreaterThan(leaving.blocks.count, 0)
        harness.record(harness.core.decommission(address: "n1"))
        XCTAssertEqual(harness.core.dataNodes[leaving.storageID]?.adminState, .decommissioning)
        var lowest = Int.max
        for _ in 0..<20 {
            harness.run(forMs: 3_000)
            for id in harness.core.blocks.keys { lowest = min(lowest, harness.core.countReplicas(id).live + harness.core.countReplicas(id).decommissioning) }
        }
        XCTAssertGreaterThanOrEqual(lowest, 3, "every block kept 3 readable replicas throughout")
        XCTAssertEqual(harness.core.dataNodes[leaving.storageID]?.adminState, .decommissioned)
        for id in harness.core.blocks.keys { XCTAssertEqual(harness.core.countReplicas(id).live, 3) }
        XCTAssertEqual(harness.core.clusterReport(now: harness.now).decommissioned, 1)
    }

    func testTheBalancerMovesBlocksToAnEmptyNodeUntilBalanced() throws {
        var harness = cluster(nodes: 4, racks: 2)
        for index in 0..<24 { try harness.write("/f\(index)", blocks: 1, size: 1_000_000) }
        harness.addNode("fresh", rack: "r0", capacity: 1 << 30)
        harness.heartbeatAll()
        XCTAssertFalse(harness.core.isBalanced(threshold: 0.005))
        for _ in 0..<20 where !harness.core.isBalanced(threshold: 0.005) {
            let (moves, effects) = harness.core.balance(threshold: 0.005, bytesPerNode: 4_000_000, now: harness.now)
            harness.record(effects)
            XCTAssertLessThanOrEqual(moves.filter { $0.target == harness.ids["fresh"] }.count, 4, "the bandwidth limit holds")
            harness.run(forMs: 6_000)
        }
        XCTAssertTrue(harness.core.isBalanced(threshold: 0.005))
        XCTAssertGreaterThan(harness.core.dataNodes[harness.ids["fresh"]!]!.blocks.count, 0)
        for id in harness.core.blocks.keys {
            XCTAssertEqual(harness.holders(id).count, 3)
            XCTAssertEqual(harness.racks(id).count, 2, "no move left a block on one rack")
        }
    }
}
