import AlzaCore

/// A block made irreversible, with the state changes it made (journaled so a restart need not re-execute it).
public struct CommittedBlock: Sendable {
    public var block: Block
    public var redo: [StateEntry]

    public init(block: Block, redo: [StateEntry]) {
        self.block = block
        self.redo = redo
    }
}

/// What `ChainStorage.open` found: the newest state it could rebuild, the last committed block, the blocks of
/// the log that the state does not include yet (to be re-executed by the caller), and what it repaired.
public struct RecoveredChain: Sendable {
    public var state: LedgerState
    /// The block `state` is the state after (height 0 and the chain id before block 1).
    public var stateBlock: BlockReference
    /// Blocks after `stateBlock` present in the log, in order: apply them to reach the log's end.
    public var blocksToReplay: [Block]
    /// One line per repair or notable finding (torn tail truncated, corrupt checkpoint skipped, ...).
    public var log: [String]

    public init(state: LedgerState, stateBlock: BlockReference, blocksToReplay: [Block], log: [String]) {
        self.state = state
        self.stateBlock = stateBlock
        self.blocksToReplay = blocksToReplay
        self.log = log
    }
}

/// The persistent chain of one node (DESIGN.md §4): an append-only block log of irreversible blocks in
/// segments, state checkpoints, and a journal of state changes since the last checkpoint; plus the producer's
/// double-sign watermark.
///
/// Commit order makes every crash recoverable: block log appended and synced, then journal appended and synced,
/// then (every `checkpointIntervalBlocks`) a checkpoint written atomically and older files pruned. `open` takes
/// the newest intact checkpoint, applies journal entries the block log confirms, truncates any torn or corrupt
/// tail with a log line, and hands back the blocks still to re-execute. A node therefore reopens at its last
/// committed block, and nothing corrupt is ever applied.
///
/// Used by one shell at a time (not thread-safe).
public final class ChainStorage {
    public let storage: any DurableStorage
    public let genesis: Genesis
    /// A segment is closed once it passes this size.
    public let segmentBytes: Int

    private struct Location {
        var segment: String
        var offset: Int
        var length: Int
    }

    private var index: [Location] = []   // index[h - 1] is block h
    private var references: [BlockReference] = []
    private var currentSegment: String?
    private var currentSegmentSize = 0
    private var journalName: String?
    private var checkpointHeight: UInt64 = 0

    public init(storage: any DurableStorage, genesis: Genesis, segmentBytes: Int = 64 << 20) {
        self.storage = storage
        self.genesis = genesis
        self.segmentBytes = segmentBytes
    }

    /// Height of the last block in the log.
    public var height: UInt64 { UInt64(index.count) }

    public var lastReference: BlockReference {
        references.last ?? BlockReference(height: 0, slot: 0, id: genesis.chainId)
    }

    static func segmentName(_ firstHeight: UInt64) -> String { "blocks-" + padded(firstHeight) + ".log" }
    static func journalName(_ checkpointHeight: UInt64) -> String { "journal-" + padded(checkpointHeight) + ".log" }
    static func checkpointName(_ height: UInt64) -> String { "checkpoint-" + padded(height) + ".bin" }
    static let watermarkName = "watermark"

    private static func padded(_ value: UInt64) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, 12 - text.count)) + text
    }

    private static func number(in name: String, prefix: String, suffix: String) -> UInt64? {
        guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        return UInt64(name.dropFirst(prefix.count).dropLast(suffix.count))
    }

    // MARK: Opening

    public func open() throws(StorageError) -> RecoveredChain {
        var log: [String] = []
        let files = try storage.list()
        try openBlockLog(files: files, log: &log)

        // The newest intact checkpoint the block log reaches.
        var state: LedgerState?
        var stateBlock = BlockReference(height: 0, slot: 0, id: genesis.chainId)
        let checkpoints = files.compactMap { Self.number(in: $0, prefix: "checkpoint-", suffix: ".bin") }.sorted(by: >)
        for height in checkpoints {
            guard height <= self.height else {
                log.append("checkpoint at height \(height) is beyond the block log (\(self.height)); skipped")
                continue
            }
            do {
                let (reference, entries) = try readCheckpoint(height)
                guard height == 0 || reference == references[Int(height) - 1] else {
                    log.append("checkpoint at height \(height) names block \(reference), the log has another; skipped")
                    continue
                }
                state = try LedgerState(chainId: genesis.chainId, genesisTime: genesis.file.genesisTime,
                                        parameters: genesis.parameters, entries: entries)
                stateBlock = reference
                checkpointHeight = height
                break
            } catch {
                log.append("checkpoint at height \(height) is unreadable (\(error)); skipped")
            }
        }
        if state == nil {
            do {
                state = try genesis.initialState()
            } catch {
                throw .io(file: "genesis", operation: "build state", reason: error.description)
            }
            checkpointHeight = 0
        }
        var recovered = state!

        // Journal entries after the checkpoint, as far as the block log confirms them.
        let journals = files.compactMap { Self.number(in: $0, prefix: "journal-", suffix: ".log") }
            .filter { $0 >= checkpointHeight }.sorted()
        journalLoop: for journalHeight in journals {
            let name = Self.journalName(journalHeight)
            let scan = LogRecord.scan(try storage.read(name) ?? [])
            var keptLength = 0
            for record in scan.records {
                guard let entry = try? JournalEntry(canonicalBytes: record.payload) else {
                    log.append("\(name): undecodable entry at byte \(record.offset); journal cut there")
                    break
                }
                if entry.block.height <= stateBlock.height {
                    keptLength = record.offset + LogRecord.headerSize + record.payload.count
                    continue
                }
                guard entry.block.height == stateBlock.height + 1, entry.block.height <= height,
                      entry.block == references[Int(entry.block.height) - 1]
                else {
                    if entry.block.height == stateBlock.height + 1 {
                        log.append("\(name): entry for \(entry.block) is not confirmed by the block log; journal cut there")
                    }
                    break
                }
                do {
                    try recovered.applyRecovered(entry.redo)
                } catch {
                    // The state may hold part of this entry: replaying blocks cannot start from it. Start over from
                    // the checkpoint (or genesis) without this journal's tail, on the next open.
                    throw StorageError.io(file: name, operation: "replay journal entry for \(entry.block)", reason: error.description)
                }
                stateBlock = entry.block
                keptLength = record.offset + LogRecord.headerSize + record.payload.count
            }
            if let problem = scan.problem { log.append("\(name): \(problem); torn tail truncated") }
            if keptLength < (try storage.size(name) ?? 0) {
                try storage.truncate(name, to: keptLength)
                // Later journals continue from a state this one no longer reaches.
                for later in journals where later > journalHeight { try storage.remove(Self.journalName(later)) }
                break journalLoop
            }
        }
        journalName = Self.journalName(checkpointHeight)

        var replay: [Block] = []
        if stateBlock.height < height {
            for blockHeight in (stateBlock.height + 1)...height {
                guard let block = try block(at: blockHeight) else { break }
                replay.append(block)
            }
        }
        return RecoveredChain(state: recovered, stateBlock: stateBlock, blocksToReplay: replay, log: log)
    }

    private func openBlockLog(files: [String], log: inout [String]) throws(StorageError) {
        index = []
        references = []
        let segments = files.compactMap { name -> (UInt64, String)? in
            Self.number(in: name, prefix: "blocks-", suffix: ".log").map { ($0, name) }
        }.sorted { $0.0 < $1.0 }
        var broken = false
        for (first, name) in segments {
            if broken || first != height + 1 {
                if !broken { log.append("block log segment \(name) does not continue height \(height); removed") }
                try storage.remove(name)
                broken = true
                continue
            }
            let bytes = try storage.read(name) ?? []
            let scan = LogRecord.scan(bytes)
            var validLength = 0
            for record in scan.records {
                var decoder = CanonicalDecoder(record.payload)
                guard let header = try? SignedBlockHeader(from: &decoder),
                      header.header.height == height + 1,
                      header.header.previous == lastReference.id
                else {
                    log.append("\(name): block at byte \(record.offset) does not follow height \(height); log cut there")
                    broken = true
                    break
                }
                index.append(Location(segment: name, offset: record.offset, length: record.payload.count))
                references.append(BlockReference(header))
                validLength = record.offset + LogRecord.headerSize + record.payload.count
            }
            if let problem = scan.problem {
                log.append("\(name): \(problem); torn tail of \(bytes.count - validLength) bytes truncated at height \(height)")
                broken = true
            }
            if validLength < bytes.count {
                try storage.truncate(name, to: validLength)
                broken = true
            }
            currentSegment = name
            currentSegmentSize = validLength
        }
    }

    // MARK: Reading blocks

    /// The block at `height` from the log, or nil above the log's height.
    public func block(at height: UInt64) throws(StorageError) -> Block? {
        guard let payload = try blockBytes(at: height) else { return nil }
        do {
            return try Block(canonicalBytes: payload)
        } catch {
            throw .io(file: index[Int(height) - 1].segment, operation: "decode block \(height)", reason: error.description)
        }
    }

    /// The block's stored bytes (signed header followed by the length-prefixed LZ4 body frame).
    public func blockBytes(at height: UInt64) throws(StorageError) -> [UInt8]? {
        guard height >= 1, height <= self.height else { return nil }
        let location = index[Int(height) - 1]
        return try storage.read(location.segment, offset: location.offset + LogRecord.headerSize, count: location.length)
    }

    public func reference(at height: UInt64) -> BlockReference? {
        height == 0 ? BlockReference(height: 0, slot: 0, id: genesis.chainId)
            : (height <= self.height ? references[Int(height) - 1] : nil)
    }

    // MARK: Committing

    /// Appends irreversible blocks and their state changes, durably; then, if `checkpoint` is given (the state
    /// after the last block), writes it and prunes what it replaces.
    public func commit(_ blocks: [CommittedBlock], checkpoint: LedgerState? = nil) throws(StorageError) {
        guard !blocks.isEmpty else { return }
        var touchedSegments: [String] = []
        for committed in blocks {
            precondition(committed.block.height == height + 1, "committing \(committed.block.height) after \(height)")
            let record = LogRecord.frame(committed.block.canonicalBytes)
            if currentSegment == nil || currentSegmentSize >= segmentBytes {
                currentSegment = Self.segmentName(committed.block.height)
                currentSegmentSize = 0
            }
            let segment = currentSegment!
            try storage.append(segment, record)
            index.append(Location(segment: segment, offset: currentSegmentSize, length: record.count - LogRecord.headerSize))
            references.append(BlockReference(committed.block.signedHeader))
            currentSegmentSize += record.count
            if touchedSegments.last != segment { touchedSegments.append(segment) }
        }
        for segment in touchedSegments { try storage.sync(segment) }
        try appendJournal(blocks)
        if let checkpoint { try writeCheckpoint(checkpoint, at: lastReference) }
    }

    /// Journals state changes of blocks already in the block log (after re-executing them at open).
    public func appendJournal(_ blocks: [CommittedBlock]) throws(StorageError) {
        guard !blocks.isEmpty else { return }
        let name = journalName ?? Self.journalName(checkpointHeight)
        journalName = name
        var bytes: [UInt8] = []
        for committed in blocks {
            let entry = JournalEntry(block: BlockReference(committed.block.signedHeader), redo: committed.redo)
            bytes += LogRecord.frame(entry.canonicalBytes)
        }
        try storage.append(name, bytes)
        try storage.sync(name)
    }

    /// Whether a checkpoint is due after committing up to `height`.
    public func checkpointDue(at height: UInt64) -> Bool {
        height >= checkpointHeight + genesis.parameters.checkpointIntervalBlocks
    }

    private func writeCheckpoint(_ state: LedgerState, at reference: BlockReference) throws(StorageError) {
        var encoder = CanonicalEncoder(reservingCapacity: 1 << 16)
        encoder.encodeRaw(Array("ALZACKP1".utf8))
        encoder.encode(genesis.chainId)
        encoder.encode(reference)
        encoder.encode(state.allEntries())
        let frame = LZ4Frame.compress(encoder.bytes)
        var file: [UInt8] = []
        withUnsafeBytes(of: CRC32C.checksum(frame).littleEndian) { file.append(contentsOf: $0) }
        file += frame
        try storage.writeAtomically(Self.checkpointName(reference.height), file)
        let previous = checkpointHeight
        checkpointHeight = reference.height
        journalName = Self.journalName(reference.height)
        // Keep this checkpoint and the previous one with its journal; older ones are superseded.
        for name in try storage.list() {
            if let height = Self.number(in: name, prefix: "checkpoint-", suffix: ".bin"), height < previous {
                try storage.remove(name)
            }
            if let height = Self.number(in: name, prefix: "journal-", suffix: ".log"), height < previous {
                try storage.remove(name)
            }
        }
    }

    private func readCheckpoint(_ height: UInt64) throws -> (BlockReference, [StateEntry]) {
        guard let file = try storage.read(Self.checkpointName(height)), file.count > 4 else {
            throw StorageError.io(file: Self.checkpointName(height), operation: "read", reason: "empty")
        }
        let stored = file.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
        let frame = Array(file[4...])
        guard CRC32C.checksum(frame) == stored else {
            throw StorageError.io(file: Self.checkpointName(height), operation: "verify", reason: "checksum mismatch")
        }
        let bytes = try LZ4Frame.decompress(frame, maxSize: 4 << 30)
        var decoder = CanonicalDecoder(bytes)
        guard Array(try decoder.decodeRaw(count: 8)) == Array("ALZACKP1".utf8) else {
            throw StorageError.io(file: Self.checkpointName(height), operation: "decode", reason: "not a checkpoint")
        }
        guard try decoder.decode(Hash.self) == genesis.chainId else {
            throw StorageError.io(file: Self.checkpointName(height), operation: "decode", reason: "another chain's checkpoint")
        }
        let reference = try decoder.decode(BlockReference.self)
        let entries = try decoder.decodeArray(of: StateEntry.self, limit: 1 << 30)
        try decoder.finish()
        return (reference, entries)
    }

    // MARK: Double-sign watermark

    /// The highest slot this node has signed a block for, or nil if it never signed.
    public func readWatermark() throws(StorageError) -> UInt64? {
        guard let bytes = try storage.read(Self.watermarkName) else { return nil }
        guard bytes.count == 12 else {
            throw .io(file: Self.watermarkName, operation: "read", reason: "watermark file has \(bytes.count) bytes, expected 12")
        }
        let (crc, slot) = bytes.withUnsafeBytes {
            (UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)),
             UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 4, as: UInt64.self)))
        }
        guard CRC32C.checksum(Array(bytes[4...])) == crc else {
            throw .io(file: Self.watermarkName, operation: "verify", reason: "watermark checksum mismatch")
        }
        return slot
    }

    /// Records durably that a block for `slot` is about to be signed; done before the block leaves the node.
    public func writeWatermark(_ slot: UInt64) throws(StorageError) {
        let body = withUnsafeBytes(of: slot.littleEndian) { Array($0) }
        var bytes: [UInt8] = []
        withUnsafeBytes(of: CRC32C.checksum(body).littleEndian) { bytes.append(contentsOf: $0) }
        try storage.writeAtomically(Self.watermarkName, bytes + body)
    }
}

/// One journal record: the state changes of one committed block.
struct JournalEntry: CanonicalCodable {
    var block: BlockReference
    var redo: [StateEntry]

    func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(block)
        encoder.encode(redo)
    }

    init(block: BlockReference, redo: [StateEntry]) {
        self.block = block
        self.redo = redo
    }

    init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        block = try decoder.decode()
        redo = try decoder.decodeArray(limit: StateChangeSet.maximumEntries)
    }
}
