/// The field protocol's timings that a node's shells and the simulator's field actors share (DESIGN.md §6), so
/// the simulator runs the durations a node runs.
public enum FieldTimings {
    /// How long a field request (a payment, a close signature) waits for its answer.
    public static let requestTimeoutMilliseconds: UInt64 = 10_000
    /// How long the participants' close signatures hold, chain time, after the leader asks for them (D36).
    public static let closeWindowMilliseconds: UInt64 = 120_000
    /// A chain watcher submits a dispute or finalize again only if the record still calls for it this much later.
    public static let reactionRepeatMilliseconds: UInt64 = 10_000
}
