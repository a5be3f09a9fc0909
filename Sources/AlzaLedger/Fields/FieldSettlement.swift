import AlzaCore

/// A fully signed snapshot as posted on chain: the snapshot, the final balances its balances hash commits to (in
/// participant order), and every participant's signature on its commitment, in participant order.
public struct SignedFieldSnapshot: Hashable, Sendable, CanonicalCodable {
    public var snapshot: FieldSnapshot
    public var balances: [Amount]
    /// The participants' flows (D34) the balances hash commits to beside the balances.
    public var flows: FieldFlows
    public var signatures: [Signature]

    public init(snapshot: FieldSnapshot, balances: [Amount], flows: FieldFlows = FieldFlows(), signatures: [Signature]) {
        self.snapshot = snapshot
        self.balances = balances
        self.flows = flows
        self.signatures = signatures
    }

    /// The first participant (in order) whose signature on the commitment is missing or not its own, or nil when
    /// every one signed: what the chain and a participant check before trusting a snapshot as fully signed.
    public func firstMissingSigner(participants: [Address], participantsHash: Hash, chainId: Hash,
                                   domain: SigningDomain = FieldDomains.commitment, closeBy: UInt64 = .max) -> Address? {
        let commitment = domain == FieldDomains.close ? snapshot.closeBytes(participantsHash: participantsHash, closeBy: closeBy)
            : snapshot.commitment(participantsHash: participantsHash).bytes
        for (position, participant) in participants.enumerated() {
            guard position < signatures.count,
                  participant.publicKey.isValidSignature(signatures[position], for: commitment, domain: domain, chainId: chainId)
            else { return participant }
        }
        return nil
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(snapshot)
        encoder.encode(balances)
        encoder.encode(flows)
        encoder.encode(signatures)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        snapshot = try decoder.decode()
        balances = try decoder.decodeArray(limit: FieldRules.maximumParticipants)
        flows = try decoder.decode()
        signatures = try decoder.decodeArray(limit: FieldRules.maximumParticipants)
    }
}

/// What the chain keeps of a settled or posted snapshot: its number, roots and the final balances — never the
/// payments (privacy), nor the signatures once checked.
public struct FieldSettlement: Hashable, Sendable, CanonicalCodable {
    public var number: UInt64
    public var paymentCount: UInt64
    public var paymentsRoot: Hash
    public var balancesHash: Hash
    public var balances: [Amount]
    public var flows: FieldFlows

    public init(number: UInt64, paymentCount: UInt64, paymentsRoot: Hash, balancesHash: Hash, balances: [Amount],
                flows: FieldFlows = FieldFlows()) {
        self.number = number
        self.paymentCount = paymentCount
        self.paymentsRoot = paymentsRoot
        self.balancesHash = balancesHash
        self.balances = balances
        self.flows = flows
    }

    /// The state of a field as it opened: snapshot 0, no payments, every participant holding its deposit.
    public static func opening(participants: [Address], deposits: [Amount]) -> FieldSettlement {
        FieldSettlement(number: 0, paymentCount: 0, paymentsRoot: MerkleTree.emptyRoot,
                        balancesHash: FieldSnapshot.balancesHash(participants: participants, balances: deposits),
                        balances: deposits)
    }

    public init(_ signed: SignedFieldSnapshot) {
        number = signed.snapshot.number
        paymentCount = signed.snapshot.paymentCount
        paymentsRoot = signed.snapshot.paymentsRoot
        balancesHash = signed.snapshot.balancesHash
        balances = signed.balances
        flows = signed.flows
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(number)
        encoder.encode(paymentCount)
        encoder.encode(paymentsRoot)
        encoder.encode(balancesHash)
        encoder.encode(balances)
        encoder.encode(flows)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        number = try decoder.decode()
        paymentCount = try decoder.decode()
        paymentsRoot = try decoder.decode()
        balancesHash = try decoder.decode()
        balances = try decoder.decodeArray(limit: FieldRules.maximumParticipants)
        flows = try decoder.decode()
    }
}

/// A participant's lock of part of its balance in field `source` for another field it joins (D34): its exit
/// payment in the source (kind `.lock(target:)`, signed by the participant) and the source leader's receipt for it
/// (the leader's promise that the log holds it, so the source field can no longer spend it). The target's
/// `field-open` carries it in place of a deposit from the participant's account.
public struct FieldLock: Hashable, Sendable, CanonicalCodable {
    public var payment: SignedFieldPayment
    public var receipt: FieldReceipt

    public init(payment: SignedFieldPayment, receipt: FieldReceipt) {
        self.payment = payment
        self.receipt = receipt
    }

    public var source: FieldId { payment.payment.field }
    public var participant: Address { payment.payment.payer }
    public var amount: Amount { payment.payment.amount }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(payment)
        encoder.encode(receipt)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        payment = try decoder.decode()
        receipt = try decoder.decode()
    }
}

/// A deposit of a field that a lock brought: the participant's position and the field the amount returns to if
/// this field is annulled (the lock undone), while that field is still unsettled.
public struct FieldLockedDeposit: Hashable, Sendable, CanonicalCodable {
    public var position: UInt32
    public var source: FieldId

    public init(position: UInt32, source: FieldId) {
        self.position = position
        self.source = source
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encode(position)
        encoder.encode(source)
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        position = try decoder.decode()
        source = try decoder.decode()
    }
}
