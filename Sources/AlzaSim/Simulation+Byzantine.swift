import AlzaConsensus
import AlzaCore
import AlzaLedger

/// The equivocating producer of `SimulationFault.equivocate`: at its first scheduled slot at or after the fault's
/// time it signs two different blocks for the slot and sends one to each half of the other nodes.
extension Simulation {
    /// Whether the node's producer holds the current slot and has not produced in it yet.
    func isScheduled(_ node: Node) -> Bool {
        guard let core = node.core, let identity = node.identity else { return false }
        let slot = core.head.slot(at: node.clock.read(at: time))
        return slot > core.headReference.slot
            && ProducerSchedule.producer(at: slot, after: core.head) == identity.account
    }

    /// Lets the core produce its block A as usual, builds a second block B for the same slot (with an extra
    /// self-transfer, so its content differs), and sends A to one half of the peers and B to the other.
    func equivocate(_ node: Node) {
        guard var core = node.core, let identity = node.identity else { return }
        var parentState = core.head
        let parent = core.headReference
        let local = node.clock.read(at: time)
        let slot = parentState.slot(at: local)
        node.core = nil
        let effects = core.handle(.tick, now: local)
        node.core = core
        guard let blockA = effects.lazy.compactMap({ effect -> Block? in
            if case .broadcast(.block(let block), false) = effect { return block }
            return nil
        }).first else {
            perform(effects, for: node)
            return
        }
        let account = identity.account
        let header = TransactionHeader(chainId: genesis.chainId, expiration: local + 600_000,
                                       nonce: parentState.nextNonce(of: account), fee: genesis.parameters.minimumFee)
        let selfTransfer = SignedTransaction.sign(
            Transaction(header: header, messages: [Message(.transfer(inputs: [AmountEntry(account, 1)],
                                                                     outputs: [AmountEntry(account, 1)], memo: [1]),
                                                           authorizer: account)]),
            with: [identity.accountKey])
        guard let produced = try? BlockProcessor.produce(on: &parentState, parent: parent, slot: slot,
                                                         producerKey: identity.signingKey, producer: account,
                                                         candidates: [selfTransfer], verifier: verifier),
              produced.block.id != blockA.id
        else {
            perform(effects, for: node)
            return
        }
        let blockB = produced.block
        let others = nodes.filter { $0.index != node.index }
        for effect in effects {
            if case .broadcast(.block(let block), false) = effect, block.id == blockA.id {
                for (position, other) in others.enumerated() {
                    transmit(.block(position % 2 == 0 ? blockA : blockB), from: node, to: other)
                }
            } else {
                perform([effect], for: node)
            }
        }
    }
}
