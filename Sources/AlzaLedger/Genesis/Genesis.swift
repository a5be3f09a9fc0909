import AlzaCore
import Foundation

/// The genesis file (JSON): chain name and start time, every parameter, initial accounts with balances, stakes
/// and votes, producer candidates, and privileged accounts. The chain id is SHA-256 of the file's exact bytes,
/// so every node of a chain must run the same file.
public struct GenesisFile: Codable, Hashable, Sendable {
    public var chainName: String
    /// Unix milliseconds of slot 0.
    public var genesisTime: UInt64
    public var parameters: ChainParameters
    public var accounts: [Account]
    public var producers: [Producer]
    public var privileged: [PrivilegedAccount]

    public struct Account: Codable, Hashable, Sendable {
        /// Hex of the account's Ed25519 public key (its address is `alza1` + this).
        public var publicKey: String
        public var balance: Amount
        public var stake: Amount?
        /// Address (`alza1…`) of the producer candidate its stake votes for.
        public var vote: String?
        public var name: String?

        public init(publicKey: String, balance: Amount, stake: Amount? = nil, vote: String? = nil, name: String? = nil) {
            self.publicKey = publicKey
            self.balance = balance
            self.stake = stake
            self.vote = vote
            self.name = name
        }
    }

    public struct Producer: Codable, Hashable, Sendable {
        /// Address of the producer's account (must be among `accounts`).
        public var account: String
        /// Hex of the key that signs its blocks.
        public var signingKey: String
        public var url: String
        public var timeZone: Int8

        public init(account: String, signingKey: String, url: String, timeZone: Int8) {
            self.account = account
            self.signingKey = signingKey
            self.url = url
            self.timeZone = timeZone
        }
    }

    public struct PrivilegedAccount: Codable, Hashable, Sendable {
        public var account: String
        public var privileges: [String]

        public init(account: String, privileges: [String]) {
            self.account = account
            self.privileges = privileges
        }
    }

    public init(chainName: String, genesisTime: UInt64, parameters: ChainParameters, accounts: [Account],
                producers: [Producer], privileged: [PrivilegedAccount] = []) {
        self.chainName = chainName
        self.genesisTime = genesisTime
        self.parameters = parameters
        self.accounts = accounts
        self.producers = producers
        self.privileged = privileged
    }

    /// Pretty, key-sorted JSON: the bytes to write (and hash) for a new chain.
    public func jsonBytes() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding plain values cannot fail.
        return Array((try? encoder.encode(self)) ?? Data()) + [0x0a]
    }
}

/// A parsed genesis with its chain id.
public struct Genesis: Sendable {
    public let file: GenesisFile
    public let bytes: [UInt8]
    /// SHA-256 of the genesis file bytes.
    public let chainId: Hash

    public init(bytes: [UInt8]) throws(LedgerError) {
        do {
            file = try JSONDecoder().decode(GenesisFile.self, from: Data(bytes))
        } catch {
            throw .invalidGenesis("not a genesis file: \(error)")
        }
        self.bytes = bytes
        chainId = Hash.sha256(bytes)
        try file.parameters.validate()
        guard !file.producers.isEmpty else { throw .invalidGenesis("at least one producer is needed") }
    }

    public init(_ file: GenesisFile) throws(LedgerError) {
        try self.init(bytes: file.jsonBytes())
    }

    public static func load(path: String) throws(LedgerError) -> Genesis {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidGenesis("cannot read \(path)")
        }
        return try Genesis(bytes: Array(data))
    }

    public var parameters: ChainParameters { file.parameters }

    /// The state before block 1: accounts, stakes and votes, producers, privileges, and round 0 elected from them.
    public func initialState() throws(LedgerError) -> LedgerState {
        // Round 0 is elected from the stakes and votes below, so the state starts with an empty committee.
        let unelectedRound = RoundRecord(number: 0, startSlot: 1, producers: [])
        var state = LedgerState(chainId: chainId, genesisTime: file.genesisTime, parameters: file.parameters,
                                chain: ChainRecord(totalSupply: 0, round: unelectedRound))
        var supply: Amount = 0
        for entry in file.accounts {
            let key: PublicKey
            do { key = try PublicKey(hex: entry.publicKey) } catch {
                throw .invalidGenesis("account key \(entry.publicKey): \(error.description)")
            }
            let address = Address(key)
            guard state.accounts[address] == nil else { throw .invalidGenesis("account \(address) appears twice") }
            var account = Account(address: address, key: key)
            account.balance = entry.balance
            account.staked = entry.stake ?? 0
            if let vote = entry.vote { account.vote = try Address(parsing: vote) }
            if let name = entry.name {
                let accountName = try AccountName(name)
                guard state.names[accountName] == nil else { throw .invalidGenesis("name \(name) appears twice") }
                account.name = accountName
                state.write(.name(accountName), .name(address))
            }
            supply = try Amounts.add(supply, try Amounts.add(account.balance, account.staked))
            state.setAccount(account)
        }
        for entry in file.producers {
            let address = try Address(parsing: entry.account)
            guard state.accounts[address] != nil else {
                throw .invalidGenesis("producer \(entry.account) has no account in the genesis")
            }
            let key: PublicKey
            do { key = try PublicKey(hex: entry.signingKey) } catch {
                throw .invalidGenesis("producer signing key: \(error.description)")
            }
            guard state.producers[address] == nil else { throw .invalidGenesis("producer \(entry.account) appears twice") }
            state.setProducer(ProducerInfo(account: address, signingKey: key, url: entry.url, timeZone: entry.timeZone,
                                           slot: 0))
        }
        for account in state.accounts.values.sorted(by: { $0.address < $1.address }) {
            if let vote = account.vote, state.producers[vote] == nil {
                throw .invalidGenesis("account \(account.address) votes for \(vote), which is not a producer")
            }
        }
        for entry in file.privileged {
            let address = try Address(parsing: entry.account)
            guard var account = state.accounts[address] else {
                throw .invalidGenesis("privileged account \(entry.account) is not in the genesis accounts")
            }
            for name in entry.privileges { account.privileges.insert(try Privileges(name: name)) }
            state.setAccount(account)
        }
        var chain = state.chain
        chain.totalSupply = supply
        chain.round = RoundRecord(number: 0, startSlot: 1,
                                  producers: state.electedProducers(count: file.parameters.producerCount))
        state.setChain(chain)
        return state
    }
}

extension LedgerState {
    /// The producer election (DESIGN.md §4): active candidates ranked by delegated stake (ties by address), the
    /// top `count`, in address order (the fixed order of the round).
    public func electedProducers(count: Int) -> [Address] {
        let ranked = producers.values
            .filter { $0.status == .active }
            .map { ($0.account, delegatedStake[$0.account] ?? 0) }
            .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        return ranked.prefix(count).map(\.0).sorted()
    }
}
