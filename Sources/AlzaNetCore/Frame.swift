import AlzaCore

/// What a frame carries (DESIGN.md §8). Values are the wire byte.
public enum FrameKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// First frame of each side: `Hello`.
    case hello = 1
    /// Second frame of each side: the signature over the other side's nonce (`HelloProof`).
    case proof = 2
    /// A gossip message pushed in full: topic, payload.
    case gossip = 3
    /// Lazy announcement: ids of gossip messages the sender has.
    case ihave = 4
    /// Request for announced messages by id.
    case iwant = 5
    /// A point-to-point message (no reply expected).
    case direct = 6
    /// A request with a correlation id; answered by `response`.
    case request = 7
    case response = 8
    case ping = 9
    case pong = 10
    /// Listen addresses of other peers (peer exchange).
    case peers = 11
    /// The sender is closing the connection, with a reason.
    case goodbye = 12
    /// The sender added the receiver to its gossip mesh (it will push messages in full): mesh links are
    /// symmetric, so the receiver adds the sender too, or answers `prune` when its mesh is full.
    case graft = 13
    /// The sender removed the receiver from its gossip mesh.
    case prune = 14

    /// Spelled out: `String(describing: self)` on a `CustomStringConvertible` enum calls this property again
    /// (an endless recursion that crashed a node logging an unexpected frame).
    public var description: String {
        switch self {
        case .hello: "hello"
        case .proof: "proof"
        case .gossip: "gossip"
        case .ihave: "ihave"
        case .iwant: "iwant"
        case .direct: "direct"
        case .request: "request"
        case .response: "response"
        case .ping: "ping"
        case .pong: "pong"
        case .peers: "peers"
        case .goodbye: "goodbye"
        case .graft: "graft"
        case .prune: "prune"
        }
    }
}

/// One frame: `u32 length (of the payload, little-endian) | u8 kind | payload`.
public struct Frame: Sendable, Equatable {
    public var kind: FrameKind
    public var payload: [UInt8]

    public static let headerSize = 5

    public init(kind: FrameKind, payload: [UInt8]) {
        self.kind = kind
        self.payload = payload
    }

    public init<Message: CanonicalEncodable>(kind: FrameKind, message: Message) {
        self.init(kind: kind, payload: message.canonicalBytes)
    }

    /// The frame's bytes on the wire.
    public var bytes: [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(Frame.headerSize + payload.count)
        withUnsafeBytes(of: UInt32(payload.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(kind.rawValue)
        bytes.append(contentsOf: payload)
        return bytes
    }
}

/// Why bytes from a peer could not be read as frames. Any of these closes the connection.
public enum FrameError: AlzaError, Equatable {
    case oversize(length: Int, limit: Int)
    case unknownKind(UInt8)

    public var code: String {
        switch self {
        case .oversize: "frame.oversize"
        case .unknownKind: "frame.unknown-kind"
        }
    }

    public var description: String {
        switch self {
        case .oversize(let length, let limit): "frame of \(length) bytes exceeds the limit of \(limit)"
        case .unknownKind(let kind): "unknown frame kind \(kind)"
        }
    }
}

/// Cuts a byte stream into frames as bytes arrive. A header announcing more than `maximumPayload` fails at
/// once, before the payload is buffered, so a peer can never make the node hold more than one frame's limit.
public struct FrameDecoder: Sendable {
    public let maximumPayload: Int
    private var buffer: [UInt8] = []
    private var consumed = 0

    public init(maximumPayload: Int) {
        self.maximumPayload = maximumPayload
    }

    /// Bytes received but not yet part of a complete frame.
    public var pendingBytes: Int { buffer.count - consumed }

    /// Adds received bytes and returns every complete frame they finish.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) throws(FrameError) -> [Frame] {
        buffer.append(contentsOf: bytes)
        var frames: [Frame] = []
        while buffer.count - consumed >= Frame.headerSize {
            let (length, rawKind) = buffer.withUnsafeBytes {
                (Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: consumed, as: UInt32.self))),
                 $0[consumed + 4])
            }
            guard length <= maximumPayload else { throw .oversize(length: length, limit: maximumPayload) }
            guard let kind = FrameKind(rawValue: rawKind) else { throw .unknownKind(rawKind) }
            guard buffer.count - consumed >= Frame.headerSize + length else { break }
            let start = consumed + Frame.headerSize
            frames.append(Frame(kind: kind, payload: Array(buffer[start..<(start + length)])))
            consumed = start + length
        }
        // Compact once the consumed prefix dominates, so the buffer never grows past one frame plus a read.
        if consumed > 0 && (consumed == buffer.count || consumed > 1 << 16) {
            buffer.removeFirst(consumed)
            consumed = 0
        }
        return frames
    }

    public mutating func append(_ bytes: [UInt8]) throws(FrameError) -> [Frame] {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(FrameError) in try append(buffer) }
        }
        return try result.get()
    }
}
