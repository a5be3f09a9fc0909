import AlzaCore
import AlzaField
import AlzaLedger
import FlyingFox
import Foundation

/// The satellite's payment routes: `POST /v1/fields/{id}/payments` (one payment) and `POST /v1/fields/payments`
/// (many, of any fields and wallet accounts: each payer's payments go to its leader as one batch).
extension SatelliteRole {
    func fieldRoutes(participants: FieldParticipants?, chain: ChainService) -> [RoleRoute] {
        @Sendable func held() throws -> FieldParticipants {
            guard let participants else { throw APIFailure(status: .notFound, code: "field.not-held", message: "this node takes part in no fields") }
            return participants
        }
        return [
            RoleRoute(.POST, "v1/fields/*/payments") { request, captured in
                let started = ContinuousClock.now
                let body = try APIResponse.decode(NodeAPI.FieldPaymentRequest.self, from: try await APIResponse.body(request))
                let field = try APIServer.fieldId(captured[0])
                let (payer, order) = try await Self.order(body, state: chain.snapshot().state)
                do {
                    let (signed, receipt) = try await held().pay(field: field, from: payer, to: order.payee, amount: order.amount,
                                                                 memo: order.memo)
                    return try APIResponse.json(NodeAPI.FieldPaymentReceipt(signed, receipt, latencyMicroseconds: Self.micros(since: started)))
                } catch let failure as FieldPaymentFailure {
                    throw Self.apiFailure(failure)
                }
            },
            RoleRoute(.POST, "v1/fields/*/dispute") { _, captured in
                let field = try APIServer.fieldId(captured[0])
                switch await (try held()).actNow(on: field) {
                case .success(let (payload, id)):
                    return try APIResponse.json(NodeAPI.FieldActionSubmitted(id: field.hash.hex, action: payload.code.description,
                                                                             transaction: id.hex), status: .accepted)
                case .failure(let failure):
                    throw Self.apiFailure(failure)
                }
            },
            RoleRoute(.POST, "v1/fields/*/deposits") { request, captured in
                let field = try APIServer.fieldId(captured[0])
                let (account, amount) = try await Self.flow(request, state: chain.snapshot().state)
                switch await (try held()).deposit(field: field, from: account, amount: amount) {
                case .success(let id):
                    return try APIResponse.json(NodeAPI.FieldActionSubmitted(id: field.hash.hex, action: MessageCode.fieldDeposit.description,
                                                                             transaction: id.hex), status: .accepted)
                case .failure(let failure):
                    throw Self.apiFailure(failure)
                }
            },
            RoleRoute(.POST, "v1/fields/*/withdrawals") { request, captured in
                let started = ContinuousClock.now
                let field = try APIServer.fieldId(captured[0])
                let (account, amount) = try await Self.flow(request, state: chain.snapshot().state)
                do {
                    let (signed, receipt) = try await held().exit(field: field, from: account, kind: .withdrawal, amount: amount)
                    return try APIResponse.json(NodeAPI.FieldPaymentReceipt(signed, receipt, latencyMicroseconds: Self.micros(since: started)))
                } catch let failure as FieldPaymentFailure {
                    throw Self.apiFailure(failure)
                }
            },
            RoleRoute(.POST, "v1/fields/payments") { request, _ in
                let body = try APIResponse.decode(NodeAPI.FieldPaymentBatchRequest.self, from: try await APIResponse.body(request))
                return try APIResponse.json(try await Self.payBatch(body, participants: held(), chain: chain))
            },
        ]
    }

    private static func payBatch(_ body: NodeAPI.FieldPaymentBatchRequest, participants: FieldParticipants,
                                 chain: ChainService) async throws -> NodeAPI.FieldPaymentBatchResult {
        let started = ContinuousClock.now
        guard (1...FieldWireMessage.maximumBatch).contains(body.payments.count) else {
            throw APIFailure(status: .badRequest, code: "request.batch-size",
                             message: "a batch holds 1...\(FieldWireMessage.maximumBatch) payments, not \(body.payments.count)")
        }
        let state = await chain.snapshot().state
        // Each (field, payer) group keeps its order and goes as one batch; groups run at once.
        var groups: [GroupKey: [(position: Int, order: FieldParticipants.PaymentOrder)]] = [:]
        var results = [NodeAPI.FieldPaymentBatchResult.Item](repeating: .init(), count: body.payments.count)
        for (position, item) in body.payments.enumerated() {
            do throws(APIFailure) {
                let field = try APIServer.fieldId(item.field)
                let (payer, order) = try order(item.payment, state: state)
                let account = await participants.accountsIn(field).first
                groups[GroupKey(field: field, payer: payer ?? account), default: []].append((position, order))
            } catch {
                results[position] = .init(error: error.code, message: error.message)
            }
        }
        let answered = await withTaskGroup(of: [(Int, FieldParticipants.PaymentResult)].self) { group in
            for (key, orders) in groups {
                group.addTask {
                    do {
                        let outcome = try await participants.pay(field: key.field, from: key.payer, orders.map(\.order))
                        return Array(zip(orders.map(\.position), outcome))
                    } catch let failure as FieldPaymentFailure {
                        return orders.map { ($0.position, .failure(failure)) }
                    } catch {
                        return orders.map { ($0.position, .failure(.storage("\(error)"))) }
                    }
                }
            }
            var all: [(Int, FieldParticipants.PaymentResult)] = []
            for await part in group { all += part }
            return all
        }
        let micros = micros(since: started)
        for (position, result) in answered {
            switch result {
            case .success(let (signed, receipt)): results[position] = .init(receipt: .init(signed, receipt, latencyMicroseconds: micros))
            case .failure(let failure): results[position] = .init(error: failure.code, message: failure.description)
            }
        }
        return NodeAPI.FieldPaymentBatchResult(results: results)
    }

    private struct GroupKey: Hashable {
        var field: FieldId
        var payer: Address?
    }

    private static func order(_ body: NodeAPI.FieldPaymentRequest, state: LedgerState) throws(APIFailure) -> (Address?, FieldParticipants.PaymentOrder) {
        guard let payee = state.resolve(body.to) else { throw .bad(LedgerError.invalidAddress(body.to)) }
        var payer: Address?
        if let from = body.from {
            guard let address = state.resolve(from) else { throw .bad(LedgerError.invalidAddress(from)) }
            payer = address
        }
        do {
            return (payer, .init(payee: payee, amount: try Amounts.parse(body.amount), memo: Array((body.memo ?? "").utf8)))
        } catch {
            throw .bad(error)
        }
    }

    private static func flow(_ request: HTTPRequest, state: LedgerState) async throws -> (Address?, Amount) {
        let body = try APIResponse.decode(NodeAPI.FieldFlowRequest.self, from: try await APIResponse.body(request))
        var account: Address?
        if let text = body.account {
            guard let address = state.resolve(text) else { throw APIFailure.bad(LedgerError.invalidAddress(text)) }
            account = address
        }
        let amount: Amount
        do throws(LedgerError) {
            amount = try Amounts.parse(body.amount)
        } catch {
            throw APIFailure.bad(error)
        }
        guard amount > 0 else { throw APIFailure(status: .badRequest, code: "field.zero-amount", message: "the amount must be positive") }
        return (account, amount)
    }

    private static func micros(since start: ContinuousClock.Instant) -> UInt64 {
        let elapsed = ContinuousClock.now - start
        return UInt64(elapsed.components.seconds) * 1_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000_000)
    }

    static func apiFailure(_ failure: FieldPaymentFailure) -> APIFailure {
        switch failure {
        case .notHeld: APIFailure(status: .notFound, code: failure.code, message: failure.description)
        case .refused: APIFailure(status: .conflict, code: failure.code, message: failure.description)
        case .leaderUnreachable: APIFailure(status: .serviceUnavailable, code: failure.code, message: failure.description)
        case .storage: APIFailure(status: .internalServerError, code: failure.code, message: failure.description)
        }
    }
}
