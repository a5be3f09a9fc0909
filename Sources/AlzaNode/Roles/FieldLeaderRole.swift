import AlzaConsensus
import AlzaCore
import AlzaField
import AlzaLedger
import AlzaNet
import FlyingFox
import Logging

/// The FieldLeader role (DESIGN.md §1, §6): leads payment fields with the node key — one `FieldLeader` actor per
/// open field it leads, journaling into the node's field journal (`FieldService`). Started, it resumes the open fields the chain
/// says it leads (recovering their journals); it stops a leader when its field closes. Routes: `POST /v1/fields`
/// (claim, gather consents, open), `POST /v1/fields/{id}/close` (cooperative close with the newest fully signed
/// snapshot).
public actor FieldLeaderRole: NodeRole {
    nonisolated let key: SigningKey
    nonisolated let chain: ChainService
    nonisolated let service: FieldService
    nonisolated let logger: Logger
    nonisolated let configuration: FieldLeaderCore.Configuration
    private var watcher: Task<Void, Never>?
    private var opened: UInt64 = 0
    /// Fields whose leader is being started (an actor method suspends: two starts of one field must not race).
    private var starting: Set<FieldId> = []
    /// The dispute answered last per field, and when.
    private var responded: [FieldId: (index: UInt64, at: UInt64)] = [:]
    private var closed: UInt64 = 0

    init(key: SigningKey, chain: ChainService, service: FieldService, logger: Logger,
         configuration: FieldLeaderCore.Configuration = .init()) {
        self.key = key
        self.chain = chain
        self.service = service
        self.logger = logger
        self.configuration = configuration
    }

    static func make(_ setup: RoleSetup) throws(NodeError) -> FieldLeaderRole {
        guard let service = setup.fields else { preconditionFailure("the fieldleader role runs with the field service") }
        return FieldLeaderRole(key: setup.nodeKey, chain: setup.chain, service: service,
                               logger: Logger(label: "alza.fieldleader.\(setup.configuration.name)"))
    }

    public nonisolated var name: String { "fieldleader" }
    // The `field` protocol is the node's (`FieldService`), shared with the satellite's participants.
    public nonisolated var protocols: [ProtocolRegistration] { [] }

    public func start(_ context: RoleContext) async throws(NodeError) {
        let state = await chain.snapshot().state
        for record in state.fields.values where record.leaderKey == key.publicKey && record.status == .open {
            try await lead(record)
        }
        watcher = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await self?.retireClosedFields()
                await self?.answerDisputes()
                await self?.creditTopUps()
            }
        }
    }

    public func stop() async {
        watcher?.cancel()
        for field in await service.ledFields {
            await service.leader(of: field)?.stop()
            await service.detach(leaderOf: field)
        }
    }

    public func details() async -> [String: String] {
        ["leaderKey": key.publicKey.hex, "fieldsLed": "\(await service.ledFields.count)", "opened": "\(opened)", "closed": "\(closed)"]
    }

    /// Starts (or resumes from its journal) the leader of an open field.
    private func lead(_ record: FieldRecord) async throws(NodeError) {
        guard !starting.contains(record.id) else { return }
        starting.insert(record.id)
        defer { starting.remove(record.id) }
        guard await service.leader(of: record.id) == nil else { return }
        let roster = FieldRoster(field: record.id, chainId: await chain.chainId, leader: record.leaderKey,
                                 participants: record.participants, openingBalances: record.deposits)
        let leader = try await FieldLeader.open(roster: roster, key: key, configuration: configuration, service: service,
                                                logger: logger)
        if let final = await chain.committedState().fields[record.id] { await leader.credit(final.flows) }
        try await service.attach(leader)
        await leader.start()
        logger.info("leading field \(record.id.hash.short) (\(record.participants.count) participants, \(leader.recovered) payments recovered)")
    }

    private func retireClosedFields() async {
        let state = await chain.snapshot().state
        for field in await service.ledFields {
            guard let record = state.fields[field], record.isClosed else { continue }
            await service.leader(of: field)?.stop()
            await service.detach(leaderOf: field)
            closed += 1
            logger.info("field \(field.hash.short) is \(record.status.name) on chain; its leader stopped")
        }
    }

    /// The top-ups the chain credited to the participants of the open fields it leads (D34), as of the last
    /// irreversible block: a top-up on a branch that is later abandoned must never be spent in the field.
    private func creditTopUps() async {
        let state = await chain.committedState()
        for field in await service.ledFields {
            guard let record = state.fields[field], record.status == .open, !record.flows.isEmpty,
                  let leader = await service.leader(of: field) else { continue }
            await leader.credit(record.flows)
        }
    }

    /// Responds to every receipt dispute against a field it leads (an honest leader loses nothing to one), once
    /// per dispute unless 10 s pass with the dispute still open.
    private func answerDisputes() async {
        let state = await chain.snapshot().state
        for field in await service.ledFields {
            guard let record = state.fields[field], case .closing(_, _, let dispute?) = record.status,
                  let leader = await service.leader(of: field) else { continue }
            if let last = responded[field], last.index == dispute.index, ChainService.now() < last.at + 10_000 { continue }
            switch await leader.response(to: dispute) {
            case .success(let payload):
                responded[field] = (dispute.index, ChainService.now())
                await submit(payload, record: record)
            case .failure(let unavailable):
                logger.warning("field \(field.hash.short): cannot answer the dispute of receipt \(dispute.index) yet: \(unavailable.reason)")
            }
        }
    }

    @discardableResult
    private func submit(_ payload: MessagePayload, record: FieldRecord) async -> Result<Hash, MempoolError> {
        let result = await chain.submitFieldMessage(payload, signedBy: key, record: record)
        switch result {
        case .success(let id): logger.notice("field \(record.id.hash.short): \(payload.code) submitted (\(id.short))")
        case .failure(let error): logger.warning("field \(record.id.hash.short): \(payload.code) refused: \(error.description)")
        }
        return result
    }

    /// Every participant's signature of `final` as the field's last snapshot (domain `field-close`), asked of all
    /// at once; a refusal names the participant and its reason (the field can still close by the solo route).
    private func closeSignatures(for final: SignedFieldSnapshot, closeBy: UInt64) async throws(APIFailure) -> SignedFieldSnapshot {
        let service = self.service
        guard let roster = await service.leader(of: final.snapshot.field)?.roster else {
            throw APIFailure(status: .notFound, code: "field.unknown-here", message: "this node does not lead field \(final.snapshot.field)")
        }
        let participants = roster.participants
        let commitment = final.snapshot.closeBytes(participantsHash: roster.participantsHash, closeBy: closeBy)
        let chainId = roster.chainId
        let answers = await withTaskGroup(of: (Address, FieldWireMessage?, String?).self) { group in
            for participant in participants {
                // Only a signature that verifies is the participant's (another node may announce its account).
                let verifies: @Sendable (FieldWireMessage) -> Bool = { answer in
                    guard case .closeSignature(let signer, let signature) = answer, signer == participant else { return false }
                    return participant.publicKey.isValidSignature(signature, for: commitment, domain: FieldDomains.close, chainId: chainId)
                }
                group.addTask {
                    do throws(FieldRequestFailure) {
                        let answer = try await service.request(.closeRequest(final, participant: participant, closeBy: closeBy),
                                                               to: FieldService.address(ofParticipant: participant), accept: verifies)
                        return (participant, answer, nil)
                    } catch {
                        return (participant, nil, error.description)
                    }
                }
            }
            var answers: [Address: (FieldWireMessage?, String?)] = [:]
            for await (participant, answer, failure) in group { answers[participant] = (answer, failure) }
            return answers
        }
        var signatures: [Signature] = []
        for participant in participants {
            switch answers[participant] {
            case (.closeSignature(let signer, let signature)?, _)? where signer == participant:
                signatures.append(signature)
            case (.refused(let code, let reason)?, _)?:
                throw APIFailure(status: .conflict, code: code, message: "\(participant) did not sign the close: \(reason)")
            case (_, let failure)?:
                throw APIFailure(status: .badGateway, code: "field.network", message: "close signature of \(participant): \(failure ?? "no answer")")
            case nil:
                throw APIFailure(status: .badGateway, code: "field.network", message: "no close signature from \(participant)")
            }
        }
        return SignedFieldSnapshot(snapshot: final.snapshot, balances: final.balances, flows: final.flows, signatures: signatures)
    }

    // MARK: Routes

    public nonisolated var routes: [RoleRoute] {
        [
            RoleRoute(.POST, "v1/fields") { request, _ in try await self.open(request) },
            RoleRoute(.POST, "v1/fields/*/close") { _, captured in try await self.close(captured[0]) },
        ]
    }

    /// Fields one node leads at most: each is an instance its announcement lists (bounded by
    /// `InstanceAnnouncement.maximumInstances`, shared with the wallet's accounts).
    static let maximumFieldsLed = 1_024

    private func open(_ request: HTTPRequest) async throws -> HTTPResponse {
        let body = try APIResponse.decode(NodeAPI.FieldOpenRequest.self, from: try await APIResponse.body(request))
        try await APIResponse.refuseUnlessAccepting(chain)
        let led = await chain.snapshot().state.fields.values.filter { $0.leaderKey == key.publicKey && !$0.isClosed }.count
        guard led < Self.maximumFieldsLed else {
            throw APIFailure(status: .conflict, code: "field.too-many",
                             message: "this node leads \(led) fields that are not closed, the most it leads is \(Self.maximumFieldsLed)")
        }
        let opening = FieldOpening(chain: chain, service: service, key: key)
        let plan = try FieldOpening.plan(body, state: await chain.snapshot().state, leader: opening.account)
        let (record, claim, open) = try await opening.open(plan)
        try await lead(record)
        opened += 1
        return try APIResponse.json(NodeAPI.FieldOpened(id: record.id.hash.hex, leader: record.leader.description,
                                                        participants: record.participants.map(\.description),
                                                        claimTransaction: claim.hex, openTransaction: open.hex,
                                                        openedAtHeight: record.openedAtHeight), status: .created)
    }

    /// How long the participants' close signatures hold (chain time) after the leader asks for them.
    static let closeWindowMilliseconds = FieldTimings.closeWindowMilliseconds

    private func close(_ text: String) async throws -> HTTPResponse {
        let id = try APIServer.fieldId(text)
        guard let leader = await service.leader(of: id), let record = await chain.snapshot().state.fields[id] else {
            throw APIFailure(status: .notFound, code: FieldError.unknownFieldHere(id).code, message: "this node does not lead field \(id)")
        }
        // No more payments; the last snapshot covers every receipted one, or the close waits for the operator.
        let signed: SignedFieldSnapshot
        switch await leader.finalSnapshot(timeoutMilliseconds: 15_000) {
        case .success(let final): signed = final
        case .failure(let unsigned):
            throw APIFailure(status: .conflict, code: "field.final-snapshot-unsigned",
                             message: "the final snapshot of field \(id) is not signed by \(unsigned.accounts.map(\.description).joined(separator: ", ")); a participant may solo-close with its newest fully signed one")
        }
        // The close signatures hold until then (chain time): a close that does not make it by then lapses, and the
        // participants count payments beyond it again (D36).
        let closeBy = ChainService.now() + Self.closeWindowMilliseconds
        let closing: SignedFieldSnapshot
        do {
            closing = try await closeSignatures(for: signed, closeBy: closeBy)
        } catch {
            await leader.reopen()
            throw error
        }
        switch await submit(.fieldClose(field: id, snapshot: closing, closeBy: closeBy), record: record) {
        case .success(let transaction):
            return try APIResponse.json(NodeAPI.FieldCloseSubmitted(id: id.hash.hex, transaction: transaction.hex,
                                                                    snapshot: signed.snapshot.number,
                                                                    paymentCount: signed.snapshot.paymentCount), status: .accepted)
        case .failure(let error):
            throw APIFailure.bad(error)
        }
    }
}
