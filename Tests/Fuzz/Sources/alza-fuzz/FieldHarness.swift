import AlzaCore
import AlzaField
import AlzaLedger

// `field`: what a field leader and a participant take from peers and from their journals. The first byte picks
// the input: a signed payment (decoded, then given to a leader core), a receipt (decoded, then given to a
// participant with a payment it made), a snapshot proposal (decoded, then given to a participant to sign), a
// `field` protocol message (decoded and re-encoded), a journal record (folded and replayed by both cores), or a
// sealed memo (opened).

enum FieldFixture {
    static let leaderKey = SigningKey(deterministicLabel: "alza-fuzz/field-leader")
    static let keys = (0..<3).map { SigningKey(deterministicLabel: "alza-fuzz/field-participant-\($0)") }
    static let roster = FieldRoster(field: FieldId(leader: leaderKey.publicKey, nonce: 1), chainId: Hash.sha256(utf8: "alza-fuzz/field-chain"),
                                    leader: leaderKey.publicKey, participants: keys.map { Address($0.publicKey) },
                                    openingBalances: [1_000, 2_000, 3_000])
    static func leader() -> FieldLeaderCore { FieldLeaderCore(roster: roster, key: leaderKey, now: 0) }

    /// Participant 0's first payment to participant 1, with the leader's receipt and the snapshot after it.
    static let flow: (payment: SignedFieldPayment, receipt: FieldReceipt, proposal: SnapshotProposal) = {
        var participant = FieldParticipantCore(roster: roster, key: keys[0])
        let payment = try! participant.pay(to: roster.participants[1], amount: 10, memo: Array("memo".utf8))
        var configuration = FieldLeaderCore.Configuration()
        configuration.snapshotEveryPayments = 1
        var leader = FieldLeaderCore(roster: roster, key: leaderKey, configuration: configuration, now: 0)
        _ = leader.receive(payment, now: 1)
        var receipt: FieldReceipt?
        var proposal: SnapshotProposal?
        for effect in leader.persisted(firstIndex: 0, now: 2) {
            if case .receipt(let value, _) = effect { receipt = value }
            if case .propose(let value, let to) = effect, to == roster.participants[1] { proposal = value }
        }
        return (payment, receipt!, proposal!)
    }()
}

let fieldHarness = Harness(
    name: "field",
    summary: "first byte picks payment / receipt / proposal / wire message / journal record / memo; decode and feed the cores",
    run: { input in
        guard let selector = input.first else { return }
        let bytes = Array(input.dropFirst())
        let roster = FieldFixture.roster
        switch selector % 6 {
        case 0:
            guard let payment = roundTrip(SignedFieldPayment.self, bytes) else { return }
            var leader = FieldFixture.leader()
            for effect in leader.receive(payment, now: 1) {
                if case .rejected(_, let error, _) = effect { exercise(error) }
            }
            check(leader.balances.reduce(0, +) == roster.total, "a payment changed the field's total")
        case 1:
            guard let receipt = roundTrip(FieldReceipt.self, bytes) else { return }
            var participant = FieldParticipantCore(roster: roster, key: FieldFixture.keys[0])
            do {
                try participant.received(receipt, for: FieldFixture.flow.payment)
                check(receipt.paymentHash == FieldFixture.flow.payment.hash, "a receipt for another payment was taken")
            } catch {
                exercise(error)
            }
        case 2:
            guard let proposal = roundTrip(SnapshotProposal.self, bytes) else { return }
            var participant = FieldParticipantCore(roster: roster, key: FieldFixture.keys[1])
            do {
                try participant.received(FieldFixture.flow.receipt, for: FieldFixture.flow.payment)
                _ = try participant.sign(proposal)
                check(proposal.snapshot.paymentCount == 0 || proposal.balance >= 2_010,
                      "participant 1 signed less than its receipted payment gives it")
            } catch {
                exercise(error)
            }
        case 4:
            _ = roundTrip(FieldWireMessage.self, bytes)
        case 5:
            // A journal read back after a crash: one record per input, folded and replayed; refused or applied whole.
            do {
                let recovery = try FieldLeaderRecovery(records: [bytes])
                let leader = try FieldLeaderCore(roster: roster, key: FieldFixture.leaderKey, now: 0, recovering: recovery)
                check(leader.balances.reduce(0, +) == roster.total, "a recovered journal changed the field's total")
            } catch {
                exercise(error)
            }
            do {
                _ = try FieldParticipantCore(roster: roster, key: FieldFixture.keys[0], replaying: [bytes])
            } catch {
                exercise(error)
            }
        default:
            let participant = FieldParticipantCore(roster: roster, key: FieldFixture.keys[1])
            var payment = FieldFixture.flow.payment
            payment.payment.memo = Array(bytes.prefix(FieldPayment.maximumMemoBytes))
            do {
                _ = try participant.memo(of: payment)
            } catch {
                exercise(error)
            }
        }
    },
    seeds: {
        let flow = FieldFixture.flow
        return [[0] + flow.payment.canonicalBytes, [1] + flow.receipt.canonicalBytes, [2] + flow.proposal.canonicalBytes,
                [3] + flow.payment.payment.memo]
    }
)
