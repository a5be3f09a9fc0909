import AlzaConsensus
import AlzaCore
import AlzaLedger
import AlzaNode
import Foundation
import Synchronization

/// A real chain for the archive tests: four producers taking their scheduled slots, every block signed and
/// applied by `BlockProcessor` (coinbases at round boundaries included) with user transfers in it, committed to a
/// `ChainStorage` the way a node commits (checkpoint whenever due). Built once and shared; unchecked Sendable
/// because tests only read it after `init` (ChainStorage is not thread-safe for writes).
final class ArchiveChain: @unchecked Sendable {
    static let shared = ArchiveChain(label: "archive", blocks: 200)

    let genesis: Genesis
    let producerKeys: [SigningKey]
    let storage: ChainStorage
    let head: BlockReference
    let headStateRoot: Hash

    static let genesisTime: UInt64 = 1_767_225_600_000
    static let checkpointInterval: UInt64 = 50

    init(label: String, blocks: Int) {
        let producerKeys = (0..<4).map { SigningKey(deterministicLabel: "\(label)-producer-\($0)") }
        let userKeys = (0..<4).map { SigningKey(deterministicLabel: "\(label)-user-\($0)") }
        self.producerKeys = producerKeys
        var parameters = ChainParameters()
        parameters.producerCount = producerKeys.count
        parameters.slotMilliseconds = 1_000
        parameters.checkpointIntervalBlocks = Self.checkpointInterval
        var accounts: [GenesisFile.Account] = producerKeys.map { key in
            GenesisFile.Account(publicKey: key.publicKey.hex, balance: 1_000 * Amounts.unit, stake: 100 * Amounts.unit,
                                vote: Address(key.publicKey).description)
        }
        accounts += userKeys.map { GenesisFile.Account(publicKey: $0.publicKey.hex, balance: 1_000 * Amounts.unit) }
        let producers = producerKeys.enumerated().map { index, key in
            GenesisFile.Producer(account: Address(key.publicKey).description, signingKey: key.publicKey.hex,
                                 url: "test://\(index)", timeZone: 0)
        }
        genesis = try! Genesis(GenesisFile(chainName: label, genesisTime: Self.genesisTime, parameters: parameters,
                                           accounts: accounts, producers: producers))
        storage = ChainStorage(storage: MemoryStorage(), genesis: genesis)
        _ = try! storage.open()

        var state = try! genesis.initialState()
        var parent = BlockReference(height: 0, slot: 0, id: genesis.chainId)
        var nonces = [UInt64](repeating: 0, count: userKeys.count)
        let verifier = SignatureVerifier()
        for slot in 1...UInt64(blocks) {
            var transfers: [SignedTransaction] = []
            for offset in 0..<2 {
                let from = (Int(slot) + offset) % userKeys.count
                let to = (from + 1) % userKeys.count
                transfers.append(Self.transfer(from: userKeys[from], to: userKeys[to], amount: slot * 1_000 + UInt64(offset),
                                               nonce: nonces[from], chainId: genesis.chainId, fee: parameters.minimumFee))
                nonces[from] += 1
            }
            let scheduled = ProducerSchedule.producer(at: slot, after: state)!
            let key = producerKeys.first { Address($0.publicKey) == scheduled }!
            let produced = try! BlockProcessor.produce(on: &state, parent: parent, slot: slot, producerKey: key,
                                                       producer: scheduled, candidates: transfers, verifier: verifier)
            precondition(produced.applied.execution.rejected.isEmpty, "the fixture's transfers all apply")
            parent = BlockReference(produced.block.signedHeader)
            try! storage.commit([CommittedBlock(block: produced.block, redo: produced.applied.changes.redo)],
                                checkpoint: storage.checkpointDue(at: parent.height) ? state : nil)
        }
        head = parent
        headStateRoot = state.root()
    }

    static func transfer(from: SigningKey, to: SigningKey, amount: Amount, nonce: UInt64, chainId: Hash,
                         fee: Amount) -> SignedTransaction {
        let header = TransactionHeader(chainId: chainId, expiration: genesisTime + 3_000_000, nonce: nonce, fee: fee)
        let message = Message(.transfer(inputs: [AmountEntry(Address(from.publicKey), amount)],
                                        outputs: [AmountEntry(Address(to.publicKey), amount)], memo: []),
                              authorizer: Address(from.publicKey))
        return SignedTransaction.sign(Transaction(header: header, messages: [message]), with: [from])
    }

    var layout: ChainArchiveLayout { ChainArchiveLayout(chainId: genesis.chainId) }

    /// The segment of `heights` as the archiver seals it.
    func segment(_ heights: ClosedRange<UInt64>) -> ChainRebuilder.SegmentSource {
        let sealed = try! ChainArchiver.segment(heights, from: storage)
        return ChainRebuilder.SegmentSource(name: sealed.name.fileName, bytes: sealed.bytes)
    }

    /// The stored bytes of blocks `heights`.
    func storedBlocks(_ heights: ClosedRange<UInt64>) -> [[UInt8]] {
        heights.map { try! storage.blockBytes(at: $0)! }
    }

    /// What an archiver with `archiver`'s policy seals, replaying the chain's commits one block at a time with the
    /// clock at each block's timestamp plus `lag` ms: full segments and the tails between them (the replaced
    /// tails kept, as a RaFi namespace may still hold them).
    func archive(with archiver: ChainArchiver, lag: UInt64) -> [ChainRebuilder.SegmentSource] {
        var sealed: [ChainRebuilder.SegmentSource] = []
        var archived: UInt64 = 0
        for committed in 1...head.height {
            let now = try! storage.block(at: committed)!.header.timestamp + lag
            while true {
                let oldest = try! storage.block(at: archived + 1)?.header.timestamp ?? now
                guard let plan = archiver.nextSegment(committedHeight: committed, archivedHeight: archived,
                                                      oldestUnarchivedTimestamp: oldest, now: now) else { break }
                sealed.append(segment(plan.heights))
                archived = plan.heights.upperBound
            }
        }
        return sealed
    }
}

/// A `DurableStorage` in memory (every write durable at once): the source chain's folder.
final class MemoryStorage: DurableStorage {
    private let files = Mutex<[String: [UInt8]]>([:])

    func list() throws(StorageError) -> [String] { files.withLock { $0.keys.sorted() } }
    func read(_ name: String) throws(StorageError) -> [UInt8]? { files.withLock { $0[name] } }

    func read(_ name: String, offset: Int, count: Int) throws(StorageError) -> [UInt8] {
        guard let file = files.withLock({ $0[name] }), offset + count <= file.count else {
            throw .io(file: name, operation: "read", reason: "file is shorter than expected")
        }
        return Array(file[offset..<(offset + count)])
    }

    func size(_ name: String) throws(StorageError) -> Int? { files.withLock { $0[name]?.count } }
    func append(_ name: String, _ bytes: [UInt8]) throws(StorageError) { files.withLock { $0[name, default: []] += bytes } }
    func sync(_ name: String) throws(StorageError) {}
    func truncate(_ name: String, to size: Int) throws(StorageError) {
        files.withLock { $0[name] = Array(($0[name] ?? []).prefix(size)) }
    }
    func writeAtomically(_ name: String, _ bytes: [UInt8]) throws(StorageError) { files.withLock { $0[name] = bytes } }
    func remove(_ name: String) throws(StorageError) { _ = files.withLock { $0.removeValue(forKey: name) } }
}

/// A temporary folder for a rebuilt chain, removed when released.
final class ScratchFolder {
    let path = NSTemporaryDirectory() + "alza-archive-tests-\(UUID().uuidString.prefix(8))"

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
