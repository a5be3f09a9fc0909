import AlzaConsensus
import AlzaCore
import AlzaLedger
import Testing

@Suite struct ProducerScheduleTests {
    @Test func roundOf23ProducersIs138SlotsOfSixConsecutiveSlotsEach() {
        let fixture = ChainFixture(producers: 23)
        let state = fixture.state()
        let round = state.chain.round
        #expect(round.producers.count == 23)
        #expect(round.producers == round.producers.sorted())
        #expect(round.endSlot(blocksPerTurn: 6) - round.startSlot == 138)
        for index in 0..<23 {
            let first = round.startSlot + UInt64(index * 6)
            for slot in first..<(first + 6) {
                #expect(ProducerSchedule.producer(at: slot, after: state) == round.producers[index])
            }
        }
        // The next round repeats the order (same votes).
        #expect(ProducerSchedule.producer(at: round.startSlot + 138, after: state) == round.producers[0])
    }

    @Test func electionTakesTheTopStakesAndTiesByAddress() {
        // 5 candidates for 3 seats: stakes 50, 10, 40, 10, 30 (two tie at 10).
        let fixture = ChainFixture(producers: 5, stakes: [50, 10, 40, 10, 30].map { $0 * Amounts.unit }) { $0.producerCount = 3 }
        let elected = fixture.state().electedProducers(count: 3)
        #expect(Set(elected) == Set([fixture.producer(0), fixture.producer(2), fixture.producer(4)]))
        let four = fixture.state().electedProducers(count: 4)
        let tieWinner = min(fixture.producer(1), fixture.producer(3))
        #expect(four.contains(tieWinner))
    }

    @Test func silentProducerLeavesTheRotationAtTheFirstBoundaryAfterTheWindow() {
        let fixture = ChainFixture(producers: 4, inactivitySlots: 100)
        let state = fixture.state()
        // Round length is 24 slots; nobody has produced yet, so everyone is silent since slot 0 — but a vanished
        // committee keeps its seats.
        let advance = ProducerSchedule.advance(state, to: 500)
        #expect(advance.deactivated.isEmpty)
        #expect(advance.round.producers.count == 4)
    }

    @Test func onlyTheSilentOneIsDeactivated() throws {
        let fixture = ChainFixture(producers: 4, inactivitySlots: 60)
        var state = fixture.state()
        var parent = BlockReference(height: 0, slot: 0, id: fixture.genesis.chainId)
        let silent = state.chain.round.producers[1]
        // Produce every slot except producer 1's until slot 100.
        for slot in UInt64(1)...100 where ProducerSchedule.producer(at: slot, after: state) != silent {
            let produced = try fixture.produce(on: &state, parent: parent, slot: slot)
            parent = BlockReference(produced.block.signedHeader)
        }
        #expect(state.producers[silent]?.status == .inactive)
        #expect(!state.chain.round.producers.contains(silent))
        #expect(state.chain.round.producers.count == 3)
        for other in state.chain.round.producers { #expect(state.producers[other]?.status == .active) }
    }

    @Test func producerRoundLengthShrinksWithTheCommittee() {
        let fixture = ChainFixture(producers: 3)
        let state = fixture.state()
        #expect(state.chain.round.endSlot(blocksPerTurn: 6) - state.chain.round.startSlot == 18)
    }
}
