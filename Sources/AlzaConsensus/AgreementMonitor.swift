import AlzaCore
import AlzaLedger

/// The satellite's watch over SuperNodes (DESIGN.md §1: "watches that SuperNodes agree on the chain and reports a
/// SuperNode that diverges"). Every status a SuperNode announces (its head and its LIB) is compared with this
/// node's own chain: a LIB, or a head at or below this node's LIB, naming another block than the one this node has
/// at that height means the SuperNode is on another chain. Pure: the shell feeds statuses and answers lookups.
public struct AgreementMonitor: Sendable {
    public struct Divergence: Sendable, Equatable, Codable {
        public var peer: String
        public var height: UInt64
        public var theirBlock: String
        public var ourBlock: String
        /// Unix milliseconds when first seen.
        public var detectedAt: UInt64
    }

    public struct Observation: Sendable, Equatable, Codable {
        public var peer: String
        public var head: UInt64
        public var lib: UInt64
        public var agrees: Bool
    }

    public private(set) var divergences: [String: Divergence] = [:]
    public private(set) var observations: [String: Observation] = [:]

    public init() {}

    /// Compares a SuperNode's status with this node's chain. Returns a divergence the first time one is found.
    public mutating func observe(peer: String, status: ChainStatus, ourLib: BlockReference, now: UInt64,
                                 ourBlockAt: (UInt64) -> Hash?) -> Divergence? {
        var found: Divergence?
        var candidates = [status.lib]
        if status.head.height <= ourLib.height { candidates.append(status.head) }
        for reference in candidates where reference.height <= ourLib.height {
            guard let ours = ourBlockAt(reference.height), ours != reference.id else { continue }
            found = Divergence(peer: peer, height: reference.height, theirBlock: reference.id.hex, ourBlock: ours.hex,
                               detectedAt: now)
            break
        }
        observations[peer] = Observation(peer: peer, head: status.head.height, lib: status.lib.height, agrees: found == nil)
        guard let found else { return nil }
        let isNew = divergences[peer] == nil
        if isNew { divergences[peer] = found }
        return isNew ? found : nil
    }

    public mutating func forget(_ peer: String) {
        observations[peer] = nil
    }
}
