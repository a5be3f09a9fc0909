import AlzaCore
import AlzaField
import AlzaLedger
import Foundation

/// The cost of a field's snapshots and close against its size (issue 9): for 2…1,024 participants, the leader's
/// snapshot proposal (balances tree and every participant's proof), the chain's check of a close (every
/// participant's signature and the balances hash) and the close message's bytes on chain; for 1 k…1 M payments,
/// what a participant recomputes to sign a snapshot covering them all (the payments root from their hashes), and
/// the close's bytes again — which do not grow with the payments (only roots and balances go on chain).
enum FieldCloseCostBenchmark {
    static func measure(into report: inout BenchReport, quick: Bool) {
        let chainId = Hash.sha256(utf8: "bench chain")
        var bytesByParticipants: [(x: Double, y: Double)] = []
        var verifyByParticipants: [(x: Double, y: Double)] = []
        var proposeByParticipants: [(x: Double, y: Double)] = []
        for participants in quick ? [2, 16, 256] : [2, 16, 256, 1_024] {
            let keys = (0..<participants).map { SigningKey(deterministicLabel: "close bench participant \($0)") }
            let (close, proposeSeconds) = closeOf(keys: keys, paymentCount: 1_000, chainId: chainId)
            let addresses = keys.map { Address($0.publicKey) }
            let participantsHash = FieldSnapshot.participantsHash(addresses)
            let begin = Monotonic.nanoseconds()
            let missing = close.firstMissingSigner(participants: addresses, participantsHash: participantsHash, chainId: chainId,
                                                   domain: FieldDomains.close)
            let balancesHash = FieldSnapshot.balancesHash(participants: addresses, balances: close.balances, flows: close.flows)
            let verifySeconds = Double(Monotonic.nanoseconds() - begin) / 1e9
            precondition(missing == nil && balancesHash == close.snapshot.balancesHash, "the close checks out")
            let bytes = MessagePayload.fieldClose(field: close.snapshot.field, snapshot: close).data.count
            bytesByParticipants.append((Double(participants), Double(bytes)))
            verifyByParticipants.append((Double(participants), verifySeconds * 1_000))
            proposeByParticipants.append((Double(participants), proposeSeconds * 1_000))
            report.add(BenchFigure(key: "closeBytes\(participants)Participants", label: "field-close bytes, \(participants) participants",
                                   value: Double(bytes), unit: "B"))
            report.add(BenchFigure(key: "closeVerifyMs\(participants)Participants",
                                   label: "Chain check of a close (signatures + balances hash), \(participants) participants",
                                   value: verifySeconds * 1_000, unit: "ms"))
            report.add(BenchFigure(key: "snapshotProposeMs\(participants)Participants",
                                   label: "Leader's snapshot (balances tree + every proof), \(participants) participants",
                                   value: proposeSeconds * 1_000, unit: "ms"))
        }
        var catchUp: [(x: Double, y: Double)] = []
        let sixteen = (0..<16).map { SigningKey(deterministicLabel: "close bench participant \($0)") }
        for count in quick ? [1_000, 100_000] : [1_000, 100_000, 1_000_000] {
            let hashes = (0..<count).map { Hash.sha256(utf8: "payment \($0)") }
            let begin = Monotonic.nanoseconds()
            var accumulator = MerkleAccumulator()
            for hash in hashes { accumulator.append(leafHash: FieldSnapshot.paymentLeaf(hash)) }
            let seconds = Double(Monotonic.nanoseconds() - begin) / 1e9
            precondition(accumulator.count == count, "every payment hashed")
            let bytes = MessagePayload.fieldClose(field: FieldId(hash: .zero),
                                                  snapshot: closeOf(keys: sixteen, paymentCount: UInt64(count), chainId: chainId).0).data.count
            catchUp.append((Double(count), seconds * 1_000))
            report.add(BenchFigure(key: "paymentsRootMs\(count)Payments", label: "Payments root a signer recomputes, \(count) payments",
                                   value: seconds * 1_000, unit: "ms"))
            report.add(BenchFigure(key: "closeBytes\(count)Payments", label: "field-close bytes, 16 participants, \(count) payments",
                                   value: Double(bytes), unit: "B"))
        }
        report.curves.append(BenchCurve(title: "Close and snapshot cost by participants", xLabel: "participants",
                                        series: [("close bytes / 100", bytesByParticipants.map { ($0.x, $0.y / 100) }),
                                                 ("chain check of a close, ms", verifyByParticipants),
                                                 ("leader snapshot, ms", proposeByParticipants)]))
        report.curves.append(BenchCurve(title: "Payments root a signer recomputes", xLabel: "payments",
                                        series: [("ms", catchUp)]))
        report.notes.append("A close carries the snapshot (number, payment count, two roots), one balance and one close signature per "
                            + "participant, and the flows of those that moved money: its size depends on the participants only "
                            + "(closeBytes…Payments is the same for 1 k and 1 M payments).")
    }

    /// A fully close-signed final snapshot of a field of `keys` after `paymentCount` payments, and the time the
    /// leader took to build its balances tree with every participant's proof.
    static func closeOf(keys: [SigningKey], paymentCount: UInt64, chainId: Hash) -> (SignedFieldSnapshot, Double) {
        let addresses = keys.map { Address($0.publicKey) }
        let balances = (0..<keys.count).map { Amount(1_000 + $0) * Amounts.unit }
        let begin = Monotonic.nanoseconds()
        let leaves = FieldSnapshot.balanceLeaves(participants: addresses, balances: balances)
        let (balancesHash, proofs) = MerkleTree.allInclusionProofs(leafHashes: leaves)
        let proposeSeconds = Double(Monotonic.nanoseconds() - begin) / 1e9
        precondition(proofs.count == keys.count, "a proof per participant")
        let snapshot = FieldSnapshot(field: FieldId(hash: Hash.sha256(utf8: "close bench field")), number: 9, paymentCount: paymentCount,
                                     paymentsRoot: Hash.sha256(utf8: "payments root"), balancesHash: balancesHash)
        let commitment = snapshot.commitment(participantsHash: FieldSnapshot.participantsHash(addresses)).bytes
        let signatures = keys.map { $0.sign(commitment, domain: FieldDomains.close, chainId: chainId) }
        return (SignedFieldSnapshot(snapshot: snapshot, balances: balances, signatures: signatures), proposeSeconds)
    }
}
