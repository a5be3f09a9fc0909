import AlzaCore
import AlzaLedger

/// One archived state checkpoint "with its journal" (DESIGN.md §7): the exact bytes of ChainStorage's newest
/// `checkpoint-<h>.bin` and of `journal-<h>.log` (the state changes of the blocks committed since), so a node can
/// put both back as they were and skip re-executing the chain up to there.
///
/// ```
/// "ALZACKA1" | chain id (32) | block reference (height u64, slot u64, id 32) | checkpoint file (LEB128 length,
/// bytes) | journal file (LEB128 length, bytes) | CRC-32C (u32 LE) of everything before it
/// ```
///
/// The name carries the checkpoint's block id, but a block id does not cover the state; the CRC catches a
/// damaged replica, and the state root in that block's header is what a restored state must match.
public struct ChainCheckpointArchive: Hashable, Sendable {
    public static let magic = Array("ALZACKA1".utf8)
    /// A checkpoint holds the whole state; this bounds a corrupt length, not a real chain's state.
    static let maximumFileBytes = 4 << 30

    public let chainId: Hash
    /// The block the checkpoint is the state after.
    public let block: BlockReference
    /// The exact bytes of ChainStorage's `checkpoint-<height>.bin`.
    public let checkpointFile: [UInt8]
    /// The exact bytes of ChainStorage's `journal-<height>.log` when archived (empty when no block followed yet).
    public let journal: [UInt8]

    public init(chainId: Hash, block: BlockReference, checkpointFile: [UInt8], journal: [UInt8]) {
        self.chainId = chainId
        self.block = block
        self.checkpointFile = checkpointFile
        self.journal = journal
    }

    public var name: ChainArchiveLayout.PointName {
        ChainArchiveLayout.PointName(kind: .checkpoint, height: block.height, blockId: block.id)
    }

    public var encoded: [UInt8] {
        var encoder = CanonicalEncoder(reservingCapacity: checkpointFile.count + journal.count + 128)
        encoder.encodeRaw(Self.magic)
        encoder.encode(chainId)
        encoder.encode(block)
        encoder.encodeBytes(checkpointFile)
        encoder.encodeBytes(journal)
        encoder.encode(CRC32C.checksum(encoder.bytes))
        return encoder.bytes
    }

    /// Decodes an archived checkpoint fetched under `expectedName`, checking its checksum, chain and block.
    public static func decode(_ bytes: [UInt8], expectedName: ChainArchiveLayout.PointName,
                              chainId: Hash) throws(ChainArchiveError) -> ChainCheckpointArchive {
        guard bytes.count > magic.count + 4, Array(bytes.prefix(magic.count)) == magic else {
            throw .undecodable("\(expectedName.fileName) is not an archived checkpoint (no ALZACKA1 magic)")
        }
        let body = Array(bytes.dropLast(4))
        let stored = bytes.suffix(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard CRC32C.checksum(body) == stored else { throw .undecodable("\(expectedName.fileName) fails its checksum") }
        var decoder = CanonicalDecoder(body)
        let archive: ChainCheckpointArchive
        do {
            _ = try decoder.decodeRaw(count: magic.count)
            archive = ChainCheckpointArchive(chainId: try decoder.decode(), block: try decoder.decode(),
                                             checkpointFile: try decoder.decodeBytes(limit: maximumFileBytes),
                                             journal: try decoder.decodeBytes(limit: maximumFileBytes))
            try decoder.finish()
        } catch {
            throw .undecodable("\(expectedName.fileName): \(error.description)")
        }
        guard archive.chainId == chainId else { throw .wrongChain(expected: chainId, found: archive.chainId) }
        guard archive.block.height == expectedName.height, archive.block.id == expectedName.blockId else {
            throw .segmentMismatch(name: expectedName.fileName, reason: "it holds the checkpoint of \(archive.block)")
        }
        return archive
    }

    /// The newest checkpoint of `storage` (opened) with its journal, or nil when it has written none yet. Read it
    /// from the shell that commits to `storage` (ChainStorage is not thread-safe), so the pair is consistent.
    public static func newest(in storage: ChainStorage) throws(ChainArchiveError) -> ChainCheckpointArchive? {
        let files: [String]
        do {
            files = try storage.storage.list()
        } catch {
            throw .storage(error)
        }
        // ChainStorage's own names: checkpoint-<12 digits>.bin beside journal-<12 digits>.log.
        let heights = files.compactMap { name -> UInt64? in
            guard name.hasPrefix("checkpoint-"), name.hasSuffix(".bin") else { return nil }
            return ChainArchiveLayout.height(String(name.dropFirst("checkpoint-".count).dropLast(".bin".count)))
        }
        guard let height = heights.filter({ $0 >= 1 && $0 <= storage.height }).max(),
              let reference = storage.reference(at: height)
        else { return nil }
        let padded = ChainArchiveLayout.padded(height)
        do {
            guard let checkpoint = try storage.storage.read("checkpoint-\(padded).bin") else { return nil }
            let journal = try storage.storage.read("journal-\(padded).log") ?? []
            return ChainCheckpointArchive(chainId: storage.genesis.chainId, block: reference,
                                          checkpointFile: checkpoint, journal: journal)
        } catch {
            throw .storage(error)
        }
    }
}
