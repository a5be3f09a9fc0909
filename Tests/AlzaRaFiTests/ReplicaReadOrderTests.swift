import AlzaCore
import AlzaRaFi
import XCTest

final class ReplicaReadOrderTests: XCTestCase {
    let local = DataPath.location("local", rack: "/r1", address: "10.0.0.1:9866")
    let sameRack = DataPath.location("near", rack: "/r1")
    let farFirst = DataPath.location("far-1", rack: "/r2")
    let farSecond = DataPath.location("far-2", rack: "/r3")
    let knownCorrupt = DataPath.location("bad", rack: "/r1")
    let block = ExtendedBlock(id: BlockID(12), generationStamp: 4, length: 4_096)

    func testNearestFirstAndKnownCorruptLast() {
        XCTAssertEqual(ReplicaReadOrder.distance(from: "10.0.0.1:9866", rack: "/r1", to: local), 0)
        XCTAssertEqual(ReplicaReadOrder.distance(from: "10.0.0.1:9866", rack: "/r1", to: sameRack), 2)
        XCTAssertEqual(ReplicaReadOrder.distance(from: "10.0.0.1:9866", rack: "/r1", to: farFirst), 4)
        let located = LocatedBlock(block: block, offset: 0, locations: [farFirst, knownCorrupt, sameRack, farSecond, local],
                                   corrupt: [knownCorrupt.storageID])
        XCTAssertEqual(ReplicaReadOrder.ordered(located, readerAddress: "10.0.0.1:9866", readerRack: "/r1"),
                       [local, sameRack, farFirst, farSecond, knownCorrupt])
        XCTAssertEqual(ReplicaReadOrder.ordered(located, readerAddress: "elsewhere", readerRack: "/r9"),
                       [farFirst, sameRack, farSecond, local, knownCorrupt], "all at distance 4: the NameNode's order")
    }

    func testTheReaderMovesOnAfterABadOrUnreachableReplicaAndRemembersTheCorruptOne() throws {
        let located = LocatedBlock(block: block, offset: 0, locations: [farFirst, sameRack, local])
        var reader = BlockReader(located, readerAddress: "10.0.0.1:9866", readerRack: "/r1")
        XCTAssertEqual(try reader.nextLocation(), local)
        reader.readFailed(.checksumMismatch(block: BlockID(12), chunk: 3))
        XCTAssertEqual(try reader.nextLocation(), sameRack)
        reader.readFailed(.dataNodeUnreachable(sameRack.storageID, reason: "connection refused"))
        XCTAssertEqual(try reader.nextLocation(), farFirst)
        reader.readSucceeded()
        XCTAssertTrue(reader.isDone)
        XCTAssertEqual(reader.readFrom, farFirst)
        XCTAssertEqual(reader.corrupt, [local], "to report to the NameNode")
        XCTAssertEqual(reader.tried, 3)
    }

    func testNoIntactReplicaFailsTheRead() throws {
        let located = LocatedBlock(block: block, offset: 0, locations: [sameRack, farFirst])
        var reader = BlockReader(located, readerAddress: "10.0.0.1:9866", readerRack: "/r1")
        _ = try reader.nextLocation()
        reader.readFailed(.metaCorrupt(block: BlockID(12), reason: "bad magic"))
        _ = try reader.nextLocation()
        reader.readFailed(.io(file: "blk_12", operation: "read", reason: "EIO"))
        assertFails(with: .noReplicaReadable(BlockID(12), tried: 2)) { _ = try reader.nextLocation() }
        XCTAssertEqual(reader.corrupt, [sameRack])
        var empty = BlockReader(LocatedBlock(block: block, offset: 0, locations: []), readerAddress: "a", readerRack: "/r")
        assertFails(with: .noReplicaReadable(BlockID(12), tried: 0)) { _ = try empty.nextLocation() }
    }
}
