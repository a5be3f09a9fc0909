import AlzaConsensus
import AlzaCore
import AlzaLedger
import Foundation

/// JSON shapes of the HTTP API (all amounts in base units; 1 ALZA = 10^8): what the server writes and what
/// `NodeClient` (CLI, testnets, load generators) reads.
public enum NodeAPI {
    public struct Reference: Codable, Sendable, Equatable {
        public var height: UInt64
        public var slot: UInt64
        public var id: String

        init(_ reference: BlockReference) {
            height = reference.height
            slot = reference.slot
            id = reference.id.hex
        }
    }

    public struct Schedule: Codable, Sendable {
        public var round: UInt64
        public var startSlot: UInt64
        public var producers: [String]
    }

    public struct ChainInfo: Codable, Sendable {
        public var chainId: String
        public var chainName: String
        public var node: String
        public var roles: [String]
        public var head: Reference
        public var lib: Reference
        public var currentSlot: UInt64
        public var slotMilliseconds: UInt64
        /// The lowest fee a transaction may offer, in base units.
        public var minimumFee: UInt64
        public var currentProducer: String?
        public var schedule: Schedule
        public var mempool: Int
        public var peers: Int
        public var forkSwitches: UInt64
        public var blocksProduced: UInt64
        public var totalSupply: UInt64
    }

    public struct MessageView: Codable, Sendable {
        public var code: String
        public var scope: [String]
        public var recipients: [String]
        public var authorization: [String]
        public var data: String
    }

    public struct TransactionView: Codable, Sendable {
        public var id: String
        public var payer: String?
        public var nonce: UInt64
        public var fee: UInt64
        public var expiration: UInt64
        public var delaySeconds: UInt32
        public var messages: [MessageView]
        public var signatures: Int

        init(_ transaction: SignedTransaction) {
            id = transaction.id.hex
            payer = transaction.transaction.payer?.description
            nonce = transaction.header.nonce
            fee = transaction.header.fee
            expiration = transaction.header.expiration
            delaySeconds = transaction.header.delaySeconds
            messages = transaction.messages.map {
                MessageView(code: $0.code.description, scope: $0.scope.map(\.description),
                            recipients: $0.recipients.map(\.description),
                            authorization: $0.authorization.map { "\($0.account)@\($0.permission)" }, data: Hex.encode($0.data))
            }
            signatures = transaction.signatures.count
        }
    }

    public struct BlockView: Codable, Sendable {
        public var height: UInt64
        public var slot: UInt64
        public var id: String
        public var previous: String
        public var producer: String
        public var timestamp: UInt64
        public var transactionRoot: String
        public var fieldRoot: String
        public var stateRoot: String
        public var signature: String
        public var bodyFrameBytes: Int
        public var irreversible: Bool
        /// Every transaction's id, in block order.
        public var transactionIds: [String]
        /// The transactions in full (empty when asked for ids only: `?transactions=ids`).
        public var transactions: [TransactionView]

        init(_ block: Block, irreversible: Bool, idsOnly: Bool = false) {
            let header = block.header
            height = header.height
            slot = header.slot
            id = block.id.hex
            previous = header.previous.hex
            producer = header.producer.description
            timestamp = header.timestamp
            transactionRoot = header.transactionRoot.hex
            fieldRoot = header.fieldRoot.hex
            stateRoot = header.stateRoot.hex
            signature = block.signedHeader.signature.hex
            bodyFrameBytes = block.bodyFrame.count
            self.irreversible = irreversible
            transactionIds = block.transactions.map(\.id.hex)
            transactions = idsOnly ? [] : block.transactions.map(TransactionView.init)
        }
    }

    public struct TransactionStatusView: Codable, Sendable {
        public var id: String
        public var status: String
        public var height: UInt64?
        public var block: String?
        public var reason: String?
        public var code: String?
    }

    public struct AccountView: Codable, Sendable {
        public var address: String
        public var name: String?
        public var balance: UInt64
        public var spendable: UInt64
        /// The nonce of the account's last applied transaction + 1 (the chain's view).
        public var nonce: UInt64
        /// The nonce its next transaction should carry, counting its transactions pending on this node.
        public var nextNonce: UInt64
        public var staked: UInt64
        public var vote: String?
        public var unbonding: [[UInt64]]
        public var delayRules: [String: UInt32]
        public var privileges: String
        public var pendingDelayed: UInt32
        public var producer: ProducerView?
    }

    public struct ProducerView: Codable, Sendable {
        public var account: String
        public var signingKey: String
        public var url: String
        public var timeZone: Int8
        public var status: String
        public var delegatedStake: UInt64
        public var producedBlocks: UInt64
        public var lastProducedSlot: UInt64
        public var inCurrentRound: Bool

        init(_ producer: ProducerInfo, state: LedgerState, round: RoundRecord) {
            account = producer.account.description
            signingKey = producer.signingKey.hex
            url = producer.url
            timeZone = producer.timeZone
            status = producer.status.description
            delegatedStake = state.delegatedStake[producer.account] ?? 0
            producedBlocks = producer.producedBlocks
            lastProducedSlot = producer.lastProducedSlot
            inCurrentRound = round.producers.contains(producer.account)
        }
    }

    public struct PeerView: Codable, Sendable {
        public var id: String
        public var roles: [String]
        public var listenAddress: String
        public var remoteAddress: String
        public var inbound: Bool
        public var agent: String
    }

    public struct Health: Codable, Sendable {
        public var status: String
        public var head: UInt64
        public var lib: UInt64
        public var peers: Int
        public var behindSlots: UInt64
        /// Why the node halted (when `status` is "halted").
        public var reason: String?
    }

    public struct Failure: Codable, Sendable {
        public var error: String
        public var message: String
    }

    public struct Submitted: Codable, Sendable {
        public var id: String
    }

    public struct SubmitRequest: Codable, Sendable {
        /// Hex of the canonical `SignedTransaction`.
        public var transaction: String
        public init(transaction: String) { self.transaction = transaction }
    }

    public struct BatchSubmitRequest: Codable, Sendable {
        /// Hex of each canonical `SignedTransaction`.
        public var transactions: [String]
        public init(transactions: [String]) { self.transactions = transactions }
    }

    /// One transaction's outcome in a batch: its id, or the error that refused it.
    public struct BatchOutcome: Codable, Sendable {
        public var id: String?
        public var error: String?
        public var message: String?
    }

    public struct BatchSubmitted: Codable, Sendable {
        public var results: [BatchOutcome]
    }

    public struct TransferRequest: Codable, Sendable {
        public var to: String
        /// ALZA, e.g. "1.5".
        public var amount: String
        public var fee: UInt64?
        public init(to: String, amount: String, fee: UInt64? = nil) {
            self.to = to
            self.amount = amount
            self.fee = fee
        }
    }

    public struct Wallet: Codable, Sendable {
        public var address: String
        public var balance: UInt64
        public var nonce: UInt64
    }

    public struct Monitor: Codable, Sendable {
        public var observations: [AgreementMonitor.Observation]
        public var divergences: [AgreementMonitor.Divergence]
    }

    /// `GET /v1/supernode`: the producer duties of a SuperNode.
    public struct SuperNodeDuties: Codable, Sendable, Equatable {
        public var account: String
        public var signingKey: String
        /// Whether the account is a registered producer on the chain.
        public var registered: Bool
        public var status: String?
        public var producedBlocks: UInt64
        public var lastProducedSlot: UInt64?
        public var inCurrentRound: Bool
        /// Its next slot in the current schedule, if it has one within a round.
        public var nextSlot: UInt64?
        public var currentSlot: UInt64
    }

    /// `GET /v1/roles`: the roles this node runs.
    public struct Roles: Codable, Sendable, Equatable {
        public var roles: [RoleReport]
    }
}
