import AlzaCore
import AlzaRaFi
import AlzaSim
import Testing

/// RaFi in the simulator (DESIGN.md §7), MiniDFSCluster-style: a NameNode with its BackupNode, DataNodes on three
/// racks, a client writing 12 files of two blocks through real pipelines, and one kind of fault per scenario; each
/// on 20 seeds. A run's report lists its broken promises (`violations`): every file written and read back
/// intact, no block without a good replica, and every block at its replication again after the last fault.
@Suite struct RaFiScenarioTests {
    static let seeds: [UInt64] = Array(1...20)

    func run(seed: UInt64, dataNodes: Int = 8, faults: [RaFiFault] = [], _ adjust: (inout RaFiSimulationConfiguration) -> Void = { _ in }) -> RaFiSimulationReport {
        var configuration = RaFiSimulationConfiguration()
        configuration.seed = seed
        configuration.dataNodes = dataNodes
        configuration.faults = faults
        adjust(&configuration)
        return RaFiSimulation(configuration).run()
    }

    @Test(arguments: seeds) func withoutFaultsEveryBlockHasThreeReplicasOnTwoRacks(seed: UInt64) {
        let report = run(seed: seed)
        #expect(report.violations == [])
        #expect(report.filesWritten == 12)
        #expect(report.filesVerified == 12)
        #expect(report.replicationHistogram == [3: report.blocksWritten])
        #expect(report.replicationsSent == 0)
    }

    @Test(arguments: seeds) func aLostDataNodesBlocksAreCopiedBackToThree(seed: UInt64) {
        let report = run(seed: seed, faults: [RaFiFault(atMs: 15_000, .killDataNode(Int(seed % 8)))])
        #expect(report.violations == [])
        #expect(report.replicationHistogram == [3: report.blocksWritten])
        #expect(report.replicationsSent > 0)
        // Dead after 31.5 s (10.5 min at 1/20), then copies at once.
        let recovered = report.recoveredAfterMs ?? 0
        #expect(recovered >= 31_500 && recovered <= 60_000, "recovered after \(recovered) ms")
    }

    @Test(arguments: seeds) func aRackLostLosesNoBlock(seed: UInt64) {
        let report = run(seed: seed, dataNodes: 9, faults: [RaFiFault(atMs: 15_000, .loseRack("rack\(seed % 3)"))])
        #expect(report.violations == [])
        #expect(report.missingBlocks == 0)
        #expect(report.replicationHistogram == [3: report.blocksWritten])
    }

    @Test(arguments: seeds) func corruptReplicasFoundByTheScannerAreReplaced(seed: UInt64) {
        let report = run(seed: seed, faults: [RaFiFault(atMs: 12_000, .corruptReplicas(count: 3))])
        #expect(report.violations == [])
        #expect(report.corruptReplicasReported == 3)
        #expect(report.replicationHistogram == [3: report.blocksWritten])
        #expect(report.corruptBlocks == 0)
    }

    @Test(arguments: seeds) func corruptReplicasFoundByAReaderAreReplaced(seed: UInt64) {
        let report = run(seed: seed, faults: [RaFiFault(atMs: 12_000, .corruptForReader(count: 4))]) { $0.scanPeriodMs = 3_600_000 }
        #expect(report.violations == [])
        #expect(report.corruptReplicasReported == 4, "the reader, not the scanner, found them")
        #expect(report.replicationHistogram == [3: report.blocksWritten])
    }

    @Test(arguments: seeds) func decommissioningCompletesWithNoBlockBelowItsReplication(seed: UInt64) {
        let report = run(seed: seed, faults: [RaFiFault(atMs: 12_000, .decommission(Int(seed % 8)))])
        #expect(report.violations == [])
        #expect(report.decommissioned == 1)
        #expect(report.fewestReplicasDuringDecommission.map { $0 >= 3 } != false)
    }

    @Test(arguments: seeds) func aNameNodeRestartsFromItsImageAndJournal(seed: UInt64) {
        let report = run(seed: seed, faults: [RaFiFault(atMs: 20 + seed * 19, .restartNameNode(downMs: 5_000))])
        #expect(report.violations == [])
        #expect(report.nameNodeRestarts == 1)
        #expect(report.filesVerified == 12)
    }

    @Test(arguments: seeds) func theBackupNodeTakesOver(seed: UInt64) {
        let report = run(seed: seed, faults: [RaFiFault(atMs: 20 + seed * 19, .failover)])
        #expect(report.violations == [])
        #expect(report.failovers == 1)
        #expect(report.filesVerified == 12)
        #expect(report.replicationHistogram == [3: report.blocksWritten])
    }

    @Test(arguments: seeds) func aPipelineThatLosesANodeMidWriteRecovers(seed: UInt64) {
        let report = run(seed: seed, faults: [RaFiFault(atMs: 20 + seed * 19, .killPipelineNode)])
        #expect(report.violations == [])
        #expect(report.pipelineRecoveries >= 1)
        #expect(report.filesVerified == 12)
        #expect(report.replicationHistogram == [3: report.blocksWritten])
    }

    @Test(arguments: seeds) func aRestartedDataNodeDropsItsTornReplicasAndRejoins(seed: UInt64) {
        let report = run(seed: seed, faults: [RaFiFault(atMs: 20 + seed * 19, .restartDataNode(Int(seed % 8), downMs: 4_000))])
        #expect(report.violations == [])
        #expect(report.filesVerified == 12)
        #expect(report.replicationHistogram == [3: report.blocksWritten])
    }

    @Test(arguments: seeds) func theBalancerConverges(seed: UInt64) {
        let report = run(seed: seed, faults: [RaFiFault(atMs: 15_000, .addNodesAndBalance(count: 3, threshold: 0.005))]) {
            $0.capacity = 64 << 20
        }
        #expect(report.violations == [])
        #expect(report.balanced == true)
        #expect(report.balancerMoves > 0)
        #expect(report.replicationHistogram == [3: report.blocksWritten])
    }

    /// HDFS's edge case: 3 replicas on exactly 3 DataNodes, one corrupt. No fourth node can take a copy, so the
    /// NameNode deletes the corrupt replica first, then copies a good one back onto that node (HDFS leaves such a
    /// block at 2 good + 1 corrupt until an operator acts).
    @Test(arguments: seeds) func threeReplicasOnExactlyThreeNodesWithOneCorruptEndWithThreeGoodOnes(seed: UInt64) {
        let report = run(seed: seed, dataNodes: 3, faults: [RaFiFault(atMs: 12_000, .corruptReplicas(count: 1))]) { $0.racks = 2 }
        #expect(report.violations == [])
        #expect(report.corruptReplicasReported == 1)
        #expect(report.replicationHistogram == [3: report.blocksWritten])
    }

    @Test func aSeedReplaysExactly() {
        let faults = [RaFiFault(atMs: 90, .killPipelineNode), RaFiFault(atMs: 14_000, .corruptReplicas(count: 2))]
        #expect(run(seed: 77, faults: faults) == run(seed: 77, faults: faults))
    }
}

/// RaFi's seeded campaign (`alza rafi sim --campaign N`): drawn faults, every run free of violations.
@Suite struct RaFiCampaignTests {
    @Test func fortySeedsOfDrawnFaultsKeepEveryPromise() {
        var kinds = 0
        let failures = RaFiCampaign(firstSeed: 1, seeds: 40).run { configuration, _ in kinds += configuration.faults.count }
        #expect(failures.map(\.violations) == [])
        #expect(kinds >= 40, "the campaign draws faults")
    }

    @Test func aSeedsConfigurationIsAFunctionOfTheSeed() {
        #expect(RaFiCampaign.configuration(seed: 9) == RaFiCampaign.configuration(seed: 9))
        #expect(RaFiCampaign.configuration(seed: 9) != RaFiCampaign.configuration(seed: 10))
    }
}
