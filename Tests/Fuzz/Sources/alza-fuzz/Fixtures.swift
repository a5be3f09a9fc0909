import AlzaCore
import AlzaLedger
import AlzaNetCore

/// Fixed keys, chain and values shared by harnesses and seeds (deterministic, so crashes replay).
enum Fixture {
    static let localKey = SigningKey(deterministicLabel: "alza-fuzz/local")
    static let remoteKey = SigningKey(deterministicLabel: "alza-fuzz/remote")
    static let producerKey = SigningKey(deterministicLabel: "alza-fuzz/producer")
    static let producerSigningKey = SigningKey(deterministicLabel: "alza-fuzz/producer-signing")
    static let userKey = SigningKey(deterministicLabel: "alza-fuzz/user")

    /// The chain the network harnesses speak on (not the genesis chain: the handshake never looks at a genesis).
    static let netChainId = Hash.sha256(utf8: "alza-fuzz/network-chain")

    static func hello(_ key: SigningKey, nonceLabel: String, instances: [ActorAddress]) -> Hello {
        Hello(chainId: netChainId, nodeKey: key.publicKey, roles: [.superNode],
              listenAddress: "127.0.0.1:7000", nonce: Hash.sha256(utf8: nonceLabel).bytes32, agent: "alza-fuzz/1",
              instances: InstanceAnnouncement.signed(by: key, chainId: netChainId, sequence: 1, instances: instances))
    }

    static let localHello = hello(localKey, nonceLabel: "alza-fuzz/local-nonce", instances: [ActorAddress(.chain)])
    static let remoteHello = hello(remoteKey, nonceLabel: "alza-fuzz/remote-nonce",
                                   instances: [ActorAddress(.chain), ActorAddress(.field, instance: InstanceId([7, 7]))])

    /// The remote side's valid proof for the local hello's nonce.
    static let remoteProof = HelloProof(signature: remoteKey.sign(HelloProof.digest(
        chainId: netChainId, peerNonce: localHello.nonce, signer: remoteKey.publicKey, verifier: localKey.publicKey)))

    // MARK: Ledger

    static let genesis: Genesis = {
        let file = GenesisFile(
            chainName: "alza-fuzz", genesisTime: 1_750_000_000_000, parameters: ChainParameters(),
            accounts: [.init(publicKey: producerKey.publicKey.hex, balance: 1_000_000),
                       .init(publicKey: userKey.publicKey.hex, balance: 5_000_000, name: "user")],
            producers: [.init(account: Address(producerKey.publicKey).description,
                              signingKey: producerSigningKey.publicKey.hex, url: "https://fuzz.example", timeZone: 0)])
        do throws(LedgerError) {
            return try Genesis(file)
        } catch {
            violation("fixture genesis is invalid: \(error.description)")
        }
    }()

    static var chainId: Hash { genesis.chainId }

    static func transfer(nonce: UInt64, amount: Amount, memo: [UInt8] = []) -> SignedTransaction {
        let from = Address(userKey.publicKey)
        let to = Address(producerKey.publicKey)
        let payload = MessagePayload.transfer(inputs: [AmountEntry(from, amount)], outputs: [AmountEntry(to, amount)],
                                              memo: memo)
        let transaction = Transaction(
            header: TransactionHeader(chainId: chainId, expiration: 1_750_000_600_000, nonce: nonce, fee: 1_000),
            messages: [Message(payload, authorizer: from)])
        return SignedTransaction.sign(transaction, with: [userKey])
    }

    static func header(height: UInt64, previous: Hash, transactions: [SignedTransaction]) -> SignedBlockHeader {
        let header = BlockHeader(height: height, slot: height * 2, previous: previous,
                                 producer: Address(producerKey.publicKey),
                                 transactionRoot: Block.transactionRoot(transactions), fieldRoot: .zero,
                                 stateRoot: Hash.sha256(utf8: "state-\(height)"),
                                 timestamp: genesis.file.genesisTime + height * 2_000)
        return SignedBlockHeader.sign(header, with: producerSigningKey, chainId: chainId)
    }

    /// Three linked blocks from the genesis (headers signed, states not executed: storage never executes).
    static let blocks: [Block] = {
        var blocks: [Block] = []
        var previous = chainId
        for height in UInt64(1)...3 {
            let transactions = height == 2 ? [transfer(nonce: 0, amount: 10), transfer(nonce: 1, amount: 20)]
                : (height == 3 ? [transfer(nonce: 2, amount: 5, memo: Array("memo".utf8))] : [])
            let block = Block(signedHeader: header(height: height, previous: previous, transactions: transactions),
                              transactions: transactions)
            blocks.append(block)
            previous = block.id
        }
        return blocks
    }()
}
