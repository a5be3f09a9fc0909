import AlzaCore

// `lz4`: LZ4Frame.decompress with a bound chosen by the first byte.

let lz4Bounds = [0, 1, 64, 4_096, 65_536, 1 << 20]

/// A frame the way other compressors may write it: no content size, no content checksum, 64 KiB blocks,
/// each block stored uncompressed.
func plainLZ4Frame(_ content: [UInt8], blockSize: Int = 64 << 10) -> [UInt8] {
    var frame: [UInt8] = [0x04, 0x22, 0x4D, 0x18, 0b0110_0000, 0x40]
    frame.append(UInt8(truncatingIfNeeded: XXHash32.hash(Array(frame[4...5])) >> 8))
    var offset = 0
    while offset < content.count {
        let block = Array(content[offset..<min(content.count, offset + blockSize)])
        withUnsafeBytes(of: (UInt32(block.count) | 0x8000_0000).littleEndian) { frame.append(contentsOf: $0) }
        frame += block
        offset += block.count
    }
    frame += [0, 0, 0, 0]
    return frame
}

let lz4Harness = Harness(
    name: "lz4",
    summary: "LZ4Frame.decompress under a bound from the first byte: output within the bound, same under a larger one, recompresses",
    run: { input in
        var reader = ByteReader(input)
        let bound = lz4Bounds[Int(reader.byte()) % lz4Bounds.count]
        let frame = reader.rest()
        let content: [UInt8]
        do {
            content = try LZ4Frame.decompress(frame, maxSize: bound)
        } catch {
            exercise(error)
            return
        }
        check(content.count <= bound, "\(content.count) bytes out under a bound of \(bound)")
        if bound < 1 << 20 {
            do {
                let larger = try LZ4Frame.decompress(frame, maxSize: 1 << 20)
                check(larger == content, "a larger bound gives other content")
            } catch {
                violation("a frame that decodes under \(bound) fails under 1 MiB: \(error)")
            }
        }
        do {
            let again = try LZ4Frame.decompress(LZ4Frame.compress(content, parallel: false), maxSize: content.count)
            check(again == content, "recompressed content differs")
        } catch {
            violation("recompressed content does not decode under its own size: \(error)")
        }
    },
    seeds: {
        let text = Array("Alza blocks are LZ4 frames. Alza blocks are LZ4 frames. Alza blocks are LZ4 frames.".utf8)
        let zeros = [UInt8](repeating: 0, count: 3_000)
        return [
            [5] + LZ4Frame.compress(text, parallel: false),
            [3] + LZ4Frame.compress(zeros, parallel: false),
            [2] + LZ4Frame.compress(zeros, parallel: false),          // over the bound
            [5] + LZ4Frame.compress([], parallel: false),
            [5] + plainLZ4Frame(text),
            [0] + plainLZ4Frame([]),
            [4] + plainLZ4Frame((0..<200).map { UInt8($0) }, blockSize: 64),
            [5] + Array(LZ4Frame.compress(text, parallel: false).dropLast(4)),
        ]
    })
