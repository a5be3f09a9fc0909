import AlzaCore
import Foundation

/// `alza-bench crypto`: signing, verification, hashing, Merkle roots and LZ4 frames, each against the limits.
enum CryptoBenchmark {
    static func run(limits: PhysicalLimits, quick: Bool, scratchDirectory: String) throws -> BenchReport {
        var report = BenchReport(suite: "crypto", limits: limits)
        let seconds = quick ? 0.2 : 0.8

        // Ed25519 on one core.
        let key = SigningKey(deterministicLabel: "bench")
        let message = [UInt8](repeating: 3, count: 32)
        let sign = measureRate(minimumSeconds: seconds, batch: 64) { batch in
            for _ in 0..<batch { _ = key.sign(message) }
        }
        var signLatency = LatencyRecorder()
        var verifyLatency = LatencyRecorder()
        let signature = key.sign(message)
        for _ in 0..<(quick ? 2000 : 20000) {
            let start = Monotonic.nanoseconds()
            _ = key.sign(message)
            let middle = Monotonic.nanoseconds()
            _ = key.publicKey.isValidSignature(signature, for: message)
            let end = Monotonic.nanoseconds()
            signLatency.record(nanoseconds: middle - start)
            verifyLatency.record(nanoseconds: end - middle)
        }
        let verify = measureRate(minimumSeconds: seconds, batch: 64) { batch in
            for _ in 0..<batch { precondition(key.publicKey.isValidSignature(signature, for: message)) }
        }
        report.add(BenchFigure(key: "ed25519SignPerSecondPerCore", label: "Ed25519 sign, one core", value: sign,
                               unit: "/s"))
        report.add(BenchFigure(key: "ed25519VerifyPerSecondPerCore", label: "Ed25519 verify, one core",
                               value: verify, unit: "/s", limitLabel: "verify limit",
                               limitValue: limits.ed25519VerifyPerSecondPerCore,
                               ratio: verify / limits.ed25519VerifyPerSecondPerCore))
        report.latencies.append(("ed25519 sign", signLatency.summary))
        report.latencies.append(("ed25519 verify", verifyLatency.summary))

        // SHA-256 of a 200-byte transaction-sized input and of 1 MiB.
        let small = [UInt8](repeating: 0x11, count: 200)
        let smallRate = measureRate(minimumSeconds: seconds, batch: 1024) { batch in
            for _ in 0..<batch { _ = Hash.sha256(small) }
        }
        let big = [UInt8](repeating: 0x22, count: 1 << 20)
        let bigRate = measureRate(minimumSeconds: seconds, batch: 4) { batch in
            for _ in 0..<batch { _ = Hash.sha256(big) }
        }
        report.add(BenchFigure(key: "sha256Small200BytesPerSecond", label: "SHA-256, 200-byte inputs",
                               value: smallRate, unit: "/s"))
        report.add(BenchFigure(key: "sha256Small200BytesMBPerSecond", label: "SHA-256, 200-byte inputs (MB/s)",
                               value: smallRate * 200 / 1e6, unit: "MB/s", limitLabel: "SHA-256 1 MiB",
                               limitValue: limits.sha256MBPerSecond,
                               ratio: smallRate * 200 / 1e6 / limits.sha256MBPerSecond))
        report.add(BenchFigure(key: "sha256LargeMBPerSecond", label: "SHA-256, 1 MiB inputs",
                               value: bigRate * Double(big.count) / 1e6, unit: "MB/s"))

        // Merkle root of 1 M leaves (32-byte leaves, like transaction ids): 1 M leaf hashes + 1 M node hashes.
        let leafCount = quick ? 1 << 17 : 1 << 20
        var random = SeededRandom(seed: 7)
        let leaves = (0..<leafCount).map { _ in
            var encoder = CanonicalEncoder(reservingCapacity: 32)
            for _ in 0..<4 { encoder.encode(random.next()) }
            return encoder.bytes
        }
        var bestMerkle = Double.infinity
        for _ in 0..<3 {
            bestMerkle = min(bestMerkle, Monotonic.seconds { _ = MerkleTree.root(leaves: leaves) })
        }
        let idealMerkle = Double(2 * leafCount - 1) / limits.sha256SmallPerSecond
        report.add(BenchFigure(key: "merkleRoot1MLeavesMilliseconds",
                               label: "Merkle root of \(leafCount) leaves", value: bestMerkle * 1000, unit: "ms",
                               limitLabel: "2n-1 SHA-256 at the 64-byte rate (ms)", limitValue: idealMerkle * 1000,
                               ratio: idealMerkle / bestMerkle))

        // LZ4 frames on a realistic block payload, and the lz4 tool on the same bytes.
        let payload = SyntheticTransfers.payload(transactions: quick ? 2_000 : 10_000)
        var frame: [UInt8] = []
        let compress = measureRate(minimumSeconds: seconds, batch: 1) { batch in
            for _ in 0..<batch { frame = LZ4Frame.compress(payload) }
        } * Double(payload.count) / 1e6
        let compressOneCore = measureRate(minimumSeconds: seconds, batch: 1) { batch in
            for _ in 0..<batch { _ = LZ4Frame.compress(payload, parallel: false) }
        } * Double(payload.count) / 1e6
        let decompress = measureRate(minimumSeconds: seconds, batch: 1) { batch in
            for _ in 0..<batch { _ = try? LZ4Frame.decompress(frame, maxSize: payload.count) }
        } * Double(payload.count) / 1e6
        precondition((try? LZ4Frame.decompress(frame, maxSize: payload.count)) == payload)
        let cli = try LZ4Tool.benchmark(payload: payload, scratchDirectory: scratchDirectory)
        report.add(BenchFigure(key: "lz4FrameCompressMBPerSecond", label: "LZ4 frame compress (block payload)",
                               value: compress, unit: "MB/s", limitLabel: "lz4 -b1 compress", limitValue: cli.compress,
                               ratio: compress / cli.compress))
        report.add(BenchFigure(key: "lz4FrameCompressOneCoreMBPerSecond",
                               label: "LZ4 frame compress, one core (block payload)", value: compressOneCore,
                               unit: "MB/s", limitLabel: "lz4 -b1 compress", limitValue: cli.compress,
                               ratio: compressOneCore / cli.compress))
        report.add(BenchFigure(key: "lz4FrameDecompressMBPerSecond", label: "LZ4 frame decompress (block payload)",
                               value: decompress, unit: "MB/s", limitLabel: "lz4 -b1 decompress",
                               limitValue: cli.decompress, ratio: decompress / cli.decompress))
        report.add(BenchFigure(key: "lz4CliCompressMBPerSecond", label: "lz4 -b1 compress (same payload)",
                               value: cli.compress, unit: "MB/s"))
        report.add(BenchFigure(key: "lz4CliDecompressMBPerSecond", label: "lz4 -b1 decompress (same payload)",
                               value: cli.decompress, unit: "MB/s"))
        report.add(BenchFigure(key: "lz4CompressionRatio", label: "LZ4 compression ratio (payload / frame)",
                               value: Double(payload.count) / Double(frame.count), unit: "×"))
        report.extras.append(("lz4VsCliRatio", compress / cli.compress))
        report.notes = [
            "Ed25519 and SHA-256 are libsodium \(LinkedLibraries.libsodiumVersion); LZ4 is liblz4 \(LinkedLibraries.lz4Version).",
            "The LZ4 payload is \(payload.count) bytes shaped like serialized transfers (shared chain id, keys from "
                + "a pool of 1,000 accounts, random signatures), so it compresses as real block bodies do.",
            "`lz4VsCliRatio` divides our frame compression speed (content checksum on, declared size, 256 KiB "
                + "independent blocks, blocks compressed on all cores while one core computes the XXH32 content "
                + "checksum) by `lz4 -b1` on the same file in the same run. `lz4 -b1` is one core and computes no "
                + "checksum; on one core our frame writer reaches the ratio in the one-core row, the checksum being "
                + "about a third of the work.",
            "Decompression goes through liblz4's LZ4F_decompress, which verifies the content checksum (XXH32) "
                + "on one core; `lz4 -b1` decodes raw blocks without a checksum, hence the lower ratio.",
            "Rates are the best of three rounds; MB is 10^6 bytes, as `lz4 -b` reports.",
        ]
        return report
    }
}

/// Runs `lz4 -b1` (the lz4 command's in-memory benchmark at level 1) on a payload and reads its MB/s.
enum LZ4Tool {
    struct Result {
        var compress: Double
        var decompress: Double
    }

    static func benchmark(payload: [UInt8], scratchDirectory: String) throws -> Result {
        try FileManager.default.createDirectory(atPath: scratchDirectory, withIntermediateDirectories: true)
        let path = "\(scratchDirectory)/lz4-bench-payload.bin"
        try Data(payload).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["lz4", "-b1", "-i3", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // The last progress line reads: " 1#name : 41234 -> 20345 (2.027), 650.1 MB/s ,3400.2 MB/s"
        let lines = output.split(whereSeparator: { $0 == "\r" || $0 == "\n" }).filter { $0.contains("MB/s ,") }
        guard let line = lines.last else { throw BenchError.toolOutput("lz4 -b1 printed no result: \(output)") }
        let numbers = line.components(separatedBy: "MB/s").dropLast().compactMap { part -> Double? in
            Double(part.split(whereSeparator: { $0 == " " || $0 == "," }).last.map(String.init) ?? "")
        }
        guard numbers.count == 2 else { throw BenchError.toolOutput("cannot read lz4 -b1 line: \(line)") }
        return Result(compress: numbers[0], decompress: numbers[1])
    }
}
