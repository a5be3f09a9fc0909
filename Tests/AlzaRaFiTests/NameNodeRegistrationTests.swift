import AlzaCore
import AlzaRaFi
import XCTest

final class NameNodeRegistrationTests: XCTestCase {
    func testADataNodeOfAnotherNamespaceIsToldToShutDownWithBothNamespacesNamed() {
        var harness = NameNodeHarness()
        let effects = harness.core.register(DataNodeRegistration(namespace: NamespaceInfo(namespaceID: 7), storageID: StorageID("DS-old"),
                                                                 address: "sat-1", rack: "r1", capacity: 1 << 30), now: 5)
        let expected = RaFiError.wrongNamespace(expected: 42, actual: 7).description
        XCTAssertEqual(effects, [.log("refused DataNode at sat-1: \(expected)"), .command(.shutdown(reason: expected), to: StorageID("DS-old"))])
        XCTAssertTrue(harness.core.dataNodes.isEmpty)
    }

    func testADataNodeWithAnotherLayoutVersionIsRefused() {
        var harness = NameNodeHarness()
        let effects = harness.core.register(DataNodeRegistration(namespace: NamespaceInfo(namespaceID: 42, layoutVersion: 9), storageID: nil,
                                                                 address: "sat-1", rack: "r1", capacity: 1), now: 5)
        let reason = RaFiError.unsupportedLayout(expected: 1, actual: 9).description
        XCTAssertEqual(effects.last, .command(.shutdown(reason: reason), to: StorageID("unregistered@sat-1")))
        XCTAssertEqual(RaFiError.unsupportedLayout(expected: 1, actual: 9).code, "rafi.unsupported-layout")
    }

    func testAnAddressOutsideTheIncludeListIsRefused() {
        var configuration = NameNodeConfiguration()
        configuration.includeAddresses = ["sat-1"]
        var harness = NameNodeHarness(configuration: configuration)
        harness.addNode("sat-1", rack: "r1")
        let effects = harness.core.register(DataNodeRegistration(namespace: NameNodeHarness.info, storageID: nil, address: "sat-9", rack: "r1", capacity: 1), now: 5)
        XCTAssertEqual(effects.last, .command(.shutdown(reason: "sat-9 is not in the NameNode's include list"), to: StorageID("unregistered@sat-9")))
        XCTAssertEqual(harness.core.dataNodes.count, 1)
    }

    func testANewDataNodeGetsAPermanentStorageIDItKeepsWhenItComesBackElsewhere() throws {
        var harness = NameNodeHarness()
        harness.addNode("sat-1", rack: "r1")
        let id = try XCTUnwrap(harness.ids["sat-1"])
        XCTAssertTrue(id.rawValue.hasPrefix("DS-42-1-"))
        let effects = harness.core.register(DataNodeRegistration(namespace: NameNodeHarness.info, storageID: id, address: "sat-1b", rack: "r2", capacity: 1), now: 9)
        XCTAssertEqual(effects.last, .command(.registered(id, NameNodeHarness.info), to: id))
        XCTAssertEqual(harness.core.dataNodes[id]?.location.address, "sat-1b")
        XCTAssertEqual(harness.core.dataNodes.count, 1)
    }

    func testAHeartbeatFromAnUnknownNodeIsAnsweredWithReregister() {
        var harness = NameNodeHarness()
        let stranger = StorageID("DS-unknown")
        XCTAssertEqual(harness.core.heartbeat(DataNodeHeartbeat(storageID: stranger, capacity: 1, used: 0, transfersInProgress: 0), now: 5),
                       [.command(.reregister, to: stranger)])
    }

    func testTheFirstHeartbeatAsksForABlockReport() throws {
        var harness = NameNodeHarness()
        _ = harness.core.register(DataNodeRegistration(namespace: NameNodeHarness.info, storageID: StorageID("DS-a"), address: "a", rack: "r", capacity: 1), now: 1)
        let effects = harness.core.heartbeat(DataNodeHeartbeat(storageID: StorageID("DS-a"), capacity: 1, used: 0, transfersInProgress: 0), now: 2)
        XCTAssertEqual(effects, [.command(.blockReportNow, to: StorageID("DS-a"))])
    }

    func testADataNodeSilentFor10AndAHalfMinutesIsDeadAndItsBlocksAreQueued() throws {
        var harness = NameNodeHarness()
        for (name, rack) in [("a", "r1"), ("b", "r1"), ("c", "r2"), ("d", "r2")] { harness.addNode(name, rack: rack) }
        let written = try harness.write("/f", blocks: 1)
        let victim = harness.holders(written[0].id)[0]
        harness.down.insert(victim)
        XCTAssertEqual(harness.core.configuration.deadAfterMs, 630_000)
        harness.run(forMs: 627_000)
        XCTAssertTrue(harness.core.dataNodes[victim]!.isAlive, "not dead before 10.5 min")
        harness.run(forMs: 6_000)
        XCTAssertFalse(harness.core.dataNodes[victim]!.isAlive)
        XCTAssertTrue(harness.log.contains { $0.contains("is dead: no heartbeat for") })
        harness.run(forMs: 9_000)
        XCTAssertEqual(harness.holders(written[0].id).count, 3)
        XCTAssertFalse(harness.holders(written[0].id).contains(victim))
    }
}

final class NameNodeReportDispatchTests: XCTestCase {
    func testAnUnformattedDataNodeJoinsAndIsGivenTheNamespace() throws {
        var harness = NameNodeHarness()
        let effects = harness.core.receive(.register(DataNodeRegistration(namespace: .unformatted, storageID: nil, address: "fresh", rack: "r", capacity: 9)), now: 3)
        guard case .command(.registered(let id, let info), _) = effects.last else { return XCTFail("\(effects)") }
        XCTAssertEqual(info, NameNodeHarness.info)
        XCTAssertNotNil(harness.core.dataNodes[id])
        // But one claiming an identity with namespace 0 is not new: refused.
        let again = harness.core.receive(.register(DataNodeRegistration(namespace: .unformatted, storageID: id, address: "fresh", rack: "r", capacity: 9)), now: 4)
        XCTAssertEqual(again.last, .command(.shutdown(reason: RaFiError.wrongNamespace(expected: 42, actual: 0).description), to: id))
    }

    func testACorruptReplicaTheNameNodeDoesNotCountIsDeletedWhenItsHolderReportsIt() throws {
        var harness = NameNodeHarness()
        for name in ["a", "b", "c"] { harness.addNode(name, rack: "r") }
        let block = try harness.write("/f", blocks: 1)[0]
        let holder = harness.holders(block.id)[0]
        // The holder restarted and left the corrupt replica out of its report.
        harness.record(harness.core.blockReport(from: holder, [], now: harness.now).effects)
        let effects = harness.core.receive(.corruptReplica(reporter: holder, holder: holder, block: block, reason: "scanner"), now: harness.now)
        XCTAssertEqual(effects, [.log("\(block.id) on \(holder) is corrupt (scanner) and not counted; deleted")])
        XCTAssertEqual(harness.core.dataNodes[holder]?.pendingCommands, [.delete([block])])
    }
}
