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
}
