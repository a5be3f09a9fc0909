// Canonical encodings of the building blocks: integers, booleans, fixed-size bytes and hashes.

extension UInt8: CanonicalCodable {
    public func encode(to encoder: inout CanonicalEncoder) { encoder.encode(self) }
    public init(from decoder: inout CanonicalDecoder) throws(CodecError) { self = try decoder.decode(UInt8.self) }
}

extension UInt16: CanonicalCodable {
    public func encode(to encoder: inout CanonicalEncoder) { encoder.encode(self) }
    public init(from decoder: inout CanonicalDecoder) throws(CodecError) { self = try decoder.decode(UInt16.self) }
}

extension UInt32: CanonicalCodable {
    public func encode(to encoder: inout CanonicalEncoder) { encoder.encode(self) }
    public init(from decoder: inout CanonicalDecoder) throws(CodecError) { self = try decoder.decode(UInt32.self) }
}

extension UInt64: CanonicalCodable {
    public func encode(to encoder: inout CanonicalEncoder) { encoder.encode(self) }
    public init(from decoder: inout CanonicalDecoder) throws(CodecError) { self = try decoder.decode(UInt64.self) }
}

extension Int64: CanonicalCodable {
    public func encode(to encoder: inout CanonicalEncoder) { encoder.encode(self) }
    public init(from decoder: inout CanonicalDecoder) throws(CodecError) { self = try decoder.decode(Int64.self) }
}

extension Bool: CanonicalCodable {
    public func encode(to encoder: inout CanonicalEncoder) { encoder.encode(self) }
    public init(from decoder: inout CanonicalDecoder) throws(CodecError) { self = try decoder.decode(Bool.self) }
}

extension Bytes32: CanonicalCodable {
    public func encode(to encoder: inout CanonicalEncoder) {
        withUnsafeBytes { encoder.encodeRaw($0) }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        self = try decoder.withRawBytes(count: Bytes32.count) { Bytes32(loadingFrom: $0, at: 0) }
    }
}

extension Bytes64: CanonicalCodable {
    public func encode(to encoder: inout CanonicalEncoder) {
        withUnsafeBytes { encoder.encodeRaw($0) }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        self = try decoder.withRawBytes(count: Bytes64.count) { Bytes64(loadingFrom: $0, at: 0) }
    }
}

extension Hash: CanonicalCodable {
    public func encode(to encoder: inout CanonicalEncoder) { bytes32.encode(to: &encoder) }
    public init(from decoder: inout CanonicalDecoder) throws(CodecError) { bytes32 = try Bytes32(from: &decoder) }
}
