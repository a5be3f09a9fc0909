import AlzaCore

/// A checked absolute path of the RaFi namespace: `/` then non-empty components without `.`, `..` or NUL, each
/// at most 255 bytes, the whole at most 4,096 (HDFS's rules).
public struct NamespacePath: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let components: [String]

    public static let root = NamespacePath(components: [])

    private init(components: [String]) { self.components = components }

    public init(_ text: String) throws(RaFiError) {
        guard text.utf8.count <= RaFiLimits.maximumPathBytes else {
            throw .invalidPath(String(text.prefix(64)) + "…", reason: "longer than \(RaFiLimits.maximumPathBytes) bytes")
        }
        guard text.hasPrefix("/") else { throw .invalidPath(text, reason: "not absolute") }
        var parts: [String] = []
        for part in text.split(separator: "/", omittingEmptySubsequences: true) {
            let name = String(part)
            guard name != ".", name != ".." else { throw .invalidPath(text, reason: "contains \(name)") }
            guard !name.utf8.contains(0) else { throw .invalidPath(text, reason: "contains NUL") }
            guard name.utf8.count <= RaFiLimits.maximumNameBytes else {
                throw .invalidPath(text, reason: "a component is longer than \(RaFiLimits.maximumNameBytes) bytes")
            }
            parts.append(name)
        }
        components = parts
    }

    public var isRoot: Bool { components.isEmpty }
    public var name: String { components.last ?? "/" }
    public var parent: NamespacePath { NamespacePath(components: Array(components.dropLast())) }
    public func appending(_ name: String) -> NamespacePath { NamespacePath(components: components + [name]) }
    public var description: String { "/" + components.joined(separator: "/") }

    /// Whether `self` is `other` or lies below it.
    public func isWithin(_ other: NamespacePath) -> Bool {
        components.count >= other.components.count && Array(components.prefix(other.components.count)) == other.components
    }

    public static func < (lhs: NamespacePath, rhs: NamespacePath) -> Bool {
        lhs.components.lexicographicallyPrecedes(rhs.components)
    }
}

extension NamespacePath: CanonicalCodable {
    public func encode(to encoder: inout CanonicalEncoder) { encoder.encode(description) }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let start = decoder.offset
        let text = try decoder.decodeString(limit: RaFiLimits.maximumPathBytes)
        do {
            self = try NamespacePath(text)
        } catch {
            throw decoder.invalid(error.description, at: start)
        }
    }
}

/// Who owns an inode and who may change it: an owner and POSIX-style mode bits (only the write bits are
/// enforced; RaFi's readers are every node of the chain).
public struct Permission: Hashable, Sendable, CanonicalCodable, CustomStringConvertible {
    public var owner: String
    public var mode: UInt16

    public init(owner: String, mode: UInt16) {
        self.owner = owner
        self.mode = mode & 0o777
    }

    /// Whether `user` may add to, remove from, or change what this inode holds. The NameNode's own user is the
    /// superuser, as in HDFS.
    public func allowsWrite(by user: String, superuser: String) -> Bool {
        user == superuser || (user == owner ? mode & 0o200 != 0 : mode & 0o002 != 0)
    }

    public var description: String {
        let bits = ["r", "w", "x"]
        let text = (0..<9).map { index in
            mode & (0o400 >> UInt16(index)) != 0 ? bits[index % 3] : "-"
        }.joined()
        return "\(owner) \(text)"
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(owner)
        encoder.encode(mode)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        owner = try decoder.decodeString(limit: RaFiLimits.maximumNameBytes)
        mode = try decoder.decode(UInt16.self) & 0o777
    }
}
