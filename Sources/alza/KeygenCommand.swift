import AlzaCore
import ArgumentParser

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Generate an Ed25519 key pair.",
        discussion: "With --out, writes a key file readable only by you (mode 0600) and prints the public key. "
            + "Without it, prints the key file JSON on standard output.")

    @Option(name: .long, help: "Write the key file here (refuses to overwrite an existing file).")
    var out: String?

    func run() throws {
        let key = SigningKey.generate()
        guard let out else {
            print(String(decoding: KeyFile.encode(key), as: UTF8.self), terminator: "")
            return
        }
        do {
            try KeyFile.write(key, to: out)
        } catch {
            throw CommandError(error)
        }
        print("wrote \(out) (mode 0600)")
        print("public key: \(key.publicKey.hex)")
    }
}
