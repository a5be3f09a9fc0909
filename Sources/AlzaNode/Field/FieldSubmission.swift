import AlzaConsensus
import AlzaCore
import AlzaLedger

extension ChainService {
    /// Signs `payload` about a field with `key` (its account pays the fee and nonce) and submits it. Settlement
    /// codes credit every participant and the leader, so the message's scope lists them from the chain's record.
    /// Used by the leader role (close, respond) and the participants' watcher (solo close, dispute, finalize).
    func submitFieldMessage(_ payload: MessagePayload, signedBy key: SigningKey, record: FieldRecord) async -> Result<Hash, MempoolError> {
        let state = snapshot().state
        let account = Address(key.publicKey)
        let header = TransactionHeader(chainId: state.chainId, expiration: ChainService.now() + 120_000,
                                       nonce: nextNonce(for: account), fee: state.parameters.minimumFee)
        let message = Message(payload, authorizer: account, extraScope: record.settlementScope)
        return submit(SignedTransaction.sign(Transaction(header: header, messages: [message]), with: [key]))
    }
}
