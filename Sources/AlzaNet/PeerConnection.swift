import AlzaCore
import FlyingSocks
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One TCP connection: a reader task cutting the byte stream into frames, and a writer task draining a bounded
/// send queue (frames coalesced into large writes). Reads and writes are direct `recv`/`send` calls on the
/// non-blocking socket; FlyingSocks' epoll pool wakes a task when its socket is ready.
///
/// The send queue is bounded in frames and bytes: a peer that does not read fast enough makes `enqueue` fail,
/// and the transport drops the peer instead of letting its queue grow.
final class PeerConnection: Sendable {
    let id: UInt64
    let socket: Socket
    let pool: any AsyncSocketPool
    let inbound: Bool
    /// The address it was dialed at (outbound) or its remote address (inbound).
    let address: String
    let maximumQueuedBytes: Int
    let maximumQueuedFrames: Int

    private struct SendQueue {
        var frames: [[UInt8]] = []
        var bytes = 0
        var closed = false
        /// Accept nothing more; the writer ends once what is queued is sent.
        var draining = false
        var writerWaiting: CheckedContinuation<Void, Never>?
    }

    private let queue = Mutex(SendQueue())
    private let counters = Mutex((framesSent: UInt64(0), bytesSent: UInt64(0), bytesReceived: UInt64(0)))

    init(id: UInt64, socket: Socket, pool: any AsyncSocketPool, inbound: Bool, address: String,
         maximumQueuedBytes: Int, maximumQueuedFrames: Int) {
        self.id = id
        self.socket = socket
        self.pool = pool
        self.inbound = inbound
        self.address = address
        self.maximumQueuedBytes = maximumQueuedBytes
        self.maximumQueuedFrames = maximumQueuedFrames
        var one: Int32 = 1
        setsockopt(socket.file.rawValue, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    var statistics: (framesSent: UInt64, bytesSent: UInt64, bytesReceived: UInt64) { counters.withLock { $0 } }
    var queuedBytes: Int { queue.withLock { $0.bytes } }

    /// Queues a frame. Returns false (and queues nothing) when the queue is full or the connection closed.
    func enqueue(_ frame: Frame) -> Bool {
        let bytes = frame.bytes
        let waiter: CheckedContinuation<Void, Never>?
        let accepted: Bool
        (accepted, waiter) = queue.withLock { queue in
            guard !queue.closed, !queue.draining, queue.frames.count < maximumQueuedFrames,
                  queue.bytes + bytes.count <= maximumQueuedBytes
            else { return (false, nil) }
            queue.frames.append(bytes)
            queue.bytes += bytes.count
            let waiter = queue.writerWaiting
            queue.writerWaiting = nil
            return (true, waiter)
        }
        waiter?.resume()
        return accepted
    }

    /// Queues `last` (a goodbye), then lets the writer finish what is queued and end, which closes the connection.
    func closeAfterFlush(last: Frame) {
        let bytes = last.bytes
        let waiter = queue.withLock { queue -> CheckedContinuation<Void, Never>? in
            guard !queue.closed, !queue.draining else { return nil }
            queue.frames.append(bytes)
            queue.bytes += bytes.count
            queue.draining = true
            let waiter = queue.writerWaiting
            queue.writerWaiting = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Stops the writer; the caller closes the socket.
    func closeQueue() {
        let waiter = queue.withLock { queue -> CheckedContinuation<Void, Never>? in
            queue.closed = true
            queue.frames.removeAll()
            queue.bytes = 0
            let waiter = queue.writerWaiting
            queue.writerWaiting = nil
            return waiter
        }
        waiter?.resume()
    }

    // MARK: Writing

    /// Writes queued frames until the queue closes or the socket fails.
    func runWriter() async throws(NetworkError) {
        while true {
            let batch: [UInt8]? = await nextBatch()
            guard let batch else { return }
            try await write(batch)
            counters.withLock {
                $0.bytesSent += UInt64(batch.count)
            }
        }
    }

    /// Waits for queued frames and takes up to 256 KiB of them as one buffer (nil once closed).
    private func nextBatch() async -> [UInt8]? {
        while true {
            let taken: (batch: [UInt8]?, frames: Int, wait: Bool) = queue.withLock { queue in
                if queue.closed { return (nil, 0, false) }
                guard !queue.frames.isEmpty else { return (nil, 0, !queue.draining) }
                var batch: [UInt8] = []
                var taken = 0
                while taken < queue.frames.count && (batch.isEmpty || batch.count + queue.frames[taken].count <= 256 << 10) {
                    batch += queue.frames[taken]
                    taken += 1
                }
                queue.frames.removeFirst(taken)
                queue.bytes -= batch.count
                return (batch, taken, false)
            }
            if let batch = taken.batch {
                counters.withLock { $0.framesSent += UInt64(taken.frames) }
                return batch
            }
            guard taken.wait else { return nil }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = queue.withLock { queue -> Bool in
                    if queue.closed || queue.draining || !queue.frames.isEmpty { return true }
                    queue.writerWaiting = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    private func write(_ bytes: [UInt8]) async throws(NetworkError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                Glibc.send(socket.file.rawValue, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent > 0 {
                offset += sent
            } else if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                do {
                    try await pool.suspendSocket(socket, untilReadyFor: .write)
                } catch {
                    throw .socket("closed while writing")
                }
            } else if sent < 0 && errno == EINTR {
                continue
            } else {
                throw .socket(String(cString: strerror(errno)))
            }
        }
    }

    // MARK: Reading

    /// Reads until the peer closes or an error; hands every batch of complete frames to `deliver`.
    func runReader(maximumPayload: Int, deliver: @Sendable ([Frame]) async -> Bool) async throws(NetworkError) {
        var decoder = FrameDecoder(maximumPayload: maximumPayload)
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let received = buffer.withUnsafeMutableBytes { recv(socket.file.rawValue, $0.baseAddress!, $0.count, 0) }
            if received > 0 {
                counters.withLock { $0.bytesReceived += UInt64(received) }
                let decoded = buffer.withUnsafeBytes { raw in
                    Result { () throws(FrameError) in try decoder.append(UnsafeRawBufferPointer(rebasing: raw[0..<received])) }
                }
                let frames: [Frame]
                switch decoded {
                case .success(let complete): frames = complete
                case .failure(let error): throw .frame(error)
                }
                if !frames.isEmpty, await !deliver(frames) { return }
            } else if received == 0 {
                throw .closedByPeer(reason: "end of stream")
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                do {
                    try await pool.suspendSocket(socket, untilReadyFor: .read)
                } catch {
                    throw .socket("closed while reading")
                }
            } else if errno != EINTR {
                throw .socket(String(cString: strerror(errno)))
            }
        }
    }

    /// Wakes both tasks (the socket reports end of stream and errors) so `run` ends; `run` closes the descriptor.
    func shutdownSocket() {
        closeQueue()
        shutdown(socket.file.rawValue, Int32(SHUT_RDWR))
    }

    /// Runs reader and writer until either ends, then closes the descriptor (only once no task waits on it).
    /// Returns why the connection ended.
    func run(maximumPayload: Int, deliver: @escaping @Sendable ([Frame]) async -> Bool) async -> NetworkError {
        let reason = await withTaskGroup(of: NetworkError.self) { group in
            group.addTask {
                do throws(NetworkError) {
                    try await self.runReader(maximumPayload: maximumPayload, deliver: deliver)
                    return .closedByPeer(reason: "closed locally")
                } catch {
                    return error
                }
            }
            group.addTask {
                do throws(NetworkError) {
                    try await self.runWriter()
                    return .closedByPeer(reason: "closed locally")
                } catch {
                    return error
                }
            }
            let first = await group.next() ?? .closedByPeer(reason: "closed")
            shutdownSocket()
            group.cancelAll()
            while await group.next() != nil {}
            return first
        }
        try? socket.close()
        return reason
    }
}
