import AlzaConsensus
import AlzaCore
import AlzaLedger

/// What the node knows of transactions it has seen (for `GET /v1/transactions/{id}`): pending in the mempool,
/// included at a height (irreversible once the LIB reaches it), or dropped with a reason. Bounded: the oldest
/// entries are forgotten first.
struct TransactionIndex: Sendable {
    enum Status: Sendable, Equatable {
        case pending
        case included(BlockReference)
        case dropped(reason: String, code: String)
    }

    private(set) var statuses: [Hash: Status] = [:]
    private var order: [Hash] = []
    private var orderStart = 0
    let capacity: Int

    init(capacity: Int = 500_000) {
        self.capacity = capacity
    }

    func status(of id: Hash) -> Status? { statuses[id] }

    mutating func set(_ id: Hash, _ status: Status) {
        if statuses.updateValue(status, forKey: id) == nil {
            order.append(id)
            if statuses.count > capacity {
                statuses[order[orderStart]] = nil
                orderStart += 1
                if orderStart > capacity / 2 {
                    order.removeFirst(orderStart)
                    orderStart = 0
                }
            }
        }
    }

    mutating func apply(_ notification: ConsensusNotification) {
        switch notification {
        case .applied(let reference, let transactions, _):
            for id in transactions { set(id, .included(reference)) }
        case .reverted(_, let transactions):
            for id in transactions { set(id, .pending) }
        case .transactionsDropped(let dropped):
            for (id, error) in dropped { set(id, .dropped(reason: error.description, code: error.code)) }
        default:
            break
        }
    }
}
