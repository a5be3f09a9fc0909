import AlzaConsensus
import AlzaCore
import AlzaLedger
import AlzaNode
import Foundation
import Testing

/// The chain's copy in RaFi (DESIGN.md §7): segments and checkpoints sealed from a node's `ChainStorage`, and the
/// offline rebuild `alza recover` runs, which must restart the chain at the exact head and state root, and refuse
/// every gap, damaged replica, foreign file and block consensus refuses, naming it.
@Suite struct ChainArchiveTests {
    let chain = ArchiveChain.shared

    /// Full segments of 64 blocks and the tail 193-200.
    static let ranges: [ClosedRange<UInt64>] = [1...64, 65...128, 129...192, 193...200]
    var segments: [ChainRebuilder.SegmentSource] { Self.ranges.map(chain.segment) }

    func rebuild(_ segments: [ChainRebuilder.SegmentSource], into folder: ScratchFolder,
                 progress: (UInt64, UInt64) -> Void = { _, _ in }) throws -> ChainRebuilder.Result {
        let rebuilder = try ChainRebuilder(genesisBytes: chain.genesis.bytes)
        return try rebuilder.rebuild(segments: segments, into: try FileStorage(directory: folder.path), progress: progress)
    }

    /// `segments` with the one sealing `heights` replaced by a segment of `blocks` (stored bytes), named after them.
    func replacing(_ heights: ClosedRange<UInt64>, with blocks: [[UInt8]]) throws -> [ChainRebuilder.SegmentSource] {
        let last = try Block(canonicalBytes: try #require(blocks.last))
        let name = ChainArchiveLayout.SegmentName(first: heights.lowerBound, last: heights.upperBound, lastBlockId: last.id)
        let forged = ChainRebuilder.SegmentSource(
            name: name.fileName, bytes: ChainSegmentFile.encode(chainId: chain.genesis.chainId, firstHeight: heights.lowerBound,
                                                                blocks: blocks))
        return Self.ranges.map { $0 == heights ? forged : chain.segment($0) }
    }

    /// Block `height` re-signed by `key` after `change` to its header.
    func resigned(_ height: UInt64, by key: SigningKey, _ change: (inout BlockHeader) -> Void = { _ in }) throws -> [UInt8] {
        let block = try #require(try chain.storage.block(at: height))
        var header = block.header
        change(&header)
        let signed = SignedBlockHeader.sign(header, with: key, chainId: chain.genesis.chainId)
        return Block(signedHeader: signed, transactions: block.transactions, bodyFrame: block.bodyFrame).canonicalBytes
    }

    func producerKey(of height: UInt64) throws -> SigningKey {
        let producer = try #require(try chain.storage.block(at: height)).header.producer
        return try #require(chain.producerKeys.first { Address($0.publicKey) == producer })
    }

    // MARK: Rebuilding

    @Test func rebuiltFolderOpensAtTheSourceHeadByteForByte() throws {
        let folder = ScratchFolder()
        var reports: [UInt64] = []
        let result = try rebuild(segments, into: folder) { height, total in
            #expect(total == 200)
            reports.append(height)
        }
        #expect(result.headHeight == 200 && result.headId == chain.head.id && result.stateRoot == chain.headStateRoot)
        #expect(result.blocksApplied == 200 && result.resumedFrom == 0)
        #expect(reports == reports.sorted() && reports.last == 200)

        // What `alza node` does with the folder: ChainStorage.open, then the consensus core starts on it.
        let reopened = ChainStorage(storage: try FileStorage(directory: folder.path), genesis: chain.genesis)
        let recovered = try reopened.open()
        #expect(recovered.log.isEmpty && recovered.blocksToReplay.isEmpty)
        #expect(recovered.stateBlock == chain.head && reopened.lastReference == chain.head)
        var state = recovered.state
        #expect(state.root() == chain.headStateRoot)
        let (core, _) = ConsensusCore.start(recovered: recovered, configuration: ConsensusConfiguration(),
                                            verifier: SignatureVerifier(), watermark: nil, now: ArchiveChain.genesisTime)
        #expect(core.headReference == chain.head && core.lib == chain.head)

        // The same files as the node that committed the chain: block log, journals, checkpoints.
        let source = try chain.storage.storage.list()
        let rebuilt = try FileStorage(directory: folder.path)
        #expect(try rebuilt.list() == source)
        for name in source { #expect(try rebuilt.read(name) == chain.storage.storage.read(name), "\(name)") }
    }

    @Test func shuffledDuplicatedAndOverlappingSegmentsRebuildTheSameChain() throws {
        let sealed = chain.archive(with: ChainArchiver(blocksPerSegment: 64, maxTailAgeMs: 10_000), lag: 2_000)
        #expect(sealed.count > 4, "tails were sealed between the full segments")
        var random = SeededRandom(label: "archive-shuffle")
        let mixed = (sealed + sealed.prefix(5) + segments).shuffled(using: &random)
        let result = try rebuild(mixed, into: ScratchFolder())
        #expect(result.headHeight == 200 && result.headId == chain.head.id && result.stateRoot == chain.headStateRoot)
    }

    @Test func aDamagedReplicaIsSkippedWhenAGoodOneHasTheSameName() throws {
        var blocks = chain.storedBlocks(129...192)
        blocks[20][blocks[20].count - 1] ^= 0x01
        let damaged = ChainRebuilder.SegmentSource(
            name: segments[2].name, bytes: ChainSegmentFile.encode(chainId: chain.genesis.chainId, firstHeight: 129, blocks: blocks))
        let result = try rebuild([damaged] + segments, into: ScratchFolder())
        #expect(result.headId == chain.head.id)
    }

    @Test func anInterruptedRebuildContinues() throws {
        let folder = ScratchFolder()
        let first = try rebuild(Array(segments.prefix(2)), into: folder)
        #expect(first.headHeight == 128 && first.resumedFrom == 0)
        let second = try rebuild(segments, into: folder)
        #expect(second.resumedFrom == 128 && second.blocksApplied == 72)
        #expect(second.headId == chain.head.id && second.stateRoot == chain.headStateRoot)
    }

    // MARK: Refusals

    @Test func aMissingSegmentIsNamedByItsHeights() throws {
        var partial = segments
        partial.remove(at: 1)
        #expect(throws: ChainArchiveError.missingBlocks(from: 65, to: 128)) { try rebuild(partial, into: ScratchFolder()) }
        // A tail covering part of the gap narrows it; later segments are never ignored.
        let tail = chain.segment(65...70)
        #expect(throws: ChainArchiveError.missingBlocks(from: 71, to: 128)) {
            try rebuild(partial + [tail], into: ScratchFolder())
        }
        #expect(throws: ChainArchiveError.noSegments) { try rebuild([], into: ScratchFolder()) }
    }

    @Test func aFlippedBodyByteIsAnUndecodableBlock() throws {
        var blocks = chain.storedBlocks(129...192)
        blocks[21][blocks[21].count - 1] ^= 0x01
        let error = #expect(throws: ChainArchiveError.self) {
            try rebuild(try replacing(129...192, with: blocks), into: ScratchFolder())
        }
        guard case .forgedBlock(let height, let reason) = error else {
            Issue.record("expected a forged block, got \(String(describing: error))")
            return
        }
        #expect(height == 150 && reason.code == "block.malformed")
    }

    @Test func aBodyWithTransactionsLeftOutIsForged() throws {
        var blocks = chain.storedBlocks(129...192)
        let original = try Block(canonicalBytes: blocks[21])
        let trimmed = Array(original.transactions.dropLast())
        blocks[21] = Block(signedHeader: original.signedHeader, transactions: trimmed).canonicalBytes
        let expected = ChainArchiveError.forgedBlock(
            height: 150, reason: .ledger(.transactionRootMismatch(expected: original.header.transactionRoot,
                                                                  actual: Block.transactionRoot(trimmed))))
        #expect(throws: expected) { try rebuild(try replacing(129...192, with: blocks), into: ScratchFolder()) }
    }

    @Test func aBlockReSignedByAnotherKeyIsForged() throws {
        let intruder = SigningKey(deterministicLabel: "archive-intruder")
        var blocks = chain.storedBlocks(193...200)
        blocks[7] = try resigned(200, by: intruder)
        let producer = try #require(try chain.storage.block(at: 200)).header.producer
        #expect(throws: ChainArchiveError.forgedBlock(height: 200, reason: .badBlockSignature(producer: producer))) {
            try rebuild(try replacing(193...200, with: blocks), into: ScratchFolder())
        }
    }

    @Test func aBlockOfTheWrongProducerOrStateIsForged() throws {
        let original = try #require(try chain.storage.block(at: 200))
        let other = try #require(chain.producerKeys.first { Address($0.publicKey) != original.header.producer })
        var blocks = chain.storedBlocks(193...200)
        blocks[7] = try resigned(200, by: other) { $0.producer = Address(other.publicKey) }
        #expect(throws: ChainArchiveError.forgedBlock(height: 200, reason: .wrongProducer(
            slot: 200, expected: original.header.producer, actual: Address(other.publicKey)))) {
            try rebuild(try replacing(193...200, with: blocks), into: ScratchFolder())
        }
        let bogusRoot = Hash.sha256(utf8: "not the state")
        blocks[7] = try resigned(200, by: try producerKey(of: 200)) { $0.stateRoot = bogusRoot }
        #expect(throws: ChainArchiveError.forgedBlock(height: 200, reason: .ledger(.stateRootMismatch(
            expected: bogusRoot, actual: chain.headStateRoot)))) {
            try rebuild(try replacing(193...200, with: blocks), into: ScratchFolder())
        }
    }

    @Test func aChangedBlockBreaksTheLinkOfTheNext() throws {
        var blocks = chain.storedBlocks(65...128)
        blocks[35] = try resigned(100, by: try producerKey(of: 100)) { $0.fieldRoot = Hash.sha256(utf8: "changed") }
        let error = #expect(throws: ChainArchiveError.self) {
            try rebuild(try replacing(65...128, with: blocks), into: ScratchFolder())
        }
        guard case .brokenLink(let height, _) = error else {
            Issue.record("expected a broken link, got \(String(describing: error))")
            return
        }
        #expect(height == 101)
    }

    @Test func aSegmentWhoseNameDoesNotMatchItsLastBlockIsRefused() throws {
        let block191 = try #require(chain.storage.reference(at: 191))
        let wrongName = ChainArchiveLayout.SegmentName(first: 129, last: 192, lastBlockId: block191.id)
        var mislabeled = segments
        mislabeled[2].name = wrongName.fileName
        let error = #expect(throws: ChainArchiveError.self) { try rebuild(mislabeled, into: ScratchFolder()) }
        guard case .segmentMismatch(let name, _) = error else {
            Issue.record("expected a segment mismatch, got \(String(describing: error))")
            return
        }
        #expect(name == wrongName.fileName)
    }

    @Test func aSegmentOfAnotherChainIsRefused() throws {
        let other = ArchiveChain(label: "other-chain", blocks: 3)
        let foreign = other.segment(1...3)
        #expect(throws: ChainArchiveError.wrongChain(expected: chain.genesis.chainId, found: other.genesis.chainId)) {
            try rebuild([foreign], into: ScratchFolder())
        }
        let foreignPath = other.layout.path(of: try ChainArchiveLayout.SegmentName(parsing: foreign.name))
        #expect(throws: ChainArchiveError.wrongChain(expected: chain.genesis.chainId, found: other.genesis.chainId)) {
            try rebuild([ChainRebuilder.SegmentSource(name: foreignPath, bytes: foreign.bytes)], into: ScratchFolder())
        }
    }
}
