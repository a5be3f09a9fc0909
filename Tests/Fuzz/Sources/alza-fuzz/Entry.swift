import CFuzzDriver
#if canImport(Glibc)
import Glibc
#endif

/// One harness: a name (`ALZA_FUZZ_TARGET`), the input it takes, and its seed inputs.
struct Harness: Sendable {
    let name: String
    let summary: String
    let run: @Sendable ([UInt8]) -> Void
    let seeds: @Sendable () -> [[UInt8]]
}

let harnesses: [Harness] = [
    frameHarness, handshakeHarness, wireHarness, gossipHarness, blockHarness, transactionHarness,
    blockLogHarness, journalHarness, checkpointHarness, lz4Harness, fieldHarness,
]

nonisolated(unsafe) var selected: Harness?

/// Called once by libFuzzer before any input: picks the harness from `ALZA_FUZZ_TARGET`, or, with
/// `ALZA_FUZZ_WRITE_CORPUS=DIR`, writes every harness's seed inputs to `DIR/<target>/` and exits.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>?,
                             _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    if let directory = getenv("ALZA_FUZZ_WRITE_CORPUS").map({ String(cString: $0) }) {
        exit(writeCorpus(to: directory))
    }
    let names = harnesses.map(\.name).joined(separator: ", ")
    guard let name = getenv("ALZA_FUZZ_TARGET").map({ String(cString: $0) }) else {
        printError("alza-fuzz: set ALZA_FUZZ_TARGET to one of: \(names)\n")
        exit(2)
    }
    guard let harness = harnesses.first(where: { $0.name == name }) else {
        printError("alza-fuzz: unknown ALZA_FUZZ_TARGET \"\(name)\"; targets: \(names)\n")
        exit(2)
    }
    selected = harness
    printError("alza-fuzz: target \(harness.name): \(harness.summary)\n")
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let harness = selected else { return 0 }
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    harness.run(bytes)
    return 0
}

/// Writes the seed corpus: `DIR/<target>/seed-NN` for every harness. Returns the exit status.
func writeCorpus(to directory: String) -> Int32 {
    var total = 0
    for harness in harnesses {
        let folder = directory + "/" + harness.name
        mkdir(directory, 0o755)
        mkdir(folder, 0o755)
        for (index, seed) in harness.seeds().enumerated() {
            // Every seed must pass its own harness: a seed that trips an invariant is a bug in the seed or the code.
            harness.run(seed)
            let path = folder + "/seed-" + (index < 10 ? "0" : "") + String(index)
            guard let file = fopen(path, "wb") else {
                printError("alza-fuzz: cannot write \(path)\n")
                return 1
            }
            if !seed.isEmpty { _ = seed.withUnsafeBytes { fwrite($0.baseAddress, 1, seed.count, file) } }
            fclose(file)
            total += seed.count
        }
        printError("alza-fuzz: \(harness.seeds().count) seeds in \(folder)\n")
    }
    printError("alza-fuzz: \(total) bytes of seeds in all\n")
    return 0
}
