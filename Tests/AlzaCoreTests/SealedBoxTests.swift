import AlzaCore
import Testing

@Suite struct SealedBoxTests {
    @Test func onlyTheRecipientOpensASealedBoxAndAnAlteredOneFails() throws {
        let payee = SigningKey(deterministicLabel: "payee")
        let memo = Array("invoice 42: two coffees".utf8)
        let sealed = try SealedBox.seal(memo, to: payee.publicKey)
        #expect(sealed.count == memo.count + SealedBox.overhead)
        #expect(try SealedBox.seal(memo, to: payee.publicKey) != sealed, "an ephemeral key each time")
        #expect(try SealedBox.open(sealed, with: payee) == memo)
        #expect(throws: SealedBoxError.notForThisKey) { try SealedBox.open(sealed, with: SigningKey(deterministicLabel: "other")) }
        var altered = sealed
        altered[altered.count - 1] ^= 1
        #expect(throws: SealedBoxError.notForThisKey) { try SealedBox.open(altered, with: payee) }
        #expect(throws: SealedBoxError.tooShort(bytes: 10)) { try SealedBox.open(Array(sealed.prefix(10)), with: payee) }
        #expect(try SealedBox.open(try SealedBox.seal([], to: payee.publicKey), with: payee) == [])
    }
}
