import AlzaConsensus
import AlzaCore
import AlzaLedger
import AlzaNet
import Foundation
import Logging

/// A Satellite's own duties beside following the chain: a wallet (its node key's account) that signs and
/// submits transfers, and the agreement monitor over the SuperNodes it hears from.
public actor SatelliteService {
    private let chain: ChainService
    private let key: SigningKey
    private let logger: Logger
    private var monitor = AgreementMonitor()

    public init(chain: ChainService, key: SigningKey, logger: Logger) {
        self.chain = chain
        self.key = key
        self.logger = logger
    }

    public var address: Address { Address(key.publicKey) }

    /// Subscribes to SuperNode statuses and disconnections.
    public func start() async {
        await chain.observePeers { [weak self] observation in
            switch observation {
            case .status(let peer, let roles, let status):
                guard roles.contains(.superNode) else { return }
                await self?.observe(peer: peer, status: status)
            case .disconnected(let peer):
                await self?.forget(peer)
            }
        }
    }

    /// A SuperNode that left is no longer watched (its divergence evidence, if any, is kept).
    private func forget(_ peer: String) {
        monitor.forget(peer)
    }

    private func observe(peer: String, status: ChainStatus) async {
        let lib = await chain.snapshot().lib
        var blocks: [UInt64: Hash] = [:]
        for height in Set([status.lib.height, status.head.height]) where height <= lib.height {
            if let block = await chain.block(at: height) { blocks[height] = block.id }
        }
        let found = monitor.observe(peer: peer, status: status, ourLib: lib, now: ChainService.now()) { blocks[$0] }
        if let found {
            logger.error("SuperNode \(peer.prefix(16)) diverges: at height \(found.height) it has block \(found.theirBlock.prefix(8)), the chain has \(found.ourBlock.prefix(8))")
        }
    }

    public var agreement: (observations: [AgreementMonitor.Observation], divergences: [AgreementMonitor.Divergence]) {
        (monitor.observations.values.sorted { $0.peer < $1.peer }, monitor.divergences.values.sorted { $0.peer < $1.peer })
    }

    /// Signs a transfer from the wallet and submits it to this node.
    public func transfer(to recipient: Address, amount: Amount, fee: Amount?) async -> Result<Hash, MempoolError> {
        let snapshot = await chain.snapshot()
        let nonce = await chain.nextNonce(for: address)
        let header = TransactionHeader(chainId: snapshot.state.chainId, expiration: ChainService.now() + 600_000,
                                       nonce: nonce, fee: fee ?? snapshot.state.parameters.minimumFee)
        let message = Message(.transfer(inputs: [AmountEntry(address, amount)], outputs: [AmountEntry(recipient, amount)],
                                        memo: []), authorizer: address)
        let transaction = SignedTransaction.sign(Transaction(header: header, messages: [message]), with: [key])
        return await chain.submit(transaction)
    }
}
