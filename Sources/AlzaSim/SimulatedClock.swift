/// A simulated node's wall clock: the true (virtual) time plus an offset, running fast or slow by a drift in
/// parts per million since `since`. The simulator feeds a node's cores only what its clock reads.
public struct SimulatedClock: Sendable, Equatable {
    public var offset: Int64 = 0
    public var driftPartsPerMillion: Int64 = 0
    /// True time from which the drift accumulates.
    public var since: UInt64 = 0

    public init(offset: Int64 = 0, driftPartsPerMillion: Int64 = 0, since: UInt64 = 0) {
        self.offset = offset
        self.driftPartsPerMillion = driftPartsPerMillion
        self.since = since
    }

    /// What the clock reads at true time `time`.
    public func read(at time: UInt64) -> UInt64 {
        let elapsed = Int64(time) - Int64(since)
        return UInt64(max(0, Int64(time) + offset + elapsed * driftPartsPerMillion / 1_000_000))
    }

    /// The earliest true time at which the clock reads `local` or later. The first-order estimate can fall a
    /// millisecond or two short under drift; stepping it up matters: a timer fired before its local time is due
    /// would be scheduled again for the same instant, forever.
    public func trueTime(at local: UInt64) -> UInt64 {
        let shifted = Int64(local) - offset
        let elapsed = shifted - Int64(since)
        var estimate = UInt64(max(0, shifted - elapsed * driftPartsPerMillion / 1_000_000))
        while read(at: estimate) < local { estimate += 1 }
        return estimate
    }
}
