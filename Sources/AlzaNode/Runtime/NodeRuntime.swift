import AlzaConsensus
import AlzaCore
import AlzaLedger
import AlzaNet
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A running node process (DESIGN.md §1, §9): a role host. One transport, the chain follower every process
/// runs (producing when a SuperNode role gives it a producer identity), the roles the configuration names
/// (`RoleCatalog`, started by `RoleHost`), and the HTTP API with the roles' routes; assembled from a configuration
/// file and stopped cleanly on SIGTERM or SIGINT (swift-service-lifecycle).
public final class NodeRuntime: Sendable {
    public let configuration: NodeConfiguration
    public let genesis: Genesis
    public let transport: Transport
    public let chain: ChainService
    /// The `field` protocol's end on this node, when a role takes part in payment fields.
    public let fields: FieldService?
    public let roleHost: RoleHost
    public let api: APIServer
    public let metrics: NodeMetrics
    private let logger: Logger
    private let gaugeTask = Mutex<Task<Void, Never>?>(nil)

    /// Builds (but does not start) a node. `storage` replaces the data directory's files (fault-injection tests).
    public init(configuration: NodeConfiguration, logger: Logger, storage injected: (any DurableStorage)? = nil,
                catalog: RoleCatalog = .standard) throws(NodeError) {
        self.configuration = configuration
        self.logger = logger
        do {
            genesis = try Genesis.load(path: configuration.genesis)
        } catch {
            throw .startup("genesis \(configuration.genesis): \(error.description)")
        }
        let nodeKey: SigningKey
        do {
            nodeKey = try KeyFile.read(from: configuration.keyFile)
        } catch {
            throw .startup(error.description)
        }
        let roles = configuration.nodeRoles
        var producer: ProducerIdentity?
        if roles.contains(.superNode) {
            var signingKey = nodeKey
            if let path = configuration.producerKeyFile {
                do {
                    signingKey = try KeyFile.read(from: path)
                } catch {
                    throw .startup(error.description)
                }
            }
            producer = ProducerIdentity(account: Address(nodeKey.publicKey), accountKey: nodeKey, signingKey: signingKey)
        }
        let storage: any DurableStorage
        if let injected {
            storage = injected
        } else {
            do {
                storage = try FileStorage(directory: configuration.dataDirectory)
            } catch {
                throw .startup(error.description)
            }
        }
        metrics = NodeMetrics()
        var network = NetworkConfiguration(chainId: genesis.chainId, nodeKey: nodeKey, roles: roles,
                                           listenAddress: configuration.listen, seeds: configuration.peers)
        network.agent = "alza/\(AlzaVersion.string) \(configuration.name)"
        transport = Transport(configuration: network, logger: Logger(label: "alza.net.\(configuration.name)"))
        chain = try ChainService(genesis: genesis, nodeName: configuration.name,
                                 storage: ChainStorage(storage: storage, genesis: genesis), producer: producer,
                                 transport: transport, metrics: metrics,
                                 logger: Logger(label: "alza.chain.\(configuration.name)"))
        if configuration.roles.contains(where: FieldService.rolesUsingFields.contains) {
            let fieldStorage: any DurableStorage
            do {
                fieldStorage = try FileStorage(directory: configuration.dataDirectory + "/fields")
            } catch {
                throw .startup(error.description)
            }
            fields = FieldService(transport: transport, storage: fieldStorage, logger: Logger(label: "alza.field.\(configuration.name)"))
        } else {
            fields = nil
        }
        let setup = RoleSetup(configuration: configuration, nodeKey: nodeKey, producer: producer, chain: chain, fields: fields)
        roleHost = RoleHost(roles: try catalog.make(configuration.roles, setup: setup))
        api = APIServer(chain: chain, roleHost: roleHost, fields: fields, metrics: metrics, roles: configuration.roles,
                        logger: Logger(label: "alza.api.\(configuration.name)"))
    }

    /// Starts every part; returns the API's bound address.
    @discardableResult
    public func start() async throws(NodeError) -> String {
        // Every protocol is registered before the transport starts: no message arrives before its inbox.
        try await chain.start()
        let final = await chain.committedState().fields
        try await fields?.start(settled: { field in
            guard let record = final[field] else { return false }
            return record.isClosed || record.status.name == "annulled"
        })
        try await roleHost.start(transport: transport, chain: chain, logger: Logger(label: "alza.roles.\(configuration.name)"))
        do {
            try await transport.start()
        } catch {
            await roleHost.stop(transport: transport)
            throw .startup(error.description)
        }
        let apiAddress = try await api.start(address: configuration.api)
        let p2p = await transport.boundAddress ?? "-"
        logger.info("node \(configuration.name) (\(configuration.roles.joined(separator: ","))) up: chain \(genesis.chainId.short), p2p \(p2p), API http://\(apiAddress)")
        startGaugeUpdates()
        return apiAddress
    }

    private func startGaugeUpdates() {
        let transport = self.transport
        let metrics = self.metrics
        let chain = self.chain
        let task = Task {
            var export = TransportMetricsExport()
            while !Task.isCancelled {
                let lanes = TransportMetricsExport.LaneDrops(transactionBatches: chain.droppedTransactionBatches,
                                                            urgentEvents: chain.droppedUrgentEvents)
                export.export(await transport.statistics, lanes: lanes, to: metrics)
                try? await Task.sleep(for: .seconds(1))
            }
        }
        gaugeTask.withLock { $0 = task }
    }

    public func stop() async {
        logger.info("node \(configuration.name) stopping")
        gaugeTask.withLock { $0?.cancel() }
        await api.stop()
        await roleHost.stop(transport: transport)
        await fields?.stop()
        await chain.stop()
        await transport.stop()
    }

    /// Runs the node until SIGTERM or SIGINT, then shuts it down gracefully.
    public static func run(configurationPath: String) async throws {
        let configuration = try NodeConfiguration.load(path: configurationPath)
        NodeLogging.bootstrap(format: configuration.log.format, level: configuration.log.level)
        let logger = Logger(label: "alza.node.\(configuration.name)")
        let runtime = try NodeRuntime(configuration: configuration, logger: logger)
        let group = ServiceGroup(services: [NodeService(runtime: runtime)], gracefulShutdownSignals: [.sigterm, .sigint],
                                 logger: logger)
        try await group.run()
    }
}

/// The node as a ServiceLifecycle service: start, wait for the shutdown signal, stop.
struct NodeService: Service {
    let runtime: NodeRuntime

    func run() async throws {
        try await runtime.start()
        try? await gracefulShutdown()
        await runtime.stop()
    }
}
