import AlzaCore
import AlzaLedger
import Foundation

/// A local testnet on disk (what `alza genesis` writes): keys, the genesis file, one configuration per node, and
/// `testnet.json` describing the nodes (names, roles, ports) and the funded load accounts.
///
/// ```
/// DIR/genesis.json
/// DIR/testnet.json
/// DIR/keys/<node>.json            (mode 0600)
/// DIR/<node>/config.json
/// DIR/<node>/data/                (block log, journal, checkpoints)
/// ```
public struct TestnetLayout: Codable, Sendable {
    public struct NodeEntry: Codable, Sendable {
        public var name: String
        public var roles: [String]
        public var address: String
        public var listen: String
        public var api: String
        public var config: String
    }

    public var chainName: String
    public var chainId: String
    public var slotMilliseconds: UInt64
    public var nodes: [NodeEntry]
    /// Hex seed from which the load accounts' keys derive (`loadKey(index)`).
    public var loadSeed: String
    public var loadAccounts: Int

    public static let fileName = "testnet.json"

    /// The key of load account `index`.
    public func loadKey(_ index: Int) -> SigningKey {
        SigningKey(seed: Hash.sha256(Array((loadSeed + ":" + String(index)).utf8)).bytes32)
    }

    public var superNodes: [NodeEntry] { nodes.filter { $0.roles.contains("supernode") } }
    public var satellites: [NodeEntry] { nodes.filter { $0.roles.contains("satellite") } }

    /// The port offsets from the base port that a testnet of `nodes` nodes listens on: p2p, then API.
    public static func portOffsets(nodes: Int) -> [Int] { Array(0..<nodes) + Array(1000..<(1000 + nodes)) }

    public static func load(directory: String) throws(NodeError) -> TestnetLayout {
        let path = directory + "/" + fileName
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .configuration("\(path) not found: is \(directory) a testnet folder (made by alza genesis)?")
        }
        do {
            return try JSONDecoder().decode(TestnetLayout.self, from: data)
        } catch {
            throw .configuration("\(path) is not a testnet description: \(error)")
        }
    }

    /// Creates a testnet: `superNodes` producers (each its own account, self-staked equally), `satellites` funded
    /// wallets, `loadAccounts` funded accounts for load generators. Ports start at `basePort` (p2p) and
    /// `basePort + 1000` (API).
    public static func create(directory: String, superNodes: Int, satellites: Int, slotMilliseconds: UInt64,
                              basePort: UInt16, loadAccounts: Int = 512, chainName: String = "alza-local",
                              genesisTime: UInt64? = nil) throws(NodeError) -> TestnetLayout {
        guard superNodes >= 1 else { throw .configuration("a testnet needs at least one SuperNode") }
        guard slotMilliseconds >= 50 else { throw .configuration("slot length must be at least 50 ms") }
        let total = superNodes + satellites
        guard Int(basePort) + 1000 + total < 65_535 else { throw .configuration("base port \(basePort) leaves no room") }
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: directory + "/" + fileName) {
            throw .configuration("\(directory) already holds a testnet; choose another folder or remove it")
        }
        do {
            try fileManager.createDirectory(atPath: directory + "/keys", withIntermediateDirectories: true)
        } catch {
            throw .configuration("cannot create \(directory): \(error.localizedDescription)")
        }
        let names = (0..<superNodes).map { "supernode-\($0)" } + (0..<satellites).map { "satellite-\($0)" }
        var keys: [SigningKey] = []
        for name in names {
            let key = SigningKey.generate()
            do {
                try KeyFile.write(key, to: "\(directory)/keys/\(name).json")
            } catch {
                throw .configuration(error.description)
            }
            keys.append(key)
        }
        let loadSeed = Hex.encode(SecureRandom.bytes(32))
        var parameters = ChainParameters()
        parameters.producerCount = superNodes
        parameters.slotMilliseconds = slotMilliseconds
        // Time parameters scale with the slot: 12 h of 3 s slots is 14,400 slots at any slot length.
        parameters.inactivityRemovalSlots = 14_400
        parameters.checkpointIntervalBlocks = 500
        var accounts: [GenesisFile.Account] = []
        var producers: [GenesisFile.Producer] = []
        for (index, key) in keys.enumerated() {
            let address = Address(key.publicKey)
            if index < superNodes {
                accounts.append(GenesisFile.Account(publicKey: key.publicKey.hex, balance: 1_000_000 * Amounts.unit,
                                                    stake: 100_000 * Amounts.unit, vote: address.description))
                producers.append(GenesisFile.Producer(account: address.description, signingKey: key.publicKey.hex,
                                                      url: "local://\(names[index])", timeZone: 0))
            } else {
                accounts.append(GenesisFile.Account(publicKey: key.publicKey.hex, balance: 1_000_000 * Amounts.unit))
            }
        }
        var layout = TestnetLayout(chainName: chainName, chainId: "", slotMilliseconds: slotMilliseconds, nodes: [],
                                   loadSeed: loadSeed, loadAccounts: loadAccounts)
        for index in 0..<loadAccounts {
            accounts.append(GenesisFile.Account(publicKey: layout.loadKey(index).publicKey.hex, balance: 100_000 * Amounts.unit))
        }
        let start = genesisTime ?? (UInt64(Date().timeIntervalSince1970 * 1000) / 1000 * 1000)
        let genesisFile = GenesisFile(chainName: chainName, genesisTime: start, parameters: parameters, accounts: accounts,
                                      producers: producers,
                                      privileged: [GenesisFile.PrivilegedAccount(account: Address(keys[0].publicKey).description,
                                                                                 privileges: ["privilegeAdmin", "memberAdmin"])])
        let genesisBytes = genesisFile.jsonBytes()
        let genesis: Genesis
        do {
            genesis = try Genesis(bytes: genesisBytes)
        } catch {
            throw .configuration(error.description)
        }
        write(genesisBytes, to: directory + "/genesis.json")
        layout.chainId = genesis.chainId.hex
        let listen = names.indices.map { "127.0.0.1:\(Int(basePort) + $0)" }
        for (index, name) in names.enumerated() {
            // Each node seeds a few SuperNodes (ring neighbours at growing distances); gossip of peer
            // addresses connects the rest.
            var peers: [String] = []
            for step in [1, 2, 4, 8, 16] where superNodes > 1 {
                let target = (index + step) % superNodes
                if target != index && !peers.contains(listen[target]) { peers.append(listen[target]) }
            }
            // Satellites lead fields too, and consent to the testnet's fields by themselves.
            let roles = index < superNodes ? ["supernode"] : ["satellite", "fieldleader"]
            let fields = index < superNodes ? NodeConfiguration.Fields()
                : NodeConfiguration.Fields(automaticConsent: true, maximumDeposit: "100000")
            let configuration = NodeConfiguration(
                name: name, roles: roles, keyFile: "../keys/\(name).json", dataDirectory: "data",
                listen: listen[index], api: "127.0.0.1:\(Int(basePort) + 1000 + index)", peers: peers,
                genesis: "../genesis.json", fields: fields)
            do {
                try fileManager.createDirectory(atPath: "\(directory)/\(name)/data", withIntermediateDirectories: true)
            } catch {
                throw .configuration("cannot create \(directory)/\(name): \(error.localizedDescription)")
            }
            write(configuration.jsonBytes(), to: "\(directory)/\(name)/config.json")
            layout.nodes.append(NodeEntry(name: name, roles: roles, address: Address(keys[index].publicKey).description,
                                          listen: listen[index], api: configuration.api, config: "\(name)/config.json"))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        write(Array((try? encoder.encode(layout)) ?? Data()) + [0x0a], to: directory + "/" + fileName)
        return layout
    }

    private static func write(_ bytes: [UInt8], to path: String) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }
}
