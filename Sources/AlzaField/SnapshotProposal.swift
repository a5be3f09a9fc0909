import AlzaCore
import AlzaLedger

/// What the leader sends one participant with a snapshot: the payment hashes it has not seen in a snapshot it
/// signed, and its own balance with the inclusion proof of its leaf. A participant sees hashes and its own line,
/// not the others' payments.
public struct SnapshotProposal: Hashable, Sendable, CanonicalCodable {
    public static let maximumHashes = 1 << 20

    public var snapshot: FieldSnapshot
    public var firstIndex: UInt64
    public var paymentHashes: [Hash]
    public var participantIndex: UInt32
    public var balance: Amount
    public var balanceProof: [Hash]
    /// The participant's top-ups and exits the snapshot counts (D34), part of its line.
    public var flow: FieldFlow

    public init(snapshot: FieldSnapshot, firstIndex: UInt64, paymentHashes: [Hash], participantIndex: UInt32,
                balance: Amount, balanceProof: [Hash], flow: FieldFlow = .zero) {
        self.snapshot = snapshot
        self.firstIndex = firstIndex
        self.paymentHashes = paymentHashes
        self.participantIndex = participantIndex
        self.balance = balance
        self.balanceProof = balanceProof
        self.flow = flow
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(snapshot)
        encoder.encode(firstIndex)
        encoder.encode(paymentHashes)
        encoder.encode(participantIndex)
        encoder.encode(balance)
        encoder.encode(balanceProof)
        encoder.encode(flow)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        snapshot = try decoder.decode()
        firstIndex = try decoder.decode()
        paymentHashes = try decoder.decodeArray(limit: Self.maximumHashes)
        participantIndex = try decoder.decode()
        balance = try decoder.decode()
        balanceProof = try decoder.decodeArray(limit: FieldReceipt.maximumPath)
        flow = try decoder.decode()
    }
}
