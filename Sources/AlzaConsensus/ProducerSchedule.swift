import AlzaCore
import AlzaLedger

/// The DPoS rotation (DESIGN.md §4): rounds of `blocksPerTurn` consecutive slots per elected producer, the
/// order fixed when the round starts, re-election at every round boundary from on-chain votes, and removal of
/// producers silent for `inactivityRemovalSlots`.
///
/// The schedule of any slot is a pure function of the parent block's state: with no block in between, the
/// state does not change, so every node derives the same rounds across any gap of empty slots.
public enum ProducerSchedule {
    /// The rounds that start between the parent state's round and `slot`, and the producers they deactivate.
    public struct Advance: Sendable, Equatable {
        /// The round containing `slot` (the parent's round if no boundary was crossed).
        public var round: RoundRecord
        /// Rounds started since the parent's round, oldest first (empty if none).
        public var startedRounds: [RoundRecord]
        /// Producers that reached `inactivityRemovalSlots` of silence at a boundary crossed, in address order.
        public var deactivated: [Address]
        /// Producers of `round` that entered the rotation at a boundary crossed, with that boundary slot.
        public var joined: [(producer: Address, slot: UInt64)]

        public static func == (lhs: Advance, rhs: Advance) -> Bool {
            lhs.round == rhs.round && lhs.startedRounds == rhs.startedRounds && lhs.deactivated == rhs.deactivated
                && lhs.joined.map(\.producer) == rhs.joined.map(\.producer) && lhs.joined.map(\.slot) == rhs.joined.map(\.slot)
        }

        public var crossedBoundary: Bool { !startedRounds.isEmpty }
    }

    public static func advance(_ state: LedgerState, to slot: UInt64) -> Advance {
        let parameters = state.parameters
        var round = state.chain.round
        var started: [RoundRecord] = []
        var deactivated = Set<Address>()
        /// Producers entering the rotation at a boundary crossed here: their silence counts from that boundary.
        var joined: [Address: UInt64] = [:]
        while slot >= round.endSlot(blocksPerTurn: parameters.blocksPerTurn) {
            let boundary = round.endSlot(blocksPerTurn: parameters.blocksPerTurn)
            // Only producers that had slots can be silent; a candidate never scheduled is not judged.
            let silent = round.producers.filter { address in
                guard let producer = state.producers[address], producer.status == .active,
                      !deactivated.contains(address)
                else { return false }
                let since = max(producer.lastSignOfLifeSlot, joined[address] ?? 0)
                return boundary >= since + parameters.inactivityRemovalSlots
            }
            var excluded = deactivated.union(silent)
            var elected = state.electedProducers(count: parameters.producerCount, excluding: excluded)
            if elected.isEmpty {
                // A vanished committee keeps its seats, so the chain can restart when its producers return.
                excluded = deactivated
                elected = state.electedProducers(count: parameters.producerCount, excluding: excluded)
            }
            if elected.isEmpty { elected = round.producers }
            for address in elected where !round.producers.contains(address) { joined[address] = boundary }
            deactivated = excluded
            round = RoundRecord(number: round.number + 1, startSlot: boundary, producers: elected)
            started.append(round)
            if elected.isEmpty { break }
        }
        return Advance(round: round, startedRounds: started, deactivated: deactivated.sorted(),
                       joined: joined.filter { round.producers.contains($0.key) }.sorted { $0.key < $1.key }
                           .map { ($0.key, $0.value) })
    }

    /// The producer scheduled for `slot` given the parent state.
    public static func producer(at slot: UInt64, after state: LedgerState) -> Address? {
        advance(state, to: slot).round.producer(at: slot, blocksPerTurn: state.parameters.blocksPerTurn)
    }

    /// Writes what a block at `slot` changes before its transactions: deactivations and the new round.
    static func applyTransitions(_ advance: Advance, to state: inout LedgerState) {
        for address in advance.deactivated {
            guard var producer = state.producers[address], producer.status == .active else { continue }
            producer.status = .inactive
            state.setProducer(producer)
        }
        for (address, slot) in advance.joined {
            guard var producer = state.producers[address], producer.activeSinceSlot < slot else { continue }
            producer.activeSinceSlot = slot
            state.setProducer(producer)
        }
        if advance.crossedBoundary {
            var chain = state.chain
            chain.round = advance.round
            state.setChain(chain)
        }
    }
}

extension LedgerState {
    /// `electedProducers(count:)` with some candidates left out.
    public func electedProducers(count: Int, excluding excluded: Set<Address>) -> [Address] {
        let ranked = producers.values
            .filter { $0.status == .active && !excluded.contains($0.account) }
            .map { ($0.account, delegatedStake[$0.account] ?? 0) }
            .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        return ranked.prefix(count).map(\.0).sorted()
    }
}
