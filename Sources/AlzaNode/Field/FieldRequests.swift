import AlzaCore
import AlzaField
import AlzaLedger

extension NodeAPI {
    /// `POST /v1/fields` on a field leader node: open a field led by this node's key.
    public struct FieldOpenRequest: Codable, Sendable, Equatable {
        public struct Participant: Codable, Sendable, Equatable {
            public var account: String
            /// ALZA, e.g. "100".
            public var deposit: String
            /// The id of an open field the account is in: the deposit is locked there (D34), not taken from the
            /// account.
            public var lockFrom: String?

            public init(account: String, deposit: String, lockFrom: String? = nil) {
                self.account = account
                self.deposit = deposit
                self.lockFrom = lockFrom
            }
        }

        public var participants: [Participant]
        /// The challenge window of a solo close, seconds (default 24 h).
        public var challengeSeconds: UInt32?
        /// ALZA locked by the leader (default 1).
        public var bond: String?

        public init(participants: [Participant], challengeSeconds: UInt32? = nil, bond: String? = nil) {
            self.participants = participants
            self.challengeSeconds = challengeSeconds
            self.bond = bond
        }
    }

    public struct FieldOpened: Codable, Sendable, Equatable {
        public var id: String
        public var leader: String
        public var participants: [String]
        public var claimTransaction: String
        public var openTransaction: String
        public var openedAtHeight: UInt64
    }

    /// `POST /v1/fields/{id}/payments` on a participant's node.
    public struct FieldPaymentRequest: Codable, Sendable, Equatable {
        public var to: String
        /// ALZA, e.g. "1.5".
        public var amount: String
        /// The paying account, when the wallet holds more than one in the field.
        public var from: String?
        /// Text sealed to the payee.
        public var memo: String?

        public init(to: String, amount: String, from: String? = nil, memo: String? = nil) {
            self.to = to
            self.amount = amount
            self.from = from
            self.memo = memo
        }
    }

    public struct FieldPaymentReceipt: Codable, Sendable, Equatable {
        public var field: String
        public var payer: String
        public var payee: String
        public var amount: Amount
        public var sequence: UInt64
        public var paymentHash: String
        /// The payment's place in the leader's log.
        public var index: UInt64
        public var batchSize: UInt32
        public var batchRoot: String
        public var signature: String
        /// From the request's arrival to the journaled receipt.
        public var latencyMicroseconds: UInt64

        init(_ signed: SignedFieldPayment, _ receipt: FieldReceipt, latencyMicroseconds: UInt64) {
            field = receipt.field.hash.hex
            payer = signed.payment.payer.description
            payee = signed.payment.payee.description
            amount = signed.payment.amount
            sequence = signed.payment.sequence
            paymentHash = receipt.paymentHash.hex
            index = receipt.index
            batchSize = receipt.batchSize
            batchRoot = receipt.batchRoot.hex
            signature = receipt.signature.hex
            self.latencyMicroseconds = latencyMicroseconds
        }
    }

    /// `POST /v1/fields/{id}/close` on the leader's node: the close submitted with the newest fully signed snapshot.
    public struct FieldCloseSubmitted: Codable, Sendable, Equatable {
        public var id: String
        public var transaction: String
        public var snapshot: UInt64
        public var paymentCount: UInt64
    }
}

extension NodeAPI {
    /// `POST /v1/fields/payments` on a participant's node: payments of any of its wallet's fields and accounts.
    public struct FieldPaymentBatchRequest: Codable, Sendable, Equatable {
        public struct Item: Codable, Sendable, Equatable {
            public var field: String
            public var payment: FieldPaymentRequest

            public init(field: String, payment: FieldPaymentRequest) {
                self.field = field
                self.payment = payment
            }
        }

        public var payments: [Item]

        public init(payments: [Item]) { self.payments = payments }
    }

    /// One result per payment, in request order: its receipt, or its error code and message.
    public struct FieldPaymentBatchResult: Codable, Sendable, Equatable {
        public struct Item: Codable, Sendable, Equatable {
            public var receipt: FieldPaymentReceipt?
            public var error: String?
            public var message: String?

            public init(receipt: FieldPaymentReceipt? = nil, error: String? = nil, message: String? = nil) {
                self.receipt = receipt
                self.error = error
                self.message = message
            }
        }

        public var results: [Item]
    }
}

extension NodeAPI {
    /// `POST /v1/fields/{id}/dispute` on a participant's node: what it submitted (field-solo-close, field-dispute
    /// or field-finalize).
    public struct FieldActionSubmitted: Codable, Sendable, Equatable {
        public var id: String
        public var action: String
        public var transaction: String
    }

    /// `POST /v1/fields/{id}/deposits` and `/withdrawals` on a participant's node (D34): move `amount` ALZA from
    /// the account into the open field, or out of it (paid by `field-withdraw` once a fully signed snapshot
    /// records it; the node submits that by itself).
    public struct FieldFlowRequest: Codable, Sendable, Equatable {
        public var amount: String
        /// The wallet account, when the wallet holds more than one in the field.
        public var account: String?

        public init(amount: String, account: String? = nil) {
            self.amount = amount
            self.account = account
        }
    }
}
