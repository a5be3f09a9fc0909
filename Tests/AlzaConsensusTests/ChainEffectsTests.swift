import AlzaConsensus
import AlzaCore
import AlzaLedger
import Foundation
import Synchronization
import Testing

/// The interpreter of consensus effects that a node and the simulator share, against a recording environment:
/// a chain shell's logic, tested without sockets or timers.
@Suite struct ChainEffectsTests {
    struct Recorder: ChainEnvironment {
        let chainStorage: ChainStorage
        var published: [(message: ConsensusMessage, relay: Bool)] = []
        var sent: [(message: ConsensusMessage, peer: PeerID)] = []
        var wakes: [UInt64] = []
        var halts: [String] = []
        var committedHeights: [UInt64] = []
        var observed = 0
        var warnings: [String] = []

        mutating func publish(_ message: ConsensusMessage, relay: Bool) { published.append((message, relay)) }
        mutating func send(_ message: ConsensusMessage, to peer: PeerID) { sent.append((message, peer)) }
        mutating func wake(at time: UInt64) { wakes.append(time) }
        mutating func halt(_ reason: String) { halts.append(reason) }
        mutating func committed(_ blocks: [CommittedBlock]) { committedHeights += blocks.map(\.block.height) }
        mutating func observe(_ effect: ConsensusEffect) { observed += 1 }
        mutating func warn(_ message: String) { warnings.append(message) }
        var batches: [[UInt8]] = []
        var statuses = 0
        var relayWakes: [UInt64] = []
        /// The relay's requirements as called, in order.
        var relayLog: [String] = []
        mutating func publishTransactions(_ payload: [UInt8]) {
            batches.append(payload)
            relayLog.append("batch")
        }
        mutating func announceStatus() {
            statuses += 1
            relayLog.append("status")
        }
        mutating func wakeRelay(at time: UInt64) {
            relayWakes.append(time)
            relayLog.append("wake \(time)")
        }
    }

    /// A file-backed disk whose writes fail once `failWrites` is set (a full or broken disk).
    final class Disk: DurableStorage {
        let files: FileStorage
        let failing = Atomic<Bool>(false)

        init() throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alza-effects-\(UUID().uuidString)").path
            files = try FileStorage(directory: directory)
        }

        private func check(_ name: String) throws(StorageError) {
            if failing.load(ordering: .relaxed) { throw .io(file: name, operation: "write", reason: "No space left on device") }
        }

        func list() throws(StorageError) -> [String] { try files.list() }
        func read(_ name: String) throws(StorageError) -> [UInt8]? { try files.read(name) }
        func read(_ name: String, offset: Int, count: Int) throws(StorageError) -> [UInt8] {
            try files.read(name, offset: offset, count: count)
        }
        func size(_ name: String) throws(StorageError) -> Int? { try files.size(name) }
        func append(_ name: String, _ bytes: [UInt8]) throws(StorageError) { try check(name); try files.append(name, bytes) }
        func sync(_ name: String) throws(StorageError) { try check(name); try files.sync(name) }
        func truncate(_ name: String, to size: Int) throws(StorageError) { try check(name); try files.truncate(name, to: size) }
        func writeAtomically(_ name: String, _ bytes: [UInt8]) throws(StorageError) { try check(name); try files.writeAtomically(name, bytes) }
        func remove(_ name: String) throws(StorageError) { try check(name); try files.remove(name) }
    }

    /// A single producer's core on `disk`, and its chain storage.
    func producer(_ fixture: ChainFixture, on disk: Disk) throws -> (ConsensusCore, ChainStorage) {
        let storage = ChainStorage(storage: disk, genesis: fixture.genesis)
        let recovered = try storage.open()
        let core = ConsensusCore.start(recovered: recovered, configuration: ConsensusConfiguration(producer: fixture.identity(0)),
                                       verifier: fixture.verifier, watermark: nil, now: ChainFixture.genesisTime).0
        return (core, storage)
    }

    @Test func aProducedBlockIsWatermarkedCommittedAndPublishedInOrder() throws {
        let fixture = ChainFixture(producers: 1, users: 2)
        var (core, storage) = try producer(fixture, on: try Disk())
        var environment = Recorder(chainStorage: storage)
        #expect(ChainEffects.perform(core.handle(.tick, now: fixture.slotStart(1)), in: &environment))
        #expect(try storage.readWatermark() == 1)
        #expect(environment.published.count == 1 && environment.published.first?.relay == false)
        guard case .block(let block)? = environment.published.first?.message else {
            Issue.record("no block published: \(environment.published)")
            return
        }
        #expect(block.height == 1)
        #expect(environment.committedHeights == [1], "one producer finalizes at once")
        #expect(try storage.block(at: 1)?.id == block.id)
        #expect(environment.wakes.last == fixture.slotStart(2), "the next slot")
        #expect(environment.halts.isEmpty)
    }

    /// The watermark guards the block: when it cannot be written the node halts and the block never leaves.
    @Test func aWatermarkThatCannotBeWrittenHaltsTheNodeBeforeTheBlockLeaves() throws {
        let fixture = ChainFixture(producers: 1, users: 2)
        let disk = try Disk()
        var (core, storage) = try producer(fixture, on: disk)
        disk.failing.store(true, ordering: .relaxed)
        var environment = Recorder(chainStorage: storage)
        #expect(!ChainEffects.perform(core.handle(.tick, now: fixture.slotStart(1)), in: &environment))
        #expect(environment.halts == ["cannot persist the double-sign watermark for slot 1: write watermark: No space left on device"])
        #expect(environment.published.isEmpty)
        #expect(environment.committedHeights.isEmpty)
    }

    /// Served from the log while it has the blocks; a gap ends the response, which then asks for more.
    @Test func aSyncResponseStopsAtTheFirstBlockTheLogLacksAndSaysMore() throws {
        let fixture = ChainFixture(producers: 1, users: 2)
        var (core, storage) = try producer(fixture, on: try Disk())
        var environment = Recorder(chainStorage: storage)
        for slot in UInt64(1)...2 { ChainEffects.perform(core.handle(.tick, now: fixture.slotStart(slot)), in: &environment) }
        let full = ChainEffects.syncResponse(from: storage, heights: 1...2, reversible: [], more: false)
        #expect(full.blocks.map(\.height) == [1, 2] && !full.more)
        let gap = ChainEffects.syncResponse(from: storage, heights: 1...5, reversible: core.reversibleBlocks, more: false)
        #expect(gap.blocks.map(\.height) == [1, 2] && gap.more)
        let peer = PeerID("follower")
        ChainEffects.perform([.serveBlocks(to: peer, committedHeights: 2...2, reversible: [], more: true)], in: &environment)
        guard case .blockResponse(let response)? = environment.sent.last?.message else {
            Issue.record("no response sent: \(environment.sent)")
            return
        }
        #expect(environment.sent.last?.peer == peer)
        #expect(response.blocks.map(\.height) == [2] && response.more, "the core's `more` is kept")
    }

    // MARK: The relay's interpreter (received batches, relay effects)

    /// All of a batch accepted: relayed once, as it came (one gossip id network-wide), no per-transaction relay.
    @Test func aBatchAllAcceptedIsRelayedAsItCame() throws {
        let fixture = ChainFixture(producers: 1, users: 3)
        var (core, storage) = try producer(fixture, on: try Disk())
        var environment = Recorder(chainStorage: storage)
        let batch = TransactionBatch([fixture.transfer(from: 0, to: 1, amount: 5, nonce: 0),
                                      fixture.transfer(from: 1, to: 2, amount: 5, nonce: 0)])
        let payload = batch.canonicalBytes
        let accepted = ChainEffects.receive(batch, payload: payload, in: &environment,
                                            feed: { core.handle($0, now: fixture.slotStart(1) - 100) }, from: PeerID("peer"))
        #expect(accepted == 2)
        #expect(environment.batches == [payload])
        #expect(environment.published.isEmpty, "no transaction is relayed on its own")
        #expect(core.mempool.count == 2)
    }

    /// One transaction known already: only the accepted part is relayed, as a new batch.
    @Test func aBatchPartlyKnownRelaysOnlyItsAcceptedPart() throws {
        let fixture = ChainFixture(producers: 1, users: 3)
        var (core, storage) = try producer(fixture, on: try Disk())
        var environment = Recorder(chainStorage: storage)
        let known = fixture.transfer(from: 0, to: 1, amount: 5, nonce: 0)
        let fresh = fixture.transfer(from: 1, to: 2, amount: 5, nonce: 0)
        let now = fixture.slotStart(1) - 100
        _ = core.handle(.submitted(known), now: now)
        let batch = TransactionBatch([known, fresh])
        let accepted = ChainEffects.receive(batch, payload: batch.canonicalBytes, in: &environment,
                                            feed: { core.handle($0, now: now) }, from: PeerID("peer"))
        #expect(accepted == 1)
        #expect(environment.batches == [TransactionBatch([fresh]).canonicalBytes])
    }

    /// A halted chain (`feed` answers nil) takes nothing from the batch and relays nothing; an empty batch neither.
    @Test func aHaltedChainOrAnEmptyBatchRelaysNothing() throws {
        let fixture = ChainFixture(producers: 1, users: 3)
        let (_, storage) = try producer(fixture, on: try Disk())
        var environment = Recorder(chainStorage: storage)
        let batch = TransactionBatch([fixture.transfer(from: 0, to: 1, amount: 5, nonce: 0)])
        #expect(ChainEffects.receive(batch, payload: batch.canonicalBytes, in: &environment, feed: { _ in nil }, from: PeerID("p")) == 0)
        let empty = TransactionBatch([])
        #expect(ChainEffects.receive(empty, payload: empty.canonicalBytes, in: &environment, feed: { _ in [] }, from: PeerID("p")) == 0)
        #expect(environment.batches.isEmpty)
    }

    /// The relay's effects reach the environment in order: the batch, the status, the wake-up.
    @Test func relayEffectsAreCarriedOutInOrder() throws {
        let fixture = ChainFixture(producers: 1, users: 2)
        let (_, storage) = try producer(fixture, on: try Disk())
        var environment = Recorder(chainStorage: storage)
        var relay = ChainRelayCore(now: 1_000)
        let transfer = fixture.transfer(from: 0, to: 1, amount: 5, nonce: 0)
        ChainEffects.perform(relay.queue(transfer, now: 1_000), in: &environment)
        #expect(environment.relayWakes == [1_020], "the 20 ms batching window")
        ChainEffects.perform(relay.tick(now: 3_000), in: &environment)
        #expect(environment.batches == [TransactionBatch([transfer]).canonicalBytes])
        #expect(environment.statuses == 1)
        #expect(environment.relayWakes == [1_020, 5_000], "the next status, 2 s on")
        #expect(environment.relayLog == ["wake 1020", "batch", "status", "wake 5000"])
    }
}
