import AlzaCore
import AlzaLedger
import AlzaNet
import AlzaNode
import Foundation
import Testing

/// `alza field …` against real nodes, with the leader in its own process killed with SIGKILL between payments:
/// restarted, it recovers every receipted payment from its journal and the field closes with all of them.
@Suite(.serialized) struct FieldCommandTests {
    /// Runs the CLI off the cooperative pool (the nodes it talks to run on it, in this process).
    static func alza(_ arguments: [String]) async throws -> [String] {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runCommand(TestnetRunTests.alzaExecutable, arguments) })
            }
        }
    }

    /// Starts satellite-0 as an `alza node` process (leader and participant) and returns it with its API address.
    static func startLeader(_ folder: TestnetFolder, peers: [String]) async throws -> (Process, String) {
        var configuration = try folder.configuration("satellite-0", peers: peers)
        configuration.roles = ["satellite", "fieldleader"]
        configuration.fields = FieldNodeTests.consenting
        let path = "\(folder.path)/satellite-0/process-config.json"
        try Data(configuration.jsonBytes()).write(to: URL(fileURLWithPath: path))
        let log = "\(folder.path)/satellite-0/process-\(UUID().uuidString.prefix(4)).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestnetRunTests.alzaExecutable)
        process.arguments = ["node", "--config", path]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardError = process.standardOutput
        try process.run()
        let api = try await eventuallyValue { () -> String? in
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            guard let range = text.range(of: "API http://") else { return nil }
            return String(text[range.upperBound...].prefix { !$0.isWhitespace })
        }
        return (process, api)
    }

    @Test(.timeLimit(.minutes(3)))
    func aFieldOpenedPaidAndClosedFromTheCommandLineSurvivesItsLeaderBeingKilled() async throws {
        let folder = try TestnetFolder(superNodes: 1, satellites: 2)
        let producer = try await folder.start("supernode-0")
        var (leader, leaderAPI) = try await Self.startLeader(folder, peers: [producer.p2p])
        let other = try await folder.start("satellite-1", peers: [producer.p2p], fields: FieldNodeTests.consenting)
        let addresses = try ["satellite-0", "satellite-1"].map { name in try #require(folder.layout.nodes.first { $0.name == name }).address }
        let participants = "\(folder.path)/participants.json"
        try JSONEncoder().encode([NodeAPI.FieldOpenRequest.Participant(account: addresses[0], deposit: "100"),
                                  .init(account: addresses[1], deposit: "50")]).write(to: URL(fileURLWithPath: participants))
        let leaderKey = "\(folder.path)/keys/satellite-0.json"
        let otherKey = "\(folder.path)/keys/satellite-1.json"

        // A key that is not the leader node's is refused before anything is signed.
        await #expect(throws: NodeError.self) {
            try await Self.alza(["field", "open", "--api", leaderAPI, "--key", otherKey, "--participants", participants])
        }
        let opened = try JSONDecoder().decode(NodeAPI.FieldOpened.self, from: Data(try await Self.alza(
            ["field", "open", "--api", leaderAPI, "--key", leaderKey, "--participants", participants, "--challenge-seconds", "60"])
            .joined(separator: "\n").utf8))
        for amount in ["5", "6", "7"] {
            let lines = try await Self.alza(["field", "pay", "--api", other.api, "--key", otherKey, "--field", opened.id,
                                             "--to", addresses[0], "--amount", amount])
            #expect(lines.last?.hasPrefix("receipted in ") == true)
        }
        await #expect(throws: NodeError.self) {
            try await Self.alza(["field", "pay", "--api", other.api, "--key", otherKey, "--field", opened.id, "--to", addresses[0],
                                 "--amount", "lots"])
        }

        // SIGKILL: no clean stop; the journal is what recovers.
        kill(leader.processIdentifier, SIGKILL)
        leader.waitUntilExit()
        (leader, leaderAPI) = try await Self.startLeader(folder, peers: [producer.p2p])
        let status = try await Self.alza(["field", "status", "--api", leaderAPI, "--field", opened.id])
        #expect(status.contains { $0.hasPrefix("leader here: 3 payments") })
        let leaderActor = ActorAddress(.field, instance: InstanceId(try Hash(hex: opened.id).bytes))
        #expect(await eventually { await !other.runtime.transport.hosts(of: leaderActor).isEmpty })
        let fourth = try await Self.alza(["field", "pay", "--api", other.api, "--key", otherKey, "--field", opened.id,
                                          "--to", addresses[0], "--amount", "2"])
        #expect(fourth.contains { $0.contains("\"index\" : 3") })

        _ = try await Self.alza(["field", "close", "--api", leaderAPI, "--field", opened.id])
        let closed = try await eventuallyValue { () -> NodeAPI.FieldView? in
            guard let view = try? await producer.client.get("/v1/fields/\(opened.id)", as: NodeAPI.FieldView.self),
                  view.status == "closed" else { return nil }
            return view
        }
        #expect(closed.participants.map(\.finalBalance) == [120 * Amounts.unit, 30 * Amounts.unit])
        // Nothing left to do on a closed field: the dispute says so.
        await #expect(throws: NodeError.self) { try await Self.alza(["field", "dispute", "--api", other.api, "--field", opened.id]) }
        leader.terminate()
        leader.waitUntilExit()
        await folder.stopAll()
    }
}
