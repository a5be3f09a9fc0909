import AlzaCore
import AlzaField
import AlzaLedger
import FlyingFox

/// `GET /v1/fields` and `GET /v1/fields/{id}`: the chain's records of payment fields at this node's head, a closed
/// field's settled commitment with its inclusion proof in the settling block's field root; `GET /v1/fields/{id}/local`:
/// this node's off-chain view, as the field's leader and as each participant account its wallet holds.
extension APIServer {
    static func fieldId(_ text: String) throws(APIFailure) -> FieldId {
        do {
            return FieldId(hash: try Hash(hex: text))
        } catch {
            throw APIFailure(status: .badRequest, code: "request.bad-field-id", message: "\"\(text)\" is not a field id (64 hex digits)")
        }
    }

    func fieldLocal(_ text: String) async throws -> HTTPResponse {
        let id = try Self.fieldId(text)
        guard let service = fieldService, let view = await service.localView(of: id) else {
            throw APIFailure(status: .notFound, code: FieldError.unknownFieldHere(id).code, message: FieldError.unknownFieldHere(id).description)
        }
        return try APIResponse.json(view)
    }

    func fields() async throws -> HTTPResponse {
        let state = await chain.snapshot().state
        let summaries = state.fields.values.sorted { $0.id < $1.id }.map { record in
            NodeAPI.FieldSummary(id: record.id.hash.hex, status: record.status.name,
                                 leader: record.leader.description, participants: record.participants.count, held: record.held)
        }
        return try APIResponse.json(summaries)
    }

    func field(_ text: String) async throws -> HTTPResponse {
        let id = try Self.fieldId(text)
        let state = await chain.snapshot().state
        guard let record = state.fields[id] else {
            throw APIFailure(status: .notFound, code: LedgerError.unknownField(id).code, message: LedgerError.unknownField(id).description)
        }
        var block: Block?
        if case .closed(_, let height) = record.status { block = await chain.block(at: height) }
        return try APIResponse.json(NodeAPI.FieldView(record, settledIn: block, fields: { state.fields[$0] }))
    }
}
