import AlzaCore
import AlzaNode
import ArgumentParser

struct GenesisCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genesis",
        abstract: "Create a local testnet: keys, genesis.json and one configuration per node.",
        discussion: "Each SuperNode is a producer candidate with its own self-staked account; satellites get funded "
            + "wallets; 512 funded load accounts serve load generators. Start it with `alza testnet up --dir DIR`.")

    @Option(help: "Number of SuperNodes (producers).") var supernodes = 4
    @Option(help: "Number of satellites.") var satellites = 1
    @Option(help: "Folder to create.") var dir: String
    @Option(name: .customLong("slot-ms"), help: "Slot length in milliseconds.") var slotMilliseconds: UInt64 = 3_000
    @Option(help: "First p2p port (APIs start 1000 higher).") var basePort: UInt16 = 17_000

    func run() throws {
        do {
            let layout = try TestnetLayout.create(directory: dir, superNodes: supernodes, satellites: satellites,
                                                  slotMilliseconds: slotMilliseconds, basePort: basePort)
            print("testnet in \(dir): chain \(layout.chainId.prefix(16)), \(supernodes) SuperNodes, \(satellites) satellites")
            for node in layout.nodes {
                print("  \(node.name)  p2p \(node.listen)  API http://\(node.api)  config \(dir)/\(node.config)")
            }
        } catch {
            throw CommandError(error)
        }
    }
}

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "Run a node (until SIGTERM or Ctrl-C).")

    @Option(help: "The node's configuration file (JSON).") var config: String

    func run() async throws {
        do {
            try await NodeRuntime.run(configurationPath: config)
        } catch let error as NodeError {
            throw CommandError(error)
        }
    }
}
