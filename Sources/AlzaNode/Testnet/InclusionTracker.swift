import AlzaCore
import AlzaLedger
import Foundation
import Histogram
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Submitted transactions and when they were included and finalized.
final class InclusionTracker: Sendable {
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
    }

    private let state = Mutex(State())

    func submitted(_ id: String, at date: Date) {
        state.withLock {
            $0.submitted += 1
            $0.submittedAt[id] = date
        }
    }

    func failed(_ reason: String) {
        state.withLock {
            $0.submitted += 1
            $0.errors += 1
            if $0.errorSamples.count < 5 { $0.errorSamples.append(reason) }
        }
    }

    /// A submission answered 503 `node.overloaded` (to be retried).
    func refusedAsOverloaded() { state.withLock { $0.overloadRefusals += 1 } }

    /// Signed transfers never accepted: a node was still overloaded when the load stopped.
    func unsent(_ count: Int) { state.withLock { $0.unsent += count } }

    func included(_ ids: [String], height: UInt64) {
        let now = Date()
        state.withLock { state in
            for id in ids where state.includedAt[id] == nil {
                guard let submitted = state.submittedAt[id] else { continue }
                state.includedAt[id] = (height, now)
                _ = state.inclusion.record(UInt64(max(1, now.timeIntervalSince(submitted) * 1000)))
                state.pendingFinality[height, default: []].append(id)
            }
        }
    }

    func irreversible(upTo height: UInt64) {
        let now = Date()
        state.withLock { state in
            for pendingHeight in state.pendingFinality.keys where pendingHeight <= height {
                for id in state.pendingFinality.removeValue(forKey: pendingHeight) ?? [] {
                    guard let submitted = state.submittedAt[id] else { continue }
                    state.finalized.insert(id)
                    _ = state.finality.record(UInt64(max(1, now.timeIntervalSince(submitted) * 1000)))
                }
            }
        }
    }

    var counts: (submitted: Int, accepted: Int, included: Int, irreversible: Int, errors: Int) {
        state.withLock { ($0.submitted, $0.submittedAt.count, $0.includedAt.count, $0.finalized.count, $0.errors) }
    }

    var errorSamples: [String] { state.withLock { $0.errorSamples } }
    var overload: (refusals: Int, unsent: Int) { state.withLock { ($0.overloadRefusals, $0.unsent) } }

    var inclusionLatency: TestnetRun.Report.Latency { state.withLock { Self.summary($0.inclusion) } }
    var finalityLatency: TestnetRun.Report.Latency { state.withLock { Self.summary($0.finality) } }

    private static func summary(_ histogram: Histogram<UInt64>) -> TestnetRun.Report.Latency {
        guard histogram.totalCount > 0 else { return .init(p50: 0, p99: 0, max: 0, count: 0) }
        return .init(p50: Double(histogram.valueAtPercentile(50)), p99: Double(histogram.valueAtPercentile(99)),
                     max: Double(histogram.max), count: histogram.totalCount)
    }
}
