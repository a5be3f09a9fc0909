import AlzaCore
import AlzaLedger
import Foundation
import Histogram
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Submitted transactions and when they were included and finalized (the testnet load's bookkeeping).
public final class InclusionTracker: Sendable {
    private struct State {
        var submittedAt: [String: Date] = [:]
        var includedAt: [String: (height: UInt64, date: Date)] = [:]
        var finalized = Set<String>()
        var submitted = 0
        var errors = 0
        var errorSamples: [String] = []
        var overloadRefusals = 0
        var unsent = 0
        var inclusion = Histogram<UInt64>(highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: .three)
        var finality = Histogram<UInt64>(highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: .three)
        var pendingFinality: [UInt64: [String]] = [:]
        /// Ids seen in a block before the answer to their submission came (a node may include a transaction
        /// before the batch answer reaches the load generator): counted when that answer comes. Others' ids
        /// (coinbases, fields) stay here until the LIB is 1,000 blocks past them.
        var includedEarly: [String: (height: UInt64, date: Date)] = [:]
        /// Ids whose inclusion latency was recorded (once, even when a fork switch makes them included again).
        var latencyRecorded = Set<String>()
        var lastIrreversible: UInt64 = 0

        /// `now`: when this is learned (finality below the LIB counts from then, not from when the block was seen).
        mutating func include(_ id: String, height: UInt64, at date: Date, submitted: Date, now: Date) {
            includedAt[id] = (height, date)
            if latencyRecorded.insert(id).inserted {
                _ = inclusion.record(UInt64(max(1, date.timeIntervalSince(submitted) * 1000)))
            }
            if height <= lastIrreversible {
                finalize(id, at: now, submitted: submitted)
            } else {
                pendingFinality[height, default: []].append(id)
            }
        }

        mutating func finalize(_ id: String, at date: Date, submitted: Date) {
            guard finalized.insert(id).inserted else { return }
            _ = finality.record(UInt64(max(1, date.timeIntervalSince(submitted) * 1000)))
        }
    }

    private let state = Mutex(State())

    public init() {}

    public func submitted(_ id: String, at date: Date) {
        state.withLock {
            $0.submitted += 1
            $0.submittedAt[id] = date
            if let early = $0.includedEarly.removeValue(forKey: id) {
                $0.include(id, height: early.height, at: early.date, submitted: date, now: Date())
            }
        }
    }

    public func failed(_ reason: String) {
        state.withLock {
            $0.submitted += 1
            $0.errors += 1
            if $0.errorSamples.count < 5 { $0.errorSamples.append(reason) }
        }
    }

    /// A submission answered 503 `node.overloaded` (to be retried).
    public func refusedAsOverloaded() { state.withLock { $0.overloadRefusals += 1 } }

    /// Signed transfers never accepted: a node was still overloaded when the load stopped.
    public func unsent(_ count: Int) { state.withLock { $0.unsent += count } }

    public func included(_ ids: [String], height: UInt64) {
        let now = Date()
        state.withLock { state in
            for id in ids where state.includedAt[id] == nil {
                guard let submitted = state.submittedAt[id] else {
                    state.includedEarly[id] = (height, now)
                    continue
                }
                state.include(id, height: height, at: now, submitted: submitted, now: now)
            }
        }
    }

    public func irreversible(upTo height: UInt64) {
        let now = Date()
        state.withLock { state in
            let advanced = height > state.lastIrreversible
            state.lastIrreversible = max(state.lastIrreversible, height)
            for pendingHeight in state.pendingFinality.keys where pendingHeight <= height {
                for id in state.pendingFinality.removeValue(forKey: pendingHeight) ?? [] {
                    guard let submitted = state.submittedAt[id] else { continue }
                    state.finalize(id, at: now, submitted: submitted)
                }
            }
            // Polled every 100 ms: the ids of others' transactions are pruned only when the LIB moved.
            if advanced && height > 1_000 { state.includedEarly = state.includedEarly.filter { $0.value.height + 1_000 > height } }
        }
    }

    /// The blocks from `height` up were replaced (a fork switch on the observed node): what they included is
    /// not included any more, until the new branch's blocks are read.
    public func reverted(from height: UInt64) {
        state.withLock { state in
            for pendingHeight in state.pendingFinality.keys where pendingHeight >= height {
                for id in state.pendingFinality.removeValue(forKey: pendingHeight) ?? [] { state.includedAt[id] = nil }
            }
            state.includedEarly = state.includedEarly.filter { $0.value.height < height }
        }
    }

    public var counts: (submitted: Int, accepted: Int, included: Int, irreversible: Int, errors: Int) {
        state.withLock { ($0.submitted, $0.submittedAt.count, $0.includedAt.count, $0.finalized.count, $0.errors) }
    }

    public var errorSamples: [String] { state.withLock { $0.errorSamples } }
    public var overload: (refusals: Int, unsent: Int) { state.withLock { ($0.overloadRefusals, $0.unsent) } }

    public var inclusionLatency: TestnetRun.Report.Latency { state.withLock { Self.summary($0.inclusion) } }
    public var finalityLatency: TestnetRun.Report.Latency { state.withLock { Self.summary($0.finality) } }

    private static func summary(_ histogram: Histogram<UInt64>) -> TestnetRun.Report.Latency {
        guard histogram.totalCount > 0 else { return .init(p50: 0, p99: 0, p999: 0, max: 0, count: 0) }
        return .init(p50: Double(histogram.valueAtPercentile(50)), p99: Double(histogram.valueAtPercentile(99)),
                     p999: Double(histogram.valueAtPercentile(99.9)), max: Double(histogram.max), count: histogram.totalCount)
    }
}
