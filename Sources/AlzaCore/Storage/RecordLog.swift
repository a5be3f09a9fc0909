/// One append-only file of checksummed records (`LogRecord` framing) in a `DurableStorage`: the journal of a
/// role that is not the chain (a field leader's payment log, a participant's receipts and signatures). Opening
/// it reads every intact record and cuts a torn or corrupt tail off, saying what it cut.
public struct RecordLog: Sendable {
    public let storage: any DurableStorage
    public let name: String

    public init(storage: any DurableStorage, name: String) {
        self.storage = storage
        self.name = name
    }

    public struct Opened: Sendable {
        /// The intact records' payloads, in write order.
        public var records: [[UInt8]]
        /// What was cut from the end (a crash mid-write, or corruption), if anything.
        public var repair: String?
    }

    public func open() throws(StorageError) -> Opened {
        let bytes = try storage.read(name) ?? []
        let scan = LogRecord.scan(bytes)
        var repair: String?
        if let problem = scan.problem {
            repair = "\(name): \(problem); \(bytes.count - scan.validLength) bytes cut"
            try storage.truncate(name, to: scan.validLength)
        }
        return Opened(records: scan.records.map(\.payload), repair: repair)
    }

    /// Appends the records in one write; durable only after `sync`.
    public func append(_ payloads: [[UInt8]]) throws(StorageError) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(payloads.reduce(0) { $0 + $1.count + LogRecord.headerSize })
        for payload in payloads { bytes += LogRecord.frame(payload) }
        try storage.append(name, bytes)
    }

    public func sync() throws(StorageError) { try storage.sync(name) }

    /// Replaces the whole file with `payloads`, atomically (a crash leaves the old file or the new one).
    public func rewrite(_ payloads: [[UInt8]]) throws(StorageError) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(payloads.reduce(0) { $0 + $1.count + LogRecord.headerSize })
        for payload in payloads { bytes += LogRecord.frame(payload) }
        try storage.writeAtomically(name, bytes)
    }
}
