/// Appends canonical bytes. Every `encode` has a matching `decode` in `CanonicalDecoder`.
public struct CanonicalEncoder: Sendable {
    public private(set) var bytes: [UInt8]

    public init(reservingCapacity capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    public mutating func encode(_ value: UInt8) { bytes.append(value) }
    public mutating func encode(_ value: UInt16) { appendLittleEndian(value) }
    public mutating func encode(_ value: UInt32) { appendLittleEndian(value) }
    public mutating func encode(_ value: UInt64) { appendLittleEndian(value) }
    public mutating func encode(_ value: Int64) { appendLittleEndian(UInt64(bitPattern: value)) }
    public mutating func encode(_ value: Bool) { bytes.append(value ? 1 : 0) }

    private mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Unsigned LEB128 in its shortest form: lengths, counts and enum tags.
    public mutating func encodeVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    public mutating func encodeLength(_ count: Int) {
        precondition(count >= 0, "negative length")
        encodeVarint(UInt64(count))
    }

    /// A length-prefixed byte string.
    public mutating func encodeBytes<Bytes: Collection>(_ value: Bytes) where Bytes.Element == UInt8 {
        encodeLength(value.count)
        bytes.append(contentsOf: value)
    }

    /// Raw bytes with no length prefix, for fixed-size fields whose size the decoder knows.
    public mutating func encodeRaw(_ buffer: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: buffer)
    }

    public mutating func encodeRaw(_ value: [UInt8]) {
        bytes.append(contentsOf: value)
    }

    /// A length-prefixed UTF-8 string.
    public mutating func encode(_ value: String) {
        encodeBytes(value.utf8)
    }

    public mutating func encode<Value: CanonicalEncodable>(_ value: Value) {
        value.encode(to: &self)
    }

    /// A count followed by each element.
    public mutating func encode<Element: CanonicalEncodable>(_ values: [Element]) {
        encodeLength(values.count)
        for value in values { value.encode(to: &self) }
    }

    /// 0 for nil, 1 followed by the value otherwise.
    public mutating func encode<Value: CanonicalEncodable>(_ value: Value?) {
        if let value {
            bytes.append(1)
            value.encode(to: &self)
        } else {
            bytes.append(0)
        }
    }
}
