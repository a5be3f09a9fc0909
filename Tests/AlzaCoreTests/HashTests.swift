import AlzaCore
import Testing

@Suite struct HashTests {
    @Test func sha256OfAbcMatchesFIPS180Vector() {
        #expect(Hash.sha256(utf8: "abc").hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func sha256OfEmptyInput() {
        #expect(Hash.sha256([]).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func incrementalHasherMatchesOneShot() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var hasher = SHA256Hasher()
        hasher.update(Array(bytes[..<17]))
        hasher.update(Array(bytes[17...]))
        #expect(hasher.finalize() == Hash.sha256(bytes))
    }

    @Test func crc32cCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0) }
        let whole = CRC32C.checksum(bytes)
        #expect(CRC32C.checksum(Array(bytes[300...]), continuing: CRC32C.checksum(Array(bytes[..<300]))) == whole)
    }

    @Test func hashOrderIsByteOrder() throws {
        let low = try Hash(hex: "00ff" + String(repeating: "00", count: 30))
        let high = try Hash(hex: "0100" + String(repeating: "00", count: 30))
        #expect(low < high)
        #expect(!(high < low))
    }
}
