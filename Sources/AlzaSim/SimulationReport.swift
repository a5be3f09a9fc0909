import AlzaCore
import AlzaLedger

/// The outcome of a run, printed by `alza sim --json`.
public struct SimulationReport: Codable, Sendable, Equatable {
    public struct NodeHead: Codable, Sendable, Equatable {
        public var node: String
        public var online: Bool
        public var height: UInt64
        public var id: String
    }

    public struct RemovedProducer: Codable, Sendable, Equatable {
        public var node: Int
        public var account: String
        public var status: String
    }

    public var seed: UInt64
    public var producers: Int
    public var satellites: Int
    public var slots: UInt64
    public var blocks: UInt64
    public var missedSlots: UInt64
    public var forkSwitches: UInt64
    public var maxLibLagSlots: UInt64
    public var heads: [NodeHead]
    public var libs: [NodeHead]
    public var finalizedReverted: UInt64
    public var equivocationsDetected: UInt64
    public var removedProducers: [RemovedProducer]
    /// Base units minted by coinbases.
    public var rewardsPaid: UInt64
    public var totalSupply: UInt64
    public var transfersSubmitted: UInt64
    public var transfersApplied: UInt64
    /// Payment fields the workload started (claim, open, cooperative close), and those the reference node's
    /// state shows closed.
    public var fieldsStarted: UInt64
    public var fieldsClosed: UInt64
    /// Fields annulled by an unanswered receipt dispute, and those whose leader was proven to equivocate.
    public var fieldsAnnulled: UInt64
    public var fieldsForfeited: UInt64
    /// Settled (closed or annulled) fields whose record shows the workload's top-up and its withdrawal paid on
    /// chain (D34).
    public var fieldsToppedUp: UInt64
    public var fieldsWithdrawn: UInt64
    public var stateRoots: [String: String]
    public var agreed: Bool
    public var messagesDelivered: UInt64
    public var messagesLost: UInt64
    public var syncRequests: UInt64
    /// Transaction batches the nodes' relays published (their own after the batching window, and relays).
    public var transactionBatches: UInt64
    /// SuperNode statuses the satellites' agreement monitors compared, and the divergences they reported.
    public var statusesObserved: UInt64
    public var divergencesReported: UInt64
    public var restarts: UInt64
    /// The off-chain payment fields (`--payment-fields`), nil without them.
    public var paymentFields: PaymentFieldActivity?
    public var recoveryLog: [String]
    /// Invariants broken during the run (empty when the run is safe).
    public var violations: [InvariantViolation]
    public var wallSeconds: Double

    /// Equality of everything the seed determines (wall time excluded).
    public static func == (lhs: SimulationReport, rhs: SimulationReport) -> Bool {
        var left = lhs
        var right = rhs
        left.wallSeconds = 0
        right.wallSeconds = 0
        return left.seed == right.seed && left.slots == right.slots && left.blocks == right.blocks
            && left.heads == right.heads && left.libs == right.libs && left.stateRoots == right.stateRoots
            && left.forkSwitches == right.forkSwitches && left.maxLibLagSlots == right.maxLibLagSlots
            && left.rewardsPaid == right.rewardsPaid && left.transfersApplied == right.transfersApplied
            && left.fieldsStarted == right.fieldsStarted && left.fieldsClosed == right.fieldsClosed
            && left.fieldsToppedUp == right.fieldsToppedUp && left.fieldsWithdrawn == right.fieldsWithdrawn
            && left.fieldsAnnulled == right.fieldsAnnulled && left.fieldsForfeited == right.fieldsForfeited
            && left.messagesDelivered == right.messagesDelivered && left.messagesLost == right.messagesLost
            && left.removedProducers == right.removedProducers && left.recoveryLog == right.recoveryLog
            && left.violations == right.violations && left.satellites == right.satellites
            && left.transactionBatches == right.transactionBatches && left.statusesObserved == right.statusesObserved
            && left.divergencesReported == right.divergencesReported && left.paymentFields == right.paymentFields
    }
}

/// What the simulated nodes' field actors did (`alza sim --payment-fields N`): the fields, their payments, the
/// requests and announcements that carried them, and recoveries from the nodes' field journals.
public struct PaymentFieldActivity: Codable, Sendable, Equatable {
    public var fields = 0
    /// Fields the reference node's state shows opened (or later), and closed by the cooperative close.
    public var opened = 0
    public var closed = 0
    public var paymentsSubmitted: UInt64 = 0
    public var paymentsReceipted: UInt64 = 0
    public var paymentsRefused: UInt64 = 0
    /// Payments a wallet did not sign (over its balance) and payment requests sent again after a failure.
    public var paymentsRefusedByWallet: UInt64 = 0
    public var paymentsResent: UInt64 = 0
    public var snapshotsFullySigned: UInt64 = 0
    public var closesSubmitted: UInt64 = 0
    /// Stale solo closes the dishonest accounts posted (`staleSoloCloses`), and what the honest accounts' chain
    /// watchers submitted against them: disputes with a newer snapshot or a receipt, and finalizes.
    public var staleSoloClosesPosted: UInt64 = 0
    public var disputesSubmitted: UInt64 = 0
    public var finalizesSubmitted: UInt64 = 0
    /// Fields closed with a newer snapshot than the stale one posted (a dispute replaced it).
    public var staleClosesReplaced = 0
    public var closeSignaturesRefused: UInt64 = 0
    /// Requests through the nodes' `RequestCorrelator`s, and how those without an answer ended.
    public var requestsSent: UInt64 = 0
    public var requestsTimedOut: UInt64 = 0
    public var requestsFailedByDisconnect: UInt64 = 0
    public var requestsRefusedAtLimit: UInt64 = 0
    /// Responses that matched no outstanding request (late, after a timeout or a resend).
    public var responsesUnmatched: UInt64 = 0
    /// Messages with no known or reachable host, naming no actor on the receiving node, or not decoding.
    public var undeliverable: UInt64 = 0
    public var unroutable: UInt64 = 0
    public var undecodable: UInt64 = 0
    /// Messages an actor refused (a typed field error: a stale proposal, a duplicate receipt...).
    public var refusedMessages: UInt64 = 0
    /// Instance announcements made, applied by another node's directory, and refused by one.
    public var announcementsMade: UInt64 = 0
    public var announcementsApplied: UInt64 = 0
    public var announcementsRefused: UInt64 = 0
    /// Leaders and participants made again from a restarted node's field journal.
    public var leaderRecoveries: UInt64 = 0
    public var participantReplays: UInt64 = 0
    /// Participants whose settled balance was checked against their guarantee.
    public var participantsChecked = 0

    public init() {}
}
