import AlzaConsensus
import AlzaCore
import AlzaLedger
import AlzaNet

/// How a node carries out its consensus core's effects: through `ChainEffects.perform`, the interpreter the
/// simulator uses too, with the node's world behind `ChainEnvironment` — the transport, the disk, a timer.
extension ChainService {
    func perform(_ effects: [ConsensusEffect]) {
        var environment = NodeChainEnvironment(service: self, chainStorage: storage)
        ChainEffects.perform(effects, in: &environment)
        updateGauges()
    }

    /// Carries out the relay's effects (`ChainRelayCore`) through the shared interpreter.
    func perform(_ effects: [ChainRelayCore.Effect]) {
        var environment = NodeChainEnvironment(service: self, chainStorage: storage)
        ChainEffects.perform(effects, in: &environment)
    }

    func publish(_ topic: GossipTopic, _ payload: [UInt8]) {
        transport.post(.publish(topic, payload))
    }

    /// Blocks go out at once; transactions through the relay's batching window (`ChainRelayCore`).
    fileprivate func publish(_ message: ConsensusMessage) {
        switch message {
        case .block(let block): publish(.blocks, block.canonicalBytes)
        case .transaction(let transaction): perform(relay.queue(transaction, now: ChainService.now()))
        case .blockRequest, .blockResponse, .status:
            logger.error("the chain core broadcast a block request, block response or status, which go to one peer; not sent")
        }
    }

    fileprivate func send(_ message: ConsensusMessage, to peer: PeerID) {
        transport.post(.direct(message.canonicalBytes, to: peer.value, address: Self.address))
    }

    fileprivate func observe(_ effect: ConsensusEffect) {
        switch effect {
        case .transactionAccepted(let id):
            transactions.set(id, .pending)
            metrics.transactionsAccepted.increment()
        case .transactionRejected(let id, let error):
            transactions.set(id, .dropped(reason: error.description, code: error.code))
            metrics.transactionsRejected.increment()
        case .notify(let notification):
            note(notification)
        default:
            preconditionFailure("ChainEffects.perform observes only outcomes and notifications, not \(effect)")
        }
    }

    fileprivate func note(_ notification: ConsensusNotification) {
        transactions.apply(notification)
        switch notification {
        case .produced(let reference, let count):
            admission.blockProduced(at: ChainService.now())
            metrics.blocksProduced.increment()
            logger.info("produced \(reference) with \(count) transactions")
        case .applied:
            metrics.blocksApplied.increment()
        case .forkSwitched(let from, let to, let depth):
            metrics.forkSwitches.increment()
            logger.notice("fork switch from \(from) to \(to), \(depth) blocks reverted")
        case .irreversible(let reference):
            logger.debug("irreversible up to \(reference)")
        case .blockRejected(let id, let reason, let peer):
            metrics.blocksRejected.increment()
            logger.warning("block \(id.short) rejected\(peer.map { " from \($0.value.prefix(16))" } ?? ""): \(reason.description)")
        case .equivocation(let producer, let slot):
            logger.error("equivocation: \(producer.short) signed two blocks for slot \(slot); evidence submitted")
        case .syncRequested(let peer, let height):
            logger.info("syncing from \(peer.value.prefix(16)) after height \(height)")
        case .recoverSubmitted(let id):
            logger.notice("this producer left the rotation for silence; producer recover submitted (\(id.short))")
        case .replayed(let count):
            logger.info("re-executed \(count) blocks from the block log")
        case .productionFailed(let slot, let reason):
            logger.error("could not produce for slot \(slot): \(reason.description)")
        case .reverted, .transactionsDropped:
            break
        }
    }
}

/// The node's `ChainEnvironment`: each requirement calls back into the `ChainService` actor, on whose executor
/// the interpreter runs (it is called synchronously from the actor's `perform`).
struct NodeChainEnvironment: ChainEnvironment {
    let service: ChainService
    let chainStorage: ChainStorage

    func publish(_ message: ConsensusMessage, relay: Bool) { service.assumeIsolated { $0.publish(message) } }
    func send(_ message: ConsensusMessage, to peer: PeerID) { service.assumeIsolated { $0.send(message, to: peer) } }
    func wake(at time: UInt64) { service.assumeIsolated { $0.schedule(time) } }
    func halt(_ reason: String) { service.assumeIsolated { $0.halt(reason) } }
    func committed(_ blocks: [CommittedBlock]) {}
    func observe(_ effect: ConsensusEffect) { service.assumeIsolated { $0.observe(effect) } }
    func warn(_ message: String) { service.assumeIsolated { $0.logger.error("\(message)") } }
    func publishTransactions(_ payload: [UInt8]) { service.assumeIsolated { $0.publish(.transactions, payload) } }
    func announceStatus() { service.assumeIsolated { $0.announceStatus() } }
    func wakeRelay(at time: UInt64) { service.assumeIsolated { $0.scheduleRelay(at: time) } }
}
