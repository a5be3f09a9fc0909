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
        // The hardware path (when this CPU has SSE4.2) and the software one agree on every length and split.
        var random = SeededRandom(seed: 32)
        for length in [0, 1, 7, 8, 9, 63, 512, 513, 4_099] {
            let bytes = random.bytes(count: length)
            let software = bytes.withUnsafeBytes { CRC32C.softwareChecksum($0) }
            #expect(CRC32C.checksum(bytes) == software)
            let split = length / 3
            #expect(CRC32C.checksum(Array(bytes[split...]), continuing: CRC32C.checksum(Array(bytes[..<split]))) == software)
        }
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

@Suite struct SHA256ImplementationTests {
    @Test func hardwareAndPortableAgreeOnEveryLengthUpTo1100() throws {
        try #require(SHA256Implementation.hardwareAvailable, "this CPU has no SHA extensions; only the portable path runs")
        var random = SeededRandom(seed: 256)
        for length in 0...1_100 {
            let bytes = random.bytes(count: length)
            let hardware = bytes.withUnsafeBytes { Hash.sha256($0, using: .hardware) }
            let portable = bytes.withUnsafeBytes { Hash.sha256($0, using: .portable) }
            #expect(hardware == portable, "length \(length)")
        }
    }

    @Test(arguments: SHA256Implementation.allCases)
    func incrementalHashingInPiecesOfEverySizeMatchesOneShot(_ implementation: SHA256Implementation) throws {
        if implementation == .hardware { try #require(SHA256Implementation.hardwareAvailable) }
        var random = SeededRandom(seed: 512)
        let bytes = random.bytes(count: 3_000)
        let expected = bytes.withUnsafeBytes { Hash.sha256($0, using: .portable) }
        for piece in [1, 3, 55, 56, 63, 64, 65, 127, 1_000] {
            var hasher = SHA256Hasher(using: implementation)
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + piece)
                hasher.update(Array(bytes[offset..<end]))
                offset = end
            }
            #expect(hasher.finalize() == expected, "pieces of \(piece)")
        }
    }

    @Test(arguments: SHA256Implementation.allCases)
    func fips180Vectors(_ implementation: SHA256Implementation) throws {
        if implementation == .hardware { try #require(SHA256Implementation.hardwareAvailable) }
        let vectors: [(String, String)] = [
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ]
        for (text, digest) in vectors {
            let bytes = Array(text.utf8)
            #expect(bytes.withUnsafeBytes { Hash.sha256($0, using: implementation) }.hex == digest)
        }
        // One million 'a' (FIPS 180-2 appendix B.3), fed in uneven pieces.
        var hasher = SHA256Hasher(using: implementation)
        let chunk = [UInt8](repeating: 0x61, count: 1_000)
        for _ in 0..<1_000 { hasher.update(chunk) }
        #expect(hasher.finalize().hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
