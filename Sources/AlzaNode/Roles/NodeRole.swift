import AlzaCore
import AlzaNet
import FlyingFox
import Logging

/// A role a node process plays (DESIGN.md §1 "Role host"): SuperNode, Satellite, and the roles of later work
/// (FieldLeader, DataNode, NameNode). The host (`RoleHost`) treats every role alike: it registers the protocols
/// the role speaks with the transport, hands it their inboxes, starts and stops it with the node, shows its
/// details at `GET /v1/roles`, and serves its API routes. Every process also runs the chain follower (`ChainService`), which
/// is not a role: roles build on it.
public protocol NodeRole: Sendable {
    /// Its name in the configuration's `roles` ("supernode", "satellite", …).
    var name: String { get }
    /// The protocols it speaks besides the chain's; each gets its own inbox (`RoleContext.inboxes`).
    var protocols: [ProtocolRegistration] { get }
    /// Its HTTP routes, served under the node's API beside the chain's.
    var routes: [RoleRoute] { get }
    /// Called once, before the transport starts (so no message of its protocols arrives before it listens).
    func start(_ context: RoleContext) async throws(NodeError)
    /// Called once when the node stops, after which the role sends nothing.
    func stop() async
    /// Role-specific figures (counts, keys, addresses) as text, for `GET /v1/roles`.
    func details() async -> [String: String]
}

/// What a starting role gets from the host.
public struct RoleContext: Sendable {
    public let transport: Transport
    public let chain: ChainService
    /// One inbox per protocol of `NodeRole.protocols`.
    public let inboxes: [ProtocolId: AsyncStream<TransportEvent>]
    public let logger: Logger
}

/// A role's state as the API shows it.
public struct RoleReport: Codable, Sendable, Equatable {
    public var name: String
    /// "running" or "stopped".
    public var state: String
    /// The protocols it speaks, by name.
    public var protocols: [String]
    /// Role-specific figures (counts, keys, addresses), as text.
    public var details: [String: String]

    public init(name: String, state: String, protocols: [String] = [], details: [String: String] = [:]) {
        self.name = name
        self.state = state
        self.protocols = protocols
        self.details = details
    }
}

/// An HTTP route a role adds to the node's API. A `*` segment matches any one path segment, handed to the
/// handler in order.
public struct RoleRoute: Sendable {
    public var method: HTTPMethod
    public var path: [String]
    public var handler: @Sendable (HTTPRequest, [String]) async throws -> HTTPResponse

    public init(_ method: HTTPMethod, _ path: String,
                handler: @escaping @Sendable (HTTPRequest, [String]) async throws -> HTTPResponse) {
        self.method = method
        self.path = path.split(separator: "/").map(String.init)
        self.handler = handler
    }

    /// The wildcard segments of `path` if it matches this route's path (whatever the method), else nil.
    func match(_ path: [String]) -> [String]? {
        guard path.count == self.path.count else { return nil }
        var captured: [String] = []
        for (pattern, segment) in zip(self.path, path) {
            if pattern == "*" { captured.append(segment) } else if pattern != segment { return nil }
        }
        return captured
    }
}
