import AlzaCore
import AlzaLedger

/// The payload of a gossip message on the `transactions` topic: transactions sent together, so a node pays the
/// per-message costs of gossip (framing, id, seen-cache, one copy per mesh peer) once per batch, not once per
/// transfer. A node batches its own submissions (`ChainRelayCore`) and forwards a received batch as it came when
/// every transaction in it was valid.
public struct TransactionBatch: Hashable, Sendable, CanonicalCodable {
    public var transactions: [SignedTransaction]

    /// Bounds the decoder; a batch also stays under `ChainRelayCore.Configuration.batchBytes` when built by the relay.
    public static let maximumCount = 4_096

    public init(_ transactions: [SignedTransaction]) {
        self.transactions = transactions
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(transactions)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        transactions = try decoder.decodeArray(limit: Self.maximumCount)
    }
}
