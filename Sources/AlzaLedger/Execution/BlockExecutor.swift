import AlzaCore
import Dispatch
import Synchronization

/// A transaction left out of a block being produced, and why.
public struct RejectedTransaction: Sendable {
    public var transaction: SignedTransaction
    public var error: LedgerError
}

/// A delayed action that came due in a block: applied, or dropped with the reason.
public struct DelayedExecution: Equatable, Sendable {
    public var id: UInt64
    public var transactionId: Hash
    public var error: LedgerError?

    public init(id: UInt64, transactionId: Hash, error: LedgerError?) {
        self.id = id
        self.transactionId = transactionId
        self.error = error
    }
}

/// What applying a block's transactions did.
public struct BlockExecutionResult: Sendable {
    /// Transactions applied, in block order (in `.produce` mode, the ones that made it into the block).
    public var included: [SignedTransaction] = []
    public var outcomes: [TransactionOutcome] = []
    /// In `.produce` mode: transactions that failed and were left out.
    public var rejected: [RejectedTransaction] = []
    /// Fees credited to the producer.
    public var fees: Amount = 0
    public var delayed: [DelayedExecution] = []
    /// How many parallel waves the transactions ran in (1 = no parallelism possible).
    public var waves: Int = 0
    /// Commitments of the field snapshots the block settled: due delayed actions first, then transactions in order.
    public var settledCommitments: [Hash] = []

    /// The block's field root: the RFC 6962 root over the settled commitments (the empty root when none).
    public var fieldRoot: Hash { MerkleTree.root(leafHashes: settledCommitments.map { MerkleTree.leafHash($0.bytes) }) }
}

/// Applies a block's transactions to the state (DESIGN.md §3, §4):
/// 1. delayed actions that came due, oldest first (bounded per block);
/// 2. the transactions, in waves: a transaction joins the first wave after every earlier transaction it shares
///    a scope account with (and after the previous chain-wide writer). Transactions of one wave have disjoint
///    scopes, so they run in parallel against one snapshot, each on a worker that first checks its signatures
///    (through the verifier's cache) and, after executing it, hashes the commitment updates of its writes; the
///    writes then merge in block order. The result is the same as running the transactions one after another;
/// 3. fees to the producer.
public enum BlockExecutor {
    public enum Mode: Sendable {
        /// Every transaction must apply; the first failure rejects the block.
        case validate
        /// Failing transactions are left out (building a block from the mempool).
        case produce
    }

    /// Waves at least this large run on all cores.
    static let parallelWaveThreshold = 8

    public static func execute(_ transactions: [SignedTransaction], on state: inout LedgerState, block: BlockContext,
                               verifier: SignatureVerifier, mode: Mode,
                               coinbaseAtIndexZero: Bool) throws(LedgerError) -> BlockExecutionResult {
        var result = BlockExecutionResult()
        result.delayed = executeDueDelayedActions(on: &state, block: block, settled: &result.settledCommitments)

        // One core checks signatures from the end of the block backwards for as long as the block runs: while
        // this thread schedules and merges (serial work), the other core still has signatures to check, and the
        // waves mostly find theirs already in the verifier's cache.
        let background = transactions.count >= parallelWaveThreshold && ParallelLoop.width > 1
            ? BackgroundVerification(transactions, verifier: verifier) : nil
        defer { background?.stop() }
        let waves = schedule(transactions)
        result.waves = waves.count
        var accepted = [Bool](repeating: false, count: transactions.count)
        var outcomes = [TransactionOutcome?](repeating: nil, count: transactions.count)
        for wave in waves {
            // `run` borrows the state; no copy of it may outlive the call, or the merge below would copy every table.
            let results = run(wave, transactions: transactions, verifier: verifier, snapshot: state, block: block,
                              coinbaseAtIndexZero: coinbaseAtIndexZero)
            for (position, index) in wave.enumerated() {
                switch results[position] {
                case .success(let applied):
                    state.apply(applied.writes)
                    accepted[index] = true
                    outcomes[index] = applied.outcome
                case .failure(let error):
                    if mode == .validate {
                        throw .transactionFailed(index: index, id: transactions[index].id, reason: error.description)
                    }
                    result.rejected.append(RejectedTransaction(transaction: transactions[index], error: error))
                }
            }
        }
        for index in transactions.indices where accepted[index] {
            result.included.append(transactions[index])
            result.outcomes.append(outcomes[index]!)
            result.settledCommitments += outcomes[index]!.settledCommitments
            result.fees = try Amounts.add(result.fees, outcomes[index]!.fee)
        }
        if result.fees > 0 {
            var producer = state.accounts[block.producer] ?? state.newAccount(block.producer, createdAtHeight: block.height)
            producer.balance = try Amounts.add(producer.balance, result.fees)
            state.setAccount(producer)
            state.write(.retiredNonce(block.producer), nil)
        }
        return result
    }

    // MARK: Phases

    private static func executeDueDelayedActions(on state: inout LedgerState, block: BlockContext,
                                                 settled: inout [Hash]) -> [DelayedExecution] {
        var executions: [DelayedExecution] = []
        for due in state.dueDelayedActions(at: block.time, limit: state.parameters.maxDelayedExecutionsPerBlock) {
            // An earlier action of this block may have cancelled this one.
            guard let action = state.delayedActions[due.id] else { continue }
            // The action leaves the books before its messages run: it cannot cancel itself, and an account
            // deleting itself by a delayed action no longer counts it as pending.
            state.write(.delayed(action.id), nil)
            if var payer = state.accounts[action.payer], payer.pendingDelayed > 0 {
                payer.pendingDelayed -= 1
                state.setAccount(payer)
            }
            let failure = apply(action, on: &state, block: block, settled: &settled)
            executions.append(DelayedExecution(id: action.id, transactionId: action.transactionId, error: failure))
        }
        return executions
    }

    /// Runs one delayed action in its own context (released before the merge, so the state is not copied).
    private static func apply(_ action: DelayedAction, on state: inout LedgerState, block: BlockContext,
                              settled: inout [Hash]) -> LedgerError? {
        let outcome: Result<([StateEntry], [Hash]), LedgerError> = {
            let snapshot = StateSnapshot(state)
            var context = TransactionContext(snapshot: snapshot, block: block)
            do throws(LedgerError) {
                try TransactionExecutor.executeDelayed(action, context: &context)
                return withExtendedLifetime(snapshot) { .success((context.entries, context.settledCommitments)) }
            } catch {
                return .failure(error)
            }
        }()
        switch outcome {
        case .success(let (entries, commitments)):
            state.apply(entries)
            settled += commitments
            return nil
        case .failure(let error):
            return error
        }
    }

    /// Checks a block's signatures into the verifier's cache on a background thread, last transaction first,
    /// until stopped or done. It only fills a cache of a pure function, so it changes no result.
    private final class BackgroundVerification: Sendable {
        private let stopped = Atomic<Bool>(false)
        private let group = DispatchGroup()

        init(_ transactions: [SignedTransaction], verifier: SignatureVerifier) {
            DispatchQueue.global().async(group: group) { [self] in
                for transaction in transactions.reversed() {
                    if self.stopped.load(ordering: .relaxed) { return }
                    _ = BlockExecutor.signers(of: transaction, verifier: verifier)
                }
            }
        }

        /// Stops the thread and waits for it (at most one verification).
        func stop() {
            stopped.store(true, ordering: .relaxed)
            group.wait()
        }
    }

    /// The signing keys of a transaction, or why its signatures are invalid. System transactions have none.
    static func signers(of transaction: SignedTransaction, verifier: SignatureVerifier) -> Result<Set<PublicKey>, LedgerError> {
        if transaction.transaction.isSystem { return .success([]) }
        if transaction.signatures.isEmpty { return .failure(.malformedTransaction("the transaction is not signed")) }
        return verifier.verify(transaction)
    }

    /// Groups transaction indices into waves of pairwise disjoint scopes, preserving the block order of any two
    /// transactions that share an account, and of any two that write chain-wide records.
    static func schedule(_ transactions: [SignedTransaction]) -> [[Int]] {
        var lastWave: [Address: Int] = [:]
        var lastGlobalWave = -1
        var waves: [[Int]] = []
        for (index, transaction) in transactions.enumerated() {
            var keys: [Address] = []
            var global = transaction.header.delaySeconds > 0
            for message in transaction.messages {
                for key in message.scope where !keys.contains(key) { keys.append(key) }
                for authorization in message.authorization where !keys.contains(authorization.account) {
                    keys.append(authorization.account)
                }
                if message.code.writesGlobalState { global = true }
            }
            var wave = 0
            for key in keys { if let last = lastWave[key] { wave = max(wave, last + 1) } }
            if global {
                wave = max(wave, lastGlobalWave + 1)
                lastGlobalWave = wave
            }
            for key in keys { lastWave[key] = wave }
            if wave == waves.count { waves.append([]) }
            waves[wave].append(index)
        }
        return waves
    }

    private struct Applied {
        var writes: [PreparedWrite]
        var outcome: TransactionOutcome
    }

    private static func run(_ wave: [Int], transactions: [SignedTransaction], verifier: SignatureVerifier,
                            snapshot: LedgerState, block: BlockContext,
                            coinbaseAtIndexZero: Bool) -> [Result<Applied, LedgerError>] {
        let shared = StateSnapshot(snapshot)
        defer { withExtendedLifetime(shared) {} }
        let runOne = { (index: Int) -> Result<Applied, LedgerError> in
            let keys: Set<PublicKey>
            switch signers(of: transactions[index], verifier: verifier) {
            case .success(let verified): keys = verified
            case .failure(let error): return .failure(error)
            }
            var context = TransactionContext(snapshot: shared, block: block)
            do throws(LedgerError) {
                var outcome = try TransactionExecutor.execute(
                    transactions[index], signers: keys, allowCoinbase: coinbaseAtIndexZero && index == 0,
                    context: &context)
                if coinbaseAtIndexZero && index == 0 && transactions[0].messages.first?.code != .coinbase {
                    return .failure(.coinbaseMismatch("the first transaction of this block must be the coinbase"))
                }
                outcome.settledCommitments = context.settledCommitments
                return .success(Applied(writes: context.preparedWrites, outcome: outcome))
            } catch {
                return .failure(error)
            }
        }
        var results = [Result<Applied, LedgerError>](repeating: .failure(.overflow("not run")), count: wave.count)
        // Small waves run here; checking signatures makes even modest waves worth the parallel loop.
        if wave.count < parallelWaveThreshold || ParallelLoop.width == 1 {
            for (position, index) in wave.enumerated() { results[position] = runOne(index) }
            return results
        }
        results.withUnsafeMutableBufferPointer { buffer in
            let output = buffer
            ParallelLoop.chunks(count: wave.count, minimumChunk: 4) { range in
                for position in range { output[position] = runOne(wave[position]) }
            }
        }
        return results
    }
}
