/// Lowercase hexadecimal, the textual form of hashes, keys and signatures in JSON, logs and the CLI.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Lowercase hex of `bytes`.
    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes of a hex string (either case). Fails on odd length or a non-hex character.
    public static func decode(_ text: String) throws(HexError) -> [UInt8] {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { throw .oddLength(utf8.count) }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = value(of: utf8[index]) else { throw .invalidCharacter(offset: index) }
            guard let low = value(of: utf8[index + 1]) else { throw .invalidCharacter(offset: index + 1) }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func value(of char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return char - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return char - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return char - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Why a hex string could not be read.
public enum HexError: AlzaError, Equatable {
    case oddLength(Int)
    case invalidCharacter(offset: Int)
    case wrongLength(expected: Int, actual: Int)

    public var code: String {
        switch self {
        case .oddLength: "hex.odd-length"
        case .invalidCharacter: "hex.invalid-character"
        case .wrongLength: "hex.wrong-length"
        }
    }

    public var description: String {
        switch self {
        case .oddLength(let count): "hex string has an odd number of digits (\(count))"
        case .invalidCharacter(let offset): "hex string has a non-hex character at offset \(offset)"
        case .wrongLength(let expected, let actual):
            "hex string encodes \(actual) bytes where \(expected) are required"
        }
    }
}
