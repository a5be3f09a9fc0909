import AlzaConsensus
import AlzaCore
import AlzaLedger

/// Rebuilds a node's chain folder from archived segments (DESIGN.md §7 recovery), offline: the caller fetched the
/// genesis file and the segment files from RaFi; this checks every one and re-applies the whole chain from
/// genesis, so the folder it writes holds only blocks the consensus rules accept, whoever served the files.
///
/// It writes the block log, journal and checkpoints exactly as a node's `ChainService` commits them, so
/// `alza node` opens the folder at the archive's head, with the same head id and state root. That folder is the
/// configuration's `dataDirectory`; a node also needs, beside it, what no archive holds: its configuration file,
/// its key file (`keyFile`, and a SuperNode's `producerKeyFile`), and the genesis file at the configuration's
/// `genesis` path — the exact bytes of `/chain/<id>/genesis.json`, since the chain id is their hash. The
/// double-sign watermark is not rebuilt: a producer restarts with none and signs only slots after the head.
///
/// Segments may come in any order, overlap (tails and the full segment replacing them) or repeat (replicas).
/// At each height it reads the segment reaching furthest and falls back to the others covering that height when
/// one is damaged, substituted or of another chain; a gap in the heights is refused before anything is applied,
/// as is a block consensus refuses. A folder left by an interrupted rebuild is continued, not restarted.
public struct ChainRebuilder: Sendable {
    public let genesis: Genesis
    public let layout: ChainArchiveLayout
    /// Blocks committed at once between checkpoints: bounds the redo entries held in memory.
    public var commitBatchBlocks = 256
    let verifier = SignatureVerifier()

    /// `genesisBytes`: the genesis file's exact bytes, whose hash is the chain id the segments must carry.
    public init(genesisBytes: [UInt8]) throws(ChainArchiveError) {
        do {
            genesis = try Genesis(bytes: genesisBytes)
        } catch {
            throw .invalidGenesis(error.description)
        }
        layout = ChainArchiveLayout(chainId: genesis.chainId)
    }

    /// Where the rebuilt chain ends.
    public struct Result: Hashable, Sendable {
        public var headHeight: UInt64
        public var headId: Hash
        /// The state root in the head block's header (the state the folder opens with).
        public var stateRoot: Hash
        /// Blocks applied from the archive by this run.
        public var blocksApplied: UInt64
        /// The height the folder already held when this run started (0 for a fresh folder).
        public var resumedFrom: UInt64
    }

    /// A fetched segment: its file name or full RaFi path, and its bytes.
    public struct SegmentSource: Sendable {
        public var name: String
        public var bytes: [UInt8]

        public init(name: String, bytes: [UInt8]) {
            self.name = name
            self.bytes = bytes
        }
    }

    /// Re-applies the archived chain into `storage` (a `FileStorage` on the node's data directory), calling
    /// `progress(height, total)` after each durable commit. `storage` is empty or holds what an earlier run for
    /// this chain left; it is opened as a node opens it (`ChainStorage.open` cuts what does not follow genesis).
    public func rebuild(segments sources: [SegmentSource], into storage: any DurableStorage,
                        progress: (_ height: UInt64, _ total: UInt64) -> Void = { _, _ in }) throws(ChainArchiveError) -> Result {
        var segments: [Candidate] = []
        for source in sources {
            segments.append(Candidate(name: try layout.segmentName(source.name), bytes: source.bytes))
        }
        guard let total = segments.map(\.name.last).max() else { throw .noSegments }
        var replay = try Replay(chain: ChainStorage(storage: storage, genesis: genesis), verifier: verifier,
                                batch: commitBatchBlocks)
        let resumedFrom = replay.head.height
        try Self.checkCoverage(segments.map(\.name), from: resumedFrom + 1, to: total)

        var height = resumedFrom + 1
        var rejected: [Int: ChainArchiveError] = [:]
        while height <= total {
            let segment = try select(from: segments, covering: height, after: replay.head.id, rejected: &rejected)
            for block in segment.blocks[Int(height - segment.firstHeight)...] {
                if try replay.apply(block) { progress(replay.head.height, total) }
            }
            if segment.lastHeight >= total { break }
            height = segment.lastHeight + 1
        }
        try replay.flush()
        progress(replay.head.height, total)
        return Result(headHeight: replay.head.height, headId: replay.head.id, stateRoot: try replay.headStateRoot(),
                      blocksApplied: replay.head.height - resumedFrom, resumedFrom: resumedFrom)
    }

    /// Refuses a gap: every height of `from...to` must lie in some segment. Named by the first missing range.
    public static func checkCoverage(_ names: [ChainArchiveLayout.SegmentName], from: UInt64,
                                     to: UInt64) throws(ChainArchiveError) {
        var height = max(from, 1)
        var reach = height - 1
        let ordered = names.sorted { $0.first < $1.first }
        var index = 0
        while height <= to {
            while index < ordered.count, ordered[index].first <= height {
                reach = max(reach, ordered[index].last)
                index += 1
            }
            guard reach >= height else {
                throw .missingBlocks(from: height, to: index < ordered.count ? ordered[index].first - 1 : to)
            }
            if reach >= to { return }
            height = reach + 1
        }
    }

    struct Candidate {
        var name: ChainArchiveLayout.SegmentName
        var bytes: [UInt8]
    }

    /// The decoded segment reaching furthest among those covering `height` whose block there follows `headId`;
    /// the first refusal when none does. Refusals are remembered, so a bad replica is decoded once.
    private func select(from segments: [Candidate], covering height: UInt64, after headId: Hash,
                        rejected: inout [Int: ChainArchiveError]) throws(ChainArchiveError) -> ChainSegmentFile {
        let covering = segments.indices.filter { segments[$0].name.heights.contains(height) }
            .sorted { segments[$0].name.last > segments[$1].name.last }
        for index in covering where rejected[index] == nil {
            do throws(ChainArchiveError) {
                let segment = try ChainSegmentFile.decode(segments[index].bytes, expectedName: segments[index].name,
                                                          chainId: genesis.chainId)
                let block = segment.blocks[Int(height - segment.firstHeight)]
                guard block.header.previous == headId else {
                    throw .brokenLink(height: height, reason: "\(segments[index].name.fileName) has a block whose previous "
                                      + "is \(block.header.previous.short), the chain so far ends at \(headId.short)")
                }
                return segment
            } catch {
                rejected[index] = error
            }
        }
        // Coverage was checked, so some segment covers `height`: all of them were refused.
        throw covering.compactMap { rejected[$0] }.first ?? .missingBlocks(from: height, to: height)
    }
}

/// The chain being re-applied: state and head in memory, blocks committed to the node's `ChainStorage` in
/// batches, with a checkpoint whenever one is due — the same calls `ChainEffects.perform` makes for a node.
private struct Replay {
    let chain: ChainStorage
    let verifier: SignatureVerifier
    let batch: Int
    private(set) var state: LedgerState
    private(set) var head: BlockReference
    private var pending: [CommittedBlock] = []

    /// Opens `chain`'s folder; what an interrupted run left is re-executed as a node would at start-up.
    init(chain: ChainStorage, verifier: SignatureVerifier, batch: Int) throws(ChainArchiveError) {
        self.chain = chain
        self.verifier = verifier
        self.batch = max(1, batch)
        let recovered: RecoveredChain
        do {
            recovered = try chain.open()
        } catch {
            throw .storage(error)
        }
        state = recovered.state
        head = recovered.stateBlock
        var repaired: [CommittedBlock] = []
        for block in recovered.blocksToReplay {
            repaired.append(try execute(block))
        }
        do {
            try chain.appendJournal(repaired)
        } catch {
            throw .storage(error)
        }
    }

    private mutating func execute(_ block: Block) throws(ChainArchiveError) -> CommittedBlock {
        do {
            let applied = try BlockProcessor.apply(block, parent: head, to: &state, verifier: verifier)
            head = BlockReference(block.signedHeader)
            return CommittedBlock(block: block, redo: applied.changes.redo)
        } catch {
            throw .forgedBlock(height: block.height, reason: error)
        }
    }

    /// Applies `block` on the head; returns whether this committed a batch.
    mutating func apply(_ block: Block) throws(ChainArchiveError) -> Bool {
        pending.append(try execute(block))
        guard pending.count >= batch || chain.checkpointDue(at: head.height) else { return false }
        try flush()
        return true
    }

    /// Commits the pending blocks, durably, with the state as a checkpoint when one is due.
    mutating func flush() throws(ChainArchiveError) {
        guard !pending.isEmpty else { return }
        do {
            try chain.commit(pending, checkpoint: chain.checkpointDue(at: head.height) ? state : nil)
        } catch {
            throw .storage(error)
        }
        pending = []
    }

    /// The state root in the head block's header (the genesis state's root before block 1).
    mutating func headStateRoot() throws(ChainArchiveError) -> Hash {
        guard head.height > 0 else { return state.root() }
        do {
            guard let block = try chain.block(at: head.height) else { return state.root() }
            return block.header.stateRoot
        } catch {
            throw .storage(error)
        }
    }
}
