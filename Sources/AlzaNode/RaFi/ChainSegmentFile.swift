import AlzaConsensus
import AlzaCore
import AlzaLedger

/// One archived segment of the block log (DESIGN.md §7):
///
/// ```
/// "ALZASEG1" | chain id (32 bytes) | first height (u64 LE) | block count (LEB128)
/// | per block: length (LEB128) | the block's stored bytes (ChainStorage.blockBytes: signed header + body frame)
/// ```
///
/// The bytes are those the node's block log holds, so a rebuilt log is byte-for-byte the source's. Decoding
/// checks everything the file can prove by itself — structure, chain, heights, hash links, each body against its
/// header's transaction root, and that the last block's id is the one in the file name — so a damaged or
/// substituted replica is refused whoever served it. Producers, signatures and state are checked when the
/// blocks are applied (`ChainRebuilder`), which needs the state before them.
public struct ChainSegmentFile: Sendable {
    public static let magic = Array("ALZASEG1".utf8)
    /// More blocks than this in one file is corruption (segments hold `ChainArchiver.blocksPerSegment`).
    public static let maximumBlocks = 1_000_000
    /// A stored block is its header (a few hundred bytes) and a body frame of at most `Block.maximumBodyBytes`.
    static let maximumBlockBytes = Block.maximumBodyBytes + 4_096

    public let chainId: Hash
    public let firstHeight: UInt64
    public let blocks: [Block]

    public var lastHeight: UInt64 { firstHeight + UInt64(blocks.count) - 1 }

    /// The content-addressed name this segment's content has.
    public var name: ChainArchiveLayout.SegmentName {
        ChainArchiveLayout.SegmentName(first: firstHeight, last: lastHeight, lastBlockId: blocks[blocks.count - 1].id)
    }

    /// The file bytes of blocks `firstHeight...` given as their stored bytes, in height order.
    public static func encode(chainId: Hash, firstHeight: UInt64, blocks: [[UInt8]]) -> [UInt8] {
        var encoder = CanonicalEncoder(reservingCapacity: blocks.reduce(64) { $0 + $1.count + 5 })
        encoder.encodeRaw(magic)
        encoder.encode(chainId)
        encoder.encode(firstHeight)
        encoder.encodeLength(blocks.count)
        for block in blocks { encoder.encodeBytes(block) }
        return encoder.bytes
    }

    /// Decodes and checks a segment fetched under `expectedName`. `previousId` is the id of the block before
    /// `expectedName.first` when the caller knows it (the chain id before block 1 is always known).
    public static func decode(_ bytes: [UInt8], expectedName: ChainArchiveLayout.SegmentName, chainId: Hash,
                              previousId: Hash? = nil) throws(ChainArchiveError) -> ChainSegmentFile {
        var decoder = CanonicalDecoder(bytes)
        let (fileChain, first, count) = try readHeader(&decoder, name: expectedName)
        guard fileChain == chainId else { throw .wrongChain(expected: chainId, found: fileChain) }
        guard first == expectedName.first, UInt64(count) == expectedName.count else {
            throw .segmentMismatch(name: expectedName.fileName,
                                   reason: "holds \(count) blocks from height \(first), "
                                       + "the name says \(expectedName.first)-\(expectedName.last)")
        }
        var blocks: [Block] = []
        blocks.reserveCapacity(count)
        var previous = first == 1 ? chainId : previousId
        for index in 0..<count {
            let height = first + UInt64(index)
            let stored: [UInt8]
            do {
                stored = try decoder.decodeBytes(limit: maximumBlockBytes)
            } catch {
                throw .undecodable("\(expectedName.fileName): block \(height): \(error.description)")
            }
            let block = try checkedBlock(stored, height: height, previous: previous)
            blocks.append(block)
            previous = block.id
        }
        guard decoder.isAtEnd else {
            throw .undecodable("\(expectedName.fileName): \(decoder.remaining) bytes after the last block")
        }
        guard blocks[count - 1].id == expectedName.lastBlockId else {
            throw .segmentMismatch(name: expectedName.fileName,
                                   reason: "its last block is \(blocks[count - 1].id.hex), "
                                       + "the name says \(expectedName.lastBlockId.hex)")
        }
        return ChainSegmentFile(chainId: chainId, firstHeight: first, blocks: blocks)
    }

    private static func readHeader(_ decoder: inout CanonicalDecoder,
                                   name: ChainArchiveLayout.SegmentName) throws(ChainArchiveError) -> (Hash, UInt64, Int) {
        guard let head = try? decoder.decodeRaw(count: magic.count), Array(head) == magic else {
            throw .undecodable("\(name.fileName) is not a chain segment (no ALZASEG1 magic)")
        }
        let chain: Hash, first: UInt64, count: Int
        do {
            chain = try decoder.decode(Hash.self)
            first = try decoder.decode(UInt64.self)
            count = try decoder.decodeLength(limit: maximumBlocks)
        } catch {
            throw .undecodable("\(name.fileName): \(error.description)")
        }
        guard count >= 1, first >= 1 else { throw .undecodable("\(name.fileName) holds \(count) blocks from height \(first)") }
        return (chain, first, count)
    }

    /// One stored block, checked against its position: decodable, at `height`, after `previous` (when known),
    /// and carrying the transactions its header commits to.
    private static func checkedBlock(_ stored: [UInt8], height: UInt64, previous: Hash?) throws(ChainArchiveError) -> Block {
        let block: Block
        do {
            block = try Block(canonicalBytes: stored)
        } catch {
            throw .forgedBlock(height: height, reason: .ledger(.malformedBlock(error.description)))
        }
        guard block.height == height else {
            throw .brokenLink(height: height, reason: "the block in its place says height \(block.height)")
        }
        if let previous, block.header.previous != previous {
            throw .brokenLink(height: height,
                              reason: "its previous is \(block.header.previous.short), the block before is \(previous.short)")
        }
        let root = Block.transactionRoot(block.transactions)
        guard root == block.header.transactionRoot else {
            throw .forgedBlock(height: height,
                               reason: .ledger(.transactionRootMismatch(expected: block.header.transactionRoot, actual: root)))
        }
        return block
    }
}
