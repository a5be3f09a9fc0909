/// A priority queue of simulation events by (time, insertion order): ties resolve in the order events were
/// scheduled, so a run is a pure function of its seed.
///
/// The heap orders small keys; the events themselves sit in a slab of reused slots, so an event is written once
/// and read once instead of being moved (or boxed and reference-counted) on every sift.
public struct EventQueue<Event> {
    private struct Key {
        var time: UInt64
        var sequence: UInt64
        var slot: Int
    }

    private var heap: [Key] = []
    private var slots: [Event?] = []
    private var freeSlots: [Int] = []
    private var sequence: UInt64 = 0

    public init() {}

    public var count: Int { heap.count }
    public var nextTime: UInt64? { heap.first?.time }

    public mutating func schedule(_ event: Event, at time: UInt64) {
        sequence += 1
        let slot: Int
        if let reused = freeSlots.popLast() {
            slot = reused
            slots[slot] = event
        } else {
            slot = slots.count
            slots.append(event)
        }
        heap.append(Key(time: time, sequence: sequence, slot: slot))
        var child = heap.count - 1
        let key = heap[child]
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.precedes(key, heap[parent]) else { break }
            heap[child] = heap[parent]
            child = parent
        }
        heap[child] = key
    }

    public mutating func pop() -> (time: UInt64, event: Event)? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            // Sift the last key down from the root, moving children up into the hole.
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < heap.count else { break }
                let right = left + 1
                let child = right < heap.count && Self.precedes(heap[right], heap[left]) ? right : left
                guard Self.precedes(heap[child], last) else { break }
                heap[parent] = heap[child]
                parent = child
            }
            heap[parent] = last
        }
        guard let event = slots[top.slot].take() else { preconditionFailure("event slot \(top.slot) was empty") }
        freeSlots.append(top.slot)
        return (top.time, event)
    }

    private static func precedes(_ a: Key, _ b: Key) -> Bool {
        a.time != b.time ? a.time < b.time : a.sequence < b.sequence
    }
}
