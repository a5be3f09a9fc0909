import AlzaCore
import AlzaField
import AlzaLedger
import Testing

/// A participant in two fields with a lock (DESIGN.md §6, D34), over seeds and lost messages: both fields close;
/// the source anchors the lock first; the target is annulled (the lock undone back to the source, where it can be
/// spent again); the source is annulled (the lock stands). On every seed a double spend across the fields is
/// refused, no honest participant ends below what its newest fully signed snapshots and receipts promise, and the
/// coins of the chain add up.
@Suite struct CrossFieldScenarioTests {
    enum Ending: CaseIterable { case bothClose, lockSettledFirst, targetAnnulled, sourceAnnulled }

    @Test(arguments: 1...20) func bothFieldsCloseAndTheLockGoesWithTheTarget(seed: Int) throws { try run(seed, .bothClose) }
    @Test(arguments: 1...20) func aLockSettledInTheSourceFreesItsLeadersBond(seed: Int) throws { try run(seed, .lockSettledFirst) }
    @Test(arguments: 1...20) func anAnnulledTargetUndoesTheLockBackToTheSource(seed: Int) throws { try run(seed, .targetAnnulled) }
    @Test(arguments: 1...20) func anAnnulledSourceLeavesTheLockWithTheTarget(seed: Int) throws { try run(seed, .sourceAnnulled) }

    /// The runs do what they name: messages are lost, and without loss the promise is exactly what is paid (the
    /// invariant is tight, not trivially met).
    @Test func theCrossFieldRunsExerciseTheirFaultsAndTheirBoundIsTight() throws {
        var lost = 0, exact = 0, lossless = 0
        for seed in 1...20 {
            let scenario = try run(seed, .bothClose)
            lost += scenario.lost
            guard scenario.lossPercent == 0 else { continue }
            lossless += 1
            if check(scenario, dishonest: nil, ending: .bothClose, seed: seed).allSatisfy({ $0 == 0 }) { exact += 1 }
        }
        #expect(lost > 20 && lossless > 0)
        #expect(exact == lossless, "every lossless run pays each participant exactly its promise: \(exact) of \(lossless)")
    }

    @discardableResult
    func run(_ seed: Int, _ ending: Ending) throws -> CrossFieldScenario {
        var scenario = try CrossFieldScenario(seed: seed)
        for _ in 0..<(10 + scenario.random.next(below: 20)) {
            try scenario.payRandomly(0)
            if scenario.random.next(below: 6) == 0 { try scenario.snapshotNow(0) }
        }
        try scenario.settleOffChain(0)
        let amount = try lockAndRefuseDoubleSpends(&scenario)
        for _ in 0..<(15 + scenario.random.next(below: 25)) {
            try scenario.payRandomly(scenario.random.next(below: 2))
            if scenario.random.next(below: 8) == 0 { try scenario.snapshotNow(scenario.random.next(below: 2)) }
        }
        var dishonest: (lane: Int, position: Int)?
        switch ending {
        case .bothClose:
            try closeBoth(&scenario)
        case .lockSettledFirst:
            try scenario.settleOffChain(0)
            let shows = try #require(scenario.lanes[0].leader.newestFullySigned)
            #expect(shows.flows[0].withdrawn >= amount)
            try scenario.settle(.fieldLockSettle(field: CrossFieldScenario.fieldId(0), snapshot: shows), lane: 0, by: scenario.keys[1])
            #expect(scenario.record(0).collateralInUse == 0 && scenario.record(0).base.number == shows.snapshot.number)
            for _ in 0..<5 { try scenario.payRandomly(0) }
            try closeBoth(&scenario)
        case .targetAnnulled:
            dishonest = (1, 1)
            try annul(&scenario, lane: 1, dishonest: 1)
            // The lock came back to A's side: A's leader and participant 0 see the top-up, and it can be spent there.
            let returned = scenario.record(0).flows[0].deposited
            #expect(returned > 0, "seed \(seed): the lock went back to field A")
            try scenario.lanes[0].leader.credited(scenario.lanes[0].roster.participants[0], depositedTotal: returned)
            scenario.lanes[0].cores[0].credited(depositedTotal: returned)
            for _ in 0..<5 { try scenario.payRandomly(0) }
            try closeCooperatively(&scenario, lane: 0)
        case .sourceAnnulled:
            dishonest = (0, 1)
            try annul(&scenario, lane: 0, dishonest: 1)
            try closeCooperatively(&scenario, lane: 1)
        }
        check(scenario, dishonest: dishonest, ending: ending, seed: seed)
        return scenario
    }

    /// Participant 0 locks part of its A balance for B (receipted by A's leader), and B opens with it. Spending
    /// the locked amount in A again, and opening a third field with the same lock, are both refused.
    func lockAndRefuseDoubleSpends(_ scenario: inout CrossFieldScenario) throws -> Amount {
        try scenario.resendUnanswered(0)
        let available = scenario.lanes[0].leader.balances[0]
        try #require(available > 0)
        let amount = 1 + Amount(scenario.random.next(below: Int(min(available, CrossFieldScenario.sourceBond))))
        let target = CrossFieldScenario.fieldId(1)
        let lockPayment = try scenario.lanes[0].cores[0].lock(amount: amount, for: target)
        var receipt: FieldReceipt?
        for _ in 0..<20 where receipt == nil {
            try scenario.route(0, scenario.lanes[0].leader.receive(lockPayment, now: scenario.lanes[0].clock))
            receipt = scenario.lanes[0].cores[0].receipted.values.first { $0.receipt.paymentHash == lockPayment.hash }?.receipt
        }
        let lock = FieldLock(payment: lockPayment, receipt: try #require(receipt))
        let payer = scenario.lanes[0].roster.participants[0]
        let remaining = scenario.lanes[0].leader.balances[0]
        let overspend = try scenario.lanes[0].cores[0].pay(to: scenario.lanes[0].roster.participants[1], amount: remaining + amount)
        #expect(scenario.lanes[0].leader.receive(overspend, now: scenario.lanes[0].clock).rejections
            == [.insufficientBalance(payer: payer, balance: remaining, amount: remaining + amount)])
        let takenBack = scenario.lanes[0].cores[0].refused(overspend)
        #expect(takenBack)

        try scenario.open(1, members: [0, 3, 4], deposits: [amount, CrossFieldScenario.deposit, CrossFieldScenario.deposit], locks: [lock])
        #expect(scenario.record(0).flows[0] == FieldFlow(withdrawn: amount))
        #expect(scenario.record(1).lockedDeposits == [FieldLockedDeposit(position: 0, source: CrossFieldScenario.fieldId(0))])
        // A block refuses the transaction whole, naming the lock's reason.
        let reused = LedgerError.invalidFieldLock(source: CrossFieldScenario.fieldId(0),
                                                  reason: "the payment is not a lock for field \(CrossFieldScenario.fieldId(2))")
        let error = #expect(throws: LedgerError.self) {
            try scenario.open(2, members: [0, 1], deposits: [amount, CrossFieldScenario.deposit], locks: [lock])
        }
        guard case .transactionFailed(_, _, let reason)? = error else {
            Issue.record("not refused as a failed transaction: \(String(describing: error))")
            return amount
        }
        #expect(reason == reused.description)
        return amount
    }

    func closeBoth(_ scenario: inout CrossFieldScenario) throws {
        let first = scenario.random.next(below: 2)
        try closeCooperatively(&scenario, lane: first)
        try closeCooperatively(&scenario, lane: 1 - first)
    }

    /// Every payment signed into a final snapshot, whose close every participant signs; the leader posts it.
    func closeCooperatively(_ scenario: inout CrossFieldScenario, lane: Int) throws {
        try scenario.settleOffChain(lane)
        let final = try #require(scenario.lanes[lane].leader.newestFullySigned)
        #expect(final.snapshot.paymentCount == scenario.lanes[lane].leader.durableCount)
        let signatures = try scenario.lanes[lane].cores.indices.map { try scenario.lanes[lane].cores[$0].signClose(final) }
        let closing = SignedFieldSnapshot(snapshot: final.snapshot, balances: final.balances, flows: final.flows, signatures: signatures)
        try scenario.settle(.fieldClose(field: CrossFieldScenario.fieldId(lane), snapshot: closing), lane: lane, by: scenario.lanes[lane].leaderAccount)
        #expect(scenario.record(lane).isClosed)
    }

    /// The dishonest member pays the others after the last fully signed snapshot (receipted), posts that
    /// snapshot alone, and the leader stays silent: the honest members' watchers dispute with a receipt and the
    /// round is annulled.
    func annul(_ scenario: inout CrossFieldScenario, lane: Int, dishonest: Int) throws {
        try scenario.settleOffChain(lane)
        let posted = try #require(scenario.lanes[lane].cores[dishonest].newestFullySigned)
        for payee in scenario.lanes[lane].cores.indices where payee != dishonest {
            let payment = try scenario.lanes[lane].cores[dishonest].pay(to: scenario.lanes[lane].roster.participants[payee], amount: 1)
            let effects = try drain(&scenario, lane: lane, scenario.lanes[lane].leader.receive(payment, now: 0))
            #expect(effects.rejections.isEmpty, "the dishonest member's payment: \(effects.rejections)")
            for case .incoming(let signed, let receipt, _) in effects {
                try scenario.lanes[lane].cores[payee].received(receipt, for: signed)
            }
        }
        let field = CrossFieldScenario.fieldId(lane)
        try scenario.settle(.fieldSoloClose(field: field, snapshot: posted), lane: lane, by: scenario.lanes[lane].keys[dishonest])
        for _ in 0..<50 {
            guard case .closing = scenario.record(lane).status else { break }
            let record = scenario.record(lane), now = scenario.time
            var reacting: (Int, MessagePayload)?
            for position in scenario.lanes[lane].cores.indices where position != dishonest && reacting == nil {
                reacting = scenario.lanes[lane].cores[position].reaction(to: record, now: now).map { (position, $0) }
            }
            guard let (position, reaction) = reacting else {
                try scenario.apply([], at: now + 5_000)
                continue
            }
            try scenario.settle(reaction, lane: lane, by: scenario.lanes[lane].keys[position], at: now + 5_000)
        }
        #expect(scenario.record(lane).status == .annulled(atHeight: scenario.height))
    }

    /// A leader's effects with the log write made durable at once, nothing lost.
    func drain(_ scenario: inout CrossFieldScenario, lane: Int, _ effects: [FieldLeaderCore.Effect]) throws -> [FieldLeaderCore.Effect] {
        var out: [FieldLeaderCore.Effect] = []
        var queue = effects
        while !queue.isEmpty {
            let effect = queue.removeFirst()
            if case .persist(_, let first) = effect { queue += scenario.lanes[lane].leader.persisted(firstIndex: first, now: 0) }
            out.append(effect)
        }
        return out
    }

    // MARK: The invariant

    /// What a participant of `lane` is owed at the least, from its own knowledge: the line of its newest fully
    /// signed snapshot (the opening if none), with the chain's top-ups it does not count and less what left the
    /// field on chain beyond the exits it records, plus the receipted payments to it beyond, less its own
    /// transfers beyond. On an annulled field, its line of the base; a lock undone went back to its source.
    func promised(_ scenario: CrossFieldScenario, lane: Int, position: Int) -> Int64 {
        let record = scenario.record(lane)
        let core = scenario.lanes[lane].cores[position]
        let chain = record.flows[position]
        func line(_ balance: Amount, _ flow: FieldFlow) -> Int64 {
            Int64(balance) + Int64(flow.withdrawn) + Int64(chain.deposited) - Int64(flow.deposited) - Int64(chain.withdrawn)
        }
        if case .annulled = record.status {
            if record.lockedDeposits.contains(where: { Int($0.position) == position }) { return 0 }
            return max(0, line(record.base.balances[position], record.base.flows[position]))
        }
        let held = core.newestFullySigned
        let count = held?.snapshot.paymentCount ?? 0
        var bound = line(held?.balances[position] ?? scenario.lanes[lane].roster.openingBalances[position], held?.flows[position] ?? .zero)
        for (index, entry) in core.receipted where index >= count && entry.payment.payment.payee == core.address
            && entry.payment.payment.payer != core.address {
            bound += Int64(entry.payment.payment.amount)
        }
        let covered = Set(core.receipted.filter { $0.key < count }.map(\.value.receipt.paymentHash))
        for payment in core.sent.values where !covered.contains(payment.hash) && !payment.payment.kind.isExit {
            bound -= Int64(payment.payment.amount)
        }
        return max(0, bound)
    }

    /// Checks the outcome; returns each honest participant's final balance less its promise.
    @discardableResult
    func check(_ scenario: CrossFieldScenario, dishonest: (lane: Int, position: Int)?, ending: Ending, seed: Int) -> [Int64] {
        var slack: [Int64] = []
        let label = "seed \(seed), \(ending), \(scenario.lost) lost"
        for lane in 0..<2 {
            let expectAnnulled = (ending == .targetAnnulled && lane == 1) || (ending == .sourceAnnulled && lane == 0)
            #expect(scenario.record(lane).status.name == (expectAnnulled ? "annulled" : "closed"), "\(label): field \(lane)")
        }
        let members = [[0, 1, 2], [0, 3, 4]]
        let fromAccount: [Amount] = [1, 1, 1, 1, 1].map { $0 * CrossFieldScenario.deposit }
        for (key, signing) in scenario.keys.enumerated() {
            let address = Address(signing.publicKey)
            var floor = Int64(10_000 * Amounts.unit) - Int64(fromAccount[key]) - Int64(scenario.fees[address] ?? 0)
            var honest = true
            for lane in 0..<2 {
                guard let position = members[lane].firstIndex(of: key) else { continue }
                if let dishonest, dishonest.lane == lane, dishonest.position == position { honest = false }
                floor += promised(scenario, lane: lane, position: position)
            }
            guard honest else { continue }
            let final = Int64(scenario.state.accounts[address]?.balance ?? 0)
            #expect(final >= floor, "\(label): participant \(key) ended with \(final), its snapshots and receipts promise \(floor)")
            slack.append(final - floor)
        }
        let everywhere = scenario.state.accounts.values.reduce(Amount(0)) { $0 + $1.balance + $1.staked + $1.unbondingTotal }
        #expect(everywhere + scenario.state.heldInFields == scenario.state.chain.totalSupply, "\(label): the coins add up")
        #expect(scenario.state.heldInFields == scenario.record(2).bond, "\(label): nothing stays in the fields but field C's bond")
        return slack
    }
}
