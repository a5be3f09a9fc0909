import AlzaCore
import AlzaLedger
import AlzaSim
import Testing

@Suite struct MemoryStorageTests {
    /// After a crash a file holds its synced bytes and a prefix of the unsynced ones: exactly what was written, cut
    /// at a point the seed picks (the same point for the same seed, different points across seeds).
    @Test func crashKeepsSyncedBytesAndATornPrefixOfTheRest() throws {
        let written: [UInt8] = [1, 2, 3] + (0..<100).map { UInt8($0 + 10) }
        func crashed(seed: UInt64) throws -> [UInt8] {
            let storage = MemoryStorage()
            try storage.append("log", Array(written[..<3]))
            try storage.sync("log")
            try storage.append("log", Array(written[3...]))
            var random = DeterministicRandom(seed: seed)
            storage.crash(random: &random)
            return try #require(try storage.read("log"))
        }
        var lengths = Set<Int>()
        for seed in UInt64(1)...20 {
            let bytes = try crashed(seed: seed)
            #expect(bytes.count >= 3, "seed \(seed): synced bytes survive")
            #expect(bytes == Array(written.prefix(bytes.count)), "seed \(seed): a prefix of what was written, nothing else")
            #expect(try crashed(seed: seed) == bytes, "seed \(seed): the same seed tears at the same point")
            lengths.insert(bytes.count)
        }
        #expect(lengths.count >= 5, "tears fall at different points: \(lengths.sorted())")
        #expect(lengths.contains { $0 < written.count }, "some unsynced bytes are lost")
    }

    @Test func atomicWritesAreAllOrNothing() throws {
        let storage = MemoryStorage()
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
