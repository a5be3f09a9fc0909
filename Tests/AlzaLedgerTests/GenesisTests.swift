import AlzaCore
import AlzaLedger
import Foundation
import Testing

/// The genesis file: its chain id is the hash of its exact bytes, and every inconsistency is refused.
@Suite struct GenesisTests {
    static func file() -> GenesisFile { LedgerFixture.genesisFile() }

    static func initialState(_ file: GenesisFile) throws -> LedgerState {
        try Genesis(file).initialState()
    }

    @Test func chainIdIsTheHashOfTheExactFileBytes() throws {
        let file = Self.file()
        let bytes = file.jsonBytes()
        let genesis = try Genesis(bytes: bytes)
        #expect(genesis.chainId == Hash.sha256(bytes))
        #expect(genesis.file == file)
        #expect(genesis.bytes == bytes)
        #expect(try Genesis(file).chainId == genesis.chainId)
        // The same content with different whitespace is another chain.
        let respaced = try Genesis(bytes: [0x20] + bytes)
        #expect(respaced.file == file)
        #expect(respaced.chainId != genesis.chainId)
        #expect(respaced.chainId == Hash.sha256([0x20] + bytes))
    }

    @Test func jsonIsPrettySortedAndEndsWithANewline() throws {
        let bytes = Self.file().jsonBytes()
        let text = try #require(String(validating: bytes, as: UTF8.self))
        #expect(text.hasSuffix("}\n"))
        #expect(text.contains("\n  \"accounts\" : ["))
        #expect(text.range(of: "\"accounts\"")!.lowerBound < text.range(of: "\"chainName\"")!.lowerBound)
        #expect(Self.file().jsonBytes() == bytes)
    }

    @Test func genesisLoadsFromAFile() throws {
        let directory = try TemporaryDirectory()
        let bytes = Self.file().jsonBytes()
        try directory.write("genesis.json", bytes)
        #expect(try Genesis.load(path: directory.file("genesis.json")).chainId == Hash.sha256(bytes))
        let missing = directory.file("absent.json")
        #expect(throws: LedgerError.invalidGenesis("cannot read \(missing)")) { try Genesis.load(path: missing) }
    }

    @Test func initialStateHoldsTheAccountsProducersAndPrivileges() throws {
        let fixture = try LedgerFixture()
        let state = fixture.state
        #expect(state.chainId == fixture.chainId)
        #expect(state.genesisTime == LedgerFixture.genesisTime)
        #expect(state.accounts.count == 6)
        let expectedSupply = 5 * LedgerFixture.startingBalance + LedgerFixture.producerBalance + LedgerFixture.daveStake
        #expect(state.chain.totalSupply == expectedSupply)
        #expect(state.accounts[Keys.dave.address]?.staked == LedgerFixture.daveStake)
        #expect(state.accounts[Keys.dave.address]?.vote == Keys.producer.address)
        #expect(state.names[try AccountName("alice")] == Keys.alice.address)
        #expect(state.producers[Keys.producer.address]?.signingKey == Keys.producerSigning.publicKey)
        #expect(state.producers[Keys.producer.address]?.status == .active)
        #expect(state.chain.round == RoundRecord(number: 0, startSlot: 1, producers: [Keys.producer.address]))
        #expect(state.chain.nextDelayedId == 1)
        #expect(state.chain.nextAuditSequence == 1)
        #expect(state.chain.rewardedRound == nil)
        #expect(state.accounts.values.allSatisfy { $0.nonce == 0 && $0.createdAtHeight == 0 })
    }

    @Test func missingParametersTakeTheirDefaults() throws {
        let json = #"{"producerCount": 5, "slotMilliseconds": 500}"#
        let parameters = try JSONDecoder().decode(ChainParameters.self, from: Data(json.utf8))
        var expected = ChainParameters()
        expected.producerCount = 5
        expected.slotMilliseconds = 500
        #expect(parameters == expected)
        #expect(try JSONDecoder().decode(ChainParameters.self, from: Data("{}".utf8)) == ChainParameters())
    }

    @Test func notAGenesisFileIsRefused() {
        let error = #expect(throws: LedgerError.self) { try Genesis(bytes: Array("not json".utf8)) }
        guard case .invalidGenesis(let reason)? = error else {
            Issue.record("expected invalidGenesis, got \(String(describing: error))")
            return
        }
        #expect(reason.hasPrefix("not a genesis file: "))
    }

    @Test func genesisWithoutProducersIsRefused() {
        var file = Self.file()
        file.producers = []
        #expect(throws: LedgerError.invalidGenesis("at least one producer is needed")) { try Genesis(file) }
    }

    @Test func duplicateAccountIsRefused() throws {
        var file = Self.file()
        file.accounts.append(.init(publicKey: Keys.bob.publicKey.hex, balance: 1))
        #expect(throws: LedgerError.invalidGenesis("account \(Keys.bob.address) appears twice")) {
            try Self.initialState(file)
        }
    }

    @Test func voteForANonProducerIsRefused() throws {
        var file = Self.file()
        file.accounts[1].stake = 5
        file.accounts[1].vote = Keys.carol.address.description
        #expect(throws: LedgerError.invalidGenesis(
            "account \(Keys.bob.address) votes for \(Keys.carol.address), which is not a producer")) {
            try Self.initialState(file)
        }
    }

    @Test func voteThatIsNotAnAddressIsRefused() throws {
        var file = Self.file()
        file.accounts[1].vote = "producer-one"
        #expect(throws: LedgerError.invalidAddress("producer-one")) { try Self.initialState(file) }
    }

    @Test func producerWithoutAnAccountIsRefused() throws {
        var file = Self.file()
        file.producers.append(.init(account: Keys.erin.address.description, signingKey: Keys.erin.publicKey.hex,
                                    url: "https://erin.example", timeZone: 0))
        #expect(throws: LedgerError.invalidGenesis("producer \(Keys.erin.address) has no account in the genesis")) {
            try Self.initialState(file)
        }
    }

    @Test func duplicateProducerIsRefused() throws {
        var file = Self.file()
        file.producers.append(file.producers[0])
        #expect(throws: LedgerError.invalidGenesis("producer \(Keys.producer.address) appears twice")) {
            try Self.initialState(file)
        }
    }

    @Test func badAccountKeyHexIsRefused() throws {
        var file = Self.file()
        file.accounts[2].publicKey = "zz" + String(Keys.carol.publicKey.hex.dropFirst(2))
        let hexError = try #require(#expect(throws: HexError.self) { try PublicKey(hex: file.accounts[2].publicKey) })
        #expect(throws: LedgerError.invalidGenesis("account key \(file.accounts[2].publicKey): \(hexError.description)")) {
            try Self.initialState(file)
        }
    }

    @Test func shortAccountKeyIsRefused() throws {
        var file = Self.file()
        file.accounts[2].publicKey = "abcd"
        let hexError = try #require(#expect(throws: HexError.self) { try PublicKey(hex: "abcd") })
        #expect(throws: LedgerError.invalidGenesis("account key abcd: \(hexError.description)")) {
            try Self.initialState(file)
        }
    }

    @Test func badProducerSigningKeyIsRefused() throws {
        var file = Self.file()
        file.producers[0].signingKey = "not-hex"
        let hexError = try #require(#expect(throws: HexError.self) { try PublicKey(hex: "not-hex") })
        #expect(throws: LedgerError.invalidGenesis("producer signing key: \(hexError.description)")) {
            try Self.initialState(file)
        }
    }

    @Test func privilegedAccountOutsideTheGenesisIsRefused() throws {
        var file = Self.file()
        file.privileged.append(.init(account: Keys.erin.address.description, privileges: ["memberAdmin"]))
        #expect(throws: LedgerError.invalidGenesis(
            "privileged account \(Keys.erin.address) is not in the genesis accounts")) {
            try Self.initialState(file)
        }
    }

    @Test func unknownPrivilegeNameIsRefused() throws {
        var file = Self.file()
        file.privileged[0].privileges.append("superuser")
        #expect(throws: LedgerError.invalidPrivilege("superuser")) { try Self.initialState(file) }
    }

    @Test func duplicateAndInvalidNamesAreRefused() throws {
        var duplicate = Self.file()
        duplicate.accounts[1].name = "alice"
        #expect(throws: LedgerError.invalidGenesis("name alice appears twice")) { try Self.initialState(duplicate) }
        var invalid = Self.file()
        invalid.accounts[1].name = "Bob!"
        #expect(throws: LedgerError.invalidName("Bob!")) { try Self.initialState(invalid) }
    }

    @Test func supplyOverflowIsRefused() throws {
        var file = Self.file()
        file.accounts[0].balance = .max
        #expect(throws: LedgerError.overflow("\(UInt64.max) + \(LedgerFixture.startingBalance)")) {
            try Self.initialState(file)
        }
    }

    @Test(arguments: [
        ("producerCount", "producerCount must be 1...1000"),
        ("producerCountHigh", "producerCount must be 1...1000"),
        ("blocksPerTurn", "blocksPerTurn must be 1...1000"),
        ("slotMilliseconds", "slotMilliseconds must be at least 10"),
        ("inactivityRemovalSlots", "inactivityRemovalSlots must be positive"),
        ("maxUnbondingEntries", "limits must be positive"),
        ("maxDelayedPerAccount", "limits must be positive"),
        ("maxBlockTransactions", "limits must be positive"),
        ("maxTransactionBytes", "maxTransactionBytes must be 256...maxBlockBodyBytes"),
        ("maxBlockBodyBytes", "maxTransactionBytes must be 256...maxBlockBodyBytes"),
        ("checkpointIntervalBlocks", "checkpointIntervalBlocks must be 1...1,000,000,000"),
    ])
    func invalidParametersAreRefused(_ field: String, _ reason: String) throws {
        var parameters = LedgerFixture.testParameters()
        switch field {
        case "producerCount": parameters.producerCount = 0
        case "producerCountHigh": parameters.producerCount = 1_001
        case "blocksPerTurn": parameters.blocksPerTurn = 0
        case "slotMilliseconds": parameters.slotMilliseconds = 9
        case "inactivityRemovalSlots": parameters.inactivityRemovalSlots = 0
        case "maxUnbondingEntries": parameters.maxUnbondingEntries = 0
        case "maxDelayedPerAccount": parameters.maxDelayedPerAccount = 0
        case "maxBlockTransactions": parameters.maxBlockTransactions = 0
        case "maxTransactionBytes": parameters.maxTransactionBytes = 255
        case "maxBlockBodyBytes": parameters.maxBlockBodyBytes = parameters.maxTransactionBytes - 1
        case "checkpointIntervalBlocks": parameters.checkpointIntervalBlocks = 0
        default: Issue.record("unknown field \(field)")
        }
        #expect(throws: LedgerError.invalidGenesis(reason)) { try parameters.validate() }
        #expect(throws: LedgerError.invalidGenesis(reason)) {
            try Genesis(LedgerFixture.genesisFile(parameters: parameters))
        }
    }

    @Test
    func parametersThatOverflowTheMillisecondClockAreRefused() {
        var lifetime = LedgerFixture.testParameters()
        lifetime.maxTransactionLifetimeSeconds = UInt64.max / 1_000 + 1
        var unbonding = LedgerFixture.testParameters()
        unbonding.unbondingSeconds = UInt64.max / 1_000 + 1
        var checkpoints = LedgerFixture.testParameters()
        checkpoints.checkpointIntervalBlocks = .max
        for parameters in [lifetime, unbonding, checkpoints] {
            let error = #expect(throws: LedgerError.self) { try parameters.validate() }
            if case .invalidGenesis? = error {} else { Issue.record("expected invalidGenesis, got \(String(describing: error))") }
        }
    }

    @Test
    func accountWithAsManyUnbondingEntriesAsTheParametersAllowRoundTrips() throws {
        var parameters = LedgerFixture.testParameters()
        // More entries than an account can encode are refused by the parameters themselves...
        parameters.maxUnbondingEntries = Account.maximumUnbondingEntries + 1
        #expect(throws: LedgerError.invalidGenesis("maxUnbondingEntries must be at most \(Account.maximumUnbondingEntries)")) {
            try parameters.validate()
        }
        // ...and the most the parameters allow still round-trips.
        parameters.maxUnbondingEntries = Account.maximumUnbondingEntries
        parameters.unbondingSeconds = 3_600
        var fixture = try LedgerFixture(parameters: parameters)
        for _ in 0..<parameters.maxUnbondingEntries {
            try fixture.apply(fixture.sign(.unstake(amount: 1), by: Keys.dave))
        }
        let dave = try #require(fixture.account(Keys.dave))
        #expect(dave.unbonding.count == parameters.maxUnbondingEntries)
        #expect(try Account(canonicalBytes: dave.canonicalBytes) == dave)
    }

    @Test func fixtureParametersAreValid() throws {
        try LedgerFixture.testParameters().validate()
        try ChainParameters().validate()
    }
}
