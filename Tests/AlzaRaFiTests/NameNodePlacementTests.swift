import AlzaCore
import AlzaRaFi
import XCTest

final class NameNodePlacementTests: XCTestCase {
    func testTheFirstReplicaIsOnTheWriterTheSecondOnAnotherRackTheThirdBesideTheSecond() throws {
        for seed in 0..<20 {
            var harness = NameNodeHarness()
            for rack in 1...3 { for node in 1...3 { harness.addNode("n\(rack)\(node)", rack: "r\(rack)") } }
            _ = seed
            let written = try harness.write("/f\(seed)", blocks: 1, writer: "n21")
            let path = try NamespacePath("/f\(seed)")
            let located = try harness.core.locate(path)[0]
            XCTAssertEqual(located.block, written[0])
            let holders = harness.holders(written[0].id).compactMap { harness.core.dataNodes[$0]?.location }
            XCTAssertEqual(holders.count, 3)
            XCTAssertTrue(holders.contains { $0.address == "n21" })
            let racks = holders.map(\.rack)
            XCTAssertEqual(Set(racks).count, 2, "two racks: the writer's and one other")
            XCTAssertEqual(racks.filter { $0 == "r2" }.count, 1, "only the writer on its rack")
        }
    }

    func testMaximumNodesPerRackFollowsHDFS() {
        XCTAssertEqual(RackAwarePlacement.maximumNodesPerRack(totalReplicas: 3, rackCount: 2), 3)
        XCTAssertEqual(RackAwarePlacement.maximumNodesPerRack(totalReplicas: 3, rackCount: 3), 2)
        XCTAssertEqual(RackAwarePlacement.maximumNodesPerRack(totalReplicas: 10, rackCount: 3), 5)
        XCTAssertEqual(RackAwarePlacement.maximumNodesPerRack(totalReplicas: 4, rackCount: 1), 4)
    }

    func testNoTargetIsChosenTwiceOrAmongTheExcluded() {
        let policy = RackAwarePlacement()
        let candidates = (0..<4).map { PlacementCandidate(location: DataNodeLocation(storageID: StorageID("s\($0)"), address: "a\($0)", rack: "r\($0 % 2)"), remaining: 10_000, transfersInProgress: 0) }
        var random = SeededRandom(seed: 3)
        let targets = policy.chooseTargets(count: 5, writer: nil, chosen: [], excluded: [StorageID("s0")], candidates: candidates, blockBytes: 100, random: &random)
        XCTAssertEqual(Set(targets.map(\.storageID)), [StorageID("s1"), StorageID("s2"), StorageID("s3")])
        XCTAssertEqual(targets.count, 3)
    }

    func testANodeWithoutRoomForTheBlockIsNotATarget() {
        let policy = RackAwarePlacement()
        let full = PlacementCandidate(location: DataNodeLocation(storageID: StorageID("full"), address: "f", rack: "r"), remaining: 10, transfersInProgress: 0)
        var random = SeededRandom(seed: 1)
        XCTAssertEqual(policy.chooseTargets(count: 1, writer: nil, chosen: [], excluded: [], candidates: [full], blockBytes: 11, random: &random), [])
    }

    func testTheReplicaDeletedIsOneWhoseRackKeepsAnother() {
        let policy = RackAwarePlacement()
        let replicas = [("a", "r1", 500), ("b", "r2", 100), ("c", "r2", 900), ("d", "r3", 50)].map {
            PlacementCandidate(location: DataNodeLocation(storageID: StorageID($0.0), address: $0.0, rack: $0.1), remaining: UInt64($0.2), transfersInProgress: 0)
        }
        XCTAssertEqual(policy.replicaToDelete(from: replicas, deleteHint: nil), StorageID("b"), "r2 has two; the fuller of them goes")
        XCTAssertEqual(policy.replicaToDelete(from: replicas, deleteHint: StorageID("c")), StorageID("c"))
        XCTAssertEqual(policy.replicaToDelete(from: replicas, deleteHint: StorageID("d")), StorageID("b"), "a hint that would empty a rack is ignored")
    }

    func testLowRedundancyLevelsFollowHDFS() {
        func level(live: Int, decommissioning: Int = 0, pending: Int = 0, racks: Int = 2, expected: Int = 3) -> LowRedundancyQueue.Level? {
            var count = ReplicaCount()
            count.live = live
            count.decommissioning = decommissioning
            count.pending = pending
            count.racks = racks
            return LowRedundancyQueue.level(for: count, expected: expected, rackCount: 3)
        }
        XCTAssertEqual(level(live: 0), .corrupt)
        XCTAssertEqual(level(live: 0, decommissioning: 2), .highest)
        XCTAssertEqual(level(live: 1), .highest)
        XCTAssertEqual(level(live: 2, expected: 10), .veryLow)
        XCTAssertEqual(level(live: 2), .low)
        XCTAssertEqual(level(live: 3, racks: 1), .badlyDistributed)
        XCTAssertNil(level(live: 3))
        XCTAssertNil(level(live: 2, pending: 1))
    }

    func testTheQueueServesLowerLevelsFirstAndRoundRobinsWithinALevel() {
        var queue = LowRedundancyQueue()
        queue.update(BlockID(5), to: .low)
        queue.update(BlockID(6), to: .low)
        queue.update(BlockID(7), to: .low)
        queue.update(BlockID(9), to: .highest)
        queue.update(BlockID(1), to: .corrupt)
        XCTAssertEqual(queue.next(2).map(\.0), [BlockID(9), BlockID(5)])
        XCTAssertEqual(queue.next(2).map(\.0), [BlockID(9), BlockID(6)])
        XCTAssertEqual(queue.next(3).map(\.0), [BlockID(9), BlockID(7), BlockID(5)])
        XCTAssertEqual(queue.count, 5)
        queue.remove(BlockID(9))
        XCTAssertEqual(queue.count(at: .highest), 0)
    }
}
