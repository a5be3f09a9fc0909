#if canImport(Glibc)
import Glibc
#endif

/// Monotonic time for measurements (CLOCK_MONOTONIC, nanoseconds).
enum Monotonic {
    static func nanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// Runs `body` and returns its duration in seconds.
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = nanoseconds()
        try body()
        return Double(nanoseconds() - start) / 1e9
    }
}

/// Repeats `body(batch)` until at least `minimumSeconds` passed; returns operations per second over the best
/// of `rounds` rounds (the best round is the least disturbed by the rest of the machine).
func measureRate(rounds: Int = 3, minimumSeconds: Double, batch: Int, _ body: (Int) -> Void) -> Double {
    var best = 0.0
    for _ in 0..<rounds {
        var operations = 0
        let start = Monotonic.nanoseconds()
        var elapsed = 0.0
        repeat {
            body(batch)
            operations += batch
            elapsed = Double(Monotonic.nanoseconds() - start) / 1e9
        } while elapsed < minimumSeconds
        best = max(best, Double(operations) / elapsed)
    }
    return best
}
