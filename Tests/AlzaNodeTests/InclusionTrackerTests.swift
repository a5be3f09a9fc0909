import AlzaNode
import Foundation
import Testing

/// The testnet load's bookkeeping: what it reports as included and final must be what the chain holds, whatever
/// order the block and the submission's answer arrive in, and across fork switches.
@Suite struct InclusionTrackerTests {
    let signed = Date(timeIntervalSinceNow: -1)

    /// The node included the transaction before the batch answer carrying its id reached the load generator
    /// (27 of 7,998 transfers were reported "never included" that way in a 23+4 run).
    @Test func aTransactionSeenInABlockBeforeItsSubmissionWasAnsweredCountsAsIncluded() {
        let tracker = InclusionTracker()
        tracker.included(["a", "coinbase"], height: 5)
        tracker.submitted("a", at: signed)
        #expect(tracker.counts.included == 1)
        #expect(tracker.counts.irreversible == 0)
        tracker.irreversible(upTo: 5)
        #expect(tracker.counts.irreversible == 1)
        #expect(tracker.inclusionLatency.count == 1)
    }

    /// Seen early in a block that is final already when the answer comes: final at once.
    @Test func anEarlyInclusionBelowTheLibIsFinalWhenTheAnswerComes() {
        let tracker = InclusionTracker()
        tracker.included(["a"], height: 5)
        tracker.irreversible(upTo: 6)
        tracker.submitted("a", at: signed)
        #expect(tracker.counts.included == 1 && tracker.counts.irreversible == 1)
    }

    /// A fork switch replaced heights 7 and up: their transactions are not included until the new branch's
    /// blocks are read, and their latency is recorded once.
    @Test func aRevertedBranchUnincludesItsTransactionsUntilTheNewBranchIsRead() {
        let tracker = InclusionTracker()
        tracker.submitted("a", at: signed)
        tracker.submitted("b", at: signed)
        tracker.included(["a"], height: 6)
        tracker.included(["b"], height: 7)
        tracker.reverted(from: 7)
        #expect(tracker.counts.included == 1)
        tracker.irreversible(upTo: 7)
        #expect(tracker.counts.irreversible == 1, "b's old block at 7 is gone: its finality is not counted")
        tracker.included(["b"], height: 8)
        tracker.irreversible(upTo: 8)
        #expect(tracker.counts.included == 2 && tracker.counts.irreversible == 2)
        #expect(tracker.inclusionLatency.count == 2)
    }
}

/// `alza testnet run` reads the chain of a node block by block; when the node switches branches between two
/// reads, the next block's parent is not the block read below it, and the reading goes back above the LIB.
@Suite struct ObservedBranchTests {
    @Test func aBlockWhoseParentIsNotTheOneReadBelowRewindsToAboveTheLib() {
        var branch = ObservedBranch()
        #expect(branch.read(height: 1, id: "a1", previous: "genesis", lib: 0) == .include)
        #expect(branch.read(height: 2, id: "a2", previous: "a1", lib: 0) == .include)
        #expect(branch.read(height: 3, id: "a3", previous: "a2", lib: 1) == .include)
        #expect(branch.next == 4)
        // The node moved to branch b from height 3 on: b4's parent is b3, not a3.
        #expect(branch.read(height: 4, id: "b4", previous: "b3", lib: 1) == .rewind(from: 2))
        #expect(branch.next == 2)
        #expect(branch.read(height: 2, id: "a2", previous: "a1", lib: 1) == .include)
        #expect(branch.read(height: 3, id: "b3", previous: "a2", lib: 1) == .include)
        #expect(branch.read(height: 4, id: "b4", previous: "b3", lib: 1) == .include)
    }

    @Test func blocksAtOrBelowTheLibAreForgottenAndTheRewindNeverGoesBelowIt() {
        var branch = ObservedBranch()
        for height in UInt64(1)...5 { _ = branch.read(height: height, id: "a\(height)", previous: "a\(height - 1)", lib: 0) }
        branch.finalized(upTo: 4)
        // A switch right above the LIB: the rewind starts at the LIB + 1, whose parent (the LIB) is not checked.
        #expect(branch.read(height: 6, id: "b6", previous: "b5", lib: 4) == .rewind(from: 5))
        #expect(branch.read(height: 5, id: "b5", previous: "a4", lib: 4) == .include)
        #expect(branch.read(height: 6, id: "b6", previous: "b5", lib: 4) == .include)
    }
}

