/// Why canonical bytes could not be decoded. Offsets are byte positions in the input being decoded.
public enum CodecError: AlzaError, Equatable {
    /// The input ended `needed` bytes short at `offset`.
    case truncated(offset: Int, needed: Int, remaining: Int)
    /// A value was complete but `count` bytes followed it.
    case trailingBytes(offset: Int, count: Int)
    /// A collection, string or byte string declared `length` elements where at most `limit` are allowed.
    case lengthOverLimit(offset: Int, length: UInt64, limit: Int)
    /// A LEB128 number used more bytes than needed (only the shortest encoding is canonical).
    case nonCanonicalVarint(offset: Int)
    /// A LEB128 number does not fit in 64 bits.
    case varintOverflow(offset: Int)
    /// An enum tag that names no case of `type`.
    case unknownTag(offset: Int, tag: UInt64, type: String)
    /// A boolean byte other than 0 or 1.
    case invalidBool(offset: Int, byte: UInt8)
    /// A string whose bytes are not valid UTF-8.
    case invalidUTF8(offset: Int)
    /// Well-formed bytes for a value that breaks a rule of its type (for example unsorted set members).
    case invalidValue(offset: Int, reason: String)

    public var code: String {
        switch self {
        case .truncated: "codec.truncated"
        case .trailingBytes: "codec.trailing-bytes"
        case .lengthOverLimit: "codec.length-over-limit"
        case .nonCanonicalVarint: "codec.non-canonical-varint"
        case .varintOverflow: "codec.varint-overflow"
        case .unknownTag: "codec.unknown-tag"
        case .invalidBool: "codec.invalid-bool"
        case .invalidUTF8: "codec.invalid-utf8"
        case .invalidValue: "codec.invalid-value"
        }
    }

    public var description: String {
        switch self {
        case .truncated(let offset, let needed, let remaining):
            "input ends early at byte \(offset): \(needed) more bytes needed, \(remaining) left"
        case .trailingBytes(let offset, let count):
            "\(count) unexpected bytes follow a complete value at byte \(offset)"
        case .lengthOverLimit(let offset, let length, let limit):
            "length \(length) at byte \(offset) exceeds the limit of \(limit)"
        case .nonCanonicalVarint(let offset):
            "length or number at byte \(offset) is not in its shortest (canonical) encoding"
        case .varintOverflow(let offset):
            "number at byte \(offset) does not fit in 64 bits"
        case .unknownTag(let offset, let tag, let type):
            "tag \(tag) at byte \(offset) is not a known \(type)"
        case .invalidBool(let offset, let byte):
            "boolean at byte \(offset) is \(byte); only 0 and 1 are allowed"
        case .invalidUTF8(let offset):
            "string at byte \(offset) is not valid UTF-8"
        case .invalidValue(let offset, let reason):
            "invalid value at byte \(offset): \(reason)"
        }
    }
}
