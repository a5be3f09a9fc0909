import AlzaCore
import AlzaField
import AlzaLedger
import AlzaNet
import FlyingFox
import Foundation

/// The Satellite role (DESIGN.md §1): the node key's wallet and the agreement monitor over the SuperNodes it
/// hears from (`SatelliteService`), and the wallet's part in payment fields (`FieldParticipants`: its node key
/// and `fields.walletKeyFiles` accounts). Routes: `/v1/monitor`, `/v1/wallet`, `/v1/wallet/transfer`,
/// `POST /v1/fields/{id}/payments`.
public struct SatelliteRole: NodeRole {
    public let service: SatelliteService
    let participants: FieldParticipants?
    let chain: ChainService

    public init(service: SatelliteService, participants: FieldParticipants? = nil, chain: ChainService) {
        self.service = service
        self.participants = participants
        self.chain = chain
    }

    static func make(_ setup: RoleSetup) throws(NodeError) -> SatelliteRole {
        let name = setup.configuration.name
        let service = SatelliteService(chain: setup.chain, key: setup.nodeKey, logger: .init(label: "alza.satellite.\(name)"))
        guard let fields = setup.fields else { return SatelliteRole(service: service, chain: setup.chain) }
        var keys = [setup.nodeKey]
        // Each account is an instance the node announces (at most `InstanceAnnouncement.maximumInstances`, shared
        // with the fields it leads).
        guard setup.configuration.fields.walletKeyFiles.count < FieldLeaderRole.maximumFieldsLed else {
            throw .configuration("fields.walletKeyFiles lists \(setup.configuration.fields.walletKeyFiles.count) keys; at most \(FieldLeaderRole.maximumFieldsLed - 1)")
        }
        for path in setup.configuration.fields.walletKeyFiles {
            do {
                keys.append(try KeyFile.read(from: path))
            } catch {
                throw .startup("fields.walletKeyFiles: \(error.description)")
            }
        }
        let maximum = (try? Amounts.parse(setup.configuration.fields.maximumDeposit)) ?? 0
        let participants = FieldParticipants(
            keys: keys, chain: setup.chain, service: fields,
            policy: .init(automatic: setup.configuration.fields.automaticConsent, maximumDeposit: maximum),
            logger: .init(label: "alza.participant.\(name)"))
        return SatelliteRole(service: service, participants: participants, chain: setup.chain)
    }

    public var name: String { "satellite" }
    // Chain statuses come through the chain follower; field traffic through the node's `FieldService`.
    public var protocols: [ProtocolRegistration] { [] }

    public func start(_ context: RoleContext) async throws(NodeError) {
        await service.start()
        try await participants?.start()
    }

    public func stop() async {
        await participants?.stop()
    }

    public func details() async -> [String: String] {
        let (observations, divergences) = await service.agreement
        var details = ["wallet": await service.address.description, "watchedSuperNodes": "\(observations.count)",
                       "divergences": "\(divergences.count)"]
        if let participants {
            details["fieldAccounts"] = participants.accounts.map(\.description).joined(separator: ",")
            details["fieldInputsRefused"] = "\(await participants.refusals.values.reduce(0, +))"
        }
        return details
    }

    public var routes: [RoleRoute] {
        let (service, chain, participants) = (self.service, self.chain, self.participants)
        return [
            RoleRoute(.GET, "v1/monitor") { _, _ in
                let (observations, divergences) = await service.agreement
                return try APIResponse.json(NodeAPI.Monitor(observations: observations, divergences: divergences))
            },
            RoleRoute(.GET, "v1/wallet") { _, _ in
                let address = await service.address
                let state = await chain.snapshot().state
                return try APIResponse.json(NodeAPI.Wallet(address: address.description, balance: state.accounts[address]?.balance ?? 0,
                                                           nonce: await chain.nextNonce(for: address)))
            },
            RoleRoute(.POST, "v1/wallet/transfer") { request, _ in try await Self.transfer(request, service: service, chain: chain) },
        ] + fieldRoutes(participants: participants, chain: chain)
    }

    private static func transfer(_ request: HTTPRequest, service: SatelliteService, chain: ChainService) async throws -> HTTPResponse {
        let transfer = try APIResponse.decode(NodeAPI.TransferRequest.self, from: try await APIResponse.body(request))
        try await APIResponse.refuseUnlessAccepting(chain)
        let state = await chain.snapshot().state
        guard let recipient = state.resolve(transfer.to) else { throw APIFailure.bad(LedgerError.invalidAddress(transfer.to)) }
        let amount: Amount
        do {
            amount = try Amounts.parse(transfer.amount)
        } catch {
            throw APIFailure.bad(error)
        }
        switch await service.transfer(to: recipient, amount: amount, fee: transfer.fee) {
        case .success(let id): return try APIResponse.json(NodeAPI.Submitted(id: id.hex), status: .accepted)
        case .failure(let error): throw APIFailure.bad(error)
        }
    }
}
