import AlzaCore

/// What a transaction may know about the block applying it.
public struct BlockContext: Sendable {
    public var height: UInt64
    public var slot: UInt64
    /// Unix milliseconds: the block's timestamp.
    public var time: UInt64
    public var producer: Address

    public init(height: UInt64, slot: UInt64, time: UInt64, producer: Address) {
        self.height = height
        self.slot = slot
        self.time = time
        self.producer = producer
    }
}
