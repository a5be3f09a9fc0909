import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Loopback ports for a testnet whose nodes must know each other's addresses before they start.
///
/// A testnet cannot let every node pick port 0: peers are configured by address. So its ports come from below
/// the kernel's ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`), where no outgoing connection of any
/// process can take one, and a block of them is claimed with an exclusive `flock` on a lock file, so two test
/// runs or benchmarks on one machine never pick the same block.
public enum LoopbackPorts {
    /// The first port of the kernel's ephemeral range (32768 when it cannot be read).
    public static var ephemeralRangeStart: UInt16 {
        guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8),
              let first = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first,
              let port = UInt16(first)
        else { return 32_768 }
        return port
    }

    /// True if a node could listen on `127.0.0.1:port` right now: nothing listens on it or holds it. Checked as a
    /// node's listeners bind (with `SO_REUSEADDR`, as `TCPListener` and the HTTP server do), so connections of an
    /// earlier testnet still in TIME_WAIT on the port do not count as taken: they did, and a second `testnet run`
    /// within a minute of the first refused to start with "ports already in use".
    public static func isFree(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// The ports `base + offset` that are taken right now, as "127.0.0.1:P" strings.
    public static func taken(base: UInt16, offsets: [Int]) -> [String] {
        offsets.compactMap { offset in
            let port = UInt16(clamping: Int(base) + offset)
            return isFree(port) ? nil : "127.0.0.1:\(port)"
        }
    }

    /// A claimed block of ports `base + offset` for every offset in `0..<span`, held while the value lives.
    public final class Block: Sendable {
        public let base: UInt16
        private let lock: Int32

        fileprivate init(base: UInt16, lock: Int32) {
            self.base = base
            self.lock = lock
        }

        deinit { close(lock) }  // closing the descriptor releases the flock
    }

    /// Claims `span` consecutive ports between 10000 and the ephemeral range whose `used` offsets are all free.
    public static func claim(span: Int, used: [Int]) throws(NodeError) -> Block {
        let low = 10_000
        let high = Int(ephemeralRangeStart) - span
        guard high > low else { throw .startup("no room for \(span) ports below the ephemeral range") }
        let folder = NSTemporaryDirectory() + "alza-ports"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // Blocks are aligned to the span, starting at a point that differs between processes.
        let slots = (high - low) / span
        let first = Int(getpid()) % slots
        for step in 0..<slots {
            let base = UInt16(low + ((first + step) % slots) * span)
            let fd = open("\(folder)/\(base).lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
            guard fd >= 0 else { continue }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                close(fd)
                continue
            }
            if taken(base: base, offsets: used).isEmpty { return Block(base: base, lock: fd) }
            close(fd)
        }
        throw .startup("no block of \(span) free loopback ports between \(low) and \(high + span)")
    }
}
