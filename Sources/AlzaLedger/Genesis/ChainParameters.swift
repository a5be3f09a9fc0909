import AlzaCore

/// Every parameter of the chain (DESIGN.md §10 plus the ledger's limits). Fixed by the genesis file, and so
/// part of the chain id. Time parameters scale for testnets and the simulator: a testnet may use 500 ms slots
/// and a 60-slot inactivity window.
public struct ChainParameters: Hashable, Sendable, Codable {
    // Consensus (seed §3.1, DESIGN.md §4)
    /// Size of the producer committee (SuperNodes).
    public var producerCount: Int = 23
    /// Consecutive slots each producer gets in a round.
    public var blocksPerTurn: Int = 6
    /// Slot length.
    public var slotMilliseconds: UInt64 = 3_000
    /// A producer with no block for this many slots leaves the rotation until it sends `producer recover` (12 h).
    public var inactivityRemovalSlots: UInt64 = 14_400
    /// Reward constant of seed equation 2, in base units per block (150 ALZA).
    public var rewardConstant: Amount = 150 * Amounts.unit

    // Ledger
    /// Smallest fee a transaction may offer.
    public var minimumFee: Amount = 1_000
    /// How far in the future a transaction's expiration may lie.
    public var maxTransactionLifetimeSeconds: UInt64 = 3_600
    /// Delay before unstaked funds return to the balance.
    public var unbondingSeconds: UInt64 = 3 * 86_400
    /// Most unbonding entries an account may have at once.
    public var maxUnbondingEntries: Int = 8
    /// Longest delay a transaction may ask for (seed: "up to 30 days" for an account transfer).
    public var maxDelaySeconds: UInt32 = 60 * 86_400
    /// Most pending delayed actions per paying account (the bound Antelope lacked).
    public var maxDelayedPerAccount: Int = 16
    /// Most delayed actions executed in one block; the rest wait for the next.
    public var maxDelayedExecutionsPerBlock: Int = 1_000
    /// Most transactions in a block.
    public var maxBlockTransactions: Int = 20_000
    /// Most bytes of a block body (uncompressed).
    public var maxBlockBodyBytes: Int = 16 << 20
    /// Most bytes of one transaction.
    public var maxTransactionBytes: Int = 64 << 10

    // Node-local defaults carried by the genesis for convenience
    /// Mempool bounds.
    public var mempoolMaxTransactions: Int = 100_000
    public var mempoolMaxBytes: Int = 64 << 20
    /// Committed blocks between two state checkpoints.
    public var checkpointIntervalBlocks: UInt64 = 1_000

    public init() {}

    /// Slots in a round with `producers` producers.
    public func roundLength(producers: Int) -> UInt64 { UInt64(producers * blocksPerTurn) }

    /// Checks the parameters make sense together.
    public func validate() throws(LedgerError) {
        guard producerCount >= 1, producerCount <= 1_000 else { throw .invalidGenesis("producerCount must be 1...1000") }
        guard blocksPerTurn >= 1, blocksPerTurn <= 1_000 else { throw .invalidGenesis("blocksPerTurn must be 1...1000") }
        guard slotMilliseconds >= 10 else { throw .invalidGenesis("slotMilliseconds must be at least 10") }
        guard inactivityRemovalSlots >= 1 else { throw .invalidGenesis("inactivityRemovalSlots must be positive") }
        guard maxUnbondingEntries >= 1, maxDelayedPerAccount >= 1, maxBlockTransactions >= 1 else {
            throw .invalidGenesis("limits must be positive")
        }
        guard maxBlockBodyBytes >= maxTransactionBytes, maxTransactionBytes >= 256 else {
            throw .invalidGenesis("maxTransactionBytes must be 256...maxBlockBodyBytes")
        }
        guard checkpointIntervalBlocks >= 1, checkpointIntervalBlocks <= 1_000_000_000 else {
            throw .invalidGenesis("checkpointIntervalBlocks must be 1...1,000,000,000")
        }
        // Time parameters are multiplied into the millisecond clock: keep them far from overflow.
        let tenYears: UInt64 = 10 * 366 * 86_400
        guard maxTransactionLifetimeSeconds >= 1, maxTransactionLifetimeSeconds <= tenYears else {
            throw .invalidGenesis("maxTransactionLifetimeSeconds must be 1 s...10 years")
        }
        guard unbondingSeconds <= tenYears else { throw .invalidGenesis("unbondingSeconds must be at most 10 years") }
        guard slotMilliseconds <= 3_600_000, inactivityRemovalSlots <= 1_000_000_000 else {
            throw .invalidGenesis("slotMilliseconds must be at most 1 h and inactivityRemovalSlots at most 10^9")
        }
        guard maxUnbondingEntries <= Account.maximumUnbondingEntries else {
            throw .invalidGenesis("maxUnbondingEntries must be at most \(Account.maximumUnbondingEntries)")
        }
        guard maxDelayedPerAccount <= 1_000_000, maxDelayedExecutionsPerBlock >= 1 else {
            throw .invalidGenesis("maxDelayedPerAccount must be at most 10^6 and maxDelayedExecutionsPerBlock positive")
        }
    }

    enum CodingKeys: String, CodingKey {
        case producerCount, blocksPerTurn, slotMilliseconds, inactivityRemovalSlots, rewardConstant, minimumFee
        case maxTransactionLifetimeSeconds, unbondingSeconds, maxUnbondingEntries, maxDelaySeconds
        case maxDelayedPerAccount, maxDelayedExecutionsPerBlock, maxBlockTransactions, maxBlockBodyBytes
        case maxTransactionBytes, mempoolMaxTransactions, mempoolMaxBytes, checkpointIntervalBlocks
    }

    /// Missing keys take their defaults, so a genesis file only lists what it changes.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = ChainParameters()
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try container.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        producerCount = try value(.producerCount, defaults.producerCount)
        blocksPerTurn = try value(.blocksPerTurn, defaults.blocksPerTurn)
        slotMilliseconds = try value(.slotMilliseconds, defaults.slotMilliseconds)
        inactivityRemovalSlots = try value(.inactivityRemovalSlots, defaults.inactivityRemovalSlots)
        rewardConstant = try value(.rewardConstant, defaults.rewardConstant)
        minimumFee = try value(.minimumFee, defaults.minimumFee)
        maxTransactionLifetimeSeconds = try value(.maxTransactionLifetimeSeconds, defaults.maxTransactionLifetimeSeconds)
        unbondingSeconds = try value(.unbondingSeconds, defaults.unbondingSeconds)
        maxUnbondingEntries = try value(.maxUnbondingEntries, defaults.maxUnbondingEntries)
        maxDelaySeconds = try value(.maxDelaySeconds, defaults.maxDelaySeconds)
        maxDelayedPerAccount = try value(.maxDelayedPerAccount, defaults.maxDelayedPerAccount)
        maxDelayedExecutionsPerBlock = try value(.maxDelayedExecutionsPerBlock, defaults.maxDelayedExecutionsPerBlock)
        maxBlockTransactions = try value(.maxBlockTransactions, defaults.maxBlockTransactions)
        maxBlockBodyBytes = try value(.maxBlockBodyBytes, defaults.maxBlockBodyBytes)
        maxTransactionBytes = try value(.maxTransactionBytes, defaults.maxTransactionBytes)
        mempoolMaxTransactions = try value(.mempoolMaxTransactions, defaults.mempoolMaxTransactions)
        mempoolMaxBytes = try value(.mempoolMaxBytes, defaults.mempoolMaxBytes)
        checkpointIntervalBlocks = try value(.checkpointIntervalBlocks, defaults.checkpointIntervalBlocks)
    }
}
