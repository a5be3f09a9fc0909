import AlzaCore
import ArgumentParser

@main
struct AlzaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alza",
        abstract: "Alza: a DPoS payment chain with off-chain payment fields and a replicated ledger store.",
        version: AlzaVersion.string,
        subcommands: [VersionCommand.self, KeygenCommand.self, SimCommand.self]
    )
}
