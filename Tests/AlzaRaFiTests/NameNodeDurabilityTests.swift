import AlzaCore
import AlzaRaFi
import XCTest

final class NameNodeDurabilityTests: XCTestCase {
    private func populated() throws -> NameNodeHarness {
        var harness = NameNodeHarness()
        for index in 0..<4 { harness.addNode("n\(index)", rack: "r\(index % 2)") }
        try harness.write("/chain/c1/segments/s1", blocks: 2)
        try harness.write("/chain/c1/segments/s2", blocks: 1)
        harness.record(try harness.core.delete(try NamespacePath("/chain/c1/segments/s1"), recursive: false, user: "rafi", now: harness.now))
        harness.record(try harness.core.create(try NamespacePath("/open"), user: "rafi", client: "writer-2", now: harness.now))
        harness.heartbeatAll()
        return harness
    }

    func testImagePlusJournalRebuildsTheSameNamespace() throws {
        let harness = try populated()
        let half = harness.journal.count / 2
        var replayed = NameNodeHarness().core.namespace
        for record in harness.journal.prefix(half) { try replayed.apply(record) }
        let image = NamespaceImage.encode(replayed, info: NameNodeHarness.info)
        var restored = try NamespaceImage.decode(image, expected: NameNodeHarness.info)
        XCTAssertEqual(restored, replayed)
        for record in harness.journal.dropFirst(half) { try restored.apply(record) }
        XCTAssertEqual(restored, harness.core.namespace)
        XCTAssertEqual(restored.lastTransaction, UInt64(harness.journal.count))
    }

    func testJournalRecordsRoundTripAndAGapIsCorruption() throws {
        let harness = try populated()
        for record in harness.journal {
            XCTAssertEqual(try JournalRecord(canonicalBytes: record.canonicalBytes), record)
        }
        var namespace = NameNodeHarness().core.namespace
        XCTAssertThrowsError(try namespace.apply(harness.journal[1])) { error in
            XCTAssertEqual(error as? RaFiError, .journalCorrupt(reason: "transaction 2 follows 0"))
        }
    }

    func testACorruptImageOrOneOfAnotherNamespaceIsRefused() throws {
        let harness = try populated()
        var image = NamespaceImage.encode(harness.core.namespace, info: NameNodeHarness.info)
        XCTAssertThrowsError(try NamespaceImage.decode(image, expected: NamespaceInfo(namespaceID: 5))) { error in
            XCTAssertEqual(error as? RaFiError, .wrongNamespace(expected: 5, actual: 42))
        }
        image[image.count / 2] ^= 0x40
        XCTAssertThrowsError(try NamespaceImage.decode(image, expected: NameNodeHarness.info)) { error in
            XCTAssertEqual(error as? RaFiError, .imageCorrupt(reason: "checksum mismatch"))
        }
        XCTAssertThrowsError(try NamespaceImage.decode([1, 2], expected: NameNodeHarness.info)) { error in
            XCTAssertEqual(error as? RaFiError, .imageCorrupt(reason: "2 bytes"))
        }
    }

    func testARestartedNameNodeStaysInSafeModeUntilTheBlocksAreReported() throws {
        var harness = try populated()
        var configuration = NameNodeConfiguration()
        configuration.safeModeExtensionMs = 5_000
        harness.core = NameNodeCore(info: NameNodeHarness.info, namespace: harness.core.namespace, configuration: configuration, now: harness.now)
        XCTAssertTrue(harness.core.isInSafeMode)
        XCTAssertThrowsError(try harness.core.mkdir(try NamespacePath("/x"), user: "rafi", now: harness.now)) { error in
            XCTAssertEqual(error as? RaFiError, .safeMode(reason: "0 of 1 blocks reported"))
        }
        // The DataNodes register again and report.
        for (name, id) in harness.ids.sorted(by: { $0.key < $1.key }) {
            harness.record(harness.core.register(DataNodeRegistration(namespace: NameNodeHarness.info, storageID: id, address: name,
                                                                      rack: "r", capacity: 1 << 30), now: harness.now))
        }
        harness.heartbeatAll()
        XCTAssertTrue(harness.core.isInSafeMode, "the extension runs")
        harness.run(forMs: 6_000)
        XCTAssertFalse(harness.core.isInSafeMode)
        XCTAssertTrue(harness.log.contains("left safe mode: 1 of 1 blocks reported, 0 need copies"))
        XCTAssertNoThrow(try harness.core.mkdir(try NamespacePath("/x"), user: "rafi", now: harness.now))
    }

    func testABackupNodeFedTheJournalTakesOverWithTheSameNamespace() throws {
        let harness = try populated()
        var backup = NameNodeCore(info: NameNodeHarness.info, namespace: Namespace(rootOwner: "rafi"), role: .backup, now: 0)
        XCTAssertThrowsError(try backup.mkdir(try NamespacePath("/x"), user: "rafi", now: 1)) { error in
            XCTAssertEqual(error as? RaFiError, .standby)
        }
        for record in harness.journal { try backup.replay(record, now: 1) }
        XCTAssertEqual(backup.namespace, harness.core.namespace)
        XCTAssertEqual(Set(backup.blocks.keys), Set(harness.core.blocks.keys))
        _ = backup.promote(now: 2)
        XCTAssertEqual(backup.role, .active)
        XCTAssertTrue(backup.isInSafeMode, "it knows no replica until the DataNodes report")
        XCTAssertEqual(backup.leases.keys.sorted(), ["writer-2"])
    }

    func testABlockReportOfUnknownAndStaleBlocksListsThemAndLosesNothingElse() throws {
        var harness = try populated()
        let id = harness.ids["n0"]!
        let known = harness.held[id]!.values.sorted { $0.id < $1.id }
        let stranger = ExtendedBlock(id: BlockID(999), generationStamp: 1, length: 5)
        var stale = try XCTUnwrap(harness.held.values.flatMap(\.values).first { harness.core.blocks[$0.id] != nil })
        stale.generationStamp -= 1
        let (outcome, effects) = harness.core.blockReport(from: id, known + [stranger, stale], now: harness.now)
        XCTAssertEqual(outcome.unknown, [BlockID(999)])
        XCTAssertEqual(outcome.stale, [stale.id])
        XCTAssertTrue(effects.contains(.log("block report from \(id): 1 unknown blocks (\(RaFiError.unknownBlock(BlockID(999)).description)); deleted")))
        XCTAssertTrue(harness.core.dataNodes[id]!.pendingCommands.contains(.delete([stranger])))
        for block in known where block.id != stale.id { XCTAssertNotNil(harness.core.blocks[block.id]?.replicas[id]) }
    }

    func testASilentWritersLeaseIsTakenOverAfterTheSoftLimitAndClosedAfterTheHardLimit() throws {
        var harness = try populated()
        let path = try NamespacePath("/open")
        XCTAssertThrowsError(try harness.core.create(path, user: "rafi", client: "other", now: harness.now + 1_000)) { error in
            XCTAssertEqual(error as? RaFiError, .leaseHeld(path: "/open", holder: "writer-2"))
        }
        let (located, effects) = try harness.core.addBlock(path, client: "writer-2", previous: nil, writer: nil, now: harness.now)
        harness.record(effects)
        let written = ExtendedBlock(id: located.block.id, generationStamp: located.block.generationStamp, length: 700)
        for target in located.locations.prefix(2) {
            harness.held[target.storageID]![written.id] = written
            harness.record(harness.core.blockReceived(from: target.storageID, written, now: harness.now))
        }
        harness.run(forMs: harness.core.configuration.leaseHardLimitMs + 6_000)
        let file = try harness.core.namespace.file(at: path)
        XCTAssertTrue(file.isComplete)
        XCTAssertEqual(file.length, 700)
        XCTAssertTrue(harness.log.contains("lease of writer-2 on /open expired (hard limit); closed at 700 bytes"))
    }

    func testCompleteWaitsForAFinalizedReplicaAndRefusesAnotherClient() throws {
        var harness = try populated()
        let path = try NamespacePath("/open")
        let (located, effects) = try harness.core.addBlock(path, client: "writer-2", previous: nil, writer: nil, now: harness.now)
        harness.record(effects)
        var last = located.block
        last.length = 10
        XCTAssertFalse(try harness.core.complete(path, client: "writer-2", last: last, now: harness.now).completed)
        XCTAssertThrowsError(try harness.core.complete(path, client: "intruder", last: last, now: harness.now)) { error in
            XCTAssertEqual(error as? RaFiError, .noLease(path: "/open", client: "intruder"))
        }
        harness.record(harness.core.blockReceived(from: located.locations[0].storageID, last, now: harness.now))
        XCTAssertTrue(try harness.core.complete(path, client: "writer-2", last: last, now: harness.now).completed)
    }

    func testPathsAndPermissionsAreChecked() throws {
        XCTAssertThrowsError(try NamespacePath("relative")) { XCTAssertEqual($0 as? RaFiError, .invalidPath("relative", reason: "not absolute")) }
        XCTAssertThrowsError(try NamespacePath("/a/../b")) { XCTAssertEqual($0 as? RaFiError, .invalidPath("/a/../b", reason: "contains ..")) }
        XCTAssertEqual(try NamespacePath("//a///b/").description, "/a/b")
        var harness = NameNodeHarness()
        XCTAssertThrowsError(try harness.core.mkdir(try NamespacePath("/home"), user: "alice", now: 1)) { error in
            XCTAssertEqual(error as? RaFiError, .permissionDenied(path: "/", user: "alice"))
        }
        harness.record(try harness.core.mkdir(try NamespacePath("/private"), user: "rafi", mode: 0o755, now: 1))
        XCTAssertThrowsError(try harness.core.create(try NamespacePath("/private/x"), user: "bob", client: "c", now: 2)) { error in
            XCTAssertEqual(error as? RaFiError, .permissionDenied(path: "/private", user: "bob"))
        }
        XCTAssertThrowsError(try harness.core.delete(try NamespacePath("/"), recursive: true, user: "rafi", now: 2))
        XCTAssertThrowsError(try harness.core.create(try NamespacePath("/private/x"), replication: 0, user: "rafi", client: "c", now: 2)) { error in
            XCTAssertEqual(error as? RaFiError, .invalidReplication(requested: 0, limit: 16))
        }
    }
}
