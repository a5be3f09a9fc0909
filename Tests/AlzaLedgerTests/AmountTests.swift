import AlzaLedger
import Testing

@Suite struct AmountTests {
    @Test func parsesAndFormatsALZA() throws {
        #expect(try Amounts.parse("12") == 12 * Amounts.unit)
        #expect(try Amounts.parse("12.5") == 1_250_000_000)
        #expect(try Amounts.parse("0.00000001") == 1)
        #expect(Amounts.format(1_250_000_000) == "12.50000000")
        #expect(Amounts.format(1) == "0.00000001")
    }

    @Test(arguments: ["", ".5", "1.", "1.123456789", "-1", "abc", "1.2.3", "184467440737.09551616", "1e5", "１"])
    func refusesMalformedAmounts(_ text: String) {
        #expect(throws: LedgerError.invalidAmount(text)) { try Amounts.parse(text) }
    }

    @Test func checkedArithmeticReportsOverflow() throws {
        #expect(throws: LedgerError.self) { try Amounts.add(.max, 1) }
        #expect(throws: LedgerError.self) { try Amounts.subtract(1, 2) }
        #expect(throws: LedgerError.self) { try Amounts.mulDiv(.max, .max, 1) }
        #expect(try Amounts.mulDiv(.max, .max, .max) == .max)
        #expect(try Amounts.mulDiv(10, 3, 4) == 7)
    }
}
