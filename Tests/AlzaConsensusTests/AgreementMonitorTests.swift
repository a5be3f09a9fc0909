import AlzaConsensus
import AlzaCore
import AlzaLedger
import Testing

@Suite struct AgreementMonitorTests {
    /// This node's chain: block ids by height, LIB at 10.
    let ours: [UInt64: Hash] = Dictionary(uniqueKeysWithValues: (0...12).map { ($0, Hash.sha256(utf8: "ours-\($0)")) })
    var ourLib: BlockReference { BlockReference(height: 10, slot: 10, id: ours[10]!) }

    func reference(_ height: UInt64, _ id: Hash? = nil) -> BlockReference {
        BlockReference(height: height, slot: height, id: id ?? ours[height]!)
    }

    @Test func aSuperNodeOnOurChainAgrees() {
        var monitor = AgreementMonitor()
        let found = monitor.observe(peer: "a", status: ChainStatus(head: reference(12), lib: reference(9)), ourLib: ourLib,
                                    now: 1) { ours[$0] }
        #expect(found == nil)
        let observation = monitor.observations["a"]
        #expect(observation?.head == 12 && observation?.lib == 9 && observation?.agrees == true)
        #expect(monitor.divergences.isEmpty)
    }

    @Test func aDifferentBlockAtItsLibIsReportedOnce() {
        var monitor = AgreementMonitor()
        let forged = Hash.sha256(utf8: "theirs-8")
        let status = ChainStatus(head: reference(12), lib: reference(8, forged))
        let first = monitor.observe(peer: "b", status: status, ourLib: ourLib, now: 5) { ours[$0] }
        #expect(first?.peer == "b" && first?.height == 8 && first?.detectedAt == 5)
        #expect(first?.theirBlock == forged.hex && first?.ourBlock == ours[8]!.hex)
        #expect(monitor.observe(peer: "b", status: status, ourLib: ourLib, now: 6) { ours[$0] } == nil)
        #expect(monitor.divergences["b"]?.detectedAt == 5)
        #expect(monitor.observations["b"]?.agrees == false)
    }

    @Test func aHeadBelowOurLibOnAnotherBranchDiverges() {
        var monitor = AgreementMonitor()
        let status = ChainStatus(head: reference(7, Hash.sha256(utf8: "fork-7")), lib: reference(5))
        let found = monitor.observe(peer: "c", status: status, ourLib: ourLib, now: 1) { ours[$0] }
        #expect(found?.height == 7)
    }

    @Test func blocksAboveOurLibAreNotJudged() {
        // A reversible head on another branch is a fork in progress, not a divergence from the final chain.
        var monitor = AgreementMonitor()
        let status = ChainStatus(head: reference(12, Hash.sha256(utf8: "fork-12")), lib: reference(11, Hash.sha256(utf8: "fork-11")))
        #expect(monitor.observe(peer: "d", status: status, ourLib: ourLib, now: 1) { ours[$0] } == nil)
        #expect(monitor.observations["d"]?.agrees == true)
    }

    @Test func forgettingAPeerDropsItsObservationButKeepsTheEvidence() {
        var monitor = AgreementMonitor()
        _ = monitor.observe(peer: "e", status: ChainStatus(head: reference(12), lib: reference(8, Hash.sha256(utf8: "x"))),
                            ourLib: ourLib, now: 1) { ours[$0] }
        monitor.forget("e")
        #expect(monitor.observations["e"] == nil)
        #expect(monitor.divergences["e"] != nil)
    }
}
