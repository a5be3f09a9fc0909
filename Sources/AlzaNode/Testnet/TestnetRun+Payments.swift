import AlzaCore

extension TestnetRun.Report {
    /// Field payments of a testnet run: offered, receipted by a leader, and settled on chain by the closes.
    public struct Payments: Codable, Sendable {
        public var submitted: Int
        public var receipted: Int
        /// Payments covered by the snapshots the closes settled.
        public var settled: Int
        /// Refused by a core with a typed reason (HTTP 409).
        public var refused: Int
        public var errors: Int
        public var errorSamples: [String]
        /// From each payment's intended send time to its receipt at the load generator.
        public var latencyMs: Latency
    }

    public struct BalanceChecks: Codable, Sendable {
        public var passed: Int
        public var failed: Int
        public var samples: [String]
    }
}

/// What closing a payment load's fields found.
struct PaymentOutcome: Sendable {
    var payments: TestnetRun.Report.Payments
    var fieldsOpened: Int
    var fieldsClosed: Int
    var crossFieldLocks: Int
    var balanceChecks: TestnetRun.Report.BalanceChecks
}
