import AlzaCore
import AlzaLedger

// `blocklog`, `journal` and `checkpoint`: ChainStorage.open over a file image held in memory.
//
// Each input starts with a mode byte. Raw mode: the rest is the file exactly as on disk (checksums
// included, so most mutations stop at the first CRC). Framed mode: the rest is `u16 length | payload`
// records that the harness frames as the log does (`u32 length | u32 CRC-32C | payload`), so the fuzzer
// reaches the decoders behind the checksums.

/// `DurableStorage` in memory (no crash semantics: the harness only reads and repairs).
final class MemoryStorage: DurableStorage, @unchecked Sendable {
    var files: [String: [UInt8]]

    init(_ files: [String: [UInt8]]) { self.files = files }

    func list() throws(StorageError) -> [String] { files.keys.sorted() }
    func read(_ name: String) throws(StorageError) -> [UInt8]? { files[name] }

    func read(_ name: String, offset: Int, count: Int) throws(StorageError) -> [UInt8] {
        guard let bytes = files[name], offset >= 0, count >= 0, offset <= bytes.count, count <= bytes.count - offset else {
            throw .io(file: name, operation: "read", reason: "file is shorter than expected")
        }
        return Array(bytes[offset..<(offset + count)])
    }

    func size(_ name: String) throws(StorageError) -> Int? { files[name]?.count }
    func append(_ name: String, _ bytes: [UInt8]) throws(StorageError) { files[name, default: []] += bytes }
    func sync(_ name: String) throws(StorageError) {}

    func truncate(_ name: String, to size: Int) throws(StorageError) {
        guard let bytes = files[name], size >= 0, size <= bytes.count else {
            violation("truncate \(name) to \(size) of \(files[name]?.count ?? -1) bytes")
        }
        files[name] = Array(bytes.prefix(size))
    }

    func writeAtomically(_ name: String, _ bytes: [UInt8]) throws(StorageError) { files[name] = bytes }
    func remove(_ name: String) throws(StorageError) { files[name] = nil }
}

/// One log record as `LogRecord.frame` writes it.
func logRecord(_ payload: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = []
    withUnsafeBytes(of: UInt32(payload.count).littleEndian) { bytes.append(contentsOf: $0) }
    withUnsafeBytes(of: CRC32C.checksum(payload).littleEndian) { bytes.append(contentsOf: $0) }
    return bytes + payload
}

/// The input after the mode byte as a file image: raw, or `u16 length | payload` records framed here.
func fileImage(_ reader: inout ByteReader, framed: Bool) -> [UInt8] {
    guard framed else { return reader.rest() }
    var image: [UInt8] = []
    while !reader.isAtEnd {
        let length = Int(reader.u16())
        image += logRecord(reader.take(length))
    }
    return image
}

/// The seed form of framed records.
func framedSeed(_ payloads: [[UInt8]]) -> [UInt8] {
    payloads.flatMap { [UInt8(truncatingIfNeeded: $0.count), UInt8(truncatingIfNeeded: $0.count >> 8)] + $0 }
}

let segmentName = "blocks-000000000001.log"
let journalName = "journal-000000000000.log"

/// The fixture's block log: its three blocks in one segment.
let fixtureSegment: [UInt8] = Fixture.blocks.flatMap { logRecord($0.canonicalBytes) }

func journalEntry(_ block: Block, _ redo: [StateEntry]) -> [UInt8] {
    var encoder = CanonicalEncoder()
    encoder.encode(BlockReference(block.signedHeader))
    encoder.encode(redo)
    return encoder.bytes
}

/// Redo entries a real block could make: the user's balance and nonce change.
func fixtureRedo(_ height: Int) -> [StateEntry] {
    guard var state = try? Fixture.genesis.initialState(),
          var user = state.accounts[Address(Fixture.userKey.publicKey)] else { violation("fixture state") }
    user.balance -= UInt64(height) * 10
    user.nonce = UInt64(height)
    state.setAccount(user)
    return [StateEntry(key: .account(user.address), value: .account(user))]
}

/// The journal records of the fixture's three blocks, and the journal they make.
let fixtureJournalRecords: [[UInt8]] = (0..<3).map { logRecord(journalEntry(Fixture.blocks[$0], fixtureRedo($0 + 1))) }
let fixtureJournal: [UInt8] = fixtureJournalRecords.flatMap { $0 }

/// The genesis chain record as a redo entry (every block's redo holds one).
let chainEntry: StateEntry = {
    guard let state = try? Fixture.genesis.initialState() else { violation("fixture state") }
    return StateEntry(key: .chain, value: .chain(state.chain))
}()

func redoBytes(_ entries: [StateEntry]) -> [UInt8] {
    var encoder = CanonicalEncoder()
    encoder.encode(entries)
    return encoder.bytes
}

/// Opens `storage`, checks what it recovered, and reopens: a repaired folder must reopen with nothing left to
/// repair and the same position.
/// `checkBlocks` decodes and checks every block of the log again (the block-log harness; the journal and
/// checkpoint harnesses keep the fixture's log and skip it).
func openAndReopen(_ storage: MemoryStorage, expectBlocks: Int? = nil, checkBlocks: Bool = false) {
    let chain = ChainStorage(storage: storage, genesis: Fixture.genesis)
    let recovered: RecoveredChain
    do {
        recovered = try chain.open()
    } catch {
        exercise(error)
        return
    }
    for line in recovered.log { check(!line.isEmpty, "empty log line") }
    describe(recovered.stateBlock)
    if let expectBlocks { check(chain.height <= UInt64(expectBlocks), "\(chain.height) blocks from \(expectBlocks) records") }
    check(recovered.stateBlock.height <= chain.height || recovered.stateBlock.height == 0 || storage.files.keys.contains { $0.hasPrefix("checkpoint-") },
          "state at \(recovered.stateBlock.height) beyond the block log's \(chain.height)")
    for (index, block) in recovered.blocksToReplay.enumerated() {
        check(block.height == recovered.stateBlock.height + UInt64(index) + 1, "replay block \(index) has height \(block.height)")
        if checkBlocks { checkBlock(block) }
    }
    for height in stride(from: UInt64(1), through: checkBlocks ? chain.height : 0, by: 1) {
        do {
            guard let block = try chain.block(at: height) else { violation("no block at \(height) of \(chain.height)") }
            check(block.height == height, "block at \(height) says \(block.height)")
        } catch {
            exercise(error)
        }
    }
    var state = recovered.state
    let root = state.root()

    let again = ChainStorage(storage: storage, genesis: Fixture.genesis)
    let reopened: RecoveredChain
    do {
        reopened = try again.open()
    } catch {
        violation("a folder that opened fails to reopen: \(error)")
    }
    check(again.height == chain.height, "reopened at height \(again.height), first open at \(chain.height)")
    check(reopened.stateBlock == recovered.stateBlock, "reopened state at \(reopened.stateBlock), first at \(recovered.stateBlock)")
    check(reopened.log.filter { !$0.contains("checkpoint") }.isEmpty,
          "a repaired folder needs repairs again: \(reopened.log)")
    var reopenedState = reopened.state
    check(reopenedState.root() == root, "reopened state has another root")
}

let blockLogHarness = Harness(
    name: "blocklog",
    summary: "ChainStorage.open over a block-log segment image (raw or framed here), optionally split in two segments",
    run: { input in
        var reader = ByteReader(input)
        let mode = reader.byte()
        let split = reader.byte()
        let image = fileImage(&reader, framed: mode & 1 == 1)
        var files = [segmentName: image]
        if mode & 2 == 2 {
            // Two segments: the second named by a height the first may or may not reach.
            let cut = image.count * Int(split) / 256
            files[segmentName] = Array(image.prefix(cut))
            files["blocks-00000000000\(2 + (mode >> 2) % 4).log"] = Array(image.dropFirst(cut))
        }
        openAndReopen(MemoryStorage(files), checkBlocks: true)
    },
    seeds: {
        let blocks = Fixture.blocks.map(\.canonicalBytes)
        return [
            [0, 0] + fixtureSegment,
            [0, 0] + Array(fixtureSegment.dropLast(5)),                         // torn tail
            [1, 0] + framedSeed(blocks),
            [1, 0] + framedSeed([blocks[0], blocks[2]]),                       // a gap
            [1, 0] + framedSeed([blocks[0], Array(blocks[1].prefix(200))]),    // a header without its body
            [3, 128] + framedSeed(blocks),                                     // blocks 1 | 2-3
        ]
    })

let journalHarness = Harness(
    name: "journal",
    summary: "ChainStorage.open over the fixture's 3-block log and a journal image (raw, framed here, or one entry's redo list)",
    run: { input in
        var reader = ByteReader(input)
        let mode = reader.byte()
        let image: [UInt8]
        if mode % 3 == 2 {
            // Entries mode: the fixture's valid entries for blocks 1..<h, then one for block h whose redo list
            // is the input (`count, StateEntry...`): past the CRC and the block check, straight to decode + apply.
            let height = 1 + Int(reader.byte() % 3)
            var bytes = fixtureJournalRecords.prefix(height - 1).flatMap { $0 }
            var encoder = CanonicalEncoder()
            encoder.encode(BlockReference(Fixture.blocks[height - 1].signedHeader))
            bytes += logRecord(encoder.bytes + reader.rest())
            image = bytes
        } else {
            image = fileImage(&reader, framed: mode % 3 == 1)
        }
        openAndReopen(MemoryStorage([segmentName: fixtureSegment, journalName: image]))
    },
    seeds: {
        let entries = (0..<3).map { journalEntry(Fixture.blocks[$0], fixtureRedo($0 + 1)) }
        return [
            [0] + entries.flatMap(logRecord),
            [0] + Array(entries.flatMap(logRecord).dropLast(3)),
            [1] + framedSeed(entries),
            [1] + framedSeed([entries[0], entries[2]]),
            [1] + framedSeed([journalEntry(Fixture.blocks[0], [])]),
            [2, 0] + redoBytes(fixtureRedo(1)),
            [2, 1] + redoBytes(fixtureRedo(2) + [chainEntry]),
            [2, 2] + redoBytes([chainEntry]),
        ]
    })

let checkpointHarness = Harness(
    name: "checkpoint",
    summary: "ChainStorage.open with a checkpoint file (raw; CRC fixed here; or content LZ4-framed and CRC'd here)",
    run: { input in
        var reader = ByteReader(input)
        let mode = reader.byte()
        let height = Int(reader.byte() % 4)
        let rest = reader.rest()
        let file: [UInt8]
        switch mode % 3 {
        case 0: file = rest
        case 1:
            file = withUnsafeBytes(of: CRC32C.checksum(rest).littleEndian) { Array($0) } + rest
        default:
            let frame = LZ4Frame.compress(rest, parallel: false)
            file = withUnsafeBytes(of: CRC32C.checksum(frame).littleEndian) { Array($0) } + frame
        }
        let name = "checkpoint-00000000000\(height).bin"
        var files = [segmentName: fixtureSegment, name: file]
        if mode & 4 == 4 {
            files[journalName] = fixtureJournal
        }
        openAndReopen(MemoryStorage(files))
    },
    seeds: {
        func content(height: Int) -> [UInt8] {
            var encoder = CanonicalEncoder()
            encoder.encodeRaw(Array("ALZACKP1".utf8))
            encoder.encode(Fixture.chainId)
            let reference = height == 0 ? BlockReference(height: 0, slot: 0, id: Fixture.chainId)
                : BlockReference(Fixture.blocks[height - 1].signedHeader)
            encoder.encode(reference)
            guard let state = try? Fixture.genesis.initialState() else { violation("fixture state") }
            encoder.encode(state.allEntries())
            return encoder.bytes
        }
        let frame = LZ4Frame.compress(content(height: 2), parallel: false)
        return [
            [2, 0] + content(height: 0),
            [2, 2] + content(height: 2),
            [6, 1] + content(height: 1),
            [1, 2] + frame,
            [0, 2] + withUnsafeBytes(of: CRC32C.checksum(frame).littleEndian) { Array($0) } + frame,
        ]
    })
