import FlyingSocks
#if canImport(Glibc)
import Glibc
#endif

/// FlyingFox's socket pool with `TCP_NODELAY` set on every socket it waits on: the listener (whose accepted
/// sockets inherit the option on Linux) and each connection (in case one was accepted before the listener first
/// waited).
///
/// FlyingFox writes a response's header and body in two `write`s. Without `TCP_NODELAY`, Nagle's algorithm holds
/// the body until the client ACKs the header, and a client that delays its ACK (every Linux client does, up to
/// 40 ms) makes each request on a kept-alive connection take 44 ms. FlyingFox has no option for it, but every
/// socket passes through its pool.
struct NoDelaySocketPool<Inner: AsyncSocketPool>: AsyncSocketPool {
    let inner: Inner

    func prepare() async throws { try await inner.prepare() }

    func run() async throws { try await inner.run() }

    func suspendSocket(_ socket: Socket, untilReadyFor events: Socket.Events) async throws {
        Self.setNoDelay(socket.file.rawValue)
        try await inner.suspendSocket(socket, untilReadyFor: events)
    }

    /// Sets `TCP_NODELAY` (a no-op error on a socket that is not TCP, which is ignored).
    static func setNoDelay(_ descriptor: Int32) {
        var on: Int32 = 1
        _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
    }
}
