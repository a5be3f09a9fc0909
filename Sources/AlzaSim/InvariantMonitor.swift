import AlzaConsensus
import AlzaCore
import AlzaLedger

/// A safety property the simulator checks after every step of every node (DESIGN.md §1, VOPR style).
public enum SimulationInvariant: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
    /// A node's LIB never moves back while it runs, and a height it finalized never gets another block.
    case noFinalizedBlockReverted = "no-finalized-block-reverted"
    /// Any two honest nodes hold the same block at every height up to the lower of their LIBs.
    case honestNodesAgreeUpToTheLowerLib = "honest-nodes-agree-up-to-the-lower-lib"
    /// Coins are only minted by coinbases: supply = genesis supply + rewards paid, and every coin is held.
    case supplyConserved = "supply-conserved"
    /// The mempool and fork database of every node stay within their configured limits.
    case memoryBounded = "memory-bounded"
    /// A settled payment field's balances add up to its deposits, and no participant ends below its newest fully
    /// signed snapshot plus the payments to it it holds receipts for, less its own beyond (DESIGN.md §6).
    case fieldParticipantGuarantee = "field-participant-guarantee"

    public var description: String { rawValue }
}

/// One broken invariant: which, where, when (virtual ms from the start) and what was seen.
public struct InvariantViolation: Codable, Sendable, Equatable, CustomStringConvertible {
    public var invariant: SimulationInvariant
    public var node: String
    public var atMilliseconds: UInt64
    public var detail: String

    public var description: String { "\(invariant) at \(atMilliseconds) ms on \(node): \(detail)" }
}

/// Watches every node's core and commits. Cheap per step (O(1) per check, O(blocks) per commit), so it runs
/// after every event of every run; only the first violation of each invariant per node is kept.
public struct InvariantMonitor: Sendable {
    public let genesisSupply: Amount
    /// Nodes whose faults put them outside the honest set (an equivocating producer).
    public var byzantine: Set<Int> = []
    /// The first block committed at each height, and by which node.
    private(set) var finalized: [UInt64: (id: Hash, node: Int)] = [:]
    private var libHeight: [Int: UInt64] = [:]
    public private(set) var violations: [InvariantViolation] = []
    private var reported: Set<String> = []

    public init(genesisSupply: Amount) {
        self.genesisSupply = genesisSupply
    }

    public var finalizedConflicts: UInt64 {
        UInt64(violations.filter { $0.invariant != .supplyConserved && $0.invariant != .memoryBounded }.count)
    }

    /// A node (re)started: its LIB may be below the one it had if its disk lost unsynced writes.
    public mutating func restarted(_ node: Int) { libHeight[node] = nil }

    /// What the per-step check reads of a node's core: taken in place (`ConsensusCore.invariantSample`), so a
    /// check after every event does not copy the core and retain each of its buffers.
    public struct Sample {
        var lib: BlockReference
        var totalSupply: Amount
        var rewardsPaid: Amount
        var mempoolCount: Int
        var mempoolBytes: Int
        var mempoolLimits: (count: Int, bytes: Int)
        var forkCount: Int
        var forkCapacity: Int
    }

    /// After every event the node handled (`ConsensusCore.invariantSample`).
    public mutating func check(_ sample: Sample, node: Int, name: String, at time: UInt64) {
        let lib = sample.lib
        if let previous = libHeight[node], lib.height < previous {
            record(.noFinalizedBlockReverted, name, time, "LIB went back from height \(previous) to \(lib.height)")
        }
        libHeight[node] = lib.height
        if lib.height > 0, let known = finalized[lib.height], known.id != lib.id {
            let invariant: SimulationInvariant = known.node == node ? .noFinalizedBlockReverted : .honestNodesAgreeUpToTheLowerLib
            if known.node == node || isHonestPair(node, known.node) {
                record(invariant, name, time, "LIB at height \(lib.height) is \(lib.id.short), "
                       + "but node \(known.node) finalized \(known.id.short)")
            }
        }
        if let broken = Self.mintedOtherThanByRewards(supply: sample.totalSupply, genesisSupply: genesisSupply,
                                                      rewardsPaid: sample.rewardsPaid) {
            record(.supplyConserved, name, time, broken)
        }
        if sample.mempoolCount > sample.mempoolLimits.count || sample.mempoolBytes > sample.mempoolLimits.bytes {
            record(.memoryBounded, name, time, "mempool holds \(sample.mempoolCount) transactions, \(sample.mempoolBytes) bytes "
                   + "(limits \(sample.mempoolLimits.count), \(sample.mempoolLimits.bytes))")
        }
        if sample.forkCount > sample.forkCapacity {
            record(.memoryBounded, name, time, "fork database holds \(sample.forkCount) blocks (capacity \(sample.forkCapacity))")
        }
    }

    /// Blocks a node made irreversible (and wrote to its block log).
    public mutating func committed(_ blocks: [Block], node: Int, name: String, at time: UInt64) {
        for block in blocks {
            guard let known = finalized[block.height] else {
                finalized[block.height] = (block.id, node)
                continue
            }
            guard known.id != block.id else { continue }
            if known.node == node {
                record(.noFinalizedBlockReverted, name, time, "committed \(block.id.short) at height \(block.height) "
                       + "after having committed \(known.id.short)")
            } else if isHonestPair(node, known.node) {
                record(.honestNodesAgreeUpToTheLowerLib, name, time, "committed \(block.id.short) at height "
                       + "\(block.height); node \(known.node) committed \(known.id.short)")
            }
        }
    }

    /// At the end of a run: every coin is held by an account (balance, stake or unbonding).
    public mutating func checkHoldings(_ state: LedgerState, name: String, at time: UInt64) {
        let held = state.accounts.values.reduce(Amount(0)) { $0 &+ $1.balance &+ $1.staked &+ $1.unbondingTotal }
            &+ state.heldInFields
        if let broken = Self.unheldCoins(held: held, supply: state.chain.totalSupply) {
            record(.supplyConserved, name, time, broken)
        }
    }

    /// Why the supply breaks "minted = rewards paid", or nil.
    public static func mintedOtherThanByRewards(supply: Amount, genesisSupply: Amount, rewardsPaid: Amount) -> String? {
        supply == genesisSupply &+ rewardsPaid ? nil : "supply \(supply) != genesis \(genesisSupply) + rewards \(rewardsPaid)"
    }

    /// Why the accounts' holdings do not add up to the supply, or nil.
    public static func unheldCoins(held: Amount, supply: Amount) -> String? {
        held == supply ? nil : "accounts hold \(held), supply is \(supply)"
    }

    /// A settled field of the off-chain workload broke the participant's guarantee or conservation.
    public mutating func fieldGuaranteeBroken(field: Int, at time: UInt64, detail: String) {
        record(.fieldParticipantGuarantee, "field-\(field)", time, detail)
    }

    private func isHonestPair(_ a: Int, _ b: Int) -> Bool { !byzantine.contains(a) && !byzantine.contains(b) }

    private mutating func record(_ invariant: SimulationInvariant, _ node: String, _ time: UInt64, _ detail: String) {
        guard reported.insert("\(invariant)/\(node)").inserted else { return }
        violations.append(InvariantViolation(invariant: invariant, node: node, atMilliseconds: time, detail: detail))
    }
}

extension ConsensusCore {
    /// What `InvariantMonitor.check` reads.
    public var invariantSample: InvariantMonitor.Sample {
        InvariantMonitor.Sample(lib: lib, totalSupply: committed.chain.totalSupply, rewardsPaid: committed.chain.totalRewardsPaid,
                                mempoolCount: mempool.count, mempoolBytes: mempool.totalBytes,
                                mempoolLimits: (mempool.maximumCount, mempool.maximumBytes),
                                forkCount: forkDatabase.count, forkCapacity: forkDatabase.capacity)
    }
}
