import AlzaCore

/// Bytes shaped like a block body of serialized transfers: per transaction a header (shared chain id, close
/// expirations, counting nonces, a fixed fee), one transfer message between accounts drawn from a pool of 1,000
/// (so keys repeat, as in real traffic), little-endian amounts, and a random 64-byte signature. Used where the
/// crypto suite needs "a realistic block payload" without depending on the ledger module.
enum SyntheticTransfers {
    static func payload(transactions: Int, seed: UInt64 = 42) -> [UInt8] {
        var random = SeededRandom(seed: seed)
        let chainId = Hash.sha256(utf8: "bench-chain")
        let accounts = (0..<1000).map { SigningKey(deterministicLabel: "bench-account-\($0)").publicKey }
        var encoder = CanonicalEncoder(reservingCapacity: transactions * 360)
        encoder.encodeLength(transactions)
        for index in 0..<transactions {
            let sender = accounts[Int(random.next() % 1000)]
            let receiver = accounts[Int(random.next() % 1000)]
            encoder.encode(chainId)
            encoder.encode(UInt64(1_800_000_000 + index / 100))
            encoder.encode(UInt64(index / 7))
            encoder.encode(UInt64(1_000))
            encoder.encode(UInt32(0))
            encoder.encodeLength(1)                 // messages
            encoder.encodeVarint(1)                 // transfer
            encoder.encodeLength(2); encoder.encode(sender); encoder.encode(receiver)   // scope
            encoder.encodeLength(1); encoder.encode(receiver)                          // recipients
            encoder.encodeLength(1); encoder.encode(sender); encoder.encode(UInt8(1))  // authorization
            var data = CanonicalEncoder()
            data.encodeLength(1); data.encode(sender); data.encode(random.next() % 100_000_000_000)
            data.encodeLength(1); data.encode(receiver); data.encode(random.next() % 100_000_000_000)
            encoder.encodeBytes(data.bytes)
            encoder.encodeLength(1); encoder.encode(sender)
            for _ in 0..<8 { encoder.encode(random.next()) }  // signature
        }
        return encoder.bytes
    }
}

