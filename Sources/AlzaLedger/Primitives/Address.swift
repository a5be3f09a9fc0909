import AlzaCore

/// An account address: the 32-byte Ed25519 public key the account was created for. Its text form is
/// `alza1` followed by the key in lowercase hex (DESIGN.md §3). Accounts may also register a readable name
/// (`AccountName`), which the API resolves to the address.
///
/// `Address.coinbase` (all zero bytes, written `0x0`) is the mint: rewards are paid from it, nobody holds its key.
public struct Address: Hashable, Comparable, Sendable, CustomStringConvertible, CanonicalCodable {
    public var bytes32: Bytes32

    public static let prefix = "alza1"
    public static let coinbase = Address(bytes32: .zero)

    public init(bytes32: Bytes32) {
        self.bytes32 = bytes32
    }

    public init(_ key: PublicKey) {
        bytes32 = key.bytes32
    }

    /// The public key this address was derived from (the key of its default permissions).
    public var publicKey: PublicKey { PublicKey(bytes32: bytes32) }

    public var isCoinbase: Bool { bytes32 == .zero }

    public var description: String { isCoinbase ? "0x0" : Address.prefix + bytes32.hex }

    /// `alza1…` prefix plus the first 8 hex digits, for log lines.
    public var short: String { isCoinbase ? "0x0" : Address.prefix + String(bytes32.hex.prefix(8)) }

    /// Parses `alza1<64 hex digits>` or `0x0`.
    public init(parsing text: String) throws(LedgerError) {
        if text == "0x0" {
            self = .coinbase
            return
        }
        guard text.hasPrefix(Address.prefix) else { throw .invalidAddress(text) }
        do {
            bytes32 = try Bytes32(hex: String(text.dropFirst(Address.prefix.count)))
        } catch {
            throw .invalidAddress(text)
        }
    }

    public static func < (lhs: Address, rhs: Address) -> Bool { lhs.bytes32 < rhs.bytes32 }

    public func encode(to encoder: inout CanonicalEncoder) { bytes32.encode(to: &encoder) }
    public init(from decoder: inout CanonicalDecoder) throws(CodecError) { bytes32 = try Bytes32(from: &decoder) }
}

/// A registered account name: 1 to 32 characters of `a-z`, `0-9`, `.` and `-`, starting with a letter, and
/// never starting with `alza1` (so a name can never be mistaken for an address).
public struct AccountName: Hashable, Comparable, Sendable, CustomStringConvertible, CanonicalCodable {
    public let value: String

    public static let maximumLength = 32

    public init(_ value: String) throws(LedgerError) {
        let utf8 = Array(value.utf8)
        let allowed = { (c: UInt8) in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "-")
        }
        guard !utf8.isEmpty, utf8.count <= Self.maximumLength, utf8.allSatisfy(allowed),
              utf8[0] >= UInt8(ascii: "a"), utf8[0] <= UInt8(ascii: "z"), !value.hasPrefix(Address.prefix)
        else { throw .invalidName(value) }
        self.value = value
    }

    public var description: String { value }
    public static func < (lhs: AccountName, rhs: AccountName) -> Bool { lhs.value < rhs.value }

    public func encode(to encoder: inout CanonicalEncoder) { encoder.encode(value) }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let start = decoder.offset
        let text = try decoder.decodeString(limit: Self.maximumLength)
        do {
            try self.init(text)
        } catch {
            throw decoder.invalid(error.description, at: start)
        }
    }
}
