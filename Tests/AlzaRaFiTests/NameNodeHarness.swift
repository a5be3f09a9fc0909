import AlzaCore
import AlzaRaFi

/// A NameNode driven by instant, obedient fake DataNodes: every command a heartbeat answers is carried out at
/// once (a copy arrives, a delete is confirmed). Enough to test the NameNode's decisions one by one; the
/// simulator runs the real DataNode cores with delays and faults.
struct NameNodeHarness {
    static let info = NamespaceInfo(namespaceID: 42)
    var core: NameNodeCore
    var now: UInt64 = 1_000
    var ids: [String: StorageID] = [:]
    /// What each fake DataNode holds.
    var held: [StorageID: [BlockID: ExtendedBlock]] = [:]
    var down: Set<StorageID> = []
    var log: [String] = []
    var journal: [JournalRecord] = []

    init(configuration: NameNodeConfiguration = NameNodeConfiguration()) {
        core = NameNodeCore(info: Self.info, namespace: Namespace(rootOwner: "rafi"), configuration: configuration, now: 1_000)
    }

    /// Registers nodes named `name` on `rack` with `capacity` bytes.
    mutating func addNode(_ name: String, rack: String, capacity: UInt64 = 1 << 30) {
        let effects = core.register(DataNodeRegistration(namespace: Self.info, storageID: nil, address: name, rack: rack, capacity: capacity), now: now)
        for case .command(.registered(let id, _), _) in effects { ids[name] = id; held[id] = [:] }
        record(effects)
        heartbeatAll()
    }

    mutating func record(_ effects: [NameNodeCore.Effect]) {
        for effect in effects {
            switch effect {
            case .log(let line): log.append(line)
            case .journal(let entry): journal.append(entry)
            case .command: break
            }
        }
    }

    /// Every live fake DataNode heartbeats and carries out what it is told.
    mutating func heartbeatAll() {
        for id in held.keys.sorted() where !down.contains(id) {
            let used = held[id]!.values.reduce(0) { $0 + $1.length }
            let effects = core.heartbeat(DataNodeHeartbeat(storageID: id, capacity: core.dataNodes[id]?.capacity ?? 1 << 30, used: used, transfersInProgress: 0), now: now)
            record(effects)
            for case .command(let command, _) in effects { carryOut(command, on: id) }
        }
    }

    mutating func carryOut(_ command: DataNodeCommand, on id: StorageID) {
        switch command {
        case .blockReportNow:
            record(core.blockReport(from: id, Array(held[id]!.values), now: now).effects)
        case .replicate(let block, let targets):
            for target in targets where !down.contains(target.storageID) {
                held[target.storageID]![block.id] = block
                record(core.blockReceived(from: target.storageID, block, now: now))
            }
        case .delete(let blocks):
            for block in blocks {
                held[id]![block.id] = nil
                record(core.blockDeleted(from: id, block.id, now: now))
            }
        case .registered, .shutdown, .reregister: break
        }
    }

    /// Advances time in heartbeat steps, ticking the monitor and heartbeating each step.
    mutating func run(forMs duration: UInt64) {
        let end = now + duration
        while now < end {
            now += core.configuration.heartbeatIntervalMs
            record(core.tick(now: now))
            heartbeatAll()
        }
    }

    /// Writes a file of `blocks` blocks of `size` bytes through fake pipelines; returns its blocks.
    @discardableResult
    mutating func write(_ path: String, blocks count: Int, size: UInt64 = 1_000, replication: UInt16 = 3,
                        writer: String? = nil) throws -> [ExtendedBlock] {
        let filePath = try NamespacePath(path)
        record(try core.mkdir(filePath.parent, user: "rafi", now: now))
        record(try core.create(filePath, replication: replication, user: "rafi", client: "client", now: now))
        var previous: ExtendedBlock?
        var written: [ExtendedBlock] = []
        for _ in 0..<count {
            let (located, effects) = try core.addBlock(filePath, client: "client", previous: previous, writer: writer.flatMap { ids[$0] }, now: now)
            record(effects)
            let block = ExtendedBlock(id: located.block.id, generationStamp: located.block.generationStamp, length: size)
            for target in located.locations {
                held[target.storageID]![block.id] = block
                record(core.blockReceived(from: target.storageID, block, now: now))
            }
            previous = block
            written.append(block)
        }
        let (completed, effects) = try core.complete(filePath, client: "client", last: previous, now: now)
        precondition(completed, "every block was reported")
        record(effects)
        return written
    }

    func holders(_ block: BlockID) -> [StorageID] { core.blocks[block].map { $0.replicas.keys.sorted() } ?? [] }
    func racks(_ block: BlockID) -> Set<String> { Set(holders(block).compactMap { core.dataNodes[$0]?.location.rack }) }
}
