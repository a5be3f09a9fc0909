/// Reads canonical bytes written by `CanonicalEncoder`. Every read is bounds-checked and throws `CodecError`;
/// nothing here traps on any input.
public struct CanonicalDecoder: Sendable {
    public let bytes: [UInt8]
    /// The next byte to read.
    public private(set) var offset: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        offset = 0
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset == bytes.count }

    /// Fails if any bytes are left: a canonical value is the whole input.
    public func finish() throws(CodecError) {
        guard isAtEnd else { throw .trailingBytes(offset: offset, count: remaining) }
    }

    private func require(_ count: Int) throws(CodecError) {
        guard count <= remaining else { throw .truncated(offset: offset, needed: count, remaining: remaining) }
    }

    // MARK: Fixed-width values

    public mutating func decode(_: UInt8.Type = UInt8.self) throws(CodecError) -> UInt8 {
        try require(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func decode(_: UInt16.Type = UInt16.self) throws(CodecError) -> UInt16 {
        try readLittleEndian()
    }

    public mutating func decode(_: UInt32.Type = UInt32.self) throws(CodecError) -> UInt32 {
        try readLittleEndian()
    }

    public mutating func decode(_: UInt64.Type = UInt64.self) throws(CodecError) -> UInt64 {
        try readLittleEndian()
    }

    public mutating func decode(_: Int64.Type = Int64.self) throws(CodecError) -> Int64 {
        Int64(bitPattern: try readLittleEndian() as UInt64)
    }

    public mutating func decode(_: Bool.Type = Bool.self) throws(CodecError) -> Bool {
        let start = offset
        switch try decode(UInt8.self) {
        case 0: return false
        case 1: return true
        case let byte: throw .invalidBool(offset: start, byte: byte)
        }
    }

    private mutating func readLittleEndian<T: FixedWidthInteger>() throws(CodecError) -> T {
        let size = MemoryLayout<T>.size
        try require(size)
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        offset += size
        return T(littleEndian: value)
    }

    /// `count` raw bytes, for fixed-size fields.
    public mutating func decodeRaw(count: Int) throws(CodecError) -> ArraySlice<UInt8> {
        try require(count)
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    /// Hands `body` the next `count` bytes without copying them.
    public mutating func withRawBytes<Result>(
        count: Int, _ body: (UnsafeRawBufferPointer) -> Result
    ) throws(CodecError) -> Result {
        try require(count)
        defer { offset += count }
        let start = offset
        return bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<(start + count)])) }
    }

    // MARK: Variable-length values

    /// Unsigned LEB128; rejects encodings longer than needed and values over 64 bits.
    public mutating func decodeVarint() throws(CodecError) -> UInt64 {
        let start = offset
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < bytes.count else {
                throw .truncated(offset: offset, needed: 1, remaining: 0)
            }
            let byte = bytes[offset]
            offset += 1
            let payload = UInt64(byte & 0x7f)
            if shift == 63 && payload > 1 { throw .varintOverflow(offset: start) }
            value |= payload << shift
            if byte & 0x80 == 0 {
                // A final zero byte after the first means a shorter encoding existed.
                if byte == 0 && offset - start > 1 { throw .nonCanonicalVarint(offset: start) }
                return value
            }
            shift += 7
            if shift > 63 { throw .varintOverflow(offset: start) }
        }
    }

    /// A length no greater than `limit`, and no greater than the bytes left times `minimumElementSize`'s
    /// reciprocal, so a tiny input can never make a decoder reserve a huge buffer.
    public mutating func decodeLength(limit: Int, minimumElementSize: Int = 1) throws(CodecError) -> Int {
        let start = offset
        let length = try decodeVarint()
        guard length <= UInt64(limit) else { throw .lengthOverLimit(offset: start, length: length, limit: limit) }
        let count = Int(length)
        if minimumElementSize > 0 {
            let (needed, overflow) = count.multipliedReportingOverflow(by: minimumElementSize)
            if overflow || needed > remaining {
                throw .truncated(offset: offset, needed: overflow ? Int.max : needed, remaining: remaining)
            }
        }
        return count
    }

    /// A length-prefixed byte string of at most `limit` bytes.
    public mutating func decodeBytes(limit: Int) throws(CodecError) -> [UInt8] {
        let count = try decodeLength(limit: limit)
        return Array(try decodeRaw(count: count))
    }

    /// A length-prefixed UTF-8 string of at most `limit` bytes.
    public mutating func decodeString(limit: Int) throws(CodecError) -> String {
        let start = offset
        let raw = try decodeBytes(limit: limit)
        guard let text = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8(offset: start) }
        return text
    }

    public mutating func decode<Value: CanonicalDecodable>(_: Value.Type = Value.self) throws(CodecError) -> Value {
        try Value(from: &self)
    }

    /// A count (at most `limit`) followed by that many elements.
    public mutating func decodeArray<Element: CanonicalDecodable>(
        of _: Element.Type = Element.self, limit: Int
    ) throws(CodecError) -> [Element] {
        let count = try decodeLength(limit: limit)
        var values: [Element] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try Element(from: &self)) }
        return values
    }

    /// 0 for nil, 1 followed by the value; any other byte is an error.
    public mutating func decodeOptional<Value: CanonicalDecodable>(
        _: Value.Type = Value.self
    ) throws(CodecError) -> Value? {
        let start = offset
        switch try decode(UInt8.self) {
        case 0: return nil
        case 1: return try Value(from: &self)
        case let tag: throw .unknownTag(offset: start, tag: UInt64(tag), type: "optional marker")
        }
    }

    /// A varint enum tag, reported against `type` when unknown; the caller switches over it.
    public mutating func decodeTag() throws(CodecError) -> (tag: UInt64, offset: Int) {
        let start = offset
        return (try decodeVarint(), start)
    }

    /// An error at the current position, for decoders whose field broke a rule of its type.
    public func invalid(_ reason: String, at position: Int? = nil) -> CodecError {
        .invalidValue(offset: position ?? offset, reason: reason)
    }
}
