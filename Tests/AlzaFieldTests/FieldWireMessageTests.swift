import AlzaCore
import AlzaField
import AlzaLedger
import Testing

/// The `field` protocol's messages: each survives its encoding; bytes that are not one are a typed codec error.
@Suite struct FieldWireMessageTests {
    @Test func everyMessageComesBackAsItWasSent() throws {
        let fixture = FieldFixture()
        var leader = fixture.leader { $0.snapshotEveryPayments = 1 }
        var participant = fixture.participants()[0]
        let payment = try participant.pay(to: fixture.address(1), amount: 4)
        _ = leader.receive(payment, now: 1)
        let effects = leader.persisted(firstIndex: 0, now: 2)
        let receipt = effects.receipts[0].receipt
        let proposal = effects.proposals[0].proposal
        let signature = try participant.sign(proposal)
        let header = TransactionHeader(chainId: fixture.chainId, expiration: 9, nonce: 1, fee: 1)
        let open = Transaction(header: header, messages: [
            Message(.fieldOpen(field: fixture.roster.field, deposits: [AmountEntry(fixture.address(0), 5), AmountEntry(fixture.address(1), 5)],
                               challengeSeconds: 60), authorizer: fixture.address(2)),
        ])
        let target = FieldId(hash: Hash.sha256(utf8: "target field"))
        let lock = try participant.lock(amount: 9, for: target)
        var flows = FieldFlows()
        flows[2] = FieldFlow(deposited: 4, withdrawn: 1)
        let messages: [FieldWireMessage] = [
            .pay(payment), .receipt(receipt), .refusal(FieldError.zeroAmount), .incoming(payment, receipt), .propose(proposal),
            .signature(field: fixture.roster.field, snapshot: 1, signer: fixture.address(0), signature: signature),
            .fullySigned(SignedFieldSnapshot(snapshot: proposal.snapshot, balances: [1, 2, 3], signatures: [signature])),
            .consentRequest(open, participant: fixture.address(0)),
            .consent(TransactionSignature(key: fixture.keys[0].publicKey, signature: signature)),
            .payBatch([payment]),
            .answers([.receipt(receipt), .refusal(FieldError.zeroAmount)]),
            .closeRequest(SignedFieldSnapshot(snapshot: proposal.snapshot, balances: [1, 2, 3], flows: flows, signatures: [signature]),
                          participant: fixture.address(1), closeBy: 1_750_000_120_000),
            .closeSignature(signer: fixture.address(1), signature),
            .lockRequest(source: fixture.roster.field, target: target, participant: fixture.address(0), amount: 9),
            .lock(FieldLock(payment: lock, receipt: receipt)),
        ]
        for message in messages {
            #expect(try FieldWireMessage(canonicalBytes: message.canonicalBytes) == message)
        }
        #expect(FieldWireMessage.pay(payment).field == fixture.roster.field)
        #expect(FieldWireMessage.refusal(FieldError.zeroAmount) == .refused(code: "field.zero-amount", reason: "a payment moves a positive amount"))
    }

    @Test func aConsentRequestForMoreParticipantsThanAuthorizationsDecodes() throws {
        let fixture = FieldFixture()
        let accounts = (0..<12).map { Address(SigningKey(deterministicLabel: "many-\($0)").publicKey) }
        let header = TransactionHeader(chainId: fixture.chainId, expiration: 9, nonce: 1, fee: 1)
        // As the leader node sends it (D35): consents not yet signed, so only the leader authorizes the message.
        let terms = Transaction(header: header, messages: [Message(
            .fieldOpen(field: fixture.roster.field, deposits: accounts.map { AmountEntry($0, 5) }, challengeSeconds: 60,
                       consents: accounts.dropFirst().map { FieldConsent(account: $0, expiry: 9, signatures: []) }),
            authorizer: accounts[0])])
        #expect(terms.messages[0].authorization.count == 1)
        let request = FieldWireMessage.consentRequest(terms, participant: accounts[5])
        #expect(try FieldWireMessage(canonicalBytes: request.canonicalBytes) == request)
    }

    @Test func answersHoldOnlyReceiptsAndRefusalsAndABatchOneField() throws {
        let fixture = FieldFixture()
        let payment = fixture.payment(from: 0, to: 1, amount: 1, sequence: 0)
        // A nested answers (or any other message) inside answers is refused, not decoded recursively.
        let nested = FieldWireMessage.answers([]).canonicalBytes
        var bytes: [UInt8] = [11, 1]
        bytes += nested
        #expect(throws: CodecError.unknownTag(offset: 2, tag: 11, type: "FieldWireMessage answer")) {
            try FieldWireMessage(canonicalBytes: bytes)
        }
        // Deep nesting costs one tag check, whatever its depth.
        let deep = [UInt8](repeating: 0, count: 0) + Array([[UInt8]](repeating: [11, 1], count: 100_000).joined())
        #expect(throws: CodecError.self) { try FieldWireMessage(canonicalBytes: deep) }
        #expect(throws: CodecError.self) { try FieldWireMessage(canonicalBytes: FieldWireMessage.payBatch([]).canonicalBytes) }
        let other = fixture.payment(from: 0, to: 1, amount: 1, sequence: 1, field: FieldId(hash: Hash.sha256(utf8: "other field")))
        #expect(throws: CodecError.self) { try FieldWireMessage(canonicalBytes: FieldWireMessage.payBatch([payment, other]).canonicalBytes) }
    }

    @Test func bytesThatAreNoMessageAreACodecError() {
        #expect(throws: CodecError.unknownTag(offset: 0, tag: 42, type: "FieldWireMessage")) { try FieldWireMessage(canonicalBytes: [42]) }
        #expect(throws: CodecError.self) { try FieldWireMessage(canonicalBytes: [1, 0, 1]) }
        #expect(throws: CodecError.self) { try FieldWireMessage(canonicalBytes: []) }
    }

    @Test func aLongRefusalReasonIsCutToWhatDecodes() throws {
        struct Verbose: AlzaError {
            var code: String { "test.verbose" }
            var description: String { String(repeating: "é", count: 2_000) }
        }
        let message = FieldWireMessage.refusal(Verbose())
        guard case .refused(_, let reason) = message else { Issue.record("not a refusal"); return }
        #expect(reason.utf8.count <= FieldWireMessage.maximumReasonBytes)
        #expect(try FieldWireMessage(canonicalBytes: message.canonicalBytes) == message)
    }
}
