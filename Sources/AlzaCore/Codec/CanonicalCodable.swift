/// A value with exactly one byte encoding (DESIGN.md §3): little-endian fixed-width integers, LEB128 lengths,
/// no optional encodings. Ids and signatures are computed over these bytes, so two nodes that agree on a value
/// agree on its hash.
public protocol CanonicalEncodable {
    func encode(to encoder: inout CanonicalEncoder)
}

/// A value decodable from canonical bytes. Implementations read their fields in encoding order, bound every
/// collection with a limit, and throw (never trap) on bad input.
public protocol CanonicalDecodable {
    init(from decoder: inout CanonicalDecoder) throws(CodecError)
}

public typealias CanonicalCodable = CanonicalEncodable & CanonicalDecodable

extension CanonicalEncodable {
    /// The canonical bytes of this value.
    public var canonicalBytes: [UInt8] {
        var encoder = CanonicalEncoder()
        encode(to: &encoder)
        return encoder.bytes
    }

    /// SHA-256 of the canonical bytes: the id of blocks, transactions and other content-addressed values.
    public var canonicalHash: Hash { Hash.sha256(canonicalBytes) }
}

extension CanonicalDecodable {
    /// Decodes a whole buffer; bytes left over after the value are an error (`trailingBytes`).
    public init(canonicalBytes bytes: [UInt8]) throws(CodecError) {
        var decoder = CanonicalDecoder(bytes)
        self = try Self(from: &decoder)
        try decoder.finish()
    }

    public init(canonicalBytes bytes: ArraySlice<UInt8>) throws(CodecError) {
        try self.init(canonicalBytes: Array(bytes))
    }
}
