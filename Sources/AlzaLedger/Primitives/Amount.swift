/// Amounts are `UInt64` base units; one ALZA is 10^8 base units (DESIGN.md §3). All arithmetic on amounts goes
/// through the checked helpers here, which report overflow as a `LedgerError` instead of trapping.
public typealias Amount = UInt64

public enum Amounts {
    /// Base units per ALZA.
    public static let unit: Amount = 100_000_000

    public static func add(_ lhs: Amount, _ rhs: Amount) throws(LedgerError) -> Amount {
        let (sum, overflow) = lhs.addingReportingOverflow(rhs)
        guard !overflow else { throw .overflow("\(lhs) + \(rhs)") }
        return sum
    }

    public static func subtract(_ lhs: Amount, _ rhs: Amount) throws(LedgerError) -> Amount {
        guard rhs <= lhs else { throw .overflow("\(lhs) - \(rhs)") }
        return lhs - rhs
    }

    public static func sum<S: Sequence>(_ values: S) throws(LedgerError) -> Amount where S.Element == Amount {
        var total: Amount = 0
        for value in values { total = try add(total, value) }
        return total
    }

    /// `value * numerator / denominator` with a 128-bit intermediate, rounded down. Fails on a zero denominator
    /// or a result over 64 bits.
    public static func mulDiv(_ value: Amount, _ numerator: Amount, _ denominator: Amount) throws(LedgerError) -> Amount {
        guard denominator > 0 else { throw .overflow("division by zero") }
        let product = value.multipliedFullWidth(by: numerator)
        guard product.high < denominator else { throw .overflow("\(value) * \(numerator) / \(denominator)") }
        return denominator.dividingFullWidth(product).quotient
    }

    /// "12.34500000" style text with 8 decimals.
    public static func format(_ amount: Amount) -> String {
        let whole = amount / unit
        let fraction = String(amount % unit)
        return "\(whole)." + String(repeating: "0", count: 8 - fraction.count) + fraction
    }

    /// Parses "12", "12.5" or "0.00000001" ALZA into base units.
    public static func parse(_ text: String) throws(LedgerError) -> Amount {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let wholeText = parts.first, !wholeText.isEmpty,
              wholeText.allSatisfy(\.isASCII), let whole = UInt64(wholeText)
        else { throw .invalidAmount(text) }
        var fraction: UInt64 = 0
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 8, digits.allSatisfy(\.isASCII), let value = UInt64(digits)
            else { throw .invalidAmount(text) }
            fraction = value
            for _ in digits.count..<8 { fraction *= 10 }
        }
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: unit)
        guard !overflow else { throw .invalidAmount(text) }
        do {
            return try add(scaled, fraction)
        } catch {
            throw .invalidAmount(text)
        }
    }
}
