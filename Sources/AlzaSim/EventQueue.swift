/// A priority queue of simulation events by (time, insertion order): ties resolve in the order events were
/// scheduled, so a run is a pure function of its seed.
struct EventQueue<Event> {
    private struct Item {
        var time: UInt64
        var sequence: UInt64
        var event: Event
    }

    private var items: [Item] = []
    private var sequence: UInt64 = 0

    var count: Int { items.count }
    var nextTime: UInt64? { items.first?.time }

    mutating func schedule(_ event: Event, at time: UInt64) {
        sequence += 1
        items.append(Item(time: time, sequence: sequence, event: event))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (time: UInt64, event: Event)? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var first = parent
            if left < items.count && precedes(items[left], items[first]) { first = left }
            if right < items.count && precedes(items[right], items[first]) { first = right }
            if first == parent { break }
            items.swapAt(parent, first)
            parent = first
        }
        return (top.time, top.event)
    }

    private func precedes(_ a: Item, _ b: Item) -> Bool {
        a.time != b.time ? a.time < b.time : a.sequence < b.sequence
    }
}
