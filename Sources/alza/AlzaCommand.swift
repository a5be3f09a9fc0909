import AlzaCore
import ArgumentParser

@main
struct AlzaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alza",
        abstract: "Alza: a DPoS payment chain with off-chain payment fields and a replicated ledger store.",
        version: AlzaVersion.string,
        subcommands: [VersionCommand.self, KeygenCommand.self, GenesisCommand.self, NodeCommand.self, ChainCommand.self, FieldCommand.self,
                      RaFiCommand.self, TxCommand.self, TestnetCommand.self, SimCommand.self]
    )
}
