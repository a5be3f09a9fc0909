/// The block scanner's place in its walk (HDFS's VolumeScanner): a pass takes the finalized replicas in block
/// order, reads each whole, and starts again one scan period after the previous pass started. Reads are paced
/// by the byte budget: after a replica of `n` bytes, the next read waits `n / scanBytesPerSecond` seconds.
struct BlockScanner: Sendable {
    /// The pass under way: the finalized replicas when it started (newer ones wait for the next pass).
    var pass: [BlockID] = []
    var position = 0
    var passStartedAt: UInt64?
    /// The budget: no read starts before then.
    var readyAt: UInt64 = 0
    /// The replica being read (one at a time).
    var inFlight: ExtendedBlock?
    /// When each replica was last found intact.
    var lastVerified: [BlockID: UInt64] = [:]
}

extension DataNodeCore {
    /// When each replica was last found intact by the scanner.
    public var lastVerified: [BlockID: UInt64] { scanner.lastVerified }

    /// Milliseconds of budget reading `length` bytes takes, rounded up.
    public func scanCost(ofLength length: UInt64) -> UInt64 {
        (length * 1_000 + configuration.scanBytesPerSecond - 1) / configuration.scanBytesPerSecond
    }

    /// The next replica to read, if the budget and the pass allow one now (only while registered: a corrupt
    /// replica must be reportable).
    mutating func scanWork(now: UInt64) -> [Effect] {
        guard phase == .registered, scanner.inFlight == nil, now >= scanner.readyAt else { return [] }
        if scanner.position >= scanner.pass.count {
            if let started = scanner.passStartedAt, now < started + configuration.scanPeriodMs { return [] }
            scanner.pass = replicas.values.filter { $0.state == .finalized }.map(\.block.id).sorted()
            scanner.position = 0
            scanner.passStartedAt = now
        }
        while scanner.position < scanner.pass.count {
            let id = scanner.pass[scanner.position]
            scanner.position += 1
            guard let replica = replicas[id], replica.state == .finalized else { continue }
            scanner.inFlight = replica.block
            scanner.readyAt = now + scanCost(ofLength: replica.block.length)
            return [.verify(replica.block)]
        }
        return []
    }

    /// When the scanner has work next; nil while a read is out.
    func nextScanAt(now: UInt64) -> UInt64? {
        guard scanner.inFlight == nil else { return nil }
        if scanner.position < scanner.pass.count { return scanner.readyAt }
        guard let started = scanner.passStartedAt else { return now }
        return max(started + configuration.scanPeriodMs, scanner.readyAt)
    }

    /// The result of a `.verify`: a failed check makes the replica corrupt and is reported to the NameNode;
    /// then the next replica is read when the budget allows. A result for a replica deleted or replaced
    /// meanwhile changes nothing about it.
    public mutating func verified(_ block: ExtendedBlock, result: Result<Void, RaFiError>, now: UInt64) -> [Effect] {
        guard phase != .shutDown else { return [] }
        precondition(scanner.inFlight == block, "verified(\(block)) without a verify of it out")
        scanner.inFlight = nil
        var effects: [Effect] = []
        switch result {
        case .success:
            if replicas[block.id]?.block == block { scanner.lastVerified[block.id] = now }
        case .failure(let error):
            effects += replicaFailedCheck(block, error: error)
        }
        effects += scanWork(now: now)
        effects.append(.wakeAt(nextWake(now: now)))
        return effects
    }
}
