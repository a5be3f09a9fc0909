/// Links between simulated nodes: a latency drawn per message from `latency`, a loss probability, and
/// partitions (sets of nodes that only reach each other).
public struct SimulatedNetwork: Sendable {
    /// One-way delay range in milliseconds.
    public var latency: ClosedRange<UInt64>
    /// Probability that a message is lost.
    public var loss: Double
    /// While non-empty, nodes reach only nodes of their own group; nodes in no group reach nobody.
    public var partition: [Set<Int>] = []

    public init(latency: ClosedRange<UInt64> = 20...120, loss: Double = 0) {
        self.latency = latency
        self.loss = loss
    }

    public func reachable(_ from: Int, _ to: Int) -> Bool {
        guard !partition.isEmpty else { return true }
        return partition.contains { $0.contains(from) && $0.contains(to) }
    }
}
