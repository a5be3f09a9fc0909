import AlzaConsensus
import AlzaCore
import AlzaLedger
import AlzaSim
import Foundation

/// `alza-bench chain`: transfers validated and applied per second by one node (signature checks included,
/// disjoint scopes applied in parallel), block production time for a 10,000-transaction block, and the wall
/// time of `alza sim` for 24 h of 23 producers. The goal: applied transfers/s ≥ 0.8 × Ed25519 verifications
/// per second per core × cores used.
enum ChainBenchmark {
    struct Workload {
        let genesis: Genesis
        let producerKey: SigningKey
        let transfers: [SignedTransaction]
        let blockTime: UInt64
    }

    /// `count` signed transfers between `accounts` funded users, each sender's nonces in order.
    static func workload(accounts: Int, transfers count: Int, seed: UInt64 = 7) throws -> Workload {
        let producerKey = SigningKey(deterministicLabel: "bench-producer")
        let users = (0..<accounts).map { SigningKey(deterministicLabel: "bench-user-\($0)") }
        var parameters = ChainParameters()
        parameters.producerCount = 1
        parameters.maxBlockTransactions = max(count, parameters.maxBlockTransactions)
        parameters.maxBlockBodyBytes = 256 << 20
        let genesisTime: UInt64 = 1_767_225_600_000
        var genesisAccounts = [GenesisFile.Account(publicKey: producerKey.publicKey.hex, balance: Amounts.unit,
                                                   stake: Amounts.unit,
                                                   vote: Address(producerKey.publicKey).description)]
        genesisAccounts += users.map { GenesisFile.Account(publicKey: $0.publicKey.hex, balance: 1_000_000 * Amounts.unit) }
        let genesis = try Genesis(GenesisFile(
            chainName: "bench", genesisTime: genesisTime, parameters: parameters, accounts: genesisAccounts,
            producers: [GenesisFile.Producer(account: Address(producerKey.publicKey).description,
                                             signingKey: producerKey.publicKey.hex, url: "", timeZone: 0)]))
        var random = SeededRandom(seed: seed)
        var nonces = [UInt64](repeating: 0, count: accounts)
        let blockTime = genesisTime + parameters.slotMilliseconds
        var transfers: [SignedTransaction] = []
        transfers.reserveCapacity(count)
        for _ in 0..<count {
            let from = Int(random.next() % UInt64(accounts))
            var to = Int(random.next() % UInt64(accounts))
            if to == from { to = (to + 1) % accounts }
            let sender = Address(users[from].publicKey)
            let amount = 1 + random.next() % 1_000_000
            let header = TransactionHeader(chainId: genesis.chainId, expiration: blockTime + 600_000, nonce: nonces[from],
                                           fee: parameters.minimumFee)
            nonces[from] += 1
            let message = Message(.transfer(inputs: [AmountEntry(sender, amount)],
                                            outputs: [AmountEntry(Address(users[to].publicKey), amount)], memo: []),
                                  authorizer: sender)
            transfers.append(SignedTransaction.sign(Transaction(header: header, messages: [message]), with: [users[from]]))
        }
        return Workload(genesis: genesis, producerKey: producerKey, transfers: transfers, blockTime: blockTime)
    }

    static func run(limits: PhysicalLimits, quick: Bool, scratchDirectory: String) throws -> BenchReport {
        var report = BenchReport(suite: "chain", limits: limits)
        let transferCount = quick ? 4_000 : 20_000
        let work = try workload(accounts: quick ? 2_000 : 20_000, transfers: transferCount)
        let genesisState = try work.genesis.initialState()
        let producer = Address(work.producerKey.publicKey)
        let context = BlockContext(height: 1, slot: 1, time: work.blockTime, producer: producer)

        // 1. Validate and apply every transfer as one block, signatures not seen before (cold cache). The machine's
        // speed drifts (a shared VM), so each round measures the single-core verify rate right before applying,
        // and the round with the median ratio is reported.
        struct Round {
            var limit: Double
            /// Verifications per second of the block's own signatures on all cores, nothing else done.
            var parallelVerify: Double
            var applied: Double
            var ratio: Double
        }
        var rounds: [Round] = []
        let cores = Double(limits.cores)
        let key = SigningKey(deterministicLabel: "chain-bench-limit")
        let digest = Hash.sha256(utf8: "limit")
        let signature = key.sign(digest)
        for _ in 0..<(quick ? 3 : 5) {
            let limit = measureRate(rounds: 1, minimumSeconds: quick ? 0.15 : 0.4, batch: 32) { batch in
                for _ in 0..<batch { precondition(key.publicKey.isValidSignature(signature, for: digest)) }
            }
            let transfers = work.transfers
            let verifySeconds = Monotonic.seconds {
                ParallelLoop.run(iterations: transfers.count) { index in
                    let signed = transfers[index]
                    precondition(signed.signatures[0].key.isValidSignature(signed.signatures[0].signature,
                                                                           for: signed.signingDigest))
                }
            }
            var state = genesisState
            _ = state.root()
            let verifier = SignatureVerifier(capacity: transferCount * 2)
            var result: BlockExecutionResult?
            let seconds = try Monotonic.seconds {
                result = try BlockExecutor.execute(work.transfers, on: &state, block: context, verifier: verifier,
                                                   mode: .validate, coinbaseAtIndexZero: false)
                _ = state.root()
            }
            precondition(result?.included.count == transferCount)
            let applied = Double(transferCount) / seconds
            rounds.append(Round(limit: limit, parallelVerify: Double(transferCount) / verifySeconds, applied: applied,
                                ratio: applied / (0.8 * limit * cores)))
        }
        rounds.sort { $0.ratio < $1.ratio }
        let median = rounds[rounds.count / 2]
        report.add(BenchFigure(key: "transfersAppliedPerSecond", label: "transfers validated + applied per second",
                               value: median.applied, unit: "/s", limitLabel: "Ed25519 verify/s × \(limits.cores) cores",
                               limitValue: median.limit * cores, ratio: median.applied / (median.limit * cores)))
        report.add(BenchFigure(key: "verifyPerSecondPerCoreSameRound", label: "Ed25519 verify/s, one core, same round",
                               value: median.limit, unit: "/s"))
        report.add(BenchFigure(key: "verifyAllCoresPerSecond", label: "Ed25519 verify/s, all cores, same round (nothing else)",
                               value: median.parallelVerify, unit: "/s", limitLabel: "one-core rate × \(limits.cores) cores",
                               limitValue: median.limit * cores, ratio: median.parallelVerify / (median.limit * cores)))
        report.add(BenchFigure(key: "transfersVsVerifyAllCores", label: "transfers applied ÷ verify/s on all cores",
                               value: median.applied / median.parallelVerify, unit: "×"))
        report.extras.append(("goalRatio", median.ratio))
        report.extras.append(("goalRatioBestRound", rounds.last!.ratio))
        report.extras.append(("goalRatioWorstRound", rounds.first!.ratio))

        // The same block once its signatures are in the cache (a node that pooled its transactions before the
        // block came): what executing and merging cost beyond verification.
        let warmVerifier = SignatureVerifier(capacity: transferCount * 2)
        let allTransfers = work.transfers
        ParallelLoop.run(iterations: allTransfers.count) { _ = warmVerifier.verify(allTransfers[$0]) }
        var bestWarm = Double.infinity
        for _ in 0..<5 {
            var state = genesisState
            _ = state.root()
            let seconds = try Monotonic.seconds {
                _ = try BlockExecutor.execute(work.transfers, on: &state, block: context, verifier: warmVerifier,
                                              mode: .validate, coinbaseAtIndexZero: false)
                _ = state.root()
            }
            bestWarm = min(bestWarm, seconds)
        }
        report.add(BenchFigure(key: "transfersAppliedWarmPerSecond",
                               label: "transfers applied per second, signatures already verified (best of 5)",
                               value: Double(transferCount) / bestWarm, unit: "/s"))

        // Per-block latency of 1,000-transfer blocks (cold signatures), as HdrHistogram percentiles.
        var state = genesisState
        _ = state.root()
        let verifier = SignatureVerifier(capacity: transferCount * 2)
        var applyLatency = LatencyRecorder()
        let blockSize = 1_000
        var height: UInt64 = 1
        for start in stride(from: 0, to: transferCount, by: blockSize) {
            let slice = Array(work.transfers[start..<min(transferCount, start + blockSize)])
            let blockContext = BlockContext(height: height, slot: height, time: work.blockTime, producer: producer)
            let begin = Monotonic.nanoseconds()
            _ = try BlockExecutor.execute(slice, on: &state, block: blockContext, verifier: verifier, mode: .validate,
                                          coinbaseAtIndexZero: false)
            _ = state.root()
            applyLatency.record(nanoseconds: Monotonic.nanoseconds() - begin)
            height += 1
        }
        report.latencies.append(("apply 1,000-transfer block", applyLatency.summary))

        // 2. Producing a 10,000-transaction block (signatures already in the warm verifier, as on a producer whose
        // mempool checked them).
        let blockTransactions = Array(work.transfers.prefix(min(10_000, transferCount)))
        var produceLatency = LatencyRecorder()
        var bestProduce = Double.infinity
        for _ in 0..<3 {
            var producing = genesisState
            _ = producing.root()
            let begin = Monotonic.nanoseconds()
            let produced = try BlockProcessor.produce(
                on: &producing, parent: BlockReference(height: 0, slot: 0, id: work.genesis.chainId), slot: 1,
                producerKey: work.producerKey, producer: producer, candidates: blockTransactions, verifier: warmVerifier)
            let nanoseconds = Monotonic.nanoseconds() - begin
            precondition(produced.block.transactions.count == blockTransactions.count)
            produceLatency.record(nanoseconds: nanoseconds)
            bestProduce = min(bestProduce, Double(nanoseconds) / 1e6)
        }
        report.add(BenchFigure(key: "produce10kBlockMilliseconds",
                               label: "produce a \(blockTransactions.count)-transaction block", value: bestProduce,
                               unit: "ms", limitLabel: "slot length (ms)", limitValue: 3_000,
                               ratio: 3_000 / bestProduce))
        report.latencies.append(("produce \(blockTransactions.count)-transaction block", produceLatency.summary))

        // 3. The simulator: 24 h of 23 producers.
        let hours: UInt64 = quick ? 2 : 24
        let simulation = try Simulation(configuration: SimulationConfiguration(
            producers: 23, durationMilliseconds: hours * 3_600_000, seed: 1))
        let simReport = simulation.run()
        precondition(simReport.agreed && simReport.blocks == simReport.slots)
        report.add(BenchFigure(key: "sim24hWallSeconds", label: "alza sim: \(hours) h of 23 producers, wall time",
                               value: simReport.wallSeconds, unit: "s", limitLabel: "budget (s)", limitValue: 60,
                               ratio: 60 / simReport.wallSeconds))
        report.add(BenchFigure(key: "simBlocksPerSecond", label: "alza sim: block deliveries processed per second",
                               value: Double(simReport.messagesDelivered) / simReport.wallSeconds, unit: "/s"))
        report.notes = [
            "Transfers: \(transferCount) signed transfers between \(quick ? 2_000 : 20_000) accounts, applied as one block "
                + "with a cold signature cache: transactions run in waves of disjoint scopes on all cores, each checking "
                + "its signatures, while one more thread checks signatures from the end of the block backwards (so a "
                + "core that would wait for the serial merge of a wave verifies instead); then the state root is computed.",
            "`transfersAppliedWarmPerSecond` applies the same block with every signature already in the cache (a node "
                + "that pooled the transactions before the block came): the execution and merge work alone.",
            "Goal: transfers/s ≥ 0.8 × Ed25519 verify/s per core × cores (\(limits.cores)); `goalRatio` ≥ 1 meets it. "
                + "Each of the rounds measures the one-core verify rate just before applying (this VM's speed drifts "
                + "by ±20 % between seconds); the median round is reported, the best and worst beside it.",
            "`verifyAllCoresPerSecond` verifies the same block's signatures on every core and does nothing else: "
                + "its ratio to the one-core rate × cores is how well this machine's cores scale (on a VM whose vCPUs "
                + "are hyperthreads it stays well under 1), and it bounds what applying can reach.",
            "Production reuses the mempool's verified signatures (as a producer does) and includes LZ4-framing the body.",
        ]
        return report
    }
}
