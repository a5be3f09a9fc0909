import AlzaCore
import ArgumentParser
import Foundation

@main
struct AlzaBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alza-bench",
        abstract: "Alza benchmarks: each figure is reported beside a physical limit measured in the same run.",
        subcommands: [Crypto.self, Chain.self, Network.self, Field.self, RaFi.self])
}

/// Options every suite takes.
struct SuiteOptions: ParsableArguments {
    @Flag(help: "Print the report as one JSON object on standard output.")
    var json = false

    @Flag(help: "Shorter runs with smaller inputs (for smoke tests, not for published figures).")
    var quick = false

    @Option(help: "Also write <suite>.json, <suite>.md and <suite>.svg into this folder (e.g. docs/benchmarks).")
    var reportDir: String?

    @Option(help: "Folder for temporary files (disk probe, lz4 input).")
    var scratchDir: String = NSTemporaryDirectory() + "alza-bench"

    func emit(_ report: BenchReport) throws {
        if json {
            print(report.json)
        } else {
            print(report.markdown)
        }
        if let reportDir { try report.write(to: reportDir) }
    }
}

extension AlzaBench {
    struct Chain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Transfers applied per second, 10,000-transaction block production, 24 h simulator wall time.")

        @OptionGroup var options: SuiteOptions

        func run() throws {
            let limits = PhysicalLimits.measure(scratchDirectory: options.scratchDir, quick: options.quick)
            try options.emit(try ChainBenchmark.run(limits: limits, quick: options.quick,
                                                    scratchDirectory: options.scratchDir))
        }
    }

    struct Network: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "net",
            abstract: "Frames/s and MB/s between two nodes vs raw sockets, gossip over a 50-node mesh, testnet TPS sweep.",
            aliases: ["network"])

        @OptionGroup var options: SuiteOptions

        @Option(help: "Offered loads (transfers/s) of the testnet sweep, comma-separated.")
        var loads: String?

        @Option(help: "Seconds of load per sweep step.")
        var stepSeconds: Double?

        @Flag(help: "Skip the testnet sweep (it takes several minutes).")
        var noTestnet = false

        func run() async throws {
            let limits = PhysicalLimits.measure(scratchDirectory: options.scratchDir, quick: options.quick)
            let parsedLoads = try loads.map { text in
                try text.split(separator: ",").map { item in
                    guard let rate = Int(item), rate > 0 else { throw ValidationError("--loads must look like 100,200,400") }
                    return rate
                }
            }
            try options.emit(try await NetworkBenchmark.run(limits: limits, quick: options.quick, loads: parsedLoads,
                                                            stepSeconds: stepSeconds, testnet: !noTestnet))
        }
    }

    struct Field: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Payments/s through one field leader core (verified, logged with fsync, receipted in batches) vs Ed25519 verify/s; open-loop latency; the node's field path over loopback sockets; snapshot and close cost by participants and payments.")

        @OptionGroup var options: SuiteOptions

        @Flag(help: "Skip the end-to-end field testnet (4 SuperNodes + 8 satellites as processes, about a minute).")
        var noTestnet = false

        func run() async throws {
            let limits = PhysicalLimits.measure(scratchDirectory: options.scratchDir, quick: options.quick)
            var report = try FieldBenchmark.run(limits: limits, quick: options.quick, scratchDirectory: options.scratchDir)
            try await FieldLoopbackBenchmark.measure(into: &report, limits: limits, quick: options.quick, scratchDirectory: options.scratchDir)
            if !noTestnet { try await FieldTestnetBenchmark.measure(into: &report, limits: limits, quick: options.quick) }
            try options.emit(report)
        }
    }

    struct RaFi: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rafi",
            abstract: "Pipeline writes of 3 replicas vs dd with fsync, checked vs raw reads, re-replication time after a DataNode is lost.")

        @OptionGroup var options: SuiteOptions

        func run() throws {
            let limits = PhysicalLimits.measure(scratchDirectory: options.scratchDir, quick: options.quick)
            try options.emit(try RaFiBenchmark.run(limits: limits, quick: options.quick, scratchDirectory: options.scratchDir))
        }
    }

    struct Crypto: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ed25519 sign/verify, SHA-256, Merkle root of 1 M leaves, LZ4 frames vs the lz4 command.")

        @OptionGroup var options: SuiteOptions

        func run() throws {
            let limits = PhysicalLimits.measure(scratchDirectory: options.scratchDir, quick: options.quick)
            try options.emit(try CryptoBenchmark.run(limits: limits, quick: options.quick,
                                                     scratchDirectory: options.scratchDir))
        }
    }
}
