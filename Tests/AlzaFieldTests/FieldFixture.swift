import AlzaCore
import AlzaField
import AlzaLedger

/// A field of `participants` accounts with 1,000 ALZA each, its leader, and a participant core per account.
struct FieldFixture {
    let chainId = Hash.sha256(utf8: "field test chain")
    let leaderKey = SigningKey(deterministicLabel: "leader")
    let keys: [SigningKey]
    let roster: FieldRoster

    init(participants: Int = 3) {
        keys = (0..<participants).map { SigningKey(deterministicLabel: "participant-\($0)") }
        roster = FieldRoster(field: FieldId(leader: leaderKey.publicKey, nonce: 1), chainId: chainId, leader: leaderKey.publicKey,
                             participants: keys.map { Address($0.publicKey) },
                             openingBalances: Array(repeating: 1_000 * Amounts.unit, count: participants))
    }

    func address(_ index: Int) -> Address { roster.participants[index] }

    func leader(_ configure: (inout FieldLeaderCore.Configuration) -> Void = { _ in }) -> FieldLeaderCore {
        var configuration = FieldLeaderCore.Configuration()
        configure(&configuration)
        return FieldLeaderCore(roster: roster, key: leaderKey, configuration: configuration, now: 0)
    }

    func participants() -> [FieldParticipantCore] { keys.map { FieldParticipantCore(roster: roster, key: $0) } }

    /// A payment signed directly (bypassing a participant core), for bad-input cases.
    func payment(from payer: Int, to payee: Int, amount: Amount, sequence: UInt64, key: SigningKey? = nil,
                 field: FieldId? = nil) -> SignedFieldPayment {
        let payment = FieldPayment(field: field ?? roster.field, payer: address(payer), payee: address(payee), amount: amount,
                                   sequence: sequence)
        let signer = key ?? keys[payer]
        return SignedFieldPayment(payment: payment, signature: signer.sign(payment.canonicalBytes, domain: FieldDomains.payment,
                                                                           chainId: chainId))
    }
}

extension Array where Element == FieldLeaderCore.Effect {
    var persists: [(payments: [SignedFieldPayment], firstIndex: UInt64)] {
        compactMap { if case .persist(let payments, let first) = $0 { (payments, first) } else { nil } }
    }
    var receipts: [(receipt: FieldReceipt, to: Address)] {
        compactMap { if case .receipt(let receipt, let to) = $0 { (receipt, to) } else { nil } }
    }
    var incoming: [(payment: SignedFieldPayment, receipt: FieldReceipt, to: Address)] {
        compactMap { if case .incoming(let payment, let receipt, let to) = $0 { (payment, receipt, to) } else { nil } }
    }
    var rejections: [FieldError] {
        compactMap { if case .rejected(_, let error, _) = $0 { error } else { nil } }
    }
    var proposals: [(proposal: SnapshotProposal, to: Address)] {
        compactMap { if case .propose(let proposal, let to) = $0 { (proposal, to) } else { nil } }
    }
}
