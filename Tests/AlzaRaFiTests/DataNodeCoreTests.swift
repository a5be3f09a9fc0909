import AlzaCore
import AlzaRaFi
import XCTest

final class DataNodeCoreTests: XCTestCase {
    let id = StorageID("DS-7")
    let namespace = DataPath.namespace
    let target = DataPath.location("t", rack: "/rack-b")

    func block(_ number: UInt64, length: UInt64 = 1_000, stamp: UInt64 = 1) -> ExtendedBlock {
        ExtendedBlock(id: BlockID(number), generationStamp: stamp, length: length)
    }

    /// A formatted DataNode holding `replicas`, registered at `now`.
    func registeredNode(_ replicas: [ExtendedBlock] = [], now: UInt64 = 100,
                        configure: (inout DataNodeCore.Configuration) -> Void = { _ in }) -> (DataNodeCore, [DataNodeCore.Effect]) {
        var configuration = DataNodeCore.Configuration()
        configure(&configuration)
        var node = DataNodeCore(configuration: configuration, address: "dn:1", rack: "/r", capacity: 1 << 20,
                                namespace: namespace, storageID: id, replicas: replicas)
        _ = node.start(now: 0)
        let effects = node.handle(command: .registered(id, namespace), now: now)
        return (node, effects)
    }

    // MARK: Registration

    func testAnUnformattedNodeRegistersAndKeepsTheIdentityItIsGiven() {
        var node = DataNodeCore(address: "dn:1", rack: "/r", capacity: 1_000)
        let registration = DataNodeRegistration(namespace: .unformatted, storageID: nil, address: "dn:1", rack: "/r", capacity: 1_000)
        XCTAssertEqual(node.start(now: 0), [.send(.register(registration)), .wakeAt(3_000)])
        XCTAssertEqual(node.tick(now: 2_999), [.wakeAt(3_000)])
        XCTAssertEqual(node.tick(now: 3_000), [.send(.register(registration)), .wakeAt(6_000)], "unanswered: registers again")
        XCTAssertEqual(node.handle(command: .registered(id, namespace), now: 3_500), [
            .persistIdentity(id, namespace),
            .log("registered with the NameNode as DS-7 in namespace 42 layout 1"),
            .send(.blockReport(id, [])),
            .wakeAt(6_500),
        ])
        XCTAssertEqual(node.phase, .registered)
        XCTAssertEqual(node.storageID, id)
        XCTAssertEqual(node.namespace, namespace)
    }

    func testARegistrationForAnotherNamespaceOrIdentityShutsTheNodeDown() {
        var node = DataNodeCore(address: "dn:1", rack: "/r", capacity: 1_000, namespace: namespace, storageID: id)
        XCTAssertEqual(node.start(now: 0).reports,
                       [.register(DataNodeRegistration(namespace: namespace, storageID: id, address: "dn:1", rack: "/r", capacity: 1_000))])
        let reason = RaFiError.wrongNamespace(expected: 43, actual: 42).description
        XCTAssertEqual(node.handle(command: .registered(id, NamespaceInfo(namespaceID: 43)), now: 1),
                       [.log("DataNode DS-7 shuts down: \(reason)"), .shutdown(reason: reason)])
        XCTAssertEqual(node.phase, .shutDown)

        var other = DataNodeCore(address: "dn:1", rack: "/r", capacity: 1_000, namespace: namespace, storageID: id)
        _ = other.start(now: 0)
        let effects = other.handle(command: .registered(StorageID("DS-8"), namespace), now: 1)
        XCTAssertEqual(effects.last, .shutdown(reason: "the NameNode registered this DataNode as DS-8, its storage folder says DS-7"))
    }

    func testAShutdownCommandIsLoggedAndEndsAllFurtherEffects() {
        var (node, _) = registeredNode([block(1)])
        let reason = "DataNode storage layout version 1 is not the layout version 2 this NameNode reads"
        XCTAssertEqual(node.handle(command: .shutdown(reason: reason), now: 200),
                       [.log("DataNode DS-7 shuts down: \(reason)"), .shutdown(reason: reason)])
        XCTAssertEqual(node.tick(now: 10_000_000), [])
        XCTAssertEqual(node.handle(command: .blockReportNow, now: 300), [])
        XCTAssertEqual(node.handle(command: .registered(id, namespace), now: 300), [])
        XCTAssertEqual(node.handle(command: .replicate(block(1), targets: [target]), now: 300), [])
        XCTAssertEqual(node.replicaFinalized(block(2)), [])
        XCTAssertEqual(node.verified(block(1), result: .success(()), now: 400), [])
        XCTAssertEqual(node.readFailed(block(1), error: .checksumMismatch(block: BlockID(1), chunk: 0), now: 400), [])
    }

    // MARK: Heartbeats and reports

    func testHeartbeatsComeEveryIntervalAfterRegistering() {
        var (node, _) = registeredNode([block(1, length: 1_000), block(2, length: 500)], now: 100)
        XCTAssertEqual(node.tick(now: 3_099).heartbeats, [])
        let beat = DataNodeHeartbeat(storageID: id, capacity: 1 << 20, used: 1_500, transfersInProgress: 0)
        let first = node.tick(now: 3_100)
        XCTAssertEqual(first.heartbeats, [beat])
        XCTAssertEqual(first.wakeTimes, [6_100])
        XCTAssertEqual(node.tick(now: 6_099).heartbeats, [])
        XCTAssertEqual(node.tick(now: 6_100).heartbeats, [beat])
        XCTAssertEqual(node.tick(now: 6_100).heartbeats, [], "one per interval")
        XCTAssertEqual(node.tick(now: 10_000).heartbeats, [beat], "a late tick sends one")
        XCTAssertEqual(node.tick(now: 12_999).heartbeats, [], "and the interval counts from it")
        XCTAssertEqual(node.tick(now: 13_000).heartbeats, [beat])
    }

    func testABlockReportFollowsRegistrationAndComesHourlyWithFinalizedReplicasOnly() {
        var (node, effects) = registeredNode([block(3), block(1)], now: 100)
        XCTAssertEqual(effects.blockReports, [[block(1), block(3)]])
        node.replicaBeingWritten(block(2, length: 10))
        XCTAssertEqual(node.usedBytes, 2_010, "a replica being written takes space")
        XCTAssertEqual(node.tick(now: 3_600_099).blockReports, [])
        XCTAssertEqual(node.tick(now: 3_600_100).blockReports, [[block(1), block(3)]], "the replica being written is not in it")
        XCTAssertEqual(node.replicaFinalized(block(2, length: 10)), [.send(.blockReceived(id, block(2, length: 10)))])
        XCTAssertEqual(node.handle(command: .blockReportNow, now: 3_600_200).blockReports, [[block(1), block(2, length: 10), block(3)]])
        XCTAssertEqual(node.tick(now: 7_200_100).blockReports, [], "a report on request restarts the hour")
        XCTAssertEqual(node.tick(now: 7_200_200).blockReports.count, 1)
        XCTAssertEqual(node.replicaDeleted(BlockID(3)), [.send(.blockDeleted(id, BlockID(3)))])
        XCTAssertEqual(node.replicaDeleted(BlockID(3)), [], "already gone")
    }

    func testALargeReportIsSplit() {
        let (_, effects) = registeredNode([block(1), block(2), block(3)]) { $0.maximumBlocksPerReport = 2 }
        XCTAssertEqual(effects.blockReports, [[block(1), block(2)], [block(3)]])
    }

    // MARK: Commands

    func testADeleteCommandRemovesReplicasOfItsStampAndReportsThem() {
        var (node, _) = registeredNode([block(1, length: 700), block(2, length: 300)])
        let effects = node.handle(command: .delete([block(1, length: 700), block(2, length: 0, stamp: 9), block(5)]), now: 200)
        XCTAssertEqual(effects.removals, [block(1, length: 700)])
        XCTAssertEqual(effects.reports, [.blockDeleted(id, BlockID(1)), .blockDeleted(id, BlockID(5))])
        XCTAssertEqual(effects.logLines, ["delete blk_2_9 (0 B) skipped: this DataNode holds generation stamp 1"])
        XCTAssertEqual(node.usedBytes, 300)
        XCTAssertEqual(node.handle(command: .blockReportNow, now: 300).blockReports, [[block(2, length: 300)]])
    }

    func testCopiesAreBoundedByTheTransferLimit() throws {
        var (node, _) = registeredNode([block(1), block(2), block(3)]) { $0.maximumConcurrentTransfers = 2 }
        XCTAssertEqual(node.handle(command: .replicate(block(1), targets: [target]), now: 200).transfers, [block(1)])
        XCTAssertEqual(node.handle(command: .replicate(block(2), targets: [target]), now: 200).transfers, [block(2)])
        XCTAssertEqual(node.handle(command: .replicate(block(3), targets: [target]), now: 200).transfers, [], "waits for a free transfer")
        XCTAssertEqual(node.transfersInProgress, [BlockID(1), BlockID(2)])
        XCTAssertEqual(node.tick(now: 3_100).heartbeats.map(\.transfersInProgress), [2])
        XCTAssertEqual(node.handle(command: .replicate(block(2), targets: [target]), now: 3_200).logLines,
                       ["a copy of blk_2 is already under way; the second request is ignored"])
        XCTAssertEqual(node.transferFinished(block(1), ok: true, now: 4_000), [.transfer(block(3), to: [target])])
        XCTAssertEqual(node.transferFinished(block(2), ok: false, now: 4_100),
                       [.log("copy of blk_2_1 (1000 B) failed; the NameNode will schedule it again")])
        XCTAssertEqual(node.transfersInProgress, [BlockID(3)])
        let missing = node.handle(command: .replicate(block(9, length: 10), targets: [target]), now: 4_200)
        XCTAssertEqual(missing.logLines, ["cannot copy blk_9_1 (10 B): this DataNode holds no replica"])
        XCTAssertEqual(missing.reports, [.blockDeleted(id, BlockID(9))])
        XCTAssertEqual(missing.transfers, [])
    }

    func testAReregisteredNodeReportsInFullAndSendsTheCorruptionItFoundMeanwhile() {
        var (node, _) = registeredNode([block(1), block(2)], now: 100) { $0.scanPeriodMs = 1 << 40 }
        let reregister = node.handle(command: .reregister, now: 5_000)
        XCTAssertEqual(reregister.reports, [.register(node.registration)])
        XCTAssertEqual(node.phase, .registering)
        let error = RaFiError.checksumMismatch(block: BlockID(2), chunk: 1)
        XCTAssertEqual(node.readFailed(block(2), error: error, now: 5_100).reports, [], "not registered: kept for later")
        let effects = node.handle(command: .registered(id, namespace), now: 5_200)
        XCTAssertEqual(effects.reports, [.blockReport(id, [block(1)]),
                                         .corruptReplica(reporter: id, holder: id, block: block(2), reason: error.description)])
        XCTAssertFalse(effects.contains(.persistIdentity(id, namespace)), "the identity did not change")
    }

    // MARK: The block scanner

    /// Four replicas of 256 KiB at the default budget of 1 MiB/s: one is read every 250 ms, so a byte flipped in
    /// the third (by block id) is found and reported 500 ms after registering, and the next pass starts one scan
    /// period after the first, without the corrupt replica.
    func testTheScannerFindsAFlippedByteWithinItsBudgetAndReportsIt() throws {
        let store = MemoryStorage()
        let blocks = try (1...4).map { try DataPath.storeReplica(DataPath.bytes(256 << 10, seed: $0), id: $0, in: store) }
        store.corrupt("blk_3", at: 5_000)
        let registeredAt: UInt64 = 1_000
        var (node, effects) = registeredNode(try ReplicaInventory.load(from: store).replicas, now: registeredAt) {
            $0.scanPeriodMs = 600_000
        }
        XCTAssertEqual(node.configuration.scanBytesPerSecond, 1 << 20)
        let cost = node.scanCost(ofLength: 256 << 10)
        XCTAssertEqual(cost, 250)

        let timeline = drive(&node, store: store, effects: effects, now: registeredAt, until: registeredAt + 600_000 + 1_000)
        let verifies = timeline.compactMap { entry -> (UInt64, BlockID)? in
            if case .verify(let block) = entry.effect { (entry.time, block.id) } else { nil }
        }
        XCTAssertEqual(verifies.map(\.0), [1_000, 1_250, 1_500, 1_750, 601_000, 601_250, 601_500])
        XCTAssertEqual(verifies.map(\.1.rawValue), [1, 2, 3, 4, 1, 2, 4])
        let corrupt = timeline.filter { if case .send(.corruptReplica) = $0.effect { true } else { false } }
        let expected = DataNodeReport.corruptReplica(reporter: id, holder: id, block: blocks[2],
                                                     reason: RaFiError.checksumMismatch(block: BlockID(3), chunk: 9).description)
        XCTAssertEqual(corrupt.map(\.time), [registeredAt + 2 * cost])
        XCTAssertEqual(corrupt.map(\.effect), [.send(expected)])
        XCTAssertEqual(node.handle(command: .blockReportNow, now: 602_000).blockReports, [[blocks[0], blocks[1], blocks[3]]],
                       "the corrupt replica is no longer reported as good")
        XCTAssertEqual(node.lastVerified, [BlockID(1): 601_000, BlockID(2): 601_250, BlockID(4): 601_500])
        XCTAssertEqual(effects.verifies, [blocks[0]], "the first read starts at registration")
    }

    /// Runs `node` from `effects` through its wake-ups until `end`, answering every `.verify` from `store` at
    /// once.
    private func drive(_ node: inout DataNodeCore, store: MemoryStorage, effects: [DataNodeCore.Effect],
                       now start: UInt64, until end: UInt64) -> [(time: UInt64, effect: DataNodeCore.Effect)] {
        var timeline: [(time: UInt64, effect: DataNodeCore.Effect)] = []
        var queue = effects
        var now = start
        while true {
            var wake = UInt64.max
            while !queue.isEmpty {
                let effect = queue.removeFirst()
                timeline.append((now, effect))
                switch effect {
                case .verify(let block): queue += node.verified(block, result: DataPath.verify(block, in: store), now: now)
                case .wakeAt(let time): wake = time
                default: break
                }
            }
            guard wake <= end else { return timeline }
            XCTAssertGreaterThan(wake, now, "time moves on")
            now = wake
            queue = node.tick(now: now)
        }
    }
}
