import AlzaCore
import AlzaLedger
import AlzaNet
import FlyingFox

/// The Satellite role (DESIGN.md §1): the node key's wallet and the agreement monitor over the SuperNodes it
/// hears from (`SatelliteService`), with their API routes `/v1/monitor`, `/v1/wallet`, `/v1/wallet/transfer`.
/// It speaks no protocol of its own yet: it watches the chain protocol's statuses through the chain follower.
public struct SatelliteRole: NodeRole {
    public let service: SatelliteService
    let chain: ChainService

    public init(service: SatelliteService, chain: ChainService) {
        self.service = service
        self.chain = chain
    }

    public var name: String { "satellite" }
    public var protocols: [ProtocolRegistration] { [] }

    public func start(_ context: RoleContext) async throws(NodeError) {
        await service.start()
    }

    public func stop() async {}

    public func details() async -> [String: String] {
        let (observations, divergences) = await service.agreement
        return ["wallet": await service.address.description, "watchedSuperNodes": "\(observations.count)",
                "divergences": "\(divergences.count)"]
    }

    public var routes: [RoleRoute] {
        let (service, chain) = (self.service, self.chain)
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
        ]
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
