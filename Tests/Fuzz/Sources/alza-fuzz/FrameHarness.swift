import AlzaCore
import AlzaNetCore

// `frame`: the byte stream of a connection, cut by FrameDecoder.

let frameLimit = 4_096

/// The frames a stream holds up to its first bad header, by a straightforward reading of the format:
/// `u32 length | u8 kind | payload`, length checked before kind. What FrameDecoder must agree with.
func referenceFrames(_ bytes: [UInt8], limit: Int) -> (frames: [Frame], error: FrameError?, pending: Int) {
    var frames: [Frame] = []
    var offset = 0
    while bytes.count - offset >= Frame.headerSize {
        let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16
            | Int(bytes[offset + 3]) << 24
        if length > limit { return (frames, .oversize(length: length, limit: limit), bytes.count - offset) }
        guard let kind = FrameKind(rawValue: bytes[offset + 4]) else {
            return (frames, .unknownKind(bytes[offset + 4]), bytes.count - offset)
        }
        guard bytes.count - offset - Frame.headerSize >= length else { break }
        frames.append(Frame(kind: kind, payload: Array(bytes[(offset + 5)..<(offset + 5 + length)])))
        offset += Frame.headerSize + length
    }
    return (frames, nil, bytes.count - offset)
}

let frameHarness = Harness(
    name: "frame",
    summary: "FrameDecoder fed the input at once and in input-derived chunks: same frames, same error, bounded buffer",
    run: { input in
        let reference = referenceFrames(input, limit: frameLimit)

        // All at once.
        var whole = FrameDecoder(maximumPayload: frameLimit)
        do throws(FrameError) {
            let frames = try whole.append(input)
            check(reference.error == nil, "one append accepted a stream whose header fails with \(String(describing: reference.error))")
            check(frames == reference.frames, "one append gave \(frames.count) frames, the format says \(reference.frames.count)")
            check(whole.pendingBytes == reference.pending, "pending \(whole.pendingBytes), expected \(reference.pending)")
        } catch {
            exercise(error)
            check(error == reference.error, "one append failed with \(error), the format says \(String(describing: reference.error))")
        }

        // In chunks of 0...64 bytes, sizes drawn from the input.
        var random = Xorshift(input)
        var chunked = FrameDecoder(maximumPayload: frameLimit)
        var frames: [Frame] = []
        var offset = 0
        var failure: FrameError?
        while offset < input.count {
            let size = min(input.count - offset, random.next(below: 65))
            do throws(FrameError) {
                frames += try chunked.append(Array(input[offset..<(offset + size)]))
            } catch {
                exercise(error)
                failure = error
                break
            }
            offset += size
            check(chunked.pendingBytes <= Frame.headerSize + frameLimit + 64,
                  "decoder holds \(chunked.pendingBytes) bytes with a \(frameLimit)-byte limit")
        }
        check(failure == reference.error, "chunks failed with \(String(describing: failure)), the format says \(String(describing: reference.error))")
        if failure == nil {
            check(frames == reference.frames, "chunks gave \(frames.count) frames, the format says \(reference.frames.count)")
        } else {
            // An append that meets a bad header throws, dropping the frames it completed in the same call (the
            // connection closes): the frames delivered are a prefix of the stream's, never others.
            check(reference.frames.starts(with: frames), "chunks gave frames that are not a prefix of the stream's")
        }
        if failure == nil {
            check(chunked.pendingBytes == reference.pending, "chunks left \(chunked.pendingBytes) pending, expected \(reference.pending)")
        }
        // Frames re-encode to the stream they came from.
        let encoded = frames.flatMap(\.bytes)
        check(encoded == Array(input.prefix(encoded.count)), "frames do not re-encode to the stream's prefix")
        for frame in frames { describe(frame.kind) }
    },
    seeds: {
        let hello = Frame(kind: .hello, message: Fixture.remoteHello).bytes
        let gossip = Frame(kind: .gossip, message: GossipMessage(topic: .blocks, payload: [1, 2, 3])).bytes
        let ping = Frame(kind: .ping, payload: []).bytes
        let ihave = Frame(kind: .ihave, message: MessageIds([Hash.sha256(utf8: "a"), Hash.sha256(utf8: "b")])).bytes
        return [
            [],
            ping,
            hello + ping,
            gossip + ihave + Frame(kind: .pong, payload: [9]).bytes,
            ping + Array(gossip.prefix(7)),                     // a torn last frame
            [0xff, 0xff, 0, 0, 3],                              // oversize
            [1, 0, 0, 0, 99, 0],                                // unknown kind
            FrameKind.allCases.flatMap { Frame(kind: $0, payload: [$0.rawValue]).bytes },
        ]
    })
