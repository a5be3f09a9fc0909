import AlzaConsensus
import AlzaCore
import AlzaLedger
import Testing

/// The chain's gossip policy without sockets or a clock: batching window, full batches, relay of received batches,
/// status cadence — every wait an effect.
@Suite struct ChainRelayCoreTests {
    let fixture = ChainFixture()

    func transactions(_ count: Int) -> [SignedTransaction] {
        (0..<count).map { fixture.transfer(from: $0 % 4, to: ($0 + 1) % 4, amount: 1, nonce: UInt64($0 / 4)) }
    }

    func batch(_ effects: [ChainRelayCore.Effect]) throws -> [SignedTransaction]? {
        for case .publishTransactions(let payload) in effects { return try TransactionBatch(canonicalBytes: payload).transactions }
        return nil
    }

    @Test func ownTransactionsWaitForTheWindowThenGoOutAsOneBatch() throws {
        var relay = ChainRelayCore(now: 1_000)
        let sent = transactions(3)
        #expect(relay.queue(sent[0], now: 1_000) == [.wakeAt(1_020)], "the first one opens a 20 ms window")
        #expect(relay.queue(sent[1], now: 1_005) == [], "the window is open already")
        #expect(relay.queue(sent[2], now: 1_019) == [])
        #expect(relay.tick(now: 1_019) == [.wakeAt(1_020)], "not yet")
        let effects = relay.tick(now: 1_020)
        #expect(try batch(effects) == sent)
        #expect(effects.last == .wakeAt(3_000), "next: the status, 2 s after start")
        #expect(relay.waitingCount == 0)
    }

    @Test func aFullBatchGoesOutAtOnceAndAnExplicitFlushToo() throws {
        var configuration = ChainRelayCore.Configuration()
        configuration.batchBytes = .max   // only the count bounds this batch
        var relay = ChainRelayCore(configuration: configuration, now: 0)
        let one = transactions(1)[0]
        var effects: [ChainRelayCore.Effect] = []
        for _ in 0..<TransactionBatch.maximumCount { effects = relay.queue(one, now: 5) }
        #expect(try batch(effects)?.count == TransactionBatch.maximumCount, "the 4096th fills the batch")
        #expect(relay.nextWake == 2_000, "no window stays open")
        _ = relay.queue(one, now: 6)
        #expect(try batch(relay.flush())?.count == 1)
        #expect(relay.flush() == [], "nothing waits")
    }

    @Test func aBatchOfTheByteBoundGoesOutAtOnce() throws {
        let sent = transactions(3)
        var configuration = ChainRelayCore.Configuration()
        configuration.batchBytes = sent[0].encodedSize + sent[1].encodedSize + sent[2].encodedSize
        var relay = ChainRelayCore(configuration: configuration, now: 0)
        _ = relay.queue(sent[0], now: 0)
        #expect(relay.queue(sent[1], now: 1) == [])
        #expect(try batch(relay.queue(sent[2], now: 2)) == sent)
    }

    @Test func aReceivedBatchIsRelayedAsItCameOnlyWhenAllOfItWasAccepted() throws {
        let received = transactions(3)
        let payload = TransactionBatch(received).canonicalBytes
        #expect(ChainRelayCore.relay(received: payload, count: 3, accepted: received) == [.publishTransactions(payload)])
        let part = ChainRelayCore.relay(received: payload, count: 3, accepted: [received[1]])
        #expect(try batch(part) == [received[1]])
        #expect(ChainRelayCore.relay(received: payload, count: 3, accepted: []) == [])
    }

    @Test func theStatusIsAnnouncedEveryIntervalAndOnceAfterALongSleep() {
        var relay = ChainRelayCore(now: 0)
        #expect(relay.tick(now: 1_999) == [.wakeAt(2_000)])
        #expect(relay.tick(now: 2_000) == [.announceStatus, .wakeAt(4_000)])
        // Suspended for 10 s: one announcement, and the cadence restarts from the wake-up.
        #expect(relay.tick(now: 14_000) == [.announceStatus, .wakeAt(16_000)])
    }
}
