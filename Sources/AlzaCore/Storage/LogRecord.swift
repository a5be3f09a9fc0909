/// The framing of every append-only log (block log segments, state journals, the NameNode's edits): `u32 length |
/// u32 CRC-32C of the payload | payload`, little-endian. A scan stops at the first record that is incomplete or
/// fails its checksum; everything before it is intact, everything from it on is a torn or corrupt tail.
public enum LogRecord {
    public static let headerSize = 8
    /// Larger records are corruption (a block is at most tens of MiB).
    public static let maximumPayload = 256 << 20

    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(headerSize + payload.count)
        withUnsafeBytes(of: UInt32(payload.count).littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: CRC32C.checksum(payload).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: payload)
        return bytes
    }

    public struct Scan: Sendable {
        /// (offset of the record's header, payload)
        public var records: [(offset: Int, payload: [UInt8])] = []
        /// Bytes of intact records.
        public var validLength = 0
        /// Why the scan stopped before the end, if it did.
        public var problem: String?
    }

    public static func scan(_ bytes: [UInt8]) -> Scan {
        var scan = Scan()
        var offset = 0
        bytes.withUnsafeBytes { buffer in
            while offset < buffer.count {
                guard buffer.count - offset >= headerSize else {
                    scan.problem = "incomplete record header at byte \(offset)"
                    return
                }
                let length = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                let checksum = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
                guard length <= maximumPayload, buffer.count - offset - headerSize >= length else {
                    scan.problem = "record at byte \(offset) declares \(length) bytes, \(buffer.count - offset - headerSize) remain"
                    return
                }
                let payload = UnsafeRawBufferPointer(rebasing: buffer[(offset + headerSize)..<(offset + headerSize + length)])
                guard CRC32C.checksum(payload) == checksum else {
                    scan.problem = "record at byte \(offset) fails its checksum"
                    return
                }
                scan.records.append((offset, Array(payload)))
                offset += headerSize + length
                scan.validLength = offset
            }
        }
        return scan
    }
}
