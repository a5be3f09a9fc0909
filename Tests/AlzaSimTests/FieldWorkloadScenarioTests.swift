import AlzaCore
import AlzaLedger
import AlzaSim
import Testing

/// The payment-field codes in the simulator (DESIGN.md §6): fields claimed, opened, topped up, withdrawn from, and
/// closed, disputed, annulled or forfeited on a chain whose nodes crash, split and lose messages. Field records go through fork switches, restarts and the journal like
/// every record; supply conservation counts the bonds and deposits they hold, and every close mints its reward.
@Suite(.serialized) struct FieldWorkloadScenarioTests {
    static let hour: UInt64 = 3_600_000

    func configuration(seed: UInt64) -> SimulationConfiguration {
        var configuration = SimulationConfiguration(producers: 5, durationMilliseconds: Self.hour, seed: seed)
        configuration.slotMilliseconds = 1_000
        configuration.transfersPerSlot = 2
        configuration.fieldEverySlots = 10
        return configuration
    }

    @Test func everyFieldStartedSettlesItsWayOnAHealthyNetwork() throws {
        let report = try Simulation(configuration: configuration(seed: 5)).run()
        #expect(report.violations.isEmpty)
        #expect(report.agreed)
        // One field every 10 slots of 3,600; a quarter close cooperatively 6 slots in, the rest settle after the
        // 60 s window (a stale close replaced by a dispute, an unanswered receipt dispute annulled, an
        // equivocation proven), 68 slots in: the last few have not settled when the hour ends.
        #expect(report.fieldsStarted == 360)
        #expect(report.fieldsClosed + report.fieldsAnnulled >= 350)
        #expect((85...90).contains(report.fieldsAnnulled), "annulled: \(report.fieldsAnnulled)")
        #expect(report.fieldsForfeited >= report.fieldsAnnulled + 85, "annulled and equivocating leaders forfeit their bonds")
        // Each settled field had its top-up and its withdrawal (D34) applied before it ended.
        #expect(report.fieldsToppedUp == report.fieldsClosed + report.fieldsAnnulled)
        #expect(report.fieldsWithdrawn == report.fieldsToppedUp)
    }

    @Test(arguments: [6, 7] as [UInt64])
    func fieldsKeepTheSupplyWholeThroughCrashesPartitionsAndLoss(seed: UInt64) throws {
        var configuration = configuration(seed: seed)
        configuration.faults = [.offline(node: 2, from: 600_000, to: 1_200_000),
                                .partition(sizes: [2, 3], from: 1_800_000, to: 2_100_000),
                                .loss(probability: 0.05, from: 2_400_000, to: 3_000_000)]
        let report = try Simulation(configuration: configuration).run()
        #expect(report.violations.isEmpty, "seed \(seed): \(report.violations)")
        #expect(report.agreed)
        #expect(report.finalizedReverted == 0)
        // Transactions handed to a node that then crashed or was cut off are lost (the workload does not retry);
        // the rest close.
        #expect(report.fieldsClosed > report.fieldsStarted / 2)
        #expect(report.fieldsClosed < report.fieldsStarted)
        #expect(report.fieldsAnnulled > 0 && report.fieldsForfeited > report.fieldsAnnulled)
        #expect(report.fieldsToppedUp > 0 && report.fieldsToppedUp <= report.fieldsClosed + report.fieldsAnnulled)
        #expect(report.fieldsWithdrawn > 0 && report.fieldsWithdrawn <= report.fieldsClosed + report.fieldsAnnulled)
    }
}
