import AlzaConsensus
import AlzaCore
import AlzaLedger

// `block` and `transaction`: the ledger's wire and disk values.

/// The body bound the block harness decodes with directly (the codec's own is `Block.maximumBodyBytes`).
let fuzzBodyLimit = 1 << 20

/// Checks a decoded block: body frame, transactions and canonical body agree.
func checkBlock(_ block: Block) {
    describe(BlockReference(block.signedHeader))
    check(block.id == block.header.canonicalHash, "block id is not the header hash")
    _ = Block.transactionRoot(block.transactions)
    guard let body = try? LZ4Frame.decompress(block.bodyFrame, maxSize: Block.maximumBodyBytes) else {
        violation("a decoded block's body frame does not decompress")
    }
    check(body == Block.bodyBytes(block.transactions), "a block body is not the canonical transaction list")
    for transaction in block.transactions { checkTransaction(transaction) }
}

/// Checks a decoded transaction: ids, sizes and the payloads of its messages.
func checkTransaction(_ transaction: SignedTransaction) {
    let unsigned = transaction.transaction.canonicalBytes
    check(transaction.id == Hash.sha256(unsigned), "transaction id is not the hash of its canonical bytes")
    check(transaction.encodedSize == transaction.canonicalBytes.count,
          "encodedSize \(transaction.encodedSize) but \(transaction.canonicalBytes.count) canonical bytes")
    check(transaction.signingDigest == Transaction.signingDomain.digest(chainId: transaction.header.chainId, bytes: unsigned),
          "signing digest does not cover the canonical bytes")
    _ = transaction.witnessHash
    _ = transaction.transaction.payer
    _ = transaction.transaction.isSystem
    for message in transaction.messages {
        describe(message.code)
        checkPayload(code: message.code, data: message.data)
    }
}

/// A message's payload: decodes (or fails with a typed error) and re-encodes to the same bytes.
func checkPayload(code: MessageCode, data: [UInt8]) {
    let payload: MessagePayload
    do {
        payload = try MessagePayload(code: code, data: data)
    } catch {
        exercise(error)
        do {
            _ = try Message(code: code, scope: [], authorization: [], data: data).payload()
            violation("Message.payload accepted what MessagePayload refused")
        } catch {
            exercise(error)
        }
        return
    }
    check(payload.code == code, "payload of \(code) decodes as \(payload.code)")
    check(payload.data == data, "\(code) payload of \(data.count) bytes re-encodes to other bytes")
}

let blockHarness = Harness(
    name: "block",
    summary: "Block canonical decode + round trip, Block.decodeBody on a raw frame, a block around an LZ4-framed body, SignedBlockHeader",
    run: { input in
        var reader = ByteReader(input)
        let mode = reader.byte() % 4
        let rest = reader.rest()
        switch mode {
        case 0:
            if let block = roundTrip(Block.self, rest) { checkBlock(block) }
        case 1:
            do {
                let transactions = try Block.decodeBody(frame: rest, maxBodyBytes: fuzzBodyLimit)
                check(transactions.count <= Block.maximumTransactions, "\(transactions.count) transactions decoded")
                for transaction in transactions { checkTransaction(transaction) }
                let body = try? LZ4Frame.decompress(rest, maxSize: fuzzBodyLimit)
                check(body == Block.bodyBytes(transactions), "decoded body is not the canonical transaction list")
            } catch {
                exercise(error)
            }
        case 2:
            // The input is the body itself, framed here (so mutations are not lost to the LZ4 checksum).
            var encoder = CanonicalEncoder()
            encoder.encode(Fixture.blocks[0].signedHeader)
            encoder.encodeBytes(LZ4Frame.compress(rest, parallel: false))
            if let block = roundTrip(Block.self, encoder.bytes) {
                checkBlock(block)
                check(Block.bodyBytes(block.transactions) == rest, "decoded body is not the input")
            }
        default:
            if let header = roundTrip(SignedBlockHeader.self, rest) {
                _ = header.isSigned(by: Fixture.producerSigningKey.publicKey, chainId: Fixture.chainId)
                roundTrip(BlockHeader.self, header.header.canonicalBytes)
            }
        }
    },
    seeds: {
        let blocks = Fixture.blocks
        let transactions = blocks[1].transactions
        return [
            [0] + blocks[0].canonicalBytes,
            [0] + blocks[1].canonicalBytes,
            [0] + blocks[2].canonicalBytes,
            [1] + blocks[1].bodyFrame,
            [1] + blocks[0].bodyFrame,
            [2] + Block.bodyBytes(transactions),
            [2] + Block.bodyBytes(blocks[2].transactions),
            [3] + blocks[2].signedHeader.canonicalBytes,
        ]
    })

let transactionHarness = Harness(
    name: "transaction",
    summary: "SignedTransaction decode + round trip, TransactionBatch, Transaction, MessagePayload per code",
    run: { input in
        var reader = ByteReader(input)
        let mode = reader.byte() % 4
        switch mode {
        case 0:
            if let transaction = roundTrip(SignedTransaction.self, reader.rest()) { checkTransaction(transaction) }
        case 1:
            // The payload of the `transactions` gossip topic.
            if let batch = roundTrip(TransactionBatch.self, reader.rest()) {
                check(batch.transactions.count <= TransactionBatch.maximumCount, "\(batch.transactions.count) transactions in a batch")
                for transaction in batch.transactions { checkTransaction(transaction) }
            }
        case 2:
            roundTrip(Transaction.self, reader.rest())
        default:
            let rawCode = reader.byte()
            guard let code = MessageCode(rawValue: UInt16(rawCode) % UInt16(MessageCode.allCases.count + 1)) else { return }
            checkPayload(code: code, data: reader.rest())
        }
    },
    seeds: {
        let transfer = Fixture.transfer(nonce: 3, amount: 77, memo: [1, 2])
        let batch = TransactionBatch([transfer, Fixture.transfer(nonce: 4, amount: 1)])
        let register = MessagePayload.accountRegister(
            address: Address(Fixture.remoteKey.publicKey), owner: .single(Fixture.remoteKey.publicKey),
            active: .single(Fixture.remoteKey.publicKey), name: try? AccountName("remote"))
        let evidence = MessagePayload.equivocationEvidence(first: Fixture.blocks[0].signedHeader,
                                                           second: Fixture.blocks[1].signedHeader)
        return [
            [0] + transfer.canonicalBytes,
            [1] + batch.canonicalBytes,
            [2] + transfer.transaction.canonicalBytes,
            [3, UInt8(MessageCode.transfer.rawValue)] + transfer.messages[0].data,
            [3, UInt8(MessageCode.accountRegister.rawValue)] + register.data,
            [3, UInt8(MessageCode.accountUpdate.rawValue)]
                + MessagePayload.accountUpdate(name: .some(nil), delayRules: [Account.DelayRule(code: .transfer, minimumSeconds: 60)]).data,
            [3, UInt8(MessageCode.equivocationEvidence.rawValue)] + evidence.data,
            [3, UInt8(MessageCode.delegateVote.rawValue)] + MessagePayload.delegateVote(producer: Address(Fixture.producerKey.publicKey)).data,
            [3, UInt8(MessageCode.coinbase.rawValue)] + MessagePayload.coinbase(round: 4, payouts: [AmountEntry(Address(Fixture.producerKey.publicKey), 5)]).data,
        ]
    })
