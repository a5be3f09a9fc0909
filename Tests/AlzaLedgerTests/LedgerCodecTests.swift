import AlzaCore
import AlzaLedger
import Testing

/// Canonical encodings of the ledger's types (DESIGN.md §3): `decode(encode(x)) == x`, `encode(decode(b)) == b`
/// for every accepted `b`, and a typed error (never a trap) for everything else.
@Suite struct LedgerCodecTests {
    /// A chain with one of everything in its state: a named account with stake, unbonding, a vote and delay rules;
    /// a retired nonce; a second producer; a member and audit entries; a pending delayed action; and evidence.
    static func richFixture() throws -> LedgerFixture {
        var fixture = try LedgerFixture()
        let alice = Keys.alice.address
        try fixture.apply(fixture.sign([Message(.stake(amount: 70 * Amounts.unit), authorizer: alice),
                                        Message(.unstake(amount: 20 * Amounts.unit), authorizer: alice),
                                        Message(.delegateVote(producer: fixture.producer), authorizer: alice)],
                                       by: [Keys.alice]))
        try fixture.apply(fixture.sign(try delayRulesPayload([(.unstake, 120), (.accountDelete, 3_600)]),
                                       by: Keys.alice, permission: .owner))
        try fixture.apply(fixture.transfer(LedgerFixture.fee, from: Keys.bob, to: Keys.erin.address))
        try fixture.apply(fixture.sign(.accountDelete, by: Keys.erin, permission: .owner))
        try fixture.apply(ProducerTests.register(fixture, Keys.carol))
        try fixture.apply(PrivilegeTests.registerWallet(fixture, by: Keys.admin))
        try fixture.apply(fixture.transfer(9, from: Keys.bob, to: Keys.carol.address, delay: 600))
        let first = ProducerTests.header(fixture, slot: 3, stateRoot: Hash.sha256(utf8: "x"))
        let second = ProducerTests.header(fixture, slot: 3, stateRoot: Hash.sha256(utf8: "y"))
        try fixture.apply(ProducerTests.evidence(fixture, first, second))
        return fixture
    }

    static func samplePayloads(_ fixture: LedgerFixture) throws -> [MessagePayload] {
        let first = ProducerTests.header(fixture, slot: 3, stateRoot: Hash.sha256(utf8: "x"))
        let second = ProducerTests.header(fixture, slot: 3, stateRoot: Hash.sha256(utf8: "y"))
        let field = FieldId(leader: Keys.frank.publicKey, nonce: 9)
        let signed = FieldLifecycleTests.sampleSnapshot(fixture: fixture, field: field)
        let receipt = FieldReceipt.signBatch(field: field, firstIndex: 3, paymentHashes: [.zero, Hash.sha256(utf8: "p")],
                                             leader: Keys.frank, chainId: fixture.chainId)[1]
        let lockPayment = SignedFieldPayment.sign(
            FieldPayment(field: FieldId(leader: Keys.erin.publicKey, nonce: 1), payer: Keys.alice.address, payee: Keys.alice.address,
                         amount: 4, sequence: 2, kind: .lock(target: field)),
            with: Keys.alice, chainId: fixture.chainId)
        var flowing = signed
        flowing.flows[1] = FieldFlow(deposited: 3, withdrawn: 9)
        return [
            .transfer(inputs: [AmountEntry(Keys.alice.address, 5), AmountEntry(Keys.bob.address, 6)],
                      outputs: [AmountEntry(Keys.carol.address, 11)], memo: Array("invoice 42".utf8)),
            .accountRegister(address: Keys.frank.address, owner: try PermissionTests.twoOfThree(),
                             active: .single(Keys.frank.publicKey), name: try AccountName("frank")),
            .accountRegister(address: Keys.frank.address, owner: .single(Keys.frank.publicKey),
                             active: .single(Keys.frank.publicKey), name: nil),
            .accountUpdate(name: .some(try AccountName("new-name")), delayRules: nil),
            .accountUpdate(name: .some(nil), delayRules: nil),
            try delayRulesPayload([(.transfer, 60), (.permissionUpdate, 86_400)]),
            .accountDelete,
            .permissionUpdate(level: .owner, permission: try PermissionTests.twoOfThree()),
            .stake(amount: 1), .unstake(amount: .max),
            .delegateVote(producer: Keys.producer.address), .delegateVote(producer: nil),
            .producerRegister(signingKey: Keys.erin.publicKey, url: "https://p.example/ü", timeZone: -12),
            .producerUnregister, .producerRecover,
            .equivocationEvidence(first: first, second: second),
            .cancelDelayed(id: 77),
            .privilegeGrant(account: Keys.bob.address, privileges: .all),
            .privilegeRevoke(account: Keys.bob.address, privileges: .memberAdmin),
            .memberRegister(id: Keys.frank.address, kind: .disputeService, name: "Disputes ✓", key: Keys.frank.publicKey),
            .coinbase(round: 9, payouts: [AmountEntry(Keys.alice.address, 1), AmountEntry(Keys.bob.address, 2)]),
            .fieldClaim(nonce: 9, leaderKey: Keys.frank.publicKey, bond: 3),
            .fieldOpen(field: field, deposits: [AmountEntry(Keys.alice.address, 4)], challengeSeconds: 5),
            .fieldClose(field: field, snapshot: signed),
            .fieldSoloClose(field: field, snapshot: signed),
            .fieldDispute(field: field, claim: .newerSnapshot(signed)),
            .fieldDispute(field: field, claim: .receipt(receipt)),
            .fieldRespond(field: field, snapshot: signed, proof: [.zero, Hash.sha256(utf8: "sibling")]),
            .fieldFinalize(field: field),
            .fieldEquivocation(field: field, first: receipt, second: receipt),
            .fieldOpen(field: field, deposits: [AmountEntry(Keys.alice.address, 4)], challengeSeconds: 5,
                       locks: [FieldLock(payment: lockPayment, receipt: receipt)],
                       consents: [FieldConsent(account: Keys.bob.address, expiry: 99, signatures: [
                           TransactionSignature(key: Keys.bob.publicKey, signature: Keys.bob.sign([1, 2, 3], domain: FieldConsent.domain,
                                                                                                chainId: fixture.chainId)),
                       ])]),
            .fieldDeposit(field: field, amount: 12),
            .fieldWithdraw(field: field, snapshot: flowing),
            .fieldLockSettle(field: field, snapshot: flowing),
        ]
    }

    @Test func everyPayloadRoundTripsThroughItsMessage() throws {
        let fixture = try LedgerFixture()
        let payloads = try Self.samplePayloads(fixture)
        #expect(Set(payloads.map(\.code)) == Set(MessageCode.allCases))
        for payload in payloads {
            #expect(try MessagePayload(code: payload.code, data: payload.data) == payload)
            let message = Message(payload, authorizer: Keys.alice.address, extraScope: [Keys.dave.address])
            let decoded = try Message(canonicalBytes: message.canonicalBytes)
            #expect(decoded == message)
            #expect(try decoded.payload() == payload)
        }
    }

    @Test func payloadDataWithTrailingBytesIsRefused() throws {
        let data = MessagePayload.stake(amount: 5).data
        #expect(throws: CodecError.trailingBytes(offset: 8, count: 1)) {
            try MessagePayload(code: .stake, data: data + [0])
        }
    }

    @Test func transactionsRoundTrip() throws {
        let fixture = try LedgerFixture()
        let payloads = try Self.samplePayloads(fixture)
        let messages = payloads.prefix(Transaction.maximumMessages).map { Message($0, authorizer: Keys.alice.address) }
        let transaction = Transaction(header: fixture.header(payer: Keys.alice.address, delay: 30), messages: messages)
        #expect(try Transaction(canonicalBytes: transaction.canonicalBytes) == transaction)
        let signed = SignedTransaction.sign(transaction, with: [Keys.alice, Keys.bob])
        let decoded = try SignedTransaction(canonicalBytes: signed.canonicalBytes)
        #expect(decoded == signed)
        #expect(decoded.transaction == transaction)
        #expect(decoded.signatures == signed.signatures)
        #expect(decoded.id == signed.id)
        #expect(decoded.signingDigest == signed.signingDigest)
        #expect(decoded.encodedSize == signed.canonicalBytes.count)
        #expect(decoded.witnessHash == signed.witnessHash)
        #expect(signed.id == Hash.sha256(transaction.canonicalBytes))
    }

    @Test func transactionWithoutMessagesDoesNotDecode() {
        let empty = Transaction(header: TransactionHeader(chainId: .zero, expiration: 1, nonce: 0, fee: 0), messages: [])
        let bytes = empty.canonicalBytes
        #expect(throws: CodecError.invalidValue(offset: bytes.count, reason: "a transaction has at least one message")) {
            try Transaction(canonicalBytes: bytes)
        }
    }

    @Test func signaturesDoNotChangeTheTransactionId() throws {
        let fixture = try LedgerFixture()
        let one = fixture.transfer(5, from: Keys.alice, to: Keys.bob.address)
        let two = SignedTransaction.sign(one.transaction, with: [Keys.alice, Keys.bob])
        #expect(one.id == two.id)
        #expect(one != two)
        #expect(one.witnessHash != two.witnessHash)
    }

    @Test func headersAndBlocksRoundTrip() throws {
        var fixture = try LedgerFixture()
        try fixture.apply([fixture.transfer(5, from: Keys.alice, to: Keys.bob.address),
                           fixture.transfer(6, from: Keys.carol, to: Keys.dave.address)])
        let block = try #require(fixture.blocks.last?.block)
        #expect(try BlockHeader(canonicalBytes: block.header.canonicalBytes) == block.header)
        let signedHeader = try SignedBlockHeader(canonicalBytes: block.signedHeader.canonicalBytes)
        #expect(signedHeader == block.signedHeader)
        #expect(signedHeader.id == block.header.canonicalHash)
        #expect(signedHeader.isSigned(by: Keys.producerSigning.publicKey, chainId: fixture.chainId))
        #expect(!signedHeader.isSigned(by: Keys.producer.publicKey, chainId: fixture.chainId))
        #expect(!signedHeader.isSigned(by: Keys.producerSigning.publicKey, chainId: Hash.sha256(utf8: "other")))

        let decoded = try Block(canonicalBytes: block.canonicalBytes)
        #expect(decoded == block)
        #expect(decoded.id == block.id)
        #expect(decoded.transactions == block.transactions)
        #expect(decoded.bodyFrame == block.bodyFrame)
        #expect(decoded.canonicalBytes == block.canonicalBytes)
        #expect(try LZ4Frame.decompress(block.bodyFrame, maxSize: 1 << 20) == Block.bodyBytes(block.transactions))
        #expect(block.header.transactionRoot == MerkleTree.root(leaves: block.transactions.map(\.canonicalBytes)))
        #expect(try BlockReference(canonicalBytes: BlockReference(block.signedHeader).canonicalBytes)
                == BlockReference(height: 1, slot: block.slot, id: block.id))
    }

    @Test func blockBodyFramedDifferentlyDecodesToTheSameBlock() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.transfer(5, from: Keys.alice, to: Keys.bob.address))
        let block = try #require(fixture.blocks.last?.block)
        // The same body as a frame of one stored (uncompressed) block, as another compressor may write it.
        let body = Block.bodyBytes(block.transactions)
        var frame = Self.frameHeader(contentSize: UInt64(body.count))
        withUnsafeBytes(of: (UInt32(body.count) | 0x8000_0000).littleEndian) { frame += $0 }
        frame += body
        withUnsafeBytes(of: UInt32(0).littleEndian) { frame += $0 }
        withUnsafeBytes(of: XXHash32.hash(body).littleEndian) { frame += $0 }
        #expect(frame != block.bodyFrame)
        let reframed = Block(signedHeader: block.signedHeader, transactions: block.transactions, bodyFrame: frame)
        let decoded = try Block(canonicalBytes: reframed.canonicalBytes)
        #expect(decoded.id == block.id)
        #expect(decoded == block)
        #expect(decoded.bodyFrame == frame)
        #expect(decoded.canonicalBytes != block.canonicalBytes)
    }

    /// An LZ4 frame header (content size and content checksum on, independent 256 KiB blocks).
    static func frameHeader(contentSize: UInt64) -> [UInt8] {
        var header: [UInt8] = [0x04, 0x22, 0x4D, 0x18, 0b0110_1100, 0x50]
        withUnsafeBytes(of: contentSize.littleEndian) { header += $0 }
        header.append(UInt8(truncatingIfNeeded: XXHash32.hash(Array(header[4...])) >> 8))
        return header
    }

    @Test func bodyFrameDeclaringAHugeContentSizeIsRefusedBeforeAllocating() throws {
        var fixture = try LedgerFixture()
        try fixture.applyEmptyBlock()
        let block = try #require(fixture.blocks.last?.block)
        let declared: UInt64 = 1 << 40
        var frame = Self.frameHeader(contentSize: declared)
        frame += [0, 0, 0, 0, 0, 0, 0, 0]
        let bomb = Block(signedHeader: block.signedHeader, transactions: [], bodyFrame: frame)
        let cause = CompressionError.declaredSizeOverLimit(declared: declared, limit: Block.maximumBodyBytes)
        let reason = LedgerError.malformedBlock("body: \(cause.description)").description
        #expect(throws: CodecError.invalidValue(offset: block.signedHeader.canonicalBytes.count, reason: reason)) {
            try Block(canonicalBytes: bomb.canonicalBytes)
        }
    }

    @Test func bodyOverTheCallersBoundIsRefused() throws {
        let fixture = try LedgerFixture()
        let transactions = (0..<5).map { fixture.transfer(5, from: Keys.alice, to: Keys.bob.address, nonce: UInt64($0)) }
        let body = Block.bodyBytes(transactions)
        let frame = LZ4Frame.compress(body)
        #expect(try Block.decodeBody(frame: frame, maxBodyBytes: body.count) == transactions)
        let cause = CompressionError.declaredSizeOverLimit(declared: UInt64(body.count), limit: body.count - 1)
        #expect(throws: LedgerError.malformedBlock("body: \(cause.description)")) {
            try Block.decodeBody(frame: frame, maxBodyBytes: body.count - 1)
        }
    }

    @Test func bodyWithTrailingGarbageIsRefused() throws {
        var fixture = try LedgerFixture()
        try fixture.apply(fixture.transfer(5, from: Keys.alice, to: Keys.bob.address))
        let block = try #require(fixture.blocks.last?.block)
        let frameOffset = block.signedHeader.canonicalBytes.count
        let body = Block.bodyBytes(block.transactions)

        // Garbage inside the compressed content, after the transaction list.
        let padded = Block(signedHeader: block.signedHeader, transactions: block.transactions,
                           bodyFrame: LZ4Frame.compress(body + [0xAA]))
        let inner = CodecError.trailingBytes(offset: body.count, count: 1)
        #expect(throws: CodecError.invalidValue(offset: frameOffset,
                                                reason: LedgerError.malformedBlock("body: \(inner.description)").description)) {
            try Block(canonicalBytes: padded.canonicalBytes)
        }

        // Garbage after the LZ4 frame's end.
        let extended = Block(signedHeader: block.signedHeader, transactions: block.transactions,
                             bodyFrame: block.bodyFrame + [0xAA, 0xBB])
        let outer = CompressionError.trailingBytes(count: 2)
        #expect(throws: CodecError.invalidValue(offset: frameOffset,
                                                reason: LedgerError.malformedBlock("body: \(outer.description)").description)) {
            try Block(canonicalBytes: extended.canonicalBytes)
        }

        // Garbage after the block itself.
        let bytes = block.canonicalBytes
        #expect(throws: CodecError.trailingBytes(offset: bytes.count, count: 1)) { try Block(canonicalBytes: bytes + [0]) }
    }

    @Test func stateEntriesOfEveryKindRoundTrip() throws {
        let fixture = try Self.richFixture()
        let entries = fixture.state.allEntries()
        var kinds = Set<String>()
        for entry in entries {
            #expect(try StateEntry(canonicalBytes: entry.canonicalBytes) == entry)
            kinds.insert(String(entry.key.description.prefix { $0 != "/" }))
        }
        #expect(kinds == ["chain", "account", "retired", "producer", "name", "member", "delayed", "audit", "evidence"])
        let deletions = [StateEntry(key: .account(Keys.bob.address), value: nil),
                         StateEntry(key: .name(try AccountName("gone")), value: nil),
                         StateEntry(key: .evidence(producer: Keys.producer.address, slot: 4), value: nil)]
        for entry in deletions { #expect(try StateEntry(canonicalBytes: entry.canonicalBytes) == entry) }
        let changes = StateChangeSet(undo: deletions, redo: Array(entries.prefix(5)))
        #expect(try StateChangeSet(canonicalBytes: changes.canonicalBytes) == changes)
    }

    @Test func stateEntryWithUnknownKeyTagIsRefused() {
        #expect(throws: CodecError.unknownTag(offset: 0, tag: 10, type: "StateKey")) {
            try StateEntry(canonicalBytes: [10, 0])
        }
        #expect(throws: CodecError.unknownTag(offset: 1, tag: 2, type: "optional marker")) {
            try StateEntry(canonicalBytes: [0, 2])
        }
    }

    @Test func accountsAndPermissionsRoundTrip() throws {
        let fixture = try Self.richFixture()
        let alice = try #require(fixture.account(Keys.alice))
        #expect(alice.name != nil && alice.vote != nil && !alice.unbonding.isEmpty && alice.delayRules.count == 2)
        #expect(try Account(canonicalBytes: alice.canonicalBytes) == alice)
        let bob = try #require(fixture.account(Keys.bob))
        #expect(bob.pendingDelayed == 1)
        #expect(try Account(canonicalBytes: bob.canonicalBytes) == bob)
        let admin = try #require(fixture.account(Keys.admin))
        #expect(try Account(canonicalBytes: admin.canonicalBytes) == admin)
        for permission in [Permission.single(Keys.alice.publicKey), try PermissionTests.twoOfThree()] {
            #expect(try Permission(canonicalBytes: permission.canonicalBytes) == permission)
        }
    }

    @Test func permissionWithUnsortedKeysDoesNotDecode() throws {
        let permission = try PermissionTests.twoOfThree()
        var encoder = CanonicalEncoder()
        encoder.encode(permission.threshold)
        encoder.encodeLength(permission.keys.count)
        for entry in permission.keys.reversed() {
            encoder.encode(entry.key)
            encoder.encode(entry.weight)
        }
        #expect(throws: CodecError.invalidValue(offset: 0, reason: "permission keys are not sorted")) {
            try Permission(canonicalBytes: encoder.bytes)
        }
    }

    // MARK: Fuzzing

    /// A valid encoding with a few bytes changed, cut short or extended.
    static func mutated(_ random: inout SeededRandom, valid: [[UInt8]]) -> [UInt8] {
        var input = valid[random.next(below: valid.count)]
        switch random.next() % 3 {
        case 0:
            for _ in 0...random.next(below: 4) where !input.isEmpty {
                input[random.next(below: input.count)] = UInt8(truncatingIfNeeded: random.next())
            }
        case 1:
            input = Array(input.prefix(random.next(below: input.count + 1)))
        default:
            input.insert(UInt8(truncatingIfNeeded: random.next()), at: random.next(below: input.count + 1))
        }
        return input
    }

    /// Decodes `input` as a signed transaction: refused with a `CodecError` (the only error the decoder can
    /// throw), or accepted and re-encoded to exactly `input`. Returns whether it was accepted.
    static func checkTransaction(_ input: [UInt8]) -> Bool {
        do throws(CodecError) {
            let value = try SignedTransaction(canonicalBytes: input)
            #expect(value.canonicalBytes == input)
            #expect(value.encodedSize == input.count)
            return true
        } catch {
            return false
        }
    }

    /// As `checkTransaction` for blocks; a block's re-encoding keeps its frame, and decoding it again gives
    /// the same id and transactions.
    static func checkBlock(_ input: [UInt8]) -> Bool {
        do throws(CodecError) {
            let value = try Block(canonicalBytes: input)
            let again = try Block(canonicalBytes: value.canonicalBytes)
            #expect(again.id == value.id)
            #expect(again.transactions == value.transactions)
            return true
        } catch {
            return false
        }
    }

    static func checkStateEntry(_ input: [UInt8]) -> Bool {
        do throws(CodecError) {
            let value = try StateEntry(canonicalBytes: input)
            #expect(value.canonicalBytes == input)
            return true
        } catch {
            return false
        }
    }

    @Test func twentyThousandRandomAndMutatedInputsEitherFailTypedOrReencodeExactly() throws {
        var fixture = try Self.richFixture()
        try fixture.apply([fixture.transfer(5, from: Keys.alice, to: Keys.bob.address),
                           fixture.transfer(5, from: Keys.carol, to: Keys.dave.address)])
        let validTransactions = fixture.blocks.flatMap(\.block.transactions).map(\.canonicalBytes)
        let validBlocks = fixture.blocks.map(\.block.canonicalBytes)
        let validEntries = fixture.state.allEntries().map(\.canonicalBytes)

        var random = SeededRandom(seed: 0xA12A_1ED6)
        var acceptedMutations = [0, 0, 0]
        for round in 0..<20_000 {
            // Every decoder gets the same random byte string...
            let noise = random.bytes(count: random.next(below: 300))
            _ = Self.checkTransaction(noise)
            _ = Self.checkBlock(noise)
            _ = Self.checkStateEntry(noise)
            // ...and one of them a mutated valid encoding, which gets past the first fields.
            switch round % 3 {
            case 0: if Self.checkTransaction(Self.mutated(&random, valid: validTransactions)) { acceptedMutations[0] += 1 }
            case 1: if Self.checkBlock(Self.mutated(&random, valid: validBlocks)) { acceptedMutations[1] += 1 }
            default: if Self.checkStateEntry(Self.mutated(&random, valid: validEntries)) { acceptedMutations[2] += 1 }
            }
        }
        // Changed bytes inside hashes, keys and amounts still decode: both outcomes were exercised for each type.
        #expect(acceptedMutations.allSatisfy { $0 > 100 }, "accepted mutations per type: \(acceptedMutations)")
        #expect(acceptedMutations.allSatisfy { $0 < 6_000 }, "accepted mutations per type: \(acceptedMutations)")
    }
}
