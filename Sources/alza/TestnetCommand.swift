import AlzaCore
import AlzaNode
import ArgumentParser
import Foundation

struct TestnetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "testnet", abstract: "Start, inspect, stop and load-test local testnets.",
        subcommands: [Up.self, Status.self, Down.self, Run.self])

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start every node of a testnet made by `alza genesis`, in the background.")

        @Option(help: "The testnet folder.") var dir: String

        func run() async throws {
            let layout: TestnetLayout
            do { layout = try TestnetLayout.load(directory: dir) } catch { throw CommandError(error) }
            let processes = TestnetProcesses(directory: dir)
            for node in layout.nodes where !processes.isRunning(node.name) {
                do { try processes.start(node, detached: true) } catch { throw CommandError(error) }
            }
            print("started \(layout.nodes.count) nodes; logs in \(dir)/<node>/node.log")
            for node in layout.nodes {
                print("  \(node.name)  pid \(processes.pid(of: node.name).map(String.init) ?? "-")  API http://\(node.api)")
            }
            print("check with: alza testnet status --dir \(dir)")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each node's head, LIB and peers.")

        @Option(help: "The testnet folder.") var dir: String

        func run() async throws {
            let layout: TestnetLayout
            do { layout = try TestnetLayout.load(directory: dir) } catch { throw CommandError(error) }
            let processes = TestnetProcesses(directory: dir)
            print("node            pid      head     lib      peers  mempool  API")
            for node in layout.nodes {
                let pid = processes.pid(of: node.name).map(String.init) ?? "-"
                if let info = try? await NodeClient(api: node.api, timeout: 2).get("/v1/chain/info", as: NodeAPI.ChainInfo.self) {
                    print(String(format: "%-15@ %-8@ %-8llu %-8llu %-6d %-8d http://%@", node.name as NSString, pid as NSString,
                                 info.head.height, info.lib.height, info.peers, info.mempool, node.api as NSString))
                } else {
                    print(String(format: "%-15@ %-8@ down", node.name as NSString, pid as NSString))
                }
            }
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop every node of a testnet (SIGTERM, then SIGKILL).")

        @Option(help: "The testnet folder.") var dir: String

        func run() async throws {
            let layout: TestnetLayout
            do { layout = try TestnetLayout.load(directory: dir) } catch { throw CommandError(error) }
            let processes = TestnetProcesses(directory: dir)
            let names = layout.nodes.map(\.name)
            let running = names.filter(processes.isRunning)
            let left = processes.stopAll(names: names)
            guard left.isEmpty else {
                throw CommandError("not stopped: \(left.joined(separator: ", ")) still running after SIGTERM and SIGKILL")
            }
            print("stopped \(running.count) of \(names.count) nodes; no node process of \(dir) is left")
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a testnet, start it (one process per node), load it, perturb it, report, stop it.",
            discussion: "Example: alza testnet run --supernodes 23 --satellites 4 --slot-ms 500 --duration 40s "
                + "--load transfers:200 --perturb kill:supernode-5@10s,restart:supernode-5@20s --json\n"
                + "Fields: alza testnet run --supernodes 4 --satellites 8 --slot-ms 500 --duration 40s "
                + "--load payments:2000 --fields 4 --participants 8 --json")

        @Option(help: "Number of SuperNodes.") var supernodes = 23
        @Option(help: "Number of satellites.") var satellites = 4
        @Option(name: .customLong("slot-ms"), help: "Slot length in milliseconds.") var slotMilliseconds: UInt64 = 500
        @Option(help: "Load duration, e.g. 40s or 2m; `forever` runs until Ctrl-C.") var duration = "40s"
        @Option(help: "Load: transfers:RATE and/or payments:RATE, comma-separated (per second).") var load: String?
        @Option(help: "Payment fields the payments load opens (with --load payments:RATE).") var fields = 4
        @Option(help: "Satellite wallets per field (2...satellites, at most 8).") var participants = 4
        @Option(help: "Perturbations: kill:NODE@T,restart:NODE@T,...") var perturb: String?
        @Option(help: "Keep the testnet in this folder (default: a temporary folder, removed afterwards).") var dir: String?
        @Option(help: "First p2p port (APIs start 1000 higher).") var basePort: UInt16 = 17_000
        @Option(help: "Longest wait after the load for transactions to become irreversible, seconds.") var settle: Double = 90
        @Flag(help: "Print only the JSON report (no live status line).") var json = false

        func run() async throws {
            var options = TestnetRun.Options()
            options.superNodes = supernodes
            options.satellites = satellites
            options.slotMilliseconds = slotMilliseconds
            options.directory = dir
            options.basePort = basePort
            options.live = !json
            options.settleSeconds = settle
            if duration == "forever" {
                options.duration = .infinity
            } else {
                guard let seconds = TestnetRun.Perturbation.seconds(duration), seconds > 0 else {
                    throw ValidationError("--duration must look like 40s, 2m or forever")
                }
                options.duration = seconds
            }
            for item in (load ?? "").split(separator: ",") {
                let parts = item.split(separator: ":")
                guard parts.count == 2, let rate = Int(parts[1]), rate >= 0 else {
                    throw ValidationError("--load must look like transfers:200 or payments:2000 (or both, comma-separated)")
                }
                switch parts[0] {
                case "transfers": options.rate = rate
                case "payments": options.paymentRate = rate
                default: throw ValidationError("--load: \"\(parts[0])\" is not transfers or payments")
                }
            }
            if options.paymentRate > 0 {
                guard fields >= 1 else { throw ValidationError("--fields must be at least 1") }
                guard participants >= 2 && participants <= min(satellites, 60) else {
                    throw ValidationError("--participants must be 2...\(min(satellites, 60)) (one wallet per satellite; a field's messages touch at most 64 accounts and fields)")
                }
            }
            options.fields = fields
            options.participants = participants
            if let perturb {
                do { options.perturbations = try TestnetRun.Perturbation.parse(perturb) } catch { throw CommandError(error) }
            }
            let report: TestnetRun.Report
            do {
                report = try await TestnetRun(options: options).run()
            } catch let error as NodeError {
                throw CommandError(error)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = json ? [.sortedKeys] : [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        }
    }
}
