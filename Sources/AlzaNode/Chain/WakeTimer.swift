/// One pending wake-up of an actor at a wall-clock time in milliseconds: the shell's half of a core's
/// `wakeAt`/`scheduleTick` effect. Asking for a time at or after the pending one keeps the pending one; an
/// earlier time replaces it.
struct WakeTimer {
    private(set) var at: UInt64?
    private var task: Task<Void, Never>?

    /// Arranges for `fire` to run at `at` (wall clock `now` given, so tests and shells agree on time).
    mutating func set(_ at: UInt64, now: UInt64, fire: @escaping @Sendable () async -> Void) {
        if let pending = self.at, pending <= at, task != nil { return }
        self.at = at
        task?.cancel()
        task = Task {
            if at > now { try? await Task.sleep(for: .milliseconds(at - now)) }
            guard !Task.isCancelled else { return }
            await fire()
        }
    }

    /// Called by `fire`: nothing is pending any more.
    mutating func fired() {
        at = nil
        task = nil
    }

    mutating func cancel() {
        task?.cancel()
        task = nil
        at = nil
    }
}
