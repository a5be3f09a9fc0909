import AlzaCore
import ArgumentParser

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", abstract: "Print the Alza version and the versions of the linked C libraries.")

    func run() {
        print("alza \(AlzaVersion.string) (libsodium \(LinkedLibraries.libsodiumVersion), lz4 \(LinkedLibraries.lz4Version))")
    }
}
