import AlzaCore
import AlzaLedger

/// A node's off-chain view of a payment field (`GET /v1/fields/{id}/local`): as its leader, and as each
/// participant account its wallet holds.
public struct FieldLocalView: Codable, Sendable, Equatable {
    public struct Line: Codable, Sendable, Equatable {
        public var account: String
        public var balance: Amount
    }

    public struct Leader: Codable, Sendable, Equatable {
        /// Durable (receipted) payments.
        public var payments: UInt64
        public var newestSnapshot: UInt64
        public var newestFullySigned: UInt64
        /// Who has not signed the newest snapshot (Hydra #1792).
        public var unsigned: [String]
        /// Balances after the durable payments.
        public var balances: [Line]
        public var refused: UInt64
        /// Messages no connected node took (a participant's node down).
        public var undelivered: UInt64
        /// Payments recovered from the journal at start.
        public var recovered: UInt64
        public var failure: String?
    }

    public struct Participant: Codable, Sendable, Equatable {
        public var account: String
        /// Its balance in the newest snapshot it signed.
        public var signedBalance: Amount?
        /// Its top-ups and exits in that snapshot (D34).
        public var signedDeposited: Amount?
        public var signedWithdrawn: Amount?
        public var newestSigned: UInt64
        public var newestFullySigned: UInt64
        /// Payments it made, and receipts it holds (for its own and incoming payments).
        public var paymentsSent: Int
        public var receipts: Int
    }

    public var field: String
    public var leader: Leader?
    public var participants: [Participant]
}
