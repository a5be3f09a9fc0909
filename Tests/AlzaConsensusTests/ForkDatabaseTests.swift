import AlzaConsensus
import AlzaCore
import AlzaLedger
import Testing

/// Blocks for fork-database tests: headers only matter (the database never validates state).
struct BlockMaker {
    let producers: [SigningKey]
    let chainId = Hash.sha256(utf8: "fork-db-test")

    init(count: Int) {
        producers = (0..<count).map { SigningKey(deterministicLabel: "fdb-\($0)") }
    }

    var committee: [Address] { producers.map { Address($0.publicKey) } }

    func block(parent: BlockReference, slot: UInt64, producer: Int, salt: UInt8 = 0) -> Block {
        let header = BlockHeader(height: parent.height + 1, slot: slot, previous: parent.id,
                                 producer: Address(producers[producer].publicKey), transactionRoot: .zero,
                                 fieldRoot: .zero, stateRoot: Hash.sha256([salt]), timestamp: slot)
        return Block(signedHeader: SignedBlockHeader.sign(header, with: producers[producer], chainId: chainId),
                     transactions: [])
    }
}

@Suite struct ForkDatabaseTests {
    let maker = BlockMaker(count: 23)
    var genesis: BlockReference { BlockReference(height: 0, slot: 0, id: maker.chainId) }

    func database() -> ForkDatabase {
        ForkDatabase(root: genesis, lastProduced: [:], committee: maker.committee)
    }

    /// A chain where producer i % n produces block i (one block each, round robin).
    func extend(_ database: inout ForkDatabase, from parent: BlockReference, count: Int, producers: [Int],
                firstSlot: UInt64, salt: UInt8 = 0) -> [Block] {
        var blocks: [Block] = []
        var parent = parent
        for index in 0..<count {
            let block = maker.block(parent: parent, slot: firstSlot + UInt64(index), producer: producers[index % producers.count],
                                    salt: salt)
            _ = database.add(block)
            database.markApplied(block.id, committee: maker.committee)
            blocks.append(block)
            parent = BlockReference(block.signedHeader)
        }
        return blocks
    }

    @Test func requiredConfirmationsForTwentyThree() {
        #expect(ForkDatabase.requiredConfirmations(committee: 23, effective: 23) == 16)
        #expect(ForkDatabase.requiredConfirmations(committee: 22, effective: 22) == 15)
        #expect(ForkDatabase.requiredConfirmations(committee: 1, effective: 1) == 1)
        // A shrunken effective committee still needs more than half of the whole one.
        #expect(ForkDatabase.requiredConfirmations(committee: 23, effective: 12) == 12)
    }

    @Test func blockBecomesIrreversibleWhenSixteenOfTwentyThreeBuiltOnIt() {
        var db = database()
        let blocks = extend(&db, from: genesis, count: 23, producers: Array(0..<23), firstSlot: 1)
        // Block k was confirmed by producers k...; 16 distinct ones exist above block 8 once block 23 is in.
        #expect(db.entry(blocks[14].id)?.irreversibleHeight == 0)
        #expect(db.entry(blocks[15].id)?.irreversibleHeight == 1)
        #expect(db.entry(blocks[22].id)?.irreversibleHeight == 8)
    }

    @Test func twelveOfTwentyThreeNeverFinalize() {
        var db = database()
        let blocks = extend(&db, from: genesis, count: 200, producers: Array(0..<12), firstSlot: 1)
        #expect(db.entry(blocks.last!.id)?.irreversibleHeight == 0)
    }

    /// A node cut off from the others sees them all silent on its own branch and, past the inactivity limit,
    /// its state removes them: its branch's committee is itself. That committee alone must not finalize the
    /// branch; the committee of the LIB still has to confirm (campaign seed 13 finalized such a branch).
    @Test func aBranchWhoseCommitteeShrankStillNeedsTheCommitteeOfTheLib() {
        var db = database()
        var parent = genesis
        var last: Block?
        for slot in 1...40 {
            let block = maker.block(parent: parent, slot: UInt64(slot), producer: 0)
            _ = db.add(block)
            db.markApplied(block.id, committee: [maker.committee[0]])
            parent = BlockReference(block.signedHeader)
            last = block
        }
        #expect(db.entry(last!.id)?.irreversibleHeight == 0)
        // Once the other producers build on the branch too, the LIB's committee confirms it.
        let confirmed = extend(&db, from: parent, count: 16, producers: Array(1..<17), firstSlot: 41)
        #expect(db.entry(confirmed.last!.id)?.irreversibleHeight == 41)
    }

    @Test func forkChoicePrefersHigherLibThenLengthThenLowestId() {
        var db = database()
        let trunk = extend(&db, from: genesis, count: 2, producers: [0, 1], firstSlot: 1)
        let fork = BlockReference(trunk[1].signedHeader)
        // Branch A: 30 blocks by 12 producers (long, no finality beyond the fork).
        let a = extend(&db, from: fork, count: 30, producers: Array(0..<12), firstSlot: 10)
        // Branch B: 20 blocks by 17 producers (shorter, but finalizes beyond the fork).
        let b = extend(&db, from: fork, count: 20, producers: Array(6..<23), firstSlot: 10, salt: 1)
        #expect(db.entry(b.last!.id)!.irreversibleHeight > db.entry(a.last!.id)!.irreversibleHeight)
        #expect(db.best().reference.id == b.last!.id)

        // Equal LIB: the longer wins; equal length: the lowest id wins.
        var equal = database()
        let x = extend(&equal, from: genesis, count: 3, producers: [0], firstSlot: 1)
        let y = extend(&equal, from: genesis, count: 4, producers: [1], firstSlot: 1, salt: 2)
        #expect(equal.best().reference.id == y.last!.id)
        let z = extend(&equal, from: BlockReference(x[2].signedHeader), count: 1, producers: [2], firstSlot: 9, salt: 3)
        let tied = [y.last!, z.last!].map(\.id).min()!
        #expect(equal.best().reference.id == tied)
    }

    @Test func addReportsDuplicatesUnlinkableAndEquivocation() {
        var db = database()
        let first = maker.block(parent: genesis, slot: 1, producer: 0)
        guard case .added = db.add(first).result else { Issue.record("expected added"); return }
        guard case .duplicate = db.add(first).result else { Issue.record("expected duplicate"); return }
        let orphan = maker.block(parent: BlockReference(height: 5, slot: 5, id: Hash.sha256(utf8: "nowhere")), slot: 6, producer: 1)
        guard case .unlinkable = db.add(orphan).result else { Issue.record("expected unlinkable"); return }
        // Same producer, same slot, different content: the database hands back the first block.
        let second = maker.block(parent: genesis, slot: 1, producer: 0, salt: 9)
        let (result, equivocating) = db.add(second)
        guard case .added = result else { Issue.record("expected added"); return }
        #expect(equivocating?.id == first.id)
    }

    @Test func removingAnInvalidBlockRemovesItsDescendants() {
        var db = database()
        let chain = extend(&db, from: genesis, count: 5, producers: [0, 1, 2], firstSlot: 1)
        let removed = db.removeSubtree(chain[2].id)
        #expect(Set(removed) == Set(chain[2...].map(\.id)))
        #expect(db.best().reference.id == chain[1].id)
    }

    @Test func advancingTheRootForgetsBlocksNotBuiltOnIt() {
        var db = database()
        let trunk = extend(&db, from: genesis, count: 3, producers: [0, 1, 2], firstSlot: 1)
        let side = extend(&db, from: BlockReference(trunk[0].signedHeader), count: 4, producers: [3], firstSlot: 20, salt: 5)
        let pruned = db.advanceRoot(to: trunk[1].id)
        #expect(pruned == 2 + side.count)   // genesis root, trunk[0], and the side branch
        #expect(db.root.reference.id == trunk[1].id)
        #expect(!db.contains(side[0].id))
        #expect(db.contains(trunk[2].id))
        // A block at or below the new root is too old to add.
        guard case .tooOld = db.add(maker.block(parent: genesis, slot: 1, producer: 5)).result else {
            Issue.record("expected tooOld")
            return
        }
    }
}
