import AlzaConsensus
import AlzaCore

/// What a role is built from: the node's configuration and keys, its producer identity (SuperNodes), and the
/// chain follower every process runs.
public struct RoleSetup: Sendable {
    public let configuration: NodeConfiguration
    public let nodeKey: SigningKey
    public let producer: ProducerIdentity?
    public let chain: ChainService
    /// The node's end of the `field` protocol, for the roles that take part in payment fields (satellite,
    /// fieldleader); nil when no such role is configured.
    public let fields: FieldService?
    /// The node's data folder, where roles keep their own files beside the chain's.
    public var dataDirectory: String { configuration.dataDirectory }
}

/// The roles a node binary can start, by configuration name. The standard catalog has the SuperNode and the
/// Satellite; tests and later roles add theirs with `adding`.
public struct RoleCatalog: Sendable {
    public typealias Factory = @Sendable (RoleSetup) throws(NodeError) -> any NodeRole

    private var factories: [String: Factory]

    public init(_ factories: [String: Factory] = [:]) {
        self.factories = factories
    }

    public static var standard: RoleCatalog {
        RoleCatalog([
            "supernode": { setup throws(NodeError) in
                guard let producer = setup.producer else { throw .configuration("the supernode role needs a producer identity") }
                return SuperNodeRole(producer: producer, chain: setup.chain)
            },
            "satellite": { setup throws(NodeError) in try SatelliteRole.make(setup) },
            "fieldleader": { setup throws(NodeError) in try FieldLeaderRole.make(setup) },
        ])
    }

    /// Roles the configuration names that this build does not run yet, and what they will do.
    static let notYetBuilt: [String: String] = [
        "datanode": "stores RaFi replicas", "namenode": "keeps the RaFi namespace",
    ]

    public func adding(_ name: String, _ factory: @escaping Factory) -> RoleCatalog {
        var copy = self
        copy.factories[name] = factory
        return copy
    }

    public var names: [String] { factories.keys.sorted() }

    /// The roles of `names`, in the order given; a name this build cannot start is a configuration error that
    /// says which roles it can.
    func make(_ names: [String], setup: RoleSetup) throws(NodeError) -> [any NodeRole] {
        var roles: [any NodeRole] = []
        for name in names {
            guard let factory = factories[name] else {
                let available = self.names.joined(separator: ", ")
                if let purpose = Self.notYetBuilt[name] {
                    throw .configuration("role \"\(name)\" (\(purpose)) is not part of alza \(AlzaVersion.string) yet; this build runs \(available)")
                }
                throw .configuration("unknown role \"\(name)\"; this build runs \(available)")
            }
            roles.append(try factory(setup))
        }
        return roles
    }
}
