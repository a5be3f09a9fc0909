import AlzaCore
import Foundation
import Testing

@Suite struct KeyFileTests {
    func temporaryPath(_ name: String) -> String {
        let directory = NSTemporaryDirectory() + "alza-keyfile-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory + "/" + name
    }

    func mode(of path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? Int ?? -1) & 0o777
    }

    @Test func writtenKeyFileHasMode0600AndLoadsBack() throws {
        let path = temporaryPath("k.json")
        let key = SigningKey.generate()
        try KeyFile.write(key, to: path)
        #expect(try mode(of: path) == 0o600)
        let loaded = try KeyFile.read(from: path)
        #expect(loaded.publicKey == key.publicKey)
        #expect(loaded.seed == key.seed)
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o660])
    func keyFileReadableByOthersIsRefused(permissions: Int) throws {
        let path = temporaryPath("k.json")
        try KeyFile.write(SigningKey.generate(), to: path)
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: path)
        #expect(throws: KeyFileError.insecurePermissions(path: path, mode: UInt32(permissions))) {
            try KeyFile.read(from: path)
        }
    }

    @Test func existingFileIsNotOverwritten() throws {
        let path = temporaryPath("k.json")
        let first = SigningKey.generate()
        try KeyFile.write(first, to: path)
        #expect(throws: KeyFileError.alreadyExists(path: path)) { try KeyFile.write(SigningKey.generate(), to: path) }
        #expect(try KeyFile.read(from: path).publicKey == first.publicKey)
    }

    @Test func missingFileIsReported() {
        let path = temporaryPath("absent.json")
        #expect(throws: KeyFileError.notFound(path: path)) { try KeyFile.read(from: path) }
    }

    @Test func malformedContentsAreRefused() throws {
        let cases: [String] = [
            "not json",
            #"{"algorithm":"ed25519","publicKey":"00","secretSeed":"zz"}"#,
            #"{"algorithm":"rsa","publicKey":"00","secretSeed":"00"}"#,
            #"{"algorithm":"ed25519","publicKey":"00","secretSeed":"0011"}"#,
            #"{"algorithm":"ed25519"}"#,
        ]
        for text in cases {
            #expect(throws: KeyFileError.self) { try KeyFile.decode(Array(text.utf8)) }
        }
    }

    @Test func publicKeyThatDoesNotMatchTheSeedIsRefused() {
        let key = SigningKey(deterministicLabel: "a")
        let other = SigningKey(deterministicLabel: "b")
        let text = #"{"algorithm":"ed25519","publicKey":"\#(other.publicKey.hex)","secretSeed":"\#(key.seed.hex)"}"#
        #expect(throws: KeyFileError.publicKeyMismatch(path: "<memory>")) { try KeyFile.decode(Array(text.utf8)) }
    }
}
