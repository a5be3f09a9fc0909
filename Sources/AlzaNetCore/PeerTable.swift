import AlzaCore

/// Addresses this node knows (DESIGN.md §8): configured seed peers plus peers learned by peer exchange, with
/// the connection state of each and exponential reconnect backoff (0.5 s doubling to 30 s, with jitter).
public struct PeerTable: Sendable {
    public struct Entry: Sendable, Equatable {
        public var address: String
        public var isSeed: Bool
        public var connected = false
        public var failures = 0
        public var nextAttempt: UInt64 = 0
    }

    public private(set) var entries: [String: Entry] = [:]
    /// Addresses that reach this node itself (the configured and the bound listen address, and any address a
    /// handshake found to be a self-connection): never dialed.
    public private(set) var ownAddresses: Set<String>
    public let maximumLearned: Int
    private var random: SeededRandom

    public init(seeds: [String], ownAddress: String, maximumLearned: Int = 256, seed: UInt64) {
        ownAddresses = ownAddress.isEmpty ? [] : [ownAddress]
        self.maximumLearned = maximumLearned
        random = SeededRandom(seed: seed)
        for address in seeds where address != ownAddress {
            entries[address] = Entry(address: address, isSeed: true)
        }
    }

    /// Records that `address` reaches this node (forgetting it as a peer).
    public mutating func markOwn(_ address: String) {
        ownAddresses.insert(address)
        entries[address] = nil
    }

    /// Adds addresses announced by peers (bounded; own addresses ignored).
    public mutating func learn(_ addresses: [String]) {
        for address in addresses where !ownAddresses.contains(address) && entries[address] == nil && !address.isEmpty {
            guard entries.count < maximumLearned else { return }
            entries[address] = Entry(address: address, isSeed: false)
        }
    }

    /// Addresses to dial now (not connected, backoff elapsed), at most `limit`.
    public func dialCandidates(now: UInt64, limit: Int) -> [String] {
        Array(entries.values.filter { !$0.connected && $0.nextAttempt <= now }.map(\.address).sorted().prefix(limit))
    }

    public mutating func attempting(_ address: String, now: UInt64) {
        // Until the attempt resolves, don't dial again.
        entries[address]?.nextAttempt = now + 60_000
    }

    public mutating func connected(_ address: String) {
        entries[address]?.connected = true
        entries[address]?.failures = 0
    }

    /// A connection attempt failed or a connection closed: retry after the backoff.
    public mutating func disconnected(_ address: String, now: UInt64) {
        guard var entry = entries[address] else { return }
        entry.connected = false
        entry.failures += 1
        let shift = UInt64(min(entry.failures - 1, 10))
        let base: UInt64 = min(30_000, UInt64(500) << shift)
        let jitter: UInt64 = random.next() % (base / 4 + 1)
        entry.nextAttempt = now + base + jitter
        entries[address] = entry
    }

    /// When the earliest address not connected may be dialed (nil: every address is connected, or none known).
    public var nextAttemptTime: UInt64? { entries.values.lazy.filter { !$0.connected }.map(\.nextAttempt).min() }

    public var connectedCount: Int { entries.values.filter(\.connected).count }
    public var knownAddresses: [String] { entries.keys.sorted() }
}
