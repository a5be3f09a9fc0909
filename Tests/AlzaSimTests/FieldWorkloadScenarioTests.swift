import AlzaCore
import AlzaLedger
import AlzaSim
import Testing

/// The payment-field codes in the simulator (DESIGN.md §6): fields claimed, opened and closed on a chain whose
/// nodes crash, split and lose messages. Field records go through fork switches, restarts and the journal like
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

    @Test func everyFieldStartedClosesOnAHealthyNetwork() throws {
        let report = try Simulation(configuration: configuration(seed: 5)).run()
        #expect(report.violations.isEmpty)
        #expect(report.agreed)
        // One field every 10 slots of 3,600; the last one, started 4 slots before the end, has not closed yet.
        #expect(report.fieldsStarted == 360)
        #expect(report.fieldsClosed == 359)
        // Each closed field had its top-up and its withdrawal (D34) applied before the close.
        #expect(report.fieldsToppedUp == 359 && report.fieldsWithdrawn == 359)
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
        #expect(report.fieldsToppedUp > 0 && report.fieldsToppedUp <= report.fieldsClosed)
        #expect(report.fieldsWithdrawn > 0 && report.fieldsWithdrawn <= report.fieldsClosed)
    }
}
