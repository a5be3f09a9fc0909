import AlzaCore
import AlzaNet
import AlzaNode
import FlyingFox
import Foundation
import Logging
import Synchronization
import Testing

/// A role of the tests' own, on a protocol of its own: answers requests with the payload reversed, counts what
/// it saw, serves `GET /v1/echo`. The host must start, stop, route to and report it like any role.
actor EchoRole: NodeRole {
    static let protocolId = ProtocolId(rawValue: 0x100)
    private var requests = 0
    private var peersSeen: Set<String> = []
    private var consumer: Task<Void, Never>?
    private(set) var stopped = false

    nonisolated var name: String { "echo" }
    nonisolated var protocols: [ProtocolRegistration] { [ProtocolRegistration(Self.protocolId, priority: .transactions)] }

    func start(_ context: RoleContext) async throws(NodeError) {
        guard let inbox = context.inboxes[Self.protocolId] else { throw .startup("echo: no inbox") }
        let transport = context.transport
        consumer = Task {
            for await event in inbox {
                switch event {
                case .request(let payload, _, let id, let from):
                    self.counted()
                    await transport.respond(to: from, requestId: id, address: ActorAddress(Self.protocolId), payload: payload.reversed())
                case .peerConnected(let peer):
                    self.saw(peer.id)
                default:
                    break
                }
            }
        }
    }

    private func counted() { requests += 1 }
    private func saw(_ peer: String) { peersSeen.insert(peer) }

    func stop() async {
        stopped = true
        consumer?.cancel()
    }

    func details() async -> [String: String] { ["requests": "\(requests)", "peers": "\(peersSeen.count)"] }

    nonisolated var routes: [RoleRoute] {
        [RoleRoute(.GET, "v1/echo/*") { _, captured in try APIResponse.json(["echo": captured[0]]) }]
    }
}

@Suite(.serialized) struct RoleHostTests {
    let catalog = RoleCatalog.standard.adding("echo") { _ in EchoRole() }

    @Test func aRoleOfItsOwnIsStartedRoutedToReportedAndStopped() async throws {
        let folder = try TestnetFolder(superNodes: 1, satellites: 1)
        let producer = try await folder.start("supernode-0", roles: ["supernode", "echo"], catalog: catalog)
        let satellite = try await folder.start("satellite-0", peers: [producer.p2p], roles: ["satellite", "echo"], catalog: catalog)
        let producerId = producer.runtime.transport.nodeId
        #expect(await eventually { await satellite.runtime.transport.peers.count == 1 })
        // Routed by protocol: the request reaches the producer's echo role, not its chain.
        let answer = try await satellite.runtime.transport.request([1, 2, 3], to: producerId, address: ActorAddress(EchoRole.protocolId))
        #expect(answer == [3, 2, 1])

        let roles: NodeAPI.Roles = try await producer.client.get("/v1/roles")
        #expect(roles.roles.map(\.name) == ["supernode", "echo"])
        #expect(roles.roles.map(\.state) == ["running", "running"])
        #expect(roles.roles[1].protocols == ["protocol-256"])
        #expect(roles.roles[1].details == ["requests": "1", "peers": "1"])
        #expect(roles.roles[0].details["account"] == folder.layout.nodes[0].address)

        // Its route is served; on a node without it, the path does not exist.
        let echoed = try await http("GET", producer.api, "/v1/echo/hello")
        #expect(echoed.status == 200)
        #expect(try JSONDecoder().decode([String: String].self, from: echoed.body) == ["echo": "hello"])
        let wrongMethod = try await http("POST", producer.api, "/v1/echo/hello")
        #expect(wrongMethod.status == 405)
        let duties: NodeAPI.SuperNodeDuties = try await producer.client.get("/v1/supernode")
        #expect(duties.registered && duties.inCurrentRound && duties.status == "active")
        #expect(duties.account == folder.layout.nodes[0].address)
        // The only producer: every slot of the round is its own, the current one included.
        #expect(duties.nextSlot == duties.currentSlot)
        #expect(await eventually {
            ((try? await producer.client.get("/v1/supernode", as: NodeAPI.SuperNodeDuties.self))?.producedBlocks ?? 0) > 0
        })
        #expect(try await http("GET", satellite.api, "/v1/supernode").status == 404)
        #expect(try await http("GET", producer.api, "/v1/wallet").status == 404, "the wallet is the satellite's")

        // Stopped with the node: its protocol is withdrawn, so a request to it is not served any more.
        let echoRole = try #require(producer.runtime.roleHost.roles[1] as? EchoRole)
        await producer.runtime.stop()
        #expect(await echoRole.stopped)
        let reports = await producer.runtime.roleHost.reports()
        #expect(reports.map(\.state) == ["stopped", "stopped"])
        await folder.stopAll()
    }

    @Test func rolesThisBuildCannotStartAreConfigurationErrorsThatSaySo() throws {
        let folder = try TestnetFolder(superNodes: 1, satellites: 0)
        var configuration = try folder.configuration("supernode-0")
        configuration.roles = ["supernode", "datanode"]
        #expect(throws: NodeError.configuration(
            "role \"datanode\" (stores RaFi replicas) is not part of alza \(AlzaVersion.string) yet; this build runs fieldleader, satellite, supernode")) {
            _ = try NodeRuntime(configuration: configuration, logger: Logger(label: "test"))
        }
        configuration.roles = ["supernode", "echo"]
        #expect(throws: NodeError.configuration("unknown role \"echo\"; this build runs fieldleader, satellite, supernode")) {
            _ = try NodeRuntime(configuration: configuration, logger: Logger(label: "test"))
        }
        // A wallet with more field accounts than a node can announce is refused before anything starts.
        configuration.roles = ["supernode", "satellite"]
        configuration.fields.walletKeyFiles = Array(repeating: "/nonexistent/key.json", count: 1_024)
        #expect(throws: NodeError.configuration("fields.walletKeyFiles lists 1024 keys; at most 1023")) {
            _ = try NodeRuntime(configuration: configuration, logger: Logger(label: "test"))
        }
        configuration.fields.walletKeyFiles = []
        configuration.roles = ["supernode", "supernode"]
        #expect(throws: NodeError.configuration("roles lists a role twice: [\"supernode\", \"supernode\"]")) {
            try configuration.validate()
        }
        // Every wire role is a valid configuration name.
        configuration.roles = ["supernode", "satellite", "fieldleader", "datanode", "namenode"]
        try configuration.validate()
        #expect(configuration.nodeRoles == [.superNode, .satellite, .fieldLeader, .dataNode, .nameNode])
    }
}
