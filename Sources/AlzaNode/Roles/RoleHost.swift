import AlzaCore
import AlzaNet
import Logging

/// Starts, stops, reports and routes to a node's roles, generically (DESIGN.md §1 "Role host"). Protocols are
/// registered with the transport before it starts; roles start in configuration order and stop in reverse.
public actor RoleHost {
    public nonisolated let roles: [any NodeRole]
    /// Every role's API routes, in role order.
    public nonisolated let routes: [RoleRoute]
    private var running: [String: [ProtocolId]] = [:]
    private var startOrder: [Int] = []

    public init(roles: [any NodeRole]) {
        var seen: Set<String> = []
        for role in roles { precondition(seen.insert(role.name).inserted, "role \(role.name) is hosted twice") }
        self.roles = roles
        routes = roles.flatMap(\.routes)
    }

    /// Registers each role's protocols and starts it. If one fails, those already started are stopped again and
    /// the failure names the role.
    public func start(transport: Transport, chain: ChainService, logger: Logger) async throws(NodeError) {
        precondition(startOrder.isEmpty, "roles are started once")
        for (index, role) in roles.enumerated() {
            var inboxes: [ProtocolId: AsyncStream<TransportEvent>] = [:]
            do {
                for registration in role.protocols { inboxes[registration.id] = try await transport.register(registration) }
                try await role.start(RoleContext(transport: transport, chain: chain, inboxes: inboxes, logger: logger))
            } catch {
                for id in inboxes.keys { await transport.unregister(id) }
                await stop(transport: transport)
                throw .startup("role \(role.name): \(error)")
            }
            running[role.name] = role.protocols.map(\.id)
            startOrder.append(index)
            logger.info("role \(role.name) started (protocols: \(role.protocols.map(\.id.description).joined(separator: ", ")))")
        }
    }

    /// Stops the running roles, last started first, and withdraws their protocols.
    public func stop(transport: Transport) async {
        for index in startOrder.reversed() {
            let role = roles[index]
            await role.stop()
            for id in running[role.name] ?? [] { await transport.unregister(id) }
            running[role.name] = nil
        }
        startOrder.removeAll()
    }

    public func reports() async -> [RoleReport] {
        var reports: [RoleReport] = []
        for role in roles {
            reports.append(RoleReport(name: role.name, state: running[role.name] == nil ? "stopped" : "running",
                                      protocols: role.protocols.map(\.id.description), details: await role.details()))
        }
        return reports
    }

    /// The route for `path`, with its wildcard segments; `.wrongMethod` when only the method differs.
    public nonisolated func route(_ method: HTTPMethodName, _ path: [String]) -> RouteMatch {
        var pathKnown = false
        for route in routes {
            guard let captured = route.match(path) else { continue }
            if route.method.rawValue == method { return .found(route, captured) }
            pathKnown = true
        }
        return pathKnown ? .wrongMethod : .none
    }

    public typealias HTTPMethodName = String

    public enum RouteMatch: Sendable {
        case found(RoleRoute, [String])
        case wrongMethod
        case none
    }
}
