import AlzaCore
import AlzaLedger
import AlzaNode
import Testing

extension ChainArchiveTests {
    /// The archive's names, the archiver's plan and the file formats, without rebuilding.
    @Suite struct Formats {
        let chain = ArchiveChain.shared

        @Test func namesRoundTripAndAnythingElseIsRefused() throws {
            let id = chain.head.id
            let layout = chain.layout
            let segment = ChainArchiveLayout.SegmentName(first: 1_001, last: 2_000, lastBlockId: id)
            #expect(segment.fileName == "000000001001-000000002000-\(id.hex).seg")
            #expect(layout.path(of: segment) == "/chain/\(chain.genesis.chainId.hex)/segments/\(segment.fileName)")
            #expect(try ChainArchiveLayout.SegmentName(parsing: segment.fileName) == segment)
            #expect(try layout.entry(atPath: layout.path(of: segment)) == .segment(segment))
            #expect(try layout.entry(atPath: layout.genesisPath) == .genesis)
            let checkpoint = ChainArchiveLayout.PointName(kind: .checkpoint, height: 200, blockId: id)
            let evidence = ChainArchiveLayout.PointName(kind: .evidence, height: 200, blockId: id)
            #expect(layout.path(of: checkpoint) == layout.checkpointsFolder + "/000000000200-\(id.hex).ckp")
            #expect(layout.path(of: evidence) == layout.finalityFolder + "/000000000200-\(id.hex).evidence")
            #expect(try layout.entry(atPath: layout.path(of: checkpoint)) == .checkpoint(checkpoint))
            #expect(try layout.entry(atPath: layout.path(of: evidence)) == .evidence(evidence))
            let big = ChainArchiveLayout.SegmentName(first: 1_000_000_000_001, last: 1_000_000_000_001, lastBlockId: id)
            #expect(try ChainArchiveLayout.SegmentName(parsing: big.fileName) == big)

            let hex = id.hex
            let refused = [
                "00000001001-000000002000-\(hex).seg",          // 11 digits
                "0000000001001-000000002000-\(hex).seg",        // over-padded
                "000000002000-000000001001-\(hex).seg",         // first > last
                "000000000000-000000000010-\(hex).seg",         // height 0
                "000000001001-000000002000-\(hex.uppercased()).seg",
                "000000001001-000000002000-\(hex.prefix(62)).seg",
                "000000001001-000000002000-\(hex).log",
                "000000001001-000000002000-\(hex)-x.seg",
                "+00000001001-000000002000-\(hex).seg",
            ]
            for name in refused {
                #expect(throws: ChainArchiveError.self, "\(name)") { try ChainArchiveLayout.SegmentName(parsing: name) }
            }
            #expect(throws: ChainArchiveError.self) {
                try ChainArchiveLayout.PointName(parsing: "000000000200-\(hex).evidence", kind: .checkpoint)
            }
            for path in ["/chain/\(chain.genesis.chainId.hex)/other/x", "chain/\(chain.genesis.chainId.hex)/genesis.json",
                         "/chain/xyz/genesis.json", layout.segmentsFolder + "/a/" + segment.fileName] {
                #expect(throws: ChainArchiveError.self, "\(path)") { try layout.entry(atPath: path) }
            }
        }

        @Test func theArchiverSealsFullSegmentsAndOldTails() {
            let archiver = ChainArchiver(blocksPerSegment: 100, maxTailAgeMs: 10_000)
            // Nothing new, or a young tail: nothing to do.
            #expect(archiver.nextSegment(committedHeight: 50, archivedHeight: 50, oldestUnarchivedTimestamp: 0, now: 1) == nil)
            #expect(archiver.nextSegment(committedHeight: 50, archivedHeight: 0, oldestUnarchivedTimestamp: 1_000, now: 10_999) == nil)
            // An old tail is sealed from the first unsealed block to the committed height.
            #expect(archiver.nextSegment(committedHeight: 50, archivedHeight: 0, oldestUnarchivedTimestamp: 1_000, now: 11_000)
                    == .init(heights: 1...50, replaces: nil, isTail: true))
            #expect(archiver.nextSegment(committedHeight: 70, archivedHeight: 50, oldestUnarchivedTimestamp: 1_000, now: 90_000)
                    == .init(heights: 51...70, replaces: nil, isTail: true))
            // A complete aligned range is sealed whole, replacing the tails inside it, whatever their age.
            #expect(archiver.nextSegment(committedHeight: 130, archivedHeight: 70, oldestUnarchivedTimestamp: 5, now: 5)
                    == .init(heights: 1...100, replaces: 1...70, isTail: false))
            #expect(archiver.nextSegment(committedHeight: 350, archivedHeight: 100, oldestUnarchivedTimestamp: 5, now: 5)
                    == .init(heights: 101...200, replaces: nil, isTail: false))
            // A clock behind the block's timestamp seals no tail.
            #expect(archiver.nextSegment(committedHeight: 150, archivedHeight: 100, oldestUnarchivedTimestamp: 50_000, now: 1) == nil)
        }

        @Test func theArchiverReadsTheOldestBlockFromStorage() throws {
            let archiver = ChainArchiver(blocksPerSegment: 1_000, maxTailAgeMs: 10_000)
            let block = try #require(try chain.storage.block(at: 151))
            #expect(try archiver.nextSegment(of: chain.storage, archivedHeight: 150, now: block.header.timestamp + 9_999) == nil)
            #expect(try archiver.nextSegment(of: chain.storage, archivedHeight: 150, now: block.header.timestamp + 10_000)?.heights
                    == 151...200)
            #expect(throws: ChainArchiveError.missingBlocks(from: 201, to: 300)) {
                try ChainArchiver.segment(101...300, from: chain.storage)
            }
        }

        @Test func segmentFilesCheckTheirOwnStructure() throws {
            let sealed = try ChainArchiver.segment(1...10, from: chain.storage)
            let decoded = try ChainSegmentFile.decode(sealed.bytes, expectedName: sealed.name, chainId: chain.genesis.chainId)
            #expect(decoded.name == sealed.name && decoded.blocks.map(\.canonicalBytes) == chain.storedBlocks(1...10))
            let chainId = chain.genesis.chainId
            #expect(throws: ChainArchiveError.self) {
                try ChainSegmentFile.decode(Array(sealed.bytes.dropLast()), expectedName: sealed.name, chainId: chainId)
            }
            #expect(throws: ChainArchiveError.self) {
                try ChainSegmentFile.decode(sealed.bytes + [0], expectedName: sealed.name, chainId: chainId)
            }
            var noMagic = sealed.bytes
            noMagic[0] = UInt8(ascii: "X")
            #expect(throws: ChainArchiveError.self) {
                try ChainSegmentFile.decode(noMagic, expectedName: sealed.name, chainId: chainId)
            }
            let longer = ChainArchiveLayout.SegmentName(first: 1, last: 11, lastBlockId: sealed.name.lastBlockId)
            let error = #expect(throws: ChainArchiveError.self) {
                try ChainSegmentFile.decode(sealed.bytes, expectedName: longer, chainId: chainId)
            }
            #expect(error?.code == "archive.segment-mismatch")
            // Blocks 2...10 named as if they started at 1 break the link to the chain id.
            let shifted = ChainSegmentFile.encode(chainId: chainId, firstHeight: 1, blocks: chain.storedBlocks(2...10))
            let shiftedName = ChainArchiveLayout.SegmentName(first: 1, last: 9, lastBlockId: sealed.name.lastBlockId)
            #expect(throws: ChainArchiveError.brokenLink(height: 1, reason: "the block in its place says height 2")) {
                try ChainSegmentFile.decode(shifted, expectedName: shiftedName, chainId: chainId)
            }
        }

        @Test func checkpointArchivesHoldTheNodesFilesExactly() throws {
            let archive = try #require(try ChainCheckpointArchive.newest(in: chain.storage))
            #expect(archive.block == chain.head)
            #expect(archive.checkpointFile == (try chain.storage.storage.read("checkpoint-000000000200.bin")))
            #expect(archive.journal == (try chain.storage.storage.read("journal-000000000200.log") ?? []))
            let chainId = chain.genesis.chainId
            let decoded = try ChainCheckpointArchive.decode(archive.encoded, expectedName: archive.name, chainId: chainId)
            #expect(decoded == archive)

            var damaged = archive.encoded
            damaged[damaged.count / 2] ^= 0x10
            #expect(throws: ChainArchiveError.self) {
                try ChainCheckpointArchive.decode(damaged, expectedName: archive.name, chainId: chainId)
            }
            let elsewhere = ChainArchiveLayout.PointName(kind: .checkpoint, height: 150, blockId: archive.block.id)
            #expect(throws: ChainArchiveError.self) {
                try ChainCheckpointArchive.decode(archive.encoded, expectedName: elsewhere, chainId: chainId)
            }
            let foreign = Hash.sha256(utf8: "another chain")
            #expect(throws: ChainArchiveError.wrongChain(expected: foreign, found: chainId)) {
                try ChainCheckpointArchive.decode(archive.encoded, expectedName: archive.name, chainId: foreign)
            }
        }
    }
}
