/// XXH32 (xxHash, 32-bit), the checksum the LZ4 frame format uses for its header byte and its content checksum.
/// Written here because liblz4 does not export its copy; `LZ4Frame` uses it to checksum content on one core
/// while other cores compress blocks. Vectors: XXH32("", 0) = 0x02CC5D05, XXH32("abc", 0) = 0x32D153FF.
public enum XXHash32 {
    private static let prime1: UInt32 = 0x9E37_79B1
    private static let prime2: UInt32 = 0x85EB_CA77
    private static let prime3: UInt32 = 0xC2B2_AE3D
    private static let prime4: UInt32 = 0x27D4_EB2F
    private static let prime5: UInt32 = 0x1656_67B1

    @inline(__always)
    private static func rotl(_ value: UInt32, _ count: UInt32) -> UInt32 {
        (value << count) | (value >> (32 - count))
    }

    @inline(__always)
    private static func round(_ accumulator: UInt32, _ lane: UInt32) -> UInt32 {
        rotl(accumulator &+ lane &* prime2, 13) &* prime1
    }

    public static func hash(_ buffer: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        let count = buffer.count
        var offset = 0
        var accumulator: UInt32
        @inline(__always) func lane(_ at: Int) -> UInt32 {
            UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: at, as: UInt32.self))
        }
        if count >= 16 {
            var v1 = seed &+ prime1 &+ prime2
            var v2 = seed &+ prime2
            var v3 = seed
            var v4 = seed &- prime1
            let limit = count - 16
            while offset <= limit {
                v1 = round(v1, lane(offset))
                v2 = round(v2, lane(offset + 4))
                v3 = round(v3, lane(offset + 8))
                v4 = round(v4, lane(offset + 12))
                offset += 16
            }
            accumulator = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
        } else {
            accumulator = seed &+ prime5
        }
        accumulator &+= UInt32(truncatingIfNeeded: count)
        while offset + 4 <= count {
            accumulator = rotl(accumulator &+ lane(offset) &* prime3, 17) &* prime4
            offset += 4
        }
        while offset < count {
            accumulator = rotl(accumulator &+ UInt32(buffer[offset]) &* prime5, 11) &* prime1
            offset += 1
        }
        accumulator ^= accumulator >> 15
        accumulator &*= prime2
        accumulator ^= accumulator >> 13
        accumulator &*= prime3
        accumulator ^= accumulator >> 16
        return accumulator
    }

    public static func hash(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }
}
