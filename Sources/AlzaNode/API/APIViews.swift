import AlzaConsensus
import AlzaCore
import AlzaLedger
import Foundation

/// JSON shapes of the HTTP API (all amounts in base units; 1 ALZA = 10^8).
enum APIViews {
    struct Reference: Codable, Equatable {
        var height: UInt64
        var slot: UInt64
        var id: String

        init(_ reference: BlockReference) {
            height = reference.height
            slot = reference.slot
            id = reference.id.hex
        }
    }

    struct Schedule: Codable {
        var round: UInt64
        var startSlot: UInt64
        var producers: [String]
    }

    struct ChainInfo: Codable {
        var chainId: String
        var chainName: String
        var node: String
        var roles: [String]
        var head: Reference
        var lib: Reference
        var currentSlot: UInt64
        var slotMilliseconds: UInt64
        var currentProducer: String?
        var schedule: Schedule
        var mempool: Int
        var peers: Int
        var forkSwitches: UInt64
        var blocksProduced: UInt64
        var totalSupply: UInt64
    }

    struct MessageView: Codable {
        var code: String
        var scope: [String]
        var recipients: [String]
        var authorization: [String]
        var data: String
    }

    struct TransactionView: Codable {
        var id: String
        var payer: String?
        var nonce: UInt64
        var fee: UInt64
        var expiration: UInt64
        var delaySeconds: UInt32
        var messages: [MessageView]
        var signatures: Int

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

    struct BlockView: Codable {
        var height: UInt64
        var slot: UInt64
        var id: String
        var previous: String
        var producer: String
        var timestamp: UInt64
        var transactionRoot: String
        var fieldRoot: String
        var stateRoot: String
        var signature: String
        var bodyFrameBytes: Int
        var irreversible: Bool
        var transactions: [TransactionView]

        init(_ block: Block, irreversible: Bool) {
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
            transactions = block.transactions.map(TransactionView.init)
        }
    }

    struct TransactionStatusView: Codable {
        var id: String
        var status: String
        var height: UInt64?
        var block: String?
        var reason: String?
        var code: String?
    }

    struct AccountView: Codable {
        var address: String
        var name: String?
        var balance: UInt64
        var spendable: UInt64
        var nonce: UInt64
        var staked: UInt64
        var vote: String?
        var unbonding: [[UInt64]]
        var delayRules: [String: UInt32]
        var privileges: String
        var pendingDelayed: UInt32
        var producer: ProducerView?
    }

    struct ProducerView: Codable {
        var account: String
        var signingKey: String
        var url: String
        var timeZone: Int8
        var status: String
        var delegatedStake: UInt64
        var producedBlocks: UInt64
        var lastProducedSlot: UInt64
        var inCurrentRound: Bool

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

    struct PeerView: Codable {
        var id: String
        var roles: [String]
        var listenAddress: String
        var remoteAddress: String
        var inbound: Bool
        var agent: String
    }

    struct Health: Codable {
        var status: String
        var head: UInt64
        var lib: UInt64
        var peers: Int
        var behindSlots: UInt64
    }

    struct Failure: Codable {
        var error: String
        var message: String
    }

    struct Submitted: Codable {
        var id: String
    }

    struct SubmitRequest: Codable {
        /// Hex of the canonical `SignedTransaction`.
        var transaction: String
    }

    struct TransferRequest: Codable {
        var to: String
        /// ALZA, e.g. "1.5".
        var amount: String
        var fee: UInt64?
    }

    struct Wallet: Codable {
        var address: String
        var balance: UInt64
        var nonce: UInt64
    }

    struct Monitor: Codable {
        var observations: [AgreementMonitor.Observation]
        var divergences: [AgreementMonitor.Divergence]
    }
}
