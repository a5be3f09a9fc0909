import AlzaCore

/// Checks a transaction for the mempool (DESIGN.md §4: signature, nonce, balance, expiry, size) against the
/// state at the node's head, without changing it.
///
/// A transaction whose nonce is the payer's next one is dry-run in full (every message applies), so what
/// enters the pool would apply now. One with a later nonce (an account's queued transactions) gets every check
/// that does not depend on its predecessors: size, chain, expiry, fee, signatures and authorizations.
public enum TransactionValidator {
    /// How far beyond the account's next nonce the pool accepts queued transactions.
    public static let nonceWindow: UInt64 = 256

    public static func validate(_ transaction: SignedTransaction, state: LedgerState, time: UInt64,
                                verifier: SignatureVerifier) throws(LedgerError) {
        try withExtendedLifetime(state) { () throws(LedgerError) in
            try check(transaction, state: state, time: time, verifier: verifier)
        }
    }

    private static func check(_ transaction: SignedTransaction, state: LedgerState, time: UInt64,
                              verifier: SignatureVerifier) throws(LedgerError) {
        let header = transaction.header
        guard header.chainId == state.chainId else { throw .wrongChain(expected: state.chainId, actual: header.chainId) }
        let block = BlockContext(height: 0, slot: state.slot(at: time), time: time, producer: .coinbase)
        let snapshot = StateSnapshot(state)
        if transaction.transaction.isSystem {
            guard transaction.messages[0].code == .equivocationEvidence else {
                throw .systemTransactionMisplaced(code: transaction.messages[0].code)
            }
            var context = TransactionContext(snapshot: snapshot, block: block)
            _ = try TransactionExecutor.execute(transaction, signers: [], allowCoinbase: false, context: &context)
            return
        }
        guard !transaction.signatures.isEmpty else { throw .malformedTransaction("the transaction is not signed") }
        let signers: Set<PublicKey>
        switch verifier.verify(transaction) {
        case .success(let keys): signers = keys
        case .failure(let error): throw error
        }
        guard let payer = transaction.transaction.payer else { throw .malformedTransaction("no payer") }
        guard let account = state.accounts[payer] else { throw .unknownAccount(payer) }
        guard header.nonce >= account.nonce, header.nonce < account.nonce + nonceWindow else {
            throw .badNonce(account: payer, expected: account.nonce, actual: header.nonce)
        }
        if header.nonce == account.nonce {
            var context = TransactionContext(snapshot: snapshot, block: block)
            _ = try TransactionExecutor.execute(transaction, signers: signers, allowCoinbase: false, context: &context)
            return
        }
        // A queued transaction: run it as if its predecessors had bumped the nonce.
        var adjusted = account
        adjusted.nonce = header.nonce
        var previewContext = TransactionContext(snapshot: snapshot, block: block)
        previewContext.override(adjusted)
        do {
            _ = try TransactionExecutor.execute(transaction, signers: signers, allowCoinbase: false, context: &previewContext)
        } catch {
            // Balances may be topped up by the transactions before it; only structural failures count.
            switch error {
            case .insufficientBalance, .unknownAccount, .unknownDelayedAction, .tooManyDelayed, .unbondingLimit,
                 .accountNotEmpty, .nameTaken, .accountExists, .producerState, .notAProducer:
                return
            default:
                throw error
            }
        }
    }
}
