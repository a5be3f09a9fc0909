import Histogram

/// Latencies in microseconds, kept in an HdrHistogram (3 significant digits), reported as p50/p99/p999/max.
struct LatencyRecorder {
    private var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)

    mutating func record(microseconds: UInt64) {
        _ = histogram.record(max(1, microseconds))
    }

    mutating func record(nanoseconds: UInt64) {
        record(microseconds: (nanoseconds + 500) / 1000)
    }

    var count: UInt64 { histogram.totalCount }

    var summary: LatencySummary {
        LatencySummary(
            count: histogram.totalCount,
            p50: histogram.valueAtPercentile(50),
            p99: histogram.valueAtPercentile(99),
            p999: histogram.valueAtPercentile(99.9),
            max: histogram.max)
    }
}

/// Percentiles of one latency distribution, in microseconds.
struct LatencySummary: Codable {
    var count: UInt64
    var p50: UInt64
    var p99: UInt64
    var p999: UInt64
    var max: UInt64
}
