import AlzaConsensus
import AlzaCore
import AlzaLedger
import AlzaNet
import FlyingFox
import FlyingSocks
import Foundation
import Logging
import Synchronization

/// The node's HTTP API (DESIGN.md §9), JSON over FlyingFox. Every request gets an answer: unknown routes a 404,
/// wrong methods a 405, bad input a 400 with `{"error": code, "message": text}`; nothing a client sends can crash
/// the node.
public actor APIServer {
    let chain: ChainService
    private let roleHost: RoleHost
    let fieldService: FieldService?
    private let metrics: NodeMetrics
    private let roles: [String]
    private let logger: Logger
    private var server: HTTPServer?
    private var task: Task<Void, Never>?

    static let maximumBatch = 1_000

    public init(chain: ChainService, roleHost: RoleHost, fields: FieldService? = nil, metrics: NodeMetrics, roles: [String],
                logger: Logger) {
        self.chain = chain
        self.roleHost = roleHost
        fieldService = fields
        self.metrics = metrics
        self.roles = roles
        self.logger = logger
    }

    /// Listens on `address` (host:port; port 0 picks one) and returns the bound address.
    public func start(address: String) async throws(NodeError) -> String {
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { throw .configuration("api address \(address)") }
        let host = parts[0] == "localhost" ? "127.0.0.1" : String(parts[0])
        let socketAddress: sockaddr_in
        do {
            socketAddress = try .inet(ip4: host, port: port)
        } catch {
            throw .configuration("api address \(address): \(error)")
        }
        let server = HTTPServer(address: socketAddress, timeout: 15, pool: NoDelaySocketPool(inner: HTTPServer.defaultPool()),
                                logger: .disabled)
        await server.appendRoute("*") { [weak self] request in
            guard let self else { return HTTPResponse(statusCode: .serviceUnavailable) }
            return await self.handle(request)
        }
        self.server = server
        // The server's own error (address in use, no permission) is the reason to report if it never listens.
        let failure = Mutex<String?>(nil)
        task = Task {
            do {
                try await server.run()
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if case .ip4(let boundHost, let boundPort)? = await server.listeningAddress { return "\(boundHost):\(boundPort)" }
            if let reason = failure.withLock({ $0 }) { throw .startup("HTTP API could not listen on \(address): \(reason)") }
            try? await Task.sleep(for: .milliseconds(10))
        }
        throw .startup("HTTP API could not listen on \(address) within 5 s")
    }

    public func stop() async {
        await server?.stop(timeout: 1)
        task?.cancel()
    }

    // MARK: Routing

    func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let path = request.path.split(separator: "/").map(String.init)
        let method = request.method
        do {
            switch (method, path.count, path.first) {
            case (.GET, 1, "health"): return try await health()
            case (.GET, 1, "metrics"):
                return HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                                    body: Data(metrics.exposition().utf8))
            default: break
            }
            if path.first == "v1" {
                let rest = Array(path.dropFirst())
                switch (method, rest.count) {
                case (.GET, 2) where rest == ["chain", "info"]: return try await chainInfo()
                case (.GET, 2) where rest[0] == "blocks":
                    let idsOnly = request.query.contains { $0.name == "transactions" && $0.value == "ids" }
                    return try await block(rest[1], raw: false, idsOnly: idsOnly)
                case (.GET, 3) where rest[0] == "blocks" && rest[2] == "raw": return try await block(rest[1], raw: true)
                case (.POST, 1) where rest == ["transactions"]: return try await submit(request)
                case (.POST, 2) where rest == ["transactions", "batch"]: return try await submitBatch(request)
                case (.GET, 2) where rest[0] == "transactions" && rest[1] != "batch": return try await transactionStatus(rest[1])
                case (.GET, 2) where rest[0] == "accounts": return try await account(rest[1])
                case (.GET, 1) where rest == ["fields"]: return try await fields()
                case (.GET, 2) where rest[0] == "fields": return try await field(rest[1])
                case (.GET, 3) where rest[0] == "fields" && rest[2] == "local": return try await fieldLocal(rest[1])
                case (.GET, 1) where rest == ["producers"]: return try await producers()
                case (.GET, 1) where rest == ["peers"]: return try await peers()
                case (.GET, 1) where rest == ["roles"]:
                    return try json(NodeAPI.Roles(roles: await roleHost.reports()))
                default: break
                }
            }
            // The roles' routes (a satellite's wallet, a SuperNode's duties, …).
            switch roleHost.route(method.rawValue, path) {
            case .found(let route, let captured): return try await route.handler(request, captured)
            case .wrongMethod: return failure(.methodNotAllowed, "method.not-allowed", "\(method.rawValue) is not allowed on \(request.path)")
            case .none: break
            }
            let known: [[String]] = [["health"], ["metrics"], ["v1", "chain", "info"], ["v1", "transactions"],
                                     ["v1", "transactions", "batch"], ["v1", "producers"], ["v1", "peers"], ["v1", "roles"],
                                     ["v1", "fields"]]
            if known.contains(path) || (path.count >= 3 && path[0] == "v1" && ["blocks", "transactions", "accounts", "fields"].contains(path[1])) {
                return failure(.methodNotAllowed, "method.not-allowed", "\(method.rawValue) is not allowed on \(request.path)")
            }
            return failure(.notFound, "route.not-found", "no route \(method.rawValue) \(request.path)")
        } catch let error as APIFailure {
            return failure(error.status, error.code, error.message)
        } catch {
            logger.error("API \(method.rawValue) \(request.path) failed: \(error)")
            return failure(.internalServerError, "internal", "\(error)")
        }
    }

    private func json<T: Encodable>(_ value: T, status: HTTPStatusCode = .ok) throws -> HTTPResponse {
        try APIResponse.json(value, status: status)
    }

    private func failure(_ status: HTTPStatusCode, _ code: String, _ message: String) -> HTTPResponse {
        APIResponse.failure(status, code, message)
    }

    private func body(_ request: HTTPRequest) async throws -> Data { try await APIResponse.body(request) }

    private func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T { try APIResponse.decode(type, from: data) }

    // MARK: Handlers

    private func health() async throws -> HTTPResponse {
        let snapshot = await chain.snapshot()
        let peers = await chain.connectedPeers.count
        let behind = snapshot.currentSlot > snapshot.head.slot ? snapshot.currentSlot - snapshot.head.slot : 0
        let halted = await chain.haltReason
        return try json(NodeAPI.Health(status: halted == nil ? "ok" : "halted", head: snapshot.head.height,
                                       lib: snapshot.lib.height, peers: peers, behindSlots: behind, reason: halted),
                        status: halted == nil ? .ok : .serviceUnavailable)
    }

    private func chainInfo() async throws -> HTTPResponse {
        let snapshot = await chain.snapshot()
        let genesis = chain.genesis
        let info = NodeAPI.ChainInfo(
            chainId: genesis.chainId.hex, chainName: genesis.file.chainName, node: chain.nodeName, roles: roles,
            head: .init(snapshot.head), lib: .init(snapshot.lib), currentSlot: snapshot.currentSlot,
            slotMilliseconds: genesis.parameters.slotMilliseconds, minimumFee: snapshot.state.parameters.minimumFee,
            currentProducer: snapshot.currentProducer?.description,
            schedule: .init(round: snapshot.round.number, startSlot: snapshot.round.startSlot,
                            producers: snapshot.round.producers.map(\.description)),
            mempool: snapshot.mempoolCount, peers: await chain.connectedPeers.count,
            forkSwitches: snapshot.statistics.forkSwitches, blocksProduced: snapshot.statistics.blocksProduced,
            totalSupply: snapshot.state.chain.totalSupply)
        return try json(info)
    }

    private func block(_ text: String, raw: Bool, idsOnly: Bool = false) async throws -> HTTPResponse {
        guard let height = UInt64(text), height >= 1 else {
            throw APIFailure(status: .badRequest, code: "request.bad-height", message: "\"\(text)\" is not a block height (1, 2, ...)")
        }
        guard let block = await chain.block(at: height) else {
            throw APIFailure(status: .notFound, code: "block.not-found", message: "no block at height \(height) on this node")
        }
        if raw {
            return HTTPResponse(statusCode: .ok, headers: [.contentType: "application/x-lz4"], body: Data(block.bodyFrame))
        }
        let lib = await chain.snapshot().lib
        return try json(NodeAPI.BlockView(block, irreversible: height <= lib.height, idsOnly: idsOnly))
    }

    private func submit(_ request: HTTPRequest) async throws -> HTTPResponse {
        let data = try await body(request)
        let bytes: [UInt8]
        if request.headers[.contentType] == "application/octet-stream" {
            bytes = Array(data)
        } else {
            let submission = try decode(NodeAPI.SubmitRequest.self, from: data)
            do {
                bytes = try Hex.decode(submission.transaction)
            } catch {
                throw APIFailure.bad(error)
            }
        }
        let transaction: SignedTransaction
        do {
            transaction = try SignedTransaction(canonicalBytes: bytes)
        } catch {
            throw APIFailure.bad(error)
        }
        try await refuseUnlessAccepting()
        switch await chain.submit(transaction) {
        case .success(let id): return try json(NodeAPI.Submitted(id: id.hex), status: .accepted)
        case .failure(let error): throw APIFailure.bad(error)
        }
    }

    /// Up to `maximumBatch` transactions in one request (like Antelope's `push_transactions`): clients with a
    /// steady stream (wallets, exchanges, load generators) pay one HTTP round trip per batch, not per transfer.
    /// Each transaction gets its own outcome; one bad transaction does not refuse the others.
    private func submitBatch(_ request: HTTPRequest) async throws -> HTTPResponse {
        let batch = try decode(NodeAPI.BatchSubmitRequest.self, from: try await body(request))
        guard batch.transactions.count <= Self.maximumBatch else {
            throw APIFailure(status: .payloadTooLarge, code: "request.batch-too-large",
                             message: "\(batch.transactions.count) transactions in one batch; at most \(Self.maximumBatch)")
        }
        var outcomes = [NodeAPI.BatchOutcome?](repeating: nil, count: batch.transactions.count)
        var decoded: [(Int, SignedTransaction)] = []
        for (index, text) in batch.transactions.enumerated() {
            let bytes: [UInt8]
            do {
                bytes = try Hex.decode(text)
            } catch {
                outcomes[index] = .init(error: error.code, message: error.description)
                continue
            }
            do {
                decoded.append((index, try SignedTransaction(canonicalBytes: bytes)))
            } catch {
                outcomes[index] = .init(error: error.code, message: error.description)
            }
        }
        try await refuseUnlessAccepting()
        let results = await chain.submit(decoded.map(\.1))
        for ((index, _), result) in zip(decoded, results) {
            switch result {
            case .success(let id): outcomes[index] = .init(id: id.hex)
            case .failure(let error): outcomes[index] = .init(error: error.code, message: error.description)
            }
        }
        return try json(NodeAPI.BatchSubmitted(results: outcomes.map { $0! }), status: .accepted)
    }

    private func refuseUnlessAccepting() async throws { try await APIResponse.refuseUnlessAccepting(chain) }

    private func transactionStatus(_ text: String) async throws -> HTTPResponse {
        let id: Hash
        do {
            id = try Hash(hex: text)
        } catch {
            throw APIFailure.bad(error)
        }
        let view: NodeAPI.TransactionStatusView
        switch await chain.transactionStatus(id) {
        case .pending: view = .init(id: id.hex, status: "pending")
        case .included(let reference):
            view = .init(id: id.hex, status: "included", height: reference.height, block: reference.id.hex)
        case .irreversible(let reference):
            view = .init(id: id.hex, status: "irreversible", height: reference.height, block: reference.id.hex)
        case .dropped(let reason, let code): view = .init(id: id.hex, status: "dropped", reason: reason, code: code)
        case .unknown: view = .init(id: id.hex, status: "unknown")
        }
        return try json(view)
    }

    private func account(_ text: String) async throws -> HTTPResponse {
        let snapshot = await chain.snapshot()
        let state = snapshot.state
        guard let address = state.resolve(text) else {
            if (try? Address(parsing: text)) == nil && (try? AccountName(text)) == nil {
                throw APIFailure(status: .badRequest, code: "ledger.invalid-address",
                                 message: "\"\(text)\" is neither an address (alza1…) nor an account name")
            }
            throw APIFailure(status: .notFound, code: "account.not-found", message: "no account \(text)")
        }
        guard let account = state.accounts[address] else {
            throw APIFailure(status: .notFound, code: "account.not-found", message: "no account \(address)")
        }
        let time = ChainService.now()
        let view = NodeAPI.AccountView(
            address: address.description, name: account.name?.value, balance: account.balance,
            spendable: state.spendableBalance(of: address, at: time), nonce: account.nonce,
            nextNonce: await chain.nextNonce(for: address), staked: account.staked,
            vote: account.vote?.description, unbonding: account.unbonding.map { [$0.amount, $0.releaseAt] },
            delayRules: Dictionary(uniqueKeysWithValues: account.delayRules.map { ($0.code.description, $0.minimumSeconds) }),
            privileges: account.privileges.description, pendingDelayed: account.pendingDelayed,
            producer: state.producers[address].map { NodeAPI.ProducerView($0, state: state, round: snapshot.round) })
        return try json(view)
    }

    private func producers() async throws -> HTTPResponse {
        let snapshot = await chain.snapshot()
        let views = snapshot.state.producers.values
            .map { NodeAPI.ProducerView($0, state: snapshot.state, round: snapshot.round) }
            .sorted { ($0.delegatedStake, $1.account) > ($1.delegatedStake, $0.account) }
        return try json(views)
    }

    private func peers() async throws -> HTTPResponse {
        let views = await chain.connectedPeers.map {
            NodeAPI.PeerView(id: $0.id, roles: $0.roles.names, listenAddress: $0.listenAddress,
                              remoteAddress: $0.remoteAddress, inbound: $0.inbound, agent: $0.agent)
        }
        return try json(views)
    }
}
