import AlzaCore

/// Which of an account's two permissions an authorization uses. `owner` controls the account itself (keys,
/// deletion, delay rules); `active` is for daily use (transfers, staking, voting). Owner satisfies anything
/// active may do.
public enum PermissionLevel: UInt8, Hashable, Sendable, CanonicalCodable, CustomStringConvertible, Codable {
    case owner = 0
    case active = 1

    public var description: String { self == .owner ? "owner" : "active" }

    public func encode(to encoder: inout CanonicalEncoder) { encoder.encode(rawValue) }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let start = decoder.offset
        let raw = try decoder.decode(UInt8.self)
        guard let level = PermissionLevel(rawValue: raw) else {
            throw .unknownTag(offset: start, tag: UInt64(raw), type: "PermissionLevel")
        }
        self = level
    }
}

/// A weighted key threshold: the permission is satisfied when keys whose signatures are present have weights
/// summing to at least `threshold`. Keys are unique and sorted (one canonical form).
public struct Permission: Hashable, Sendable, CanonicalCodable {
    public struct KeyWeight: Hashable, Sendable {
        public let key: PublicKey
        public let weight: UInt16

        public init(key: PublicKey, weight: UInt16) {
            self.key = key
            self.weight = weight
        }
    }

    public let threshold: UInt32
    public let keys: [KeyWeight]

    public static let maximumKeys = 16

    public init(threshold: UInt32, keys: [KeyWeight]) throws(LedgerError) {
        let sorted = keys.sorted { $0.key < $1.key }
        guard !sorted.isEmpty, sorted.count <= Self.maximumKeys else {
            throw .invalidPermission("a permission has 1 to \(Self.maximumKeys) keys")
        }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.key == b.key {
            throw .invalidPermission("key \(a.key.hex.prefix(8)) appears twice")
        }
        guard sorted.allSatisfy({ $0.weight > 0 }) else { throw .invalidPermission("key weights must be positive") }
        let total = sorted.reduce(UInt32(0)) { $0 + UInt32($1.weight) }
        guard threshold > 0, threshold <= total else {
            throw .invalidPermission("threshold \(threshold) must be between 1 and the total weight \(total)")
        }
        self.threshold = threshold
        self.keys = sorted
    }

    /// One key with weight 1 and threshold 1: the default permission of a new account.
    public static func single(_ key: PublicKey) -> Permission {
        // Cannot fail: one key, positive weight, threshold equal to the weight.
        try! Permission(threshold: 1, keys: [KeyWeight(key: key, weight: 1)])
    }

    /// True when the keys in `signers` reach the threshold.
    public func isSatisfied(by signers: Set<PublicKey>) -> Bool {
        var weight: UInt32 = 0
        for entry in keys where signers.contains(entry.key) {
            weight += UInt32(entry.weight)
            if weight >= threshold { return true }
        }
        return false
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(threshold)
        encoder.encodeLength(keys.count)
        for entry in keys {
            encoder.encode(entry.key)
            encoder.encode(entry.weight)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let start = decoder.offset
        let threshold = try decoder.decode(UInt32.self)
        let count = try decoder.decodeLength(limit: Self.maximumKeys, minimumElementSize: 34)
        var keys: [KeyWeight] = []
        for _ in 0..<count {
            keys.append(KeyWeight(key: try decoder.decode(), weight: try decoder.decode()))
        }
        do {
            try self.init(threshold: threshold, keys: keys)
        } catch {
            throw decoder.invalid(error.description, at: start)
        }
        guard keys == self.keys else { throw decoder.invalid("permission keys are not sorted", at: start) }
    }
}
