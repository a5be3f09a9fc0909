import AlzaCore
import AlzaLedger
import Foundation
import Testing

/// `ChainStorage` over `FileStorage` (DESIGN.md §4 persistence): block log, journal and checkpoints survive a
/// reopen, and every torn or corrupt tail is cut with a log line, never applied.
@Suite struct ChainStorageTests {
    static let segment = "blocks-000000000001.log"
    static let journal0 = "journal-000000000000.log"

    /// The transactions of block `index` (0-based): account creation, staking with a vote, parallel transfers,
    /// an empty block, then plain transfers.
    static func transactions(for index: Int, _ fixture: LedgerFixture) -> [SignedTransaction] {
        switch index {
        case 0:
            return [fixture.transfer(7 * Amounts.unit, from: Keys.alice, to: Keys.erin.address)]
        case 1:
            return [fixture.sign([Message(.stake(amount: 30 * Amounts.unit), authorizer: Keys.alice.address),
                                  Message(.delegateVote(producer: fixture.producer), authorizer: Keys.alice.address)],
                                 by: [Keys.alice])]
        case 2:
            return [fixture.transfer(11, from: Keys.bob, to: Keys.carol.address),
                    fixture.transfer(12, from: Keys.dave, to: Keys.admin.address)]
        case 3:
            return []
        default:
            let senders = [Keys.alice, Keys.bob, Keys.carol, Keys.erin]
            return [fixture.transfer(Amount(index), from: senders[index % senders.count], to: Keys.frank.address)]
        }
    }

    static func openStorage(_ directory: TemporaryDirectory, _ genesis: Genesis,
                            segmentBytes: Int = 64 << 20) throws -> ChainStorage {
        ChainStorage(storage: try FileStorage(directory: directory.path), genesis: genesis, segmentBytes: segmentBytes)
    }

    /// Applies `count` blocks and commits each as it is made, with a checkpoint whenever one is due.
    static func buildChain(blocks count: Int, in directory: TemporaryDirectory, segmentBytes: Int = 64 << 20,
                           afterEach: (ChainStorage) throws -> Void = { _ in }) throws -> LedgerFixture {
        var fixture = try LedgerFixture()
        let storage = try openStorage(directory, fixture.genesis, segmentBytes: segmentBytes)
        _ = try storage.open()
        for index in 0..<count {
            try fixture.apply(transactions(for: index, fixture))
            let committed = try #require(fixture.blocks.last)
            try storage.commit([committed], checkpoint: storage.checkpointDue(at: fixture.height) ? fixture.state : nil)
            try afterEach(storage)
        }
        return fixture
    }

    static func reopen(_ directory: TemporaryDirectory, _ fixture: LedgerFixture,
                       segmentBytes: Int = 64 << 20) throws -> (ChainStorage, RecoveredChain) {
        let storage = try openStorage(directory, fixture.genesis, segmentBytes: segmentBytes)
        return (storage, try storage.open())
    }

    static func rootAfter(_ fixture: LedgerFixture, height: Int) -> Hash {
        height == 0 ? genesisRoot(fixture) : fixture.blocks[height - 1].block.header.stateRoot
    }

    static func genesisRoot(_ fixture: LedgerFixture) -> Hash {
        guard var state = try? fixture.genesis.initialState() else { return .zero }
        return state.root()
    }

    static func size(_ directory: TemporaryDirectory, _ name: String) throws -> Int {
        try directory.read(name).count
    }

    /// Re-executes `blocks` on `state` as a node does after `open`, checking each header's state root, and
    /// returns them with their redo entries for `appendJournal`.
    static func replay(_ blocks: [Block], on state: inout LedgerState,
                       verifier: SignatureVerifier) throws -> [CommittedBlock] {
        var committed: [CommittedBlock] = []
        for block in blocks {
            let header = block.header
            state.beginRecording()
            _ = try BlockExecutor.execute(block.transactions, on: &state,
                                          block: BlockContext(height: header.height, slot: header.slot,
                                                              time: header.timestamp, producer: header.producer),
                                          verifier: verifier, mode: .validate, coinbaseAtIndexZero: false)
            let changes = state.endRecording()
            #expect(state.root() == header.stateRoot, "replayed block \(header.height)")
            committed.append(CommittedBlock(block: block, redo: changes.redo))
        }
        return committed
    }

    // MARK: Reopening

    @Test func emptyFolderOpensAtGenesis() throws {
        let directory = try TemporaryDirectory()
        let fixture = try LedgerFixture()
        let (storage, recovered) = try Self.reopen(directory, fixture)
        var state = recovered.state
        #expect(storage.height == 0)
        #expect(recovered.stateBlock == BlockReference(height: 0, slot: 0, id: fixture.chainId))
        #expect(storage.lastReference == recovered.stateBlock)
        #expect(state.root() == Self.genesisRoot(fixture))
        #expect(recovered.blocksToReplay.isEmpty)
        #expect(recovered.log.isEmpty)
        #expect(try storage.block(at: 1) == nil)
    }

    @Test func committedBlocksSurviveAReopen() throws {
        let directory = try TemporaryDirectory()
        var fixture = try Self.buildChain(blocks: 3, in: directory)
        let (storage, recovered) = try Self.reopen(directory, fixture)
        var state = recovered.state
        #expect(storage.height == 3)
        #expect(recovered.stateBlock == BlockReference(fixture.blocks[2].block.signedHeader))
        #expect(storage.lastReference == recovered.stateBlock)
        #expect(state.root() == fixture.state.root())
        #expect(state.allEntries() == fixture.state.allEntries())
        #expect(state.delegatedStake == fixture.state.delegatedStake)
        #expect(state.voters == fixture.state.voters)
        #expect(state.totalStaked == fixture.state.totalStaked)
        #expect(recovered.blocksToReplay.isEmpty)
        #expect(recovered.log.isEmpty)
        for (index, committed) in fixture.blocks.enumerated() {
            let height = UInt64(index + 1)
            #expect(try storage.block(at: height) == committed.block)
            #expect(try storage.blockBytes(at: height) == committed.block.canonicalBytes)
            #expect(storage.reference(at: height) == BlockReference(committed.block.signedHeader))
        }
        #expect(storage.reference(at: 0) == BlockReference(height: 0, slot: 0, id: fixture.chainId))
        #expect(storage.reference(at: 4) == nil)
        #expect(try storage.block(at: 4) == nil)
        #expect(try storage.blockBytes(at: 0) == nil)
        #expect(try directory.contents() == [Self.segment, Self.journal0])
    }

    @Test func severalBlocksCommittedAtOnceAndAppendedAfterAReopen() throws {
        let directory = try TemporaryDirectory()
        var fixture = try LedgerFixture()
        for index in 0..<3 { try fixture.apply(Self.transactions(for: index, fixture)) }
        do {
            let storage = try Self.openStorage(directory, fixture.genesis)
            _ = try storage.open()
            try storage.commit(Array(fixture.blocks.prefix(2)))
        }
        do {
            let (storage, recovered) = try Self.reopen(directory, fixture)
            #expect(recovered.stateBlock.height == 2)
            try storage.commit([fixture.blocks[2]])
        }
        let (storage, recovered) = try Self.reopen(directory, fixture)
        var state = recovered.state
        #expect(storage.height == 3)
        #expect(state.root() == fixture.state.root())
        #expect(recovered.log.isEmpty)
    }

    @Test func blocksSpreadOverSegmentsReopenAndABrokenSegmentCutsTheRest() throws {
        let directory = try TemporaryDirectory()
        // A one-byte segment limit puts every block in its own segment.
        var fixture = try Self.buildChain(blocks: 3, in: directory, segmentBytes: 1)
        let segments = ["blocks-000000000001.log", "blocks-000000000002.log", "blocks-000000000003.log"]
        #expect(try directory.contents().filter { $0.hasPrefix("blocks-") } == segments)
        do {
            let (storage, recovered) = try Self.reopen(directory, fixture, segmentBytes: 1)
            var state = recovered.state
            #expect(storage.height == 3)
            #expect(state.root() == fixture.state.root())
            #expect(try storage.block(at: 2) == fixture.blocks[1].block)
        }
        // Losing the middle segment loses everything after it too.
        try FileManager.default.removeItem(atPath: directory.file(segments[1]))
        let (storage, recovered) = try Self.reopen(directory, fixture, segmentBytes: 1)
        var state = recovered.state
        #expect(storage.height == 1)
        #expect(state.root() == Self.rootAfter(fixture, height: 1))
        #expect(recovered.log.contains { $0.contains("\(segments[2]) does not continue height 1") })
        #expect(!(try directory.contents().contains(segments[2])))
    }

    // MARK: Torn and corrupt tails

    @Test func blockLogTornAtEveryOffsetOfTheLastRecordReopensAtThePreviousBlock() throws {
        let directory = try TemporaryDirectory()
        var sizes: [(segment: Int, journal: Int)] = []
        let fixture = try Self.buildChain(blocks: 3, in: directory) { _ in
            let segment = try Self.size(directory, Self.segment)
            let journal = try Self.size(directory, Self.journal0)
            sizes.append((segment, journal))
        }
        let segment = try directory.read(Self.segment)
        let journal = try directory.read(Self.journal0)
        let recordStart = sizes[1].segment
        #expect(segment.count - recordStart == 8 + fixture.blocks[2].block.canonicalBytes.count)
        let rootAtTwo = Self.rootAfter(fixture, height: 2)
        let referenceAtTwo = BlockReference(fixture.blocks[1].block.signedHeader)

        for cut in recordStart..<segment.count {
            try directory.write(Self.segment, Array(segment.prefix(cut)))
            try directory.write(Self.journal0, journal)
            let (storage, recovered) = try Self.reopen(directory, fixture)
            var state = recovered.state
            #expect(storage.height == 2, "cut at \(cut)")
            #expect(recovered.stateBlock == referenceAtTwo, "cut at \(cut)")
            #expect(state.root() == rootAtTwo, "cut at \(cut)")
            #expect(recovered.blocksToReplay.isEmpty, "cut at \(cut)")
            #expect(recovered.log.contains { $0.contains("torn tail") } == (cut > recordStart), "cut at \(cut): \(recovered.log)")
            #expect(recovered.log.contains { $0.contains("not confirmed by the block log") }, "cut at \(cut)")
            #expect(try Self.size(directory, Self.segment) == recordStart, "cut at \(cut)")
            #expect(try Self.size(directory, Self.journal0) == sizes[1].journal, "cut at \(cut)")
        }

        // The cut log takes the lost block again.
        do {
            let (storage, _) = try Self.reopen(directory, fixture)
            try storage.commit([fixture.blocks[2]])
        }
        let (storage, recovered) = try Self.reopen(directory, fixture)
        var state = recovered.state
        #expect(storage.height == 3)
        #expect(state.root() == Self.rootAfter(fixture, height: 3))
        #expect(recovered.log.isEmpty)
    }

    @Test func flippedByteAnywhereInTheLastRecordIsDetectedAndCut() throws {
        let directory = try TemporaryDirectory()
        var sizes: [Int] = []
        let fixture = try Self.buildChain(blocks: 3, in: directory) { _ in
            sizes.append(try Self.size(directory, Self.segment))
        }
        let segment = try directory.read(Self.segment)
        let journal = try directory.read(Self.journal0)
        let recordStart = sizes[1]
        for position in recordStart..<segment.count {
            var corrupt = segment
            corrupt[position] ^= 0x20
            try directory.write(Self.segment, corrupt)
            try directory.write(Self.journal0, journal)
            let (storage, recovered) = try Self.reopen(directory, fixture)
            var state = recovered.state
            #expect(storage.height == 2, "flip at \(position)")
            #expect(state.root() == Self.rootAfter(fixture, height: 2), "flip at \(position)")
            #expect(recovered.log.contains { $0.contains("torn tail") }, "flip at \(position)")
            #expect(try Self.size(directory, Self.segment) == recordStart, "flip at \(position)")
            // A payload byte can only be caught by the checksum.
            if position >= recordStart + 8 {
                #expect(recovered.log.contains { $0.contains("fails its checksum") }, "flip at \(position)")
            }
        }
    }

    @Test func corruptRecordInTheMiddleCutsTheLogThere() throws {
        let directory = try TemporaryDirectory()
        var sizes: [Int] = []
        let fixture = try Self.buildChain(blocks: 3, in: directory) { _ in
            sizes.append(try Self.size(directory, Self.segment))
        }
        var segment = try directory.read(Self.segment)
        segment[sizes[0] + 20] ^= 0xFF
        try directory.write(Self.segment, segment)
        let (storage, recovered) = try Self.reopen(directory, fixture)
        var state = recovered.state
        #expect(storage.height == 1)
        #expect(state.root() == Self.rootAfter(fixture, height: 1))
        #expect(recovered.log.contains { $0.contains("record at byte \(sizes[0]) fails its checksum") })
        #expect(try Self.size(directory, Self.segment) == sizes[0])
    }

    @Test func blockLogAheadOfTheJournalHandsBackTheBlocksToReplay() throws {
        let directory = try TemporaryDirectory()
        var journalSizes: [Int] = []
        var fixture = try Self.buildChain(blocks: 3, in: directory) { _ in
            journalSizes.append(try Self.size(directory, Self.journal0))
        }
        // A crash between the block log's sync and the journal's append.
        try directory.write(Self.journal0, Array(try directory.read(Self.journal0).prefix(journalSizes[1])))
        do {
            let (storage, recovered) = try Self.reopen(directory, fixture)
            #expect(storage.height == 3)
            #expect(recovered.stateBlock == BlockReference(fixture.blocks[1].block.signedHeader))
            #expect(recovered.blocksToReplay == [fixture.blocks[2].block])
            #expect(recovered.log.isEmpty)
            var state = recovered.state
            #expect(state.root() == Self.rootAfter(fixture, height: 2))
            let replayed = try Self.replay(recovered.blocksToReplay, on: &state, verifier: fixture.verifier)
            try storage.appendJournal(replayed)
        }
        let (_, recovered) = try Self.reopen(directory, fixture)
        var state = recovered.state
        #expect(recovered.stateBlock.height == 3)
        #expect(recovered.blocksToReplay.isEmpty)
        #expect(state.root() == fixture.state.root())
    }

    @Test func journalTornInsideItsLastRecordHandsTheBlockBackForReplay() throws {
        let directory = try TemporaryDirectory()
        var journalSizes: [Int] = []
        var fixture = try Self.buildChain(blocks: 3, in: directory) { _ in
            journalSizes.append(try Self.size(directory, Self.journal0))
        }
        let journal = try directory.read(Self.journal0)
        let recordStart = journalSizes[1]
        let rootAtTwo = Self.rootAfter(fixture, height: 2)
        // The first header bytes, then a spread of offsets through the record.
        let cuts = Array(recordStart..<(recordStart + 9)) + Array(stride(from: recordStart + 9, to: journal.count, by: 13))
            + [journal.count - 1]
        for cut in cuts {
            try directory.write(Self.journal0, Array(journal.prefix(cut)))
            let (storage, recovered) = try Self.reopen(directory, fixture)
            var state = recovered.state
            #expect(storage.height == 3, "cut at \(cut)")
            #expect(recovered.stateBlock == BlockReference(fixture.blocks[1].block.signedHeader), "cut at \(cut)")
            #expect(state.root() == rootAtTwo, "cut at \(cut)")
            #expect(recovered.blocksToReplay == [fixture.blocks[2].block], "cut at \(cut)")
            #expect(recovered.log.contains { $0.contains("\(Self.journal0)") && $0.contains("torn tail truncated") }
                    == (cut > recordStart), "cut at \(cut): \(recovered.log)")
            #expect(try Self.size(directory, Self.journal0) == recordStart, "cut at \(cut)")
        }
        #expect(fixture.state.root() != rootAtTwo)
    }

    // MARK: Checkpoints

    @Test func reopenUsesTheNewestCheckpointAndReplaysTheJournalAfterIt() throws {
        let directory = try TemporaryDirectory()
        let interval = LedgerFixture.testParameters().checkpointIntervalBlocks
        var fixture = try Self.buildChain(blocks: 10, in: directory)
        #expect(interval == 4)
        // Checkpoints at 4 and 8; the journal before the older one is pruned, so the state cannot come from
        // the genesis and journals alone.
        #expect(try directory.contents() == ["blocks-000000000001.log", "checkpoint-000000000004.bin",
                                             "checkpoint-000000000008.bin", "journal-000000000004.log",
                                             "journal-000000000008.log"])
        let (storage, recovered) = try Self.reopen(directory, fixture)
        var state = recovered.state
        #expect(recovered.log.isEmpty)
        #expect(recovered.stateBlock == BlockReference(fixture.blocks[9].block.signedHeader))
        #expect(recovered.blocksToReplay.isEmpty)
        #expect(state.root() == fixture.state.root())
        #expect(state.allEntries() == fixture.state.allEntries())
        #expect(state.delegatedStake == fixture.state.delegatedStake)
        #expect(state.voters == fixture.state.voters)
        #expect(!storage.checkpointDue(at: 11))
        #expect(storage.checkpointDue(at: 12))
    }

    @Test func corruptNewestCheckpointIsSkippedAndTheOlderOneReachesTheSameState() throws {
        let directory = try TemporaryDirectory()
        var fixture = try Self.buildChain(blocks: 10, in: directory)
        let name = "checkpoint-000000000008.bin"
        var checkpoint = try directory.read(name)
        checkpoint[checkpoint.count / 2] ^= 0x01
        try directory.write(name, checkpoint)
        let (_, recovered) = try Self.reopen(directory, fixture)
        var state = recovered.state
        #expect(recovered.log.contains { $0.contains("checkpoint at height 8 is unreadable") }, "\(recovered.log)")
        #expect(recovered.stateBlock.height == 10)
        #expect(recovered.blocksToReplay.isEmpty)
        #expect(state.root() == fixture.state.root())
    }

    @Test func withEveryCheckpointCorruptTheBlocksAreHandedBackForReplay() throws {
        let directory = try TemporaryDirectory()
        var fixture = try Self.buildChain(blocks: 10, in: directory)
        for name in ["checkpoint-000000000004.bin", "checkpoint-000000000008.bin"] {
            try directory.write(name, Array(try directory.read(name).dropLast(3)))
        }
        do {
            let (storage, recovered) = try Self.reopen(directory, fixture)
            #expect(recovered.log.contains { $0.contains("checkpoint at height 8 is unreadable") })
            #expect(recovered.log.contains { $0.contains("checkpoint at height 4 is unreadable") })
            #expect(recovered.stateBlock.height == 0)
            #expect(recovered.blocksToReplay == fixture.blocks.map(\.block))
            var state = recovered.state
            let replayed = try Self.replay(recovered.blocksToReplay, on: &state, verifier: fixture.verifier)
            #expect(state.root() == fixture.state.root())
            try storage.appendJournal(replayed)
        }
        let (_, recovered) = try Self.reopen(directory, fixture)
        var state = recovered.state
        #expect(recovered.stateBlock.height == 10)
        #expect(recovered.blocksToReplay.isEmpty)
        #expect(state.root() == fixture.state.root())
    }

    @Test func checkpointBeyondATornBlockLogIsSkipped() throws {
        let directory = try TemporaryDirectory()
        var sizes: [Int] = []
        let fixture = try Self.buildChain(blocks: 10, in: directory) { _ in
            sizes.append(try Self.size(directory, Self.segment))
        }
        // The log loses blocks 8 to 10 (say, a disk that lied about its syncs).
        try directory.write(Self.segment, Array(try directory.read(Self.segment).prefix(sizes[6] + 5)))
        let (storage, recovered) = try Self.reopen(directory, fixture)
        var state = recovered.state
        #expect(storage.height == 7)
        #expect(recovered.log.contains { $0.contains("checkpoint at height 8 is beyond the block log (7)") })
        #expect(recovered.stateBlock == BlockReference(fixture.blocks[6].block.signedHeader))
        #expect(recovered.blocksToReplay.isEmpty)
        #expect(state.root() == Self.rootAfter(fixture, height: 7))
    }

    // MARK: Watermark

    @Test func watermarkRoundTripsAcrossReopens() throws {
        let directory = try TemporaryDirectory()
        let fixture = try LedgerFixture()
        do {
            let storage = try Self.openStorage(directory, fixture.genesis)
            #expect(try storage.readWatermark() == nil)
            try storage.writeWatermark(42)
            #expect(try storage.readWatermark() == 42)
            try storage.writeWatermark(.max)
            #expect(try storage.readWatermark() == .max)
            try storage.writeWatermark(43)
        }
        let storage = try Self.openStorage(directory, fixture.genesis)
        #expect(try storage.readWatermark() == 43)
        #expect(try directory.read("watermark").count == 12)
    }

    @Test func corruptWatermarkIsReportedAsAnError() throws {
        let directory = try TemporaryDirectory()
        let fixture = try LedgerFixture()
        let storage = try Self.openStorage(directory, fixture.genesis)
        try storage.writeWatermark(1_000)
        var bytes = try directory.read("watermark")
        bytes[6] ^= 0x01
        try directory.write("watermark", bytes)
        #expect(throws: StorageError.io(file: "watermark", operation: "verify", reason: "watermark checksum mismatch")) {
            try storage.readWatermark()
        }
        try directory.write("watermark", Array(bytes.prefix(5)))
        #expect(throws: StorageError.io(file: "watermark", operation: "read",
                                        reason: "watermark file has 5 bytes, expected 12")) {
            try storage.readWatermark()
        }
    }
}
