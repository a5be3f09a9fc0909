/// SplitMix64: a small, fast, seeded generator for choices that must be reproducible from a seed (gossip mesh
/// choice, reconnect jitter, load generators) and for seeding larger generators (the simulator's xoshiro256**).
/// Not for keys or nonces: those come from `SecureRandom`.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// Seeded from a label (first 8 bytes of its SHA-256): the same label gives the same sequence in every
    /// process, unlike `String.hashValue`, which Swift randomizes per process.
    public init(label: String) {
        state = Hash.sha256(utf8: label).bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound` (modulo bias is negligible for the small bounds this is used with).
    public mutating func next(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        return Int(next() % UInt64(bound))
    }

    /// `count` pseudo-random bytes, eight from each draw.
    public mutating func bytes(count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 7)
        while bytes.count < count { withUnsafeBytes(of: next()) { bytes += $0 } }
        return Array(bytes.prefix(count))
    }
}
