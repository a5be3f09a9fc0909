import AlzaConsensus
import AlzaCore
import AlzaLedger

/// A fault injected at a virtual time (milliseconds from the start of the run).
public enum SimulationFault: Sendable, Equatable {
    /// The node is down (crashed: unsynced disk writes lost or torn) from `from` and restarts at `to` with its disk.
    case offline(node: Int, from: UInt64, to: UInt64)
    /// The nodes split into groups of the given sizes (in node order) from `from` until `to`.
    case partition(sizes: [Int], from: UInt64, to: UInt64)
    /// At its first slot at or after `at`, the producer signs two different blocks and sends one to each half.
    case equivocate(node: Int, at: UInt64)
    /// While the node is down, cut `bytes` off the tail of its newest block-log segment.
    case truncateBlockLog(node: Int, at: UInt64, bytes: Int)
    /// While the node is down, flip a byte `fromEnd` bytes before the end of its newest block-log segment.
    case corruptBlockLog(node: Int, at: UInt64, fromEnd: Int)
    /// Message loss probability between `from` and `to`.
    case loss(probability: Double, from: UInt64, to: UInt64)
    /// The node's clock reads `offsetMilliseconds` off the true time (negative: behind) and runs
    /// `driftPartsPerMillion` fast (negative: slow) from `from` until `to`, when it is set right again.
    case clockSkew(node: Int, offsetMilliseconds: Int64, driftPartsPerMillion: Int64 = 0, from: UInt64, to: UInt64)
}

/// Everything that determines a simulation run (together with the seed).
public struct SimulationConfiguration: Sendable {
    public var producers: Int
    /// Nodes hosting the Satellite role (chain follower, agreement monitor, the wallets users submit to), after
    /// the producers in node order.
    public var satellites: Int = 0
    /// Every node's chain relay (`ChainRelayCore`): the 20 ms batching window a node runs, and its status
    /// cadence scaled from a node's 2 s to 30 s by default (D37): at 2 s, 23 SuperNodes exchange 22 million statuses
    /// in a simulated day, which doubles its run time; the campaign draws 2 s for a third of its seeds.
    public var relay: ChainRelayCore.Configuration = {
        var configuration = ChainRelayCore.Configuration()
        configuration.statusIntervalMilliseconds = 30_000
        return configuration
    }()
    public var durationMilliseconds: UInt64
    public var seed: UInt64
    public var slotMilliseconds: UInt64 = 3_000
    public var inactivityRemovalSlots: UInt64 = 14_400
    public var checkpointIntervalBlocks: UInt64 = 2_000
    public var network = SimulatedNetwork()
    /// Each node's gossip heartbeat (announcements, mesh upkeep), run when it has work, and its redial of
    /// unconnected reachable peers every five of these. A real node beats every 100 ms; a second keeps a simulated
    /// day fast and only delays `ihave`s (the mesh pushes blocks in full at once).
    public var gossipHeartbeatMilliseconds: UInt64 = 1_000
    public var faults: [SimulationFault] = []
    /// Transfers submitted per slot (from a pool of user accounts, to random users).
    public var transfersPerSlot: Int = 0
    public var userAccounts: Int = 64
    /// Every this many slots a payment field starts (claimed, opened two slots later by two users, closed
    /// cooperatively four slots after that); nil: no field workload.
    public var fieldEverySlots: UInt64?
    /// Payment fields run off chain by the satellites' field actors (`Simulation+PaymentFields`): each led by a
    /// satellite, with three accounts held by satellites' wallets; 0: none (needs satellites).
    public var paymentFields: Int = 0
    /// Payments tried per field per slot (an account with a payment unanswered skips its turn).
    public var fieldPaymentsPerSlot: Int = 2
    /// Each payment field's first account is dishonest: instead of the leader's cooperative close, it solo-closes
    /// with the oldest fully signed snapshot it holds, and the others' chain watchers dispute and finalize.
    public var staleSoloCloses = false
    /// The honest accounts' chain watchers are down (nobody disputes a stale close): what the participant's
    /// guarantee needs is missing, and the end-of-run check must catch the loss.
    public var fieldWatchersDown = false
    /// Unix milliseconds of slot 0.
    public var genesisTime: UInt64 = 1_767_225_600_000

    public init(producers: Int, durationMilliseconds: UInt64, seed: UInt64) {
        self.producers = producers
        self.durationMilliseconds = durationMilliseconds
        self.seed = seed
    }

    /// The deterministic key of producer `index` (its account key and block-signing key).
    public static func producerKey(_ index: Int) -> SigningKey { SigningKey(deterministicLabel: "alza-sim-producer-\(index)") }
    public static func satelliteKey(_ index: Int) -> SigningKey { SigningKey(deterministicLabel: "alza-sim-satellite-\(index)") }
    public static func userKey(_ index: Int) -> SigningKey { SigningKey(deterministicLabel: "alza-sim-user-\(index)") }
    public static func fieldAccountKey(field: Int, participant: Int) -> SigningKey {
        SigningKey(deterministicLabel: "alza-sim-field-\(field)-account-\(participant)")
    }

    /// The genesis of the simulated chain: every producer self-staked equally, users funded.
    public func genesisFile() -> GenesisFile {
        var parameters = ChainParameters()
        parameters.producerCount = producers
        parameters.slotMilliseconds = slotMilliseconds
        parameters.inactivityRemovalSlots = inactivityRemovalSlots
        parameters.checkpointIntervalBlocks = checkpointIntervalBlocks
        var accounts: [GenesisFile.Account] = []
        var producerEntries: [GenesisFile.Producer] = []
        for index in 0..<producers {
            let key = Self.producerKey(index).publicKey
            let address = Address(key)
            accounts.append(GenesisFile.Account(publicKey: key.hex, balance: 1_000_000 * Amounts.unit,
                                                stake: 100_000 * Amounts.unit, vote: address.description))
            producerEntries.append(GenesisFile.Producer(account: address.description, signingKey: key.hex,
                                                        url: "sim://producer-\(index)", timeZone: Int8(index % 24 - 11)))
        }
        for index in 0..<userAccounts {
            accounts.append(GenesisFile.Account(publicKey: Self.userKey(index).publicKey.hex, balance: 10_000 * Amounts.unit))
        }
        // Only with off-chain fields, so every other run's genesis (and state roots) stays what it was: satellites
        // claim fields with their node key's account, and each field's accounts bring their deposits.
        if paymentFields > 0 && satellites > 0 {
            for index in 0..<satellites {
                accounts.append(GenesisFile.Account(publicKey: Self.satelliteKey(index).publicKey.hex, balance: 1_000 * Amounts.unit))
            }
            for field in 0..<paymentFields {
                for participant in 0..<3 {
                    accounts.append(GenesisFile.Account(publicKey: Self.fieldAccountKey(field: field, participant: participant).publicKey.hex,
                                                        balance: 10_000 * Amounts.unit))
                }
            }
        }
        return GenesisFile(chainName: "alza-sim", genesisTime: genesisTime, parameters: parameters, accounts: accounts,
                           producers: producerEntries)
    }
}
