import AlzaCore
import AlzaLedger
import AlzaNet
import Foundation

/// A node's configuration file (JSON). Relative paths are resolved against the file's folder.
///
/// ```json
/// {
///   "name": "supernode-0",
///   "roles": ["supernode"],
///   "keyFile": "keys/supernode-0.json",
///   "dataDirectory": "supernode-0/data",
///   "listen": "127.0.0.1:17000",
///   "api": "127.0.0.1:18000",
///   "peers": ["127.0.0.1:17001"],
///   "genesis": "genesis.json",
///   "log": { "format": "plain", "level": "info" }
/// }
/// ```
public struct NodeConfiguration: Codable, Sendable, Equatable {
    public struct Log: Codable, Sendable, Equatable {
        /// "plain" or "json" (one JSON object per line).
        public var format: String = "plain"
        /// trace, debug, info, notice, warning, error, critical.
        public var level: String = "info"
        public init(format: String = "plain", level: String = "info") {
            self.format = format
            self.level = level
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            format = try container.decodeIfPresent(String.self, forKey: .format) ?? "plain"
            level = try container.decodeIfPresent(String.self, forKey: .level) ?? "info"
        }

        static let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
    }

    /// Payment fields (DESIGN.md §6): which extra wallet accounts a satellite holds, and when it consents.
    public struct Fields: Codable, Sendable, Equatable {
        /// Sign a leader's `field-open` by itself (up to `maximumDeposit` per field) instead of refusing it.
        public var automaticConsent: Bool
        /// ALZA, as text ("250" or "0.5").
        public var maximumDeposit: String
        /// Keys of more wallet accounts (besides the node key's) that take part in fields.
        public var walletKeyFiles: [String]

        public init(automaticConsent: Bool = false, maximumDeposit: String = "0", walletKeyFiles: [String] = []) {
            self.automaticConsent = automaticConsent
            self.maximumDeposit = maximumDeposit
            self.walletKeyFiles = walletKeyFiles
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            automaticConsent = try container.decodeIfPresent(Bool.self, forKey: .automaticConsent) ?? false
            maximumDeposit = try container.decodeIfPresent(String.self, forKey: .maximumDeposit) ?? "0"
            walletKeyFiles = try container.decodeIfPresent([String].self, forKey: .walletKeyFiles) ?? []
        }
    }

    public var name: String
    /// "supernode" and/or "satellite".
    public var roles: [String]
    /// The node's key: its identity on the network; for a SuperNode also its producer account and block key.
    public var keyFile: String
    /// A SuperNode's block-signing key, if different from `keyFile`.
    public var producerKeyFile: String?
    public var dataDirectory: String
    public var listen: String
    public var api: String
    public var peers: [String]
    public var genesis: String
    public var log: Log
    public var fields: Fields

    private enum CodingKeys: String, CodingKey {
        case name, roles, keyFile, producerKeyFile, dataDirectory, listen, api, peers, genesis, log, fields
    }

    /// `peers`, `producerKeyFile` and `log` may be left out.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        roles = try container.decode([String].self, forKey: .roles)
        keyFile = try container.decode(String.self, forKey: .keyFile)
        producerKeyFile = try container.decodeIfPresent(String.self, forKey: .producerKeyFile)
        dataDirectory = try container.decode(String.self, forKey: .dataDirectory)
        listen = try container.decode(String.self, forKey: .listen)
        api = try container.decode(String.self, forKey: .api)
        peers = try container.decodeIfPresent([String].self, forKey: .peers) ?? []
        genesis = try container.decode(String.self, forKey: .genesis)
        log = try container.decodeIfPresent(Log.self, forKey: .log) ?? Log()
        fields = try container.decodeIfPresent(Fields.self, forKey: .fields) ?? Fields()
    }

    public init(name: String, roles: [String], keyFile: String, producerKeyFile: String? = nil, dataDirectory: String,
                listen: String, api: String, peers: [String], genesis: String, log: Log = Log(), fields: Fields = Fields()) {
        self.name = name
        self.roles = roles
        self.keyFile = keyFile
        self.producerKeyFile = producerKeyFile
        self.dataDirectory = dataDirectory
        self.listen = listen
        self.api = api
        self.peers = peers
        self.genesis = genesis
        self.log = log
        self.fields = fields
    }

    /// Reads and checks a configuration file, resolving its relative paths.
    public static func load(path: String) throws(NodeError) -> NodeConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else { throw .configuration("cannot read \(path)") }
        var configuration: NodeConfiguration
        do {
            configuration = try JSONDecoder().decode(NodeConfiguration.self, from: data)
        } catch {
            throw .configuration("\(path) is not a node configuration: \(error)")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        func resolve(_ file: String) -> String { file.hasPrefix("/") ? file : base + "/" + file }
        configuration.keyFile = resolve(configuration.keyFile)
        configuration.producerKeyFile = configuration.producerKeyFile.map(resolve)
        configuration.dataDirectory = resolve(configuration.dataDirectory)
        configuration.genesis = resolve(configuration.genesis)
        configuration.fields.walletKeyFiles = configuration.fields.walletKeyFiles.map(resolve)
        try configuration.validate()
        return configuration
    }

    public func validate() throws(NodeError) {
        guard !name.isEmpty else { throw .configuration("name is empty") }
        // Any of the wire roles may be named; whether this build can start each is the role catalog's say.
        do {
            _ = try NodeRoles(names: roles)
        } catch {
            throw .configuration(error.description)
        }
        guard !roles.isEmpty else { throw .configuration("roles is empty (\(NodeRoles.names.map(\.1).joined(separator: ", ")))") }
        guard Set(roles).count == roles.count else { throw .configuration("roles lists a role twice: \(roles)") }
        for (field, address) in [("listen", listen), ("api", api)] + peers.map({ ("peers", $0) }) {
            let parts = address.split(separator: ":")
            guard parts.count == 2, UInt16(parts[1]) != nil else {
                throw .configuration("\(field): \"\(address)\" is not host:port")
            }
        }
        do {
            _ = try Amounts.parse(fields.maximumDeposit)
        } catch {
            throw .configuration("fields.maximumDeposit: \(error.description)")
        }
        guard ["plain", "json"].contains(log.format) else { throw .configuration("log.format must be plain or json") }
        guard Log.levels.contains(log.level) else {
            throw .configuration("log.level \"\(log.level)\" is not one of \(Log.levels.joined(separator: ", "))")
        }
    }

    /// The roles announced in the handshake (names outside the wire roles, such as a test's, are not announced).
    public var nodeRoles: NodeRoles {
        (try? NodeRoles(names: roles.filter { name in NodeRoles.names.contains { $0.1 == name } })) ?? []
    }

    public func jsonBytes() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data()) + [0x0a]
    }
}

/// Why a node could not start or an operation failed at the node level.
public enum NodeError: AlzaError, Equatable {
    case configuration(String)
    case startup(String)
    case notFound(String)
    case badRequest(String)

    public var code: String {
        switch self {
        case .configuration: "node.configuration"
        case .startup: "node.startup"
        case .notFound: "node.not-found"
        case .badRequest: "node.bad-request"
        }
    }

    public var description: String {
        switch self {
        case .configuration(let reason): "configuration: \(reason)"
        case .startup(let reason): "cannot start: \(reason)"
        case .notFound(let what): "\(what) not found"
        case .badRequest(let reason): reason
        }
    }
}
