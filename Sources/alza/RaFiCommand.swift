import AlzaSim
import ArgumentParser
import Foundation

/// `alza rafi …`: RaFi, the replicated store of the ledger on satellites (DESIGN.md §7, docs/rafi.md).
struct RaFiCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rafi",
        abstract: "RaFi, the HDFS-like store of the ledger on satellites.",
        subcommands: [RaFiSimCommand.self])
}

/// `alza rafi sim`: one RaFi cluster on virtual time, or a campaign of seeds with drawn faults.
struct RaFiSimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Simulate a RaFi cluster (NameNode, BackupNode, DataNodes, a writing client) with faults.",
        discussion: """
            One seed runs the campaign's configuration for that seed (its drawn faults) and prints its report; \
            --campaign N runs seeds S…S+N-1 and exits 1 if any broke a promise (a file not read back intact, a block \
            without a good replica, a block not back at its replication after the last fault). \
            Example: alza rafi sim --campaign 100 --seed 1
            """)

    @Option(help: "The (first) seed.") var seed: UInt64 = 1
    @Option(help: "Run a campaign of N seeds.") var campaign: Int?
    @Flag(help: "Print one JSON object per seed.") var json = false

    func run() throws {
        if let campaign, campaign < 1 { throw ValidationError("--campaign must be at least 1") }
        let started = Date()
        let failures = RaFiCampaign(firstSeed: seed, seeds: campaign ?? 1).run { configuration, report in
            let faults = configuration.faults.map { "\($0.kind)@\($0.atMs)ms" }.joined(separator: ", ")
            if json {
                let object: [String: Any] = [
                    "seed": report.seed, "dataNodes": configuration.dataNodes, "faults": faults,
                    "filesWritten": report.filesWritten, "filesVerified": report.filesVerified,
                    "blocks": report.blocksWritten, "replicationsSent": report.replicationsSent,
                    "pipelineRecoveries": report.pipelineRecoveries, "corruptReplicasReported": report.corruptReplicasReported,
                    "recoveredAfterMs": report.recoveredAfterMs.map { Int($0) } ?? -1, "violations": report.violations,
                ]
                let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
                print(String(decoding: data, as: UTF8.self))
            } else {
                let verdict = report.violations.isEmpty ? "ok" : "FAILED: " + report.violations.joined(separator: "; ")
                print("seed \(report.seed): \(configuration.dataNodes) DataNodes, faults: \(faults.isEmpty ? "none" : faults); "
                      + "\(report.filesVerified)/\(report.filesWritten) files intact, \(report.replicationsSent) copies, "
                      + "whole again \(report.recoveredAfterMs.map { "\($0) ms" } ?? "never") after the last fault; \(verdict)")
            }
        }
        if campaign != nil {
            print("\(campaign!) seeds, \(failures.count) failures, " + String(format: "%.1f s", Date().timeIntervalSince(started)))
        }
        if !failures.isEmpty { throw ExitCode(1) }
    }
}
