import AlzaCore
import Testing

/// A value exercising every codec building block. The leading magic makes random bytes (almost surely) invalid,
/// so the fuzz test can demand an error for every random input.
struct CodecSample: CanonicalCodable, Equatable {
    static let magic: UInt32 = 0xA12A_C0DE

    enum Kind: Equatable {
        case empty
        case amount(UInt64)
        case note(String)
    }

    var flag: Bool
    var small: UInt8
    var medium: UInt16
    var count: UInt32
    var amount: UInt64
    var delta: Int64
    var id: Hash
    var key: PublicKey?
    var name: String
    var data: [UInt8]
    var items: [UInt64]
    var kind: Kind
    var signature: Signature

    func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(Self.magic)
        encoder.encode(flag)
        encoder.encode(small)
        encoder.encode(medium)
        encoder.encode(count)
        encoder.encode(amount)
        encoder.encode(delta)
        encoder.encode(id)
        encoder.encode(key)
        encoder.encode(name)
        encoder.encodeBytes(data)
        encoder.encode(items)
        switch kind {
        case .empty: encoder.encodeVarint(0)
        case .amount(let value): encoder.encodeVarint(1); encoder.encode(value)
        case .note(let text): encoder.encodeVarint(2); encoder.encode(text)
        }
        encoder.encode(signature)
    }

    init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let start = decoder.offset
        guard try decoder.decode(UInt32.self) == Self.magic else { throw decoder.invalid("bad magic", at: start) }
        flag = try decoder.decode()
        small = try decoder.decode()
        medium = try decoder.decode()
        count = try decoder.decode()
        amount = try decoder.decode()
        delta = try decoder.decode()
        id = try decoder.decode()
        key = try decoder.decodeOptional()
        name = try decoder.decodeString(limit: 64)
        data = try decoder.decodeBytes(limit: 256)
        items = try decoder.decodeArray(limit: 16)
        let (tag, offset) = try decoder.decodeTag()
        switch tag {
        case 0: kind = .empty
        case 1: kind = .amount(try decoder.decode())
        case 2: kind = .note(try decoder.decodeString(limit: 32))
        default: throw .unknownTag(offset: offset, tag: tag, type: "CodecSample.Kind")
        }
        signature = try decoder.decode()
    }

    init(random: inout SeededRandom) {
        flag = random.next() % 2 == 0
        small = UInt8(truncatingIfNeeded: random.next())
        medium = UInt16(truncatingIfNeeded: random.next())
        count = UInt32(truncatingIfNeeded: random.next())
        amount = random.next() >> (random.next() % 64)
        delta = Int64(bitPattern: random.next())
        id = Hash(bytes32: Bytes32(random.bytes(count: 32))!)
        key = random.next() % 3 == 0 ? nil : PublicKey(random.bytes(count: 32))
        name = String((0..<Int(random.next() % 20)).map { _ in Character(UnicodeScalar(UInt8(97 + random.next() % 26))) })
            + (random.next() % 4 == 0 ? "é✓" : "")
        data = random.bytes(count: Int(random.next() % 300) % 257)
        items = (0..<Int(random.next() % 17)).map { _ in random.next() }
        switch random.next() % 3 {
        case 0: kind = .empty
        case 1: kind = .amount(random.next())
        default: kind = .note("n\(random.next() % 1000)")
        }
        signature = Signature(random.bytes(count: 64))!
    }

    init() {
        var random = SeededRandom(seed: 99)
        self.init(random: &random)
        kind = .note("fixed")
        key = PublicKey(random.bytes(count: 32))
        items = [1, 2, 3]
        data = [9, 9]
    }
}

@Suite struct CanonicalCodecTests {
    @Test func roundTripsOfRandomValues() throws {
        var random = SeededRandom(seed: 3)
        for _ in 0..<2_000 {
            let value = CodecSample(random: &random)
            let bytes = value.canonicalBytes
            let decoded = try CodecSample(canonicalBytes: bytes)
            #expect(decoded == value)
            #expect(decoded.canonicalBytes == bytes)
        }
    }

    @Test func varintEdgesRoundTripInShortestForm() throws {
        let values: [UInt64] = [0, 1, 0x7f, 0x80, 0x3fff, 0x4000, UInt64(UInt32.max), UInt64.max - 1, UInt64.max]
        for value in values {
            var encoder = CanonicalEncoder()
            encoder.encodeVarint(value)
            var decoder = CanonicalDecoder(encoder.bytes)
            #expect(try decoder.decodeVarint() == value)
            #expect(decoder.isAtEnd)
            let expectedLength = max(1, (64 - value.leadingZeroBitCount + 6) / 7)
            #expect(encoder.bytes.count == expectedLength)
        }
    }

    @Test func primitiveRoundTrips() throws {
        #expect(try UInt64(canonicalBytes: UInt64.max.canonicalBytes) == .max)
        #expect(try Int64(canonicalBytes: Int64.min.canonicalBytes) == .min)
        #expect(try Bool(canonicalBytes: true.canonicalBytes) == true)
        #expect(try UInt16(canonicalBytes: [0x34, 0x12]) == 0x1234)
        let key = SigningKey(deterministicLabel: "codec").publicKey
        #expect(try PublicKey(canonicalBytes: key.canonicalBytes) == key)
        let hash = Hash.sha256(utf8: "x")
        #expect(try Hash(canonicalBytes: hash.canonicalBytes) == hash)
    }

    @Test func everyTruncationIsAnError() {
        let bytes = CodecSample().canonicalBytes
        for length in 0..<bytes.count {
            #expect(throws: CodecError.self, "prefix \(length)") {
                try CodecSample(canonicalBytes: Array(bytes.prefix(length)))
            }
        }
    }

    @Test func trailingBytesAreAnError() {
        let bytes = CodecSample().canonicalBytes
        #expect(throws: CodecError.trailingBytes(offset: bytes.count, count: 1)) {
            try CodecSample(canonicalBytes: bytes + [0])
        }
    }

    @Test func lengthsOverTheLimitAreRefusedBeforeReading() {
        var encoder = CanonicalEncoder()
        encoder.encodeVarint(1_000_000)   // a 1 M-element array in a 3-byte input
        var decoder = CanonicalDecoder(encoder.bytes)
        #expect(throws: CodecError.lengthOverLimit(offset: 0, length: 1_000_000, limit: 16)) {
            _ = try decoder.decodeArray(of: UInt64.self, limit: 16)
        }
        var big = CanonicalEncoder()
        big.encodeVarint(UInt64.max)
        var decoder2 = CanonicalDecoder(big.bytes)
        #expect(throws: CodecError.self) { _ = try decoder2.decodeBytes(limit: Int.max) }
    }

    @Test func lengthLargerThanTheInputIsRefusedWithoutAllocating() {
        var encoder = CanonicalEncoder()
        encoder.encodeVarint(200)
        encoder.encodeRaw([1, 2, 3])
        var decoder = CanonicalDecoder(encoder.bytes)
        #expect(throws: CodecError.truncated(offset: 2, needed: 200, remaining: 3)) {
            _ = try decoder.decodeBytes(limit: 1000)
        }
    }

    @Test func badTagsAndBooleansAreRefused() throws {
        var bytes = CodecSample().canonicalBytes
        // The flag is the byte after the 4-byte magic.
        bytes[4] = 2
        #expect(throws: CodecError.invalidBool(offset: 4, byte: 2)) { try CodecSample(canonicalBytes: bytes) }

        var sample = CodecSample()
        sample.kind = .empty
        var tagged = sample.canonicalBytes
        tagged[tagged.count - 65] = 7   // the Kind tag precedes the 64-byte signature
        #expect(throws: CodecError.unknownTag(offset: tagged.count - 65, tag: 7, type: "CodecSample.Kind")) {
            try CodecSample(canonicalBytes: tagged)
        }

        var optional = CanonicalDecoder([2])
        #expect(throws: CodecError.self) { _ = try optional.decodeOptional(PublicKey.self) }
    }

    @Test func nonCanonicalAndOverflowingVarintsAreRefused() {
        var padded = CanonicalDecoder([0x81, 0x00])
        #expect(throws: CodecError.nonCanonicalVarint(offset: 0)) { _ = try padded.decodeVarint() }
        var zero = CanonicalDecoder([0x80, 0x00])
        #expect(throws: CodecError.nonCanonicalVarint(offset: 0)) { _ = try zero.decodeVarint() }
        var tooBig = CanonicalDecoder([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])
        #expect(throws: CodecError.varintOverflow(offset: 0)) { _ = try tooBig.decodeVarint() }
        var tooLong = CanonicalDecoder([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
        #expect(throws: CodecError.self) { _ = try tooLong.decodeVarint() }
    }

    @Test func invalidUTF8IsRefused() {
        var decoder = CanonicalDecoder([2, 0xc3, 0x28])
        #expect(throws: CodecError.invalidUTF8(offset: 0)) { _ = try decoder.decodeString(limit: 10) }
    }

    @Test func hundredThousandRandomByteStringsAllFailWithoutTrapping() {
        var random = SeededRandom(seed: 20261120)
        var errors = 0
        for _ in 0..<100_000 {
            let length = Int(random.next() % 300)
            var input = random.bytes(count: length)
            // Half the inputs start like a real value, so the decoder gets past the magic and fails later.
            if random.next() % 2 == 0 && input.count >= 4 {
                withUnsafeBytes(of: CodecSample.magic.littleEndian) { magic in
                    for index in 0..<4 { input[index] = magic[index] }
                }
            }
            do {
                _ = try CodecSample(canonicalBytes: input)
            } catch {
                errors += 1
            }
        }
        #expect(errors == 100_000)
    }

    @Test func randomInputsToOtherDecodersEitherFailOrAreCanonical() {
        var random = SeededRandom(seed: 7)
        for _ in 0..<20_000 {
            let input = random.bytes(count: Int(random.next() % 200))
            if let value = try? Multisignature(canonicalBytes: input) { #expect(value.canonicalBytes == input) }
            var decoder = CanonicalDecoder(input)
            if let hashes = try? decoder.decodeArray(of: Hash.self, limit: 8), decoder.isAtEnd {
                var encoder = CanonicalEncoder()
                encoder.encode(hashes)
                #expect(encoder.bytes == input)
            }
        }
    }
}
