import Dispatch

/// A synchronous parallel loop over all cores (Dispatch's `concurrentPerform`), for CPU-bound work on data the
/// caller owns: compressing frame blocks, verifying a block's signatures, applying disjoint-scope messages.
///
/// Contract: iterations must touch disjoint memory (or only read shared memory). The loop returns when every
/// iteration has finished, so buffers borrowed by `body` stay valid throughout. It is deterministic as long as
/// each iteration's result depends only on its index.
public enum ParallelLoop {
    /// Processor count, the natural number of chunks.
    public static let width = max(1, sysconfWidth())

    public static func run(iterations: Int, _ body: (Int) -> Void) {
        guard iterations > 1 else {
            if iterations == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let shared = UncheckedSendableBox(escapable)
            DispatchQueue.concurrentPerform(iterations: iterations) { shared.value($0) }
        }
    }

    /// Splits `0..<count` into contiguous chunks (several per core, so a core slowed by other work does not hold
    /// up the rest: Dispatch hands chunks to whichever thread is free) and runs `body(range)` for each in parallel.
    public static func chunks(count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunkCount = max(1, min(width * 8, count / max(1, minimumChunk)))
        let size = (count + chunkCount - 1) / chunkCount
        run(iterations: chunkCount) { chunk in
            let start = chunk * size
            let end = min(count, start + size)
            if start < end { body(start..<end) }
        }
    }

    private static func sysconfWidth() -> Int {
        #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 1
        #endif
    }
}

/// Carries a non-Sendable value into a `@Sendable` closure whose caller guarantees safe use (see `ParallelLoop`).
struct UncheckedSendableBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

#if canImport(Glibc)
import Glibc
#endif
