import AlzaCore
import AlzaLedger

/// What carrying out a `ConsensusCore`'s effects needs from its world (DESIGN.md §1): the node implements it over
/// the transport, the disk and a timer (`ChainService`), the simulator over its event queue, simulated network
/// and simulated disk (`Simulation`). `ChainEffects.perform` is the one interpreter both use, so what the disk
/// writes, when a node halts, and how much a sync response carries are the same in both worlds.
public protocol ChainEnvironment {
    /// The node's block log, journal, checkpoints and watermark.
    var chainStorage: ChainStorage { get }
    /// Gossip a block or a transaction: the node's own (`relay` false) or one its core accepted (`relay` true).
    mutating func publish(_ message: ConsensusMessage, relay: Bool)
    mutating func send(_ message: ConsensusMessage, to peer: PeerID)
    /// Wake the core (a `tick`) when the node's clock reads `time`.
    mutating func wake(at time: UInt64)
    /// The chain cannot continue safely (a write it depends on failed): stop following and producing.
    mutating func halt(_ reason: String)
    /// Blocks are durably in the block log (after the `commit` effect).
    mutating func committed(_ blocks: [CommittedBlock])
    /// An effect for the operator or the API: `transactionAccepted`, `transactionRejected`, `notify`.
    mutating func observe(_ effect: ConsensusEffect)
    /// A failure the chain survives (a journal repair that did not write), for the log.
    mutating func warn(_ message: String)
    /// Gossip a `TransactionBatch` payload on the transactions topic (`ChainRelayCore`'s batches and relays).
    mutating func publishTransactions(_ payload: [UInt8])
    /// Tell every connected peer this node's head and LIB (the relay's status cadence).
    mutating func announceStatus()
    /// Wake the relay (its `tick`) when the node's clock reads `time`.
    mutating func wakeRelay(at time: UInt64)
}

public enum ChainEffects {
    /// A sync response holds blocks up to this many bytes (always at least one), so it fits in one frame.
    public static let syncResponseBudget = 16 << 20

    /// Carries out `effects` in order. Stops at a failed watermark or commit write, after telling the environment
    /// to halt: the block a watermark guards must not leave the node, and a LIB past the block log would leave a
    /// gap. Returns false when it halted.
    @discardableResult
    public static func perform(_ effects: [ConsensusEffect], in environment: inout some ChainEnvironment) -> Bool {
        for effect in effects {
            switch effect {
            case .broadcast(let message, let relay):
                environment.publish(message, relay: relay)
            case .send(let message, let peer):
                environment.send(message, to: peer)
            case .serveBlocks(let peer, let heights, let reversible, let more):
                let response = syncResponse(from: environment.chainStorage, heights: heights, reversible: reversible, more: more)
                environment.send(.blockResponse(response), to: peer)
            case .persistWatermark(let slot):
                do {
                    try environment.chainStorage.writeWatermark(slot)
                } catch {
                    environment.halt("cannot persist the double-sign watermark for slot \(slot): \(error.description)")
                    return false
                }
            case .commit(let blocks, let state):
                precondition(!blocks.isEmpty, "a commit effect carries at least one block")
                let storage = environment.chainStorage
                do {
                    try storage.commit(blocks, checkpoint: storage.checkpointDue(at: blocks.last!.block.height) ? state : nil)
                } catch {
                    environment.halt("cannot commit blocks \(blocks.first!.block.height)-\(blocks.last!.block.height) "
                                     + "to the block log: \(error.description)")
                    return false
                }
                environment.committed(blocks)
            case .repairJournal(let blocks):
                do {
                    try environment.chainStorage.appendJournal(blocks)
                } catch {
                    environment.warn("cannot repair the journal: \(error.description)")
                }
            case .scheduleTick(let at):
                environment.wake(at: at)
            case .transactionAccepted, .transactionRejected, .notify:
                environment.observe(effect)
            }
        }
        return true
    }

    /// Carries out the relay's effects (`ChainRelayCore`): gossip, status announcements, its wake-up.
    public static func perform(_ effects: [ChainRelayCore.Effect], in environment: inout some ChainEnvironment) {
        for effect in effects {
            switch effect {
            case .publishTransactions(let payload): environment.publishTransactions(payload)
            case .announceStatus: environment.announceStatus()
            case .wakeAt(let at): environment.wakeRelay(at: at)
            }
        }
    }

    /// A gossiped transaction batch: each transaction goes to the core (`feed`, nil once the chain halted) and its
    /// effects are carried out, except the relay of each accepted one, which the relay policy replaces by one
    /// relay of the batch (`ChainRelayCore.relay`: as it came when all of it was accepted, so it keeps one gossip
    /// id network-wide). Returns how many transactions the core accepted (an empty batch: none, nothing relayed).
    @discardableResult
    public static func receive(_ batch: TransactionBatch, payload: [UInt8], in environment: inout some ChainEnvironment,
                               feed: (ConsensusEvent) -> [ConsensusEffect]?, from peer: PeerID) -> Int {
        var accepted: [SignedTransaction] = []
        for transaction in batch.transactions {
            guard var effects = feed(.received(.transaction(transaction), from: peer)) else { return accepted.count }
            effects.removeAll { effect in
                guard case .broadcast(.transaction(let relayed), relay: true) = effect else { return false }
                accepted.append(relayed)
                return true
            }
            guard perform(effects, in: &environment) else { return accepted.count }
        }
        perform(ChainRelayCore.relay(received: payload, count: batch.transactions.count, accepted: accepted), in: &environment)
        return accepted.count
    }

    /// Blocks from the log, then the reversible ones, contiguous and within `syncResponseBudget` bytes (at least
    /// one block); `more` when the peer should ask again.
    public static func syncResponse(from storage: ChainStorage, heights: ClosedRange<UInt64>?, reversible: [Block],
                                    more: Bool) -> BlockResponse {
        var blocks: [Block] = []
        var bytes = 0
        var complete = true
        func add(_ block: Block) -> Bool {
            let size = block.bodyFrame.count + 512
            guard blocks.isEmpty || bytes + size <= syncResponseBudget else { return false }
            blocks.append(block)
            bytes += size
            return true
        }
        if let heights {
            for height in heights {
                guard let block = try? storage.block(at: height), add(block) else {
                    complete = false
                    break
                }
            }
        }
        if complete {
            for block in reversible where !add(block) {
                complete = false
                break
            }
        }
        return BlockResponse(blocks: blocks, more: more || !complete)
    }
}
