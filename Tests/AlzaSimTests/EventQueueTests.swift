import AlzaCore
import AlzaSim
import Testing

@Suite struct EventQueueTests {
    /// Interleaved schedules and pops over few distinct times (many ties): every pop is the earliest event, and
    /// among events of one time the one scheduled first — what makes a run a function of its seed.
    @Test func popsByTimeThenInsertionOrderWithSlotsReused() {
        var queue = EventQueue<Int>()
        var random = SeededRandom(seed: 7)
        var pending: [(time: UInt64, order: Int)] = []
        var popped: [(time: UInt64, order: Int)] = []
        var expected: [(time: UInt64, order: Int)] = []
        var order = 0
        var now: UInt64 = 0
        for round in 0..<5_000 {
            for _ in 0..<Int(random.next(below: 3)) {
                let time = now + UInt64(random.next(below: 8))
                queue.schedule(order, at: time)
                pending.append((time, order))
                order += 1
            }
            if round % 2 == 1, let next = pending.min(by: { ($0.time, $0.order) < ($1.time, $1.order) }) {
                pending.removeAll { $0.order == next.order }
                expected.append(next)
                guard let (time, event) = queue.pop() else {
                    Issue.record("the queue was empty with \(pending.count + 1) events pending")
                    return
                }
                popped.append((time, event))
                now = time
            }
        }
        #expect(popped.map(\.order) == expected.map(\.order))
        #expect(popped.map(\.time) == expected.map(\.time))
        #expect(queue.count == pending.count)
        let rest = pending.sorted { ($0.time, $0.order) < ($1.time, $1.order) }.map(\.order)
        var drained: [Int] = []
        while let (_, event) = queue.pop() { drained.append(event) }
        #expect(drained == rest)
        #expect(queue.nextTime == nil)
    }
}
