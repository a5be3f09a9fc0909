import AlzaNode
import Foundation
import Testing

/// `alza testnet run` end to end: one OS process per node on loopback ports, a transfer load, a SuperNode
/// killed with SIGKILL and restarted.
@Suite(.serialized) struct TestnetRunTests {
    /// The `alza` binary built beside this test bundle.
    static var alzaExecutable: String {
        URL(fileURLWithPath: TestnetProcesses.currentExecutable).deletingLastPathComponent().appendingPathComponent("alza").path
    }

    @Test(.timeLimit(.minutes(3)))
    func aLoadedTestnetAgreesFinalizesEverythingAndAKilledNodeCatchesUp() async throws {
        let executable = Self.alzaExecutable
        try #require(FileManager.default.isExecutableFile(atPath: executable),
                     "build the alza executable first (swift build --build-tests builds it): \(executable)")
        var options = TestnetRun.Options()
        options.superNodes = 4
        options.satellites = 1
        options.slotMilliseconds = 200
        options.duration = 20
        options.rate = 40
        options.live = false
        options.settleSeconds = 40
        options.executable = executable
        options.basePort = UInt16(30_000 + Int(getpid() % 400) * 40)
        options.perturbations = try TestnetRun.Perturbation.parse("kill:supernode-1@5s,restart:supernode-1@10s")
        let report = try await TestnetRun(options: options).run()

        #expect(report.errors == 0, "\(report.errorSamples)")
        #expect(report.submitted > 600)
        #expect(report.included == report.submitted)
        #expect(report.irreversible == report.included)
        #expect(report.libEnd > report.libStart + 50)
        #expect(report.agreed)
        #expect(report.nodes.count == 5)
        for node in report.nodes {
            #expect(node.running, "\(node.name) is running")
            #expect(node.onCommonChain, "\(node.name) holds the common block at height \(report.commonHeadHeight)")
            #expect(node.lib >= report.agreedHeight)
        }
        #expect(report.inclusionLatencyMs.count == UInt64(report.included))
    }

    @Test func perturbationsAndDurationsParseOrSayWhatIsWrong() throws {
        let parsed = try TestnetRun.Perturbation.parse("kill:supernode-5@10s,restart:supernode-5@1m")
        #expect(parsed == [.init(action: .kill, node: "supernode-5", at: 10), .init(action: .restart, node: "supernode-5", at: 60)])
        for bad in ["explode:supernode-5@10s", "kill:supernode-5", "kill@10s", "kill:supernode-5@soon"] {
            #expect(throws: NodeError.self, "\(bad)") { try TestnetRun.Perturbation.parse(bad) }
        }
        #expect(TestnetRun.Perturbation.seconds("250ms") == 0.25)
        #expect(TestnetRun.Perturbation.seconds("2m") == 120)
        #expect(TestnetRun.Perturbation.seconds("x") == nil)
    }

    @Test func aTestnetFolderIsNotOverwritten() throws {
        let folder = try TestnetFolder(superNodes: 2, satellites: 1)
        #expect(folder.layout.nodes.map(\.name) == ["supernode-0", "supernode-1", "satellite-0"])
        #expect(throws: NodeError.self) {
            try TestnetLayout.create(directory: folder.path, superNodes: 2, satellites: 1, slotMilliseconds: 100, basePort: 40_000)
        }
        let reloaded = try TestnetLayout.load(directory: folder.path)
        #expect(reloaded.chainId == folder.layout.chainId)
        let mode = try FileManager.default.attributesOfItem(atPath: folder.path + "/keys/supernode-0.json")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}
