import AlzaNode
import Foundation
import Testing

@Suite struct NodeConfigurationTests {
    private func write(_ text: String) throws -> String {
        let directory = NSTemporaryDirectory() + "alza-config-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/config.json"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func configuration(roles: String = #"["supernode"]"#, listen: String = "127.0.0.1:17000",
                               peers: String = #"["127.0.0.1:17001"]"#, format: String = "plain") -> String {
        """
        {"name": "supernode-0", "roles": \(roles), "keyFile": "keys/k.json", "dataDirectory": "data",
         "listen": "\(listen)", "api": "127.0.0.1:18000", "peers": \(peers), "genesis": "genesis.json",
         "log": {"format": "\(format)", "level": "info"}}
        """
    }

    @Test func relativePathsResolveAgainstTheFilesFolder() throws {
        let path = try write(configuration())
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let loaded = try NodeConfiguration.load(path: path)
        #expect(loaded.keyFile == folder + "/keys/k.json")
        #expect(loaded.dataDirectory == folder + "/data")
        #expect(loaded.genesis == folder + "/genesis.json")
        #expect(loaded.nodeRoles == .superNode)
    }

    @Test func aMissingFileIsAConfigurationError() {
        #expect {
            try NodeConfiguration.load(path: "/nonexistent/alza/config.json")
        } throws: { ($0 as? NodeError)?.code == "node.configuration" }
    }

    @Test(arguments: [
        "{not json",
        #"{"name": "x"}"#,
        #"{"name": "", "roles": ["supernode"], "keyFile": "k", "dataDirectory": "d", "listen": "127.0.0.1:1", "api": "127.0.0.1:2", "peers": [], "genesis": "g", "log": {"format": "plain", "level": "info"}}"#,
    ])
    func malformedOrIncompleteFilesAreRefused(text: String) throws {
        let path = try write(text)
        #expect(throws: NodeError.self) { try NodeConfiguration.load(path: path) }
    }

    @Test func anUnknownRoleIsRefused() throws {
        let path = try write(configuration(roles: #"["miner"]"#))
        #expect { try NodeConfiguration.load(path: path) } throws: { error in
            guard case .configuration(let reason)? = error as? NodeError else { return false }
            return reason.contains("miner")
        }
    }

    @Test func noRoleIsRefused() throws {
        let path = try write(configuration(roles: "[]"))
        #expect(throws: NodeError.configuration("roles is empty (supernode, satellite, fieldleader, datanode, namenode)")) {
            try NodeConfiguration.load(path: path)
        }
    }

    @Test(arguments: ["127.0.0.1", "127.0.0.1:99999", "host:port:1", ":"])
    func aBadAddressIsRefusedNamingTheField(address: String) throws {
        let path = try write(configuration(listen: address))
        #expect(throws: NodeError.configuration("listen: \"\(address)\" is not host:port")) {
            try NodeConfiguration.load(path: path)
        }
        let peerPath = try write(configuration(peers: "[\"\(address)\"]"))
        #expect(throws: NodeError.configuration("peers: \"\(address)\" is not host:port")) {
            try NodeConfiguration.load(path: peerPath)
        }
    }

    @Test func anUnknownLogFormatIsRefused() throws {
        let path = try write(configuration(format: "xml"))
        #expect(throws: NodeError.configuration("log.format must be plain or json")) { try NodeConfiguration.load(path: path) }
    }

    @Test func writtenConfigurationsReadBack() throws {
        let original = NodeConfiguration(name: "satellite-1", roles: ["satellite"], keyFile: "/k.json", dataDirectory: "/d",
                                         listen: "127.0.0.1:1", api: "127.0.0.1:2", peers: ["127.0.0.1:3"], genesis: "/g.json",
                                         log: .init(format: "json", level: "debug"))
        let path = try write(String(decoding: original.jsonBytes(), as: UTF8.self))
        #expect(try NodeConfiguration.load(path: path) == original)
    }
}

@Suite struct NodeConfigurationDefaultsTests {
    @Test func peersProducerKeyAndLogMayBeLeftOut() throws {
        let text = #"{"name": "n", "roles": ["satellite"], "keyFile": "/k", "dataDirectory": "/d", "listen": "127.0.0.1:1", "api": "127.0.0.1:2", "genesis": "/g"}"#
        let configuration = try JSONDecoder().decode(NodeConfiguration.self, from: Data(text.utf8))
        #expect(configuration.peers.isEmpty)
        #expect(configuration.producerKeyFile == nil)
        #expect(configuration.log == .init(format: "plain", level: "info"))
        try configuration.validate()
    }

    @Test func anUnknownLogLevelIsRefused() throws {
        var configuration = NodeConfiguration(name: "n", roles: ["satellite"], keyFile: "/k", dataDirectory: "/d",
                                              listen: "127.0.0.1:1", api: "127.0.0.1:2", peers: [], genesis: "/g")
        configuration.log.level = "loud"
        #expect { try configuration.validate() } throws: { error in
            guard case .configuration(let reason)? = error as? NodeError else { return false }
            return reason.contains("loud")
        }
    }
}
