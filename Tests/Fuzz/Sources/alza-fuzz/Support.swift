import AlzaCore
#if canImport(Glibc)
import Glibc
#endif

// Shared pieces of the harnesses: failing loudly, exercising errors, a byte reader, a deterministic PRNG.

/// Writes a line to standard error (unbuffered, so it precedes libFuzzer's crash report).
func printError(_ text: String) {
    var bytes = Array(text.utf8)
    if bytes.last != 0x0a { bytes.append(0x0a) }
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// A broken invariant: print it and abort, so libFuzzer saves the input as a crash.
func violation(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    printError("alza-fuzz invariant violated (\(file):\(line)): \(message)\n")
    abort()
}

func check(_ condition: Bool, _ message: @autoclosure () -> String,
           file: StaticString = #fileID, line: UInt = #line) {
    if !condition { violation(message(), file: file, line: line) }
}

/// Every decode error is logged by a node, so its `description` and `code` must be computable (an earlier
/// `description` recursed forever and crashed a node that logged an unexpected frame). Interpolation and
/// `String(reflecting:)` go through the same properties the logger uses.
/// Errors caught inside closures arrive untyped: every one a decoder throws must still be an `AlzaError`.
@inline(never)
func exercise(_ error: any Error) {
    guard let typed = error as? any AlzaError else { violation("a decoder threw \(type(of: error)), not an AlzaError") }
    exerciseTyped(typed)
}

@inline(never)
func exercise(_ error: some AlzaError) { exerciseTyped(error) }

@inline(never)
func exerciseTyped(_ error: some AlzaError) {
    let description = error.description
    let code = error.code
    check(!description.isEmpty, "empty description for code \(code)")
    check(!code.isEmpty && code.contains("."), "code \"\(code)\" is not module.reason")
    let interpolated = "\(error)"
    check(interpolated == description, "interpolation \"\(interpolated)\" differs from description \"\(description)\"")
    _ = String(reflecting: error)
    blackHole(description.utf8.count &+ code.utf8.count)
}

/// Computes a value's description, as a log line would.
@inline(never)
func describe(_ value: some CustomStringConvertible) {
    blackHole(value.description.utf8.count)
    blackHole("\(value)".utf8.count)
}

nonisolated(unsafe) var blackHoleSink = 0

@inline(never)
func blackHole(_ value: Int) { blackHoleSink &+= value }

/// Reads the fuzz input front to back; every read past the end yields zeros / empty, never traps.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset >= bytes.count }
    var remaining: Int { max(0, bytes.count - offset) }

    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() -> UInt16 { UInt16(byte()) | UInt16(byte()) << 8 }

    mutating func take(_ count: Int) -> [UInt8] {
        let count = min(count, remaining)
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func rest() -> [UInt8] { take(remaining) }
}

/// xorshift64*: chunk sizes and choices derived from the input, so a crash replays exactly.
struct Xorshift {
    private var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    init(_ bytes: [UInt8]) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325   // FNV-1a
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        self.init(seed: hash ^ UInt64(bytes.count))
    }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(max(1, bound))) }
}

/// Decodes `bytes` as `T`; on success checks that re-encoding gives the same bytes (the codec is canonical:
/// ids and signatures cover these bytes) and that the re-encoding decodes to an equal value.
@discardableResult
func roundTrip<T: CanonicalCodable & Equatable>(_: T.Type, _ bytes: [UInt8]) -> T? {
    let value: T
    do {
        value = try T(canonicalBytes: bytes)
    } catch {
        exercise(error)
        return nil
    }
    let encoded = value.canonicalBytes
    check(encoded == bytes, "\(T.self): \(bytes.count) input bytes re-encode to \(encoded.count) different bytes")
    do {
        let again = try T(canonicalBytes: encoded)
        check(again == value, "\(T.self): re-encoded bytes decode to another value")
    } catch {
        violation("\(T.self): re-encoded bytes do not decode: \(error.description)")
    }
    return value
}

func hex(_ bytes: [UInt8]) -> String {
    Hex.encode(bytes)
}
