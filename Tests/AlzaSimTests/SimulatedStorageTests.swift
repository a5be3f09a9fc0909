import AlzaCore
import AlzaLedger
import AlzaSim
import Testing

@Suite struct SimulatedStorageTests {
    @Test func crashKeepsSyncedBytesAndATornPrefixOfTheRest() throws {
        let storage = SimulatedStorage()
        try storage.append("log", [1, 2, 3])
        try storage.sync("log")
        try storage.append("log", Array(repeating: 9, count: 100))
        var random = DeterministicRandom(seed: 1)
        storage.crash(random: &random)
        let bytes = try #require(try storage.read("log"))
        #expect(bytes.count >= 3 && bytes.count <= 103)
        #expect(Array(bytes.prefix(3)) == [1, 2, 3])
    }

    @Test func atomicWritesAreAllOrNothing() throws {
        let storage = SimulatedStorage()
        try storage.writeAtomically("file", [1, 2])
        try storage.writeAtomically("file", [3, 4, 5])
        var random = DeterministicRandom(seed: 2)
        storage.crash(random: &random)
        #expect(try storage.read("file") == [3, 4, 5])
    }

    @Test func randomIsReproducibleFromItsSeed() {
        var a = DeterministicRandom(seed: 7)
        var b = DeterministicRandom(seed: 7)
        var c = DeterministicRandom(seed: 8)
        let first = (0..<10).map { _ in a.next() }
        #expect(first == (0..<10).map { _ in b.next() })
        #expect(first != (0..<10).map { _ in c.next() })
    }
}
