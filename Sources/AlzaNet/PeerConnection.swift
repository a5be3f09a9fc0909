import AlzaCore
import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One TCP connection on a non-blocking socket driven by Dispatch sources (libdispatch keeps the socket in its
/// epoll set for the connection's life: no registration per read).
///
/// All socket work runs on the connection's serial queue: reads drain the socket until it would block and hand
/// complete frames to `deliver`; writes go out at once while the socket accepts them, and the rest waits in a
/// bounded send queue flushed when the socket becomes writable. A peer that does not read makes `enqueue` fail
/// once the queue is full, and the transport drops it.
final class PeerConnection: @unchecked Sendable {
    let id: UInt64
    let fd: Int32
    let inbound: Bool
    /// The address it was dialed at (outbound) or its remote address (inbound).
    let address: String
    let maximumQueuedBytes: Int
    let maximumQueuedFrames: Int

    private let queue: DispatchQueue
    private let readSource: any DispatchSourceRead
    private let writeSource: any DispatchSourceWrite
    // Mutated only on `queue`.
    private var decoder: FrameDecoder
    private var readBuffer = [UInt8](repeating: 0, count: 64 << 10)
    /// Encoded frames not yet written: `outbox[outboxHead...]`, the first from `outboxOffset`.
    private var outbox: [[UInt8]] = []
    private var outboxHead = 0
    private var outboxOffset = 0
    /// Reused to coalesce small frames into one `send`.
    private var writeBuffer: [UInt8] = []
    private var writeArmed = false
    private var draining = false
    private var closed = false
    // Shared with the threads that enqueue: frames handed over but not yet moved to `outbox` (one dispatch to
    // the connection's queue per burst, not per frame) and the send-queue accounting.
    private struct Shared {
        var handedOver: [[UInt8]] = []
        var handOverScheduled = false
        var queuedBytes = 0
        var queuedFrames = 0
        var closing = false
        var framesSent: UInt64 = 0
        var bytesSent: UInt64 = 0
        var bytesReceived: UInt64 = 0
    }

    private let accounting = Mutex(Shared())
    /// Hands frames to the transport; a non-nil answer (the transport is overloaded) closes the connection.
    private let deliver: @Sendable (UInt64, [Frame]) -> NetworkError?
    private let onClose: @Sendable (UInt64, NetworkError) -> Void

    init(id: UInt64, fd: Int32, inbound: Bool, address: String, maximumPayload: Int, maximumQueuedBytes: Int,
         maximumQueuedFrames: Int, deliver: @escaping @Sendable (UInt64, [Frame]) -> NetworkError?,
         onClose: @escaping @Sendable (UInt64, NetworkError) -> Void) {
        self.id = id
        self.fd = fd
        self.inbound = inbound
        self.address = address
        self.maximumQueuedBytes = maximumQueuedBytes
        self.maximumQueuedFrames = maximumQueuedFrames
        self.deliver = deliver
        self.onClose = onClose
        decoder = FrameDecoder(maximumPayload: maximumPayload)
        // A serial queue per connection on the shared, width-limited global pool: a private queue would target
        // the overcommitting root queue and cost a thread per busy connection (hundreds of threads in a testnet).
        queue = DispatchQueue(label: "alza.connection.\(id)", target: .global())
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        readSource = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        writeSource = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
    }

    /// Starts reading. Frames arrive through `deliver`, the end through `onClose` (exactly once).
    func start() {
        readSource.setEventHandler { [weak self] in self?.readAvailable() }
        writeSource.setEventHandler { [weak self] in self?.flush() }
        // The descriptor is closed once both sources are cancelled (no handler can touch it afterwards).
        let fd = self.fd
        let group = DispatchGroup()
        group.enter()
        group.enter()
        readSource.setCancelHandler { group.leave() }
        writeSource.setCancelHandler { group.leave() }
        group.notify(queue: .global()) { close(fd) }
        readSource.resume()
    }

    var statistics: (framesSent: UInt64, bytesSent: UInt64, bytesReceived: UInt64) {
        accounting.withLock { ($0.framesSent, $0.bytesSent, $0.bytesReceived) }
    }

    var queuedBytes: Int { accounting.withLock { $0.queuedBytes } }

    // MARK: Writing

    enum Enqueued: Equatable {
        case queued
        /// The send queue is at its bound: the peer does not read fast enough.
        case full
        /// The connection is closing; the frame is dropped.
        case closing
    }

    /// Queues a frame for sending (queuing nothing unless the answer is `.queued`).
    @discardableResult
    func enqueue(_ frame: Frame) -> Enqueued {
        let bytes = frame.bytes
        let (outcome, schedule) = accounting.withLock { state -> (Enqueued, Bool) in
            guard !state.closing else { return (.closing, false) }
            guard state.queuedFrames < maximumQueuedFrames, state.queuedBytes + bytes.count <= maximumQueuedBytes
            else { return (.full, false) }
            state.queuedBytes += bytes.count
            state.queuedFrames += 1
            state.handedOver.append(bytes)
            defer { state.handOverScheduled = true }
            return (.queued, !state.handOverScheduled)
        }
        if schedule {
            queue.async {
                guard !self.closed else { return }
                self.takeHandedOver()
                if !self.writeArmed { self.flush() }
            }
        }
        return outcome
    }

    /// Sends `last`, then closes once everything queued is out (a goodbye with the reason).
    func closeAfterFlush(last: Frame) {
        enqueue(last)
        accounting.withLock { $0.closing = true }
        queue.async {
            self.draining = true
            self.takeHandedOver()
            if self.outboxHead == self.outbox.count { self.finish(.closedByPeer(reason: "closed locally")) }
        }
    }

    /// Closes now (queued frames are dropped).
    func shutdownSocket(reason: NetworkError = .closedByPeer(reason: "closed locally")) {
        accounting.withLock { $0.closing = true }
        queue.async { self.finish(reason) }
    }

    /// Moves frames handed over by `enqueue` to the outbox (on `queue`).
    private func takeHandedOver() {
        let frames = accounting.withLock { state -> [[UInt8]] in
            state.handOverScheduled = false
            defer { state.handedOver.removeAll(keepingCapacity: true) }
            return state.handedOver
        }
        outbox += frames
    }

    /// Writes queued frames, coalescing small ones, until the socket would block (then waits for writability).
    private func flush() {
        guard !closed else { return }
        var sentFrames = 0
        var sentBytes = 0
        while outboxHead < outbox.count {
            let head = outbox[outboxHead]
            // A large frame (or the rest of a partly written one) goes out as it is; small ones are copied
            // together into one write.
            var taken = 1
            let written: Int
            if outboxOffset > 0 || head.count >= 64 << 10 || outboxHead + 1 == outbox.count {
                written = head.withUnsafeBytes {
                    send(fd, $0.baseAddress! + outboxOffset, head.count - outboxOffset, Int32(MSG_NOSIGNAL))
                }
            } else {
                writeBuffer.removeAll(keepingCapacity: true)
                writeBuffer += head
                while outboxHead + taken < outbox.count && writeBuffer.count + outbox[outboxHead + taken].count <= 256 << 10 {
                    writeBuffer += outbox[outboxHead + taken]
                    taken += 1
                }
                written = writeBuffer.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                finish(.socket(String(cString: strerror(errno))))
                return
            }
            sentBytes += written
            // Advance over the frames the write completed; a partly written frame stays at the head.
            var remaining = outboxOffset + written
            while remaining > 0, outboxHead < outbox.count, remaining >= outbox[outboxHead].count {
                remaining -= outbox[outboxHead].count
                outboxHead += 1
                sentFrames += 1
            }
            outboxOffset = remaining
            if outboxOffset > 0 { break }   // the socket took only part: wait for writability
        }
        if outboxHead == outbox.count {
            outbox.removeAll(keepingCapacity: outbox.capacity <= 4_096)
            outboxHead = 0
        } else if outboxHead > 1_024 && outboxHead * 2 > outbox.count {
            outbox.removeFirst(outboxHead)
            outboxHead = 0
        }
        if sentBytes > 0 || sentFrames > 0 {
            let frames = sentFrames
            let bytes = sentBytes
            accounting.withLock {
                $0.framesSent += UInt64(frames)
                $0.bytesSent += UInt64(bytes)
                $0.queuedFrames -= frames
                $0.queuedBytes = max(0, $0.queuedBytes - bytes)
            }
        }
        if outboxHead == outbox.count {
            if writeArmed {
                writeSource.suspend()
                writeArmed = false
            }
            if draining { finish(.closedByPeer(reason: "closed locally")) }
        } else if !writeArmed {
            writeSource.resume()
            writeArmed = true
        }
    }

    // MARK: Reading

    private func readAvailable() {
        guard !closed else { return }
        var frames: [Frame] = []
        var total = 0
        while true {
            let received = readBuffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if received > 0 {
                total += received
                let decoded = readBuffer.withUnsafeBytes { raw in
                    Result { () throws(FrameError) in try decoder.append(UnsafeRawBufferPointer(rebasing: raw[0..<received])) }
                }
                switch decoded {
                case .success(let complete): frames += complete
                case .failure(let error):
                    flushFrames(frames, bytes: total)
                    finish(.frame(error))
                    return
                }
                if total >= 1 << 20 { break }   // let other connections run; the source fires again
            } else if received == 0 {
                flushFrames(frames, bytes: total)
                finish(.closedByPeer(reason: "end of stream"))
                return
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                break
            } else {
                flushFrames(frames, bytes: total)
                finish(.socket(String(cString: strerror(errno))))
                return
            }
        }
        flushFrames(frames, bytes: total)
    }

    private func flushFrames(_ frames: [Frame], bytes: Int) {
        if bytes > 0 { accounting.withLock { $0.bytesReceived += UInt64(bytes) } }
        if !frames.isEmpty, let refusal = deliver(id, frames) { finish(refusal) }
    }

    private func finish(_ reason: NetworkError) {
        guard !closed else { return }
        closed = true
        accounting.withLock {
            $0.closing = true
            $0.handedOver.removeAll()
        }
        outbox.removeAll()
        outboxHead = 0
        outboxOffset = 0
        shutdown(fd, Int32(SHUT_RDWR))
        readSource.cancel()
        if !writeArmed { writeSource.resume() }   // a suspended source cannot be cancelled
        writeSource.cancel()
        writeArmed = false
        onClose(id, reason)
    }
}
