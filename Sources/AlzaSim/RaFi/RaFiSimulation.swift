import AlzaCore
import AlzaRaFi

/// Runs one `RaFiSimulationConfiguration` (see there). The shells here do what the node's RaFi actors do with
/// the same cores: NameNode effects are journaled (through `NameNodeStorage`) before anything after them, and
/// DataNode and pipeline effects go to a `ReplicaFolder` on a `MemoryStorage` that crashes like a disk.
public final class RaFiSimulation {
    enum Endpoint: Hashable {
        case nameNode, client, dataNode(Int)
    }

    enum Message {
        case report(DataNodeReport, from: Int)
        case command(DataNodeCommand)
        case setup(PipelineSetup, from: Endpoint)
        case packet(PipelinePacket, from: Endpoint)
        case ack(PipelineAck, from: Int)
        /// The peer did not answer (it is down): what a broken connection tells its other end.
        case peerFailed(Int, block: BlockID)
    }

    enum Event {
        case deliver(Message, to: Endpoint)
        case wakeDataNode(Int)
        case tickNameNode
        case fault(RaFiFault.Kind)
        case restartDataNode(Int)
        case restartNameNode
        case balance(threshold: Double)
        case sample
        case clientRetry
    }

    struct DataNode {
        var core: DataNodeCore
        let storage: MemoryStorage
        var folder: ReplicaFolder { ReplicaFolder(storage: storage) }
        var stages: [BlockID: (stage: PipelineStageCore, upstream: Endpoint)] = [:]
        var transfers: [BlockID: PipelineWriterCore] = [:]
        var isUp = true
        var scheduledWake: UInt64 = .max
    }

    struct NameNode {
        var core: NameNodeCore
        let disk: MemoryStorage
        var storage: NameNodeStorage
        var isUp = true
    }

    let configuration: RaFiSimulationConfiguration
    var random: DeterministicRandom
    var queue = EventQueue<Event>()
    var now: UInt64 = 0
    var dataNodes: [DataNode] = []
    var active: NameNode
    var backup: NameNode?
    let info: NamespaceInfo
    let nameNodeConfiguration: NameNodeConfiguration
    var client: ClientWriter
    /// When the last message on each link arrives (links are FIFO, like TCP).
    var linkClear: [Endpoint: [Endpoint: UInt64]] = [:]
    var report: RaFiSimulationReport
    var lastFaultAt: UInt64 = 0
    var balancing: Double?
    var balanceRounds = 0

    /// A bound on a run's length, so a livelock is a reported failure rather than a hung test.
    static let maximumEvents = 400_000

    public init(_ configuration: RaFiSimulationConfiguration) {
        precondition(configuration.dataNodes >= 1 && configuration.racks >= 1 && configuration.files >= 1, "a cluster and something to write")
        self.configuration = configuration
        random = DeterministicRandom(seed: configuration.seed)
        info = NamespaceInfo(namespaceID: 1_000 + configuration.seed)
        nameNodeConfiguration = NameNodeConfiguration().scaled(by: configuration.timeScale)
        report = RaFiSimulationReport(seed: configuration.seed)
        active = Self.formattedNameNode(info: info, role: .active, configuration: nameNodeConfiguration)
        backup = Self.formattedNameNode(info: info, role: .backup, configuration: nameNodeConfiguration)
        client = ClientWriter(configuration: configuration, random: &random)
        for index in 0..<configuration.dataNodes { addDataNode(index) }
    }

    static func formattedNameNode(info: NamespaceInfo, role: NameNodeCore.Role, configuration: NameNodeConfiguration) -> NameNode {
        let disk = MemoryStorage()
        let storage = NameNodeStorage(storage: disk, info: info)
        do {
            try storage.format(rootOwner: configuration.superuser)
        } catch {
            preconditionFailure("formatting an empty in-memory folder cannot fail: \(error)")
        }
        let core = NameNodeCore(info: info, namespace: Namespace(rootOwner: configuration.superuser), role: role,
                                configuration: configuration, now: 0)
        return NameNode(core: core, disk: disk, storage: storage)
    }

    func dataNodeConfiguration() -> DataNodeCore.Configuration {
        var dataNode = DataNodeCore.Configuration()
        dataNode.heartbeatIntervalMs = nameNodeConfiguration.heartbeatIntervalMs
        dataNode.blockReportIntervalMs = max(1, dataNode.blockReportIntervalMs / configuration.timeScale)
        dataNode.scanPeriodMs = configuration.scanPeriodMs
        dataNode.scanBytesPerSecond = configuration.scanBytesPerSecond
        return dataNode
    }

    func addDataNode(_ index: Int) {
        let core = DataNodeCore(configuration: dataNodeConfiguration(), address: "dn\(index)",
                                rack: "rack\(index % configuration.racks)", capacity: configuration.capacity)
        dataNodes.append(DataNode(core: core, storage: MemoryStorage()))
        run(dataNodes[index].core.start(now: now), on: index)
    }

    /// Runs to the end and reports.
    public func run() -> RaFiSimulationReport {
        queue.schedule(.tickNameNode, at: 0)
        queue.schedule(.clientRetry, at: 10)
        queue.schedule(.sample, at: 1_000)
        for fault in configuration.faults { queue.schedule(.fault(fault.kind), at: fault.atMs) }
        lastFaultAt = configuration.faults.map(\.atMs).max() ?? 0
        var events = 0
        while let (time, event) = queue.pop() {
            now = time
            if isFinished { break }
            events += 1
            guard events <= Self.maximumEvents else {
                report.violations.append("the run did not settle within \(Self.maximumEvents) events (at \(now) ms; the client is at file \(client.current), phase \(client.phase))")
                break
            }
            handle(event)
        }
        report.events = events
        finish()
        return report
    }

    var isFinished: Bool {
        let quietSince = max(lastFaultAt, client.finishedAt ?? .max)
        return quietSince != .max && now >= quietSince + configuration.settleMs
    }

    func handle(_ event: Event) {
        switch event {
        case .deliver(let message, let endpoint): deliver(message, to: endpoint)
        case .wakeDataNode(let index):
            guard dataNodes[index].isUp, dataNodes[index].scheduledWake == now else { return }
            dataNodes[index].scheduledWake = .max
            run(dataNodes[index].core.tick(now: now), on: index)
        case .tickNameNode:
            if active.isUp { runNameNode(active.core.tick(now: now)) }
            queue.schedule(.tickNameNode, at: now + nameNodeConfiguration.monitorIntervalMs)
        case .fault(let kind): inject(kind)
        case .restartDataNode(let index): restartDataNode(index)
        case .restartNameNode: restartNameNode()
        case .balance(let threshold): balance(threshold)
        case .sample: sample()
        case .clientRetry: clientStep()
        }
    }

    // MARK: The network

    func send(_ message: Message, from: Endpoint, to: Endpoint, bytes: Int = 64) {
        let transmission = UInt64(bytes) / 200_000 // 200 MB/s links
        let earliest = now + random.uniform(configuration.delayMs) + transmission
        let arrival = max(earliest, linkClear[from]?[to] ?? 0)
        linkClear[from, default: [:]][to] = arrival
        queue.schedule(.deliver(message, to: to), at: arrival)
    }

    private func deliver(_ message: Message, to endpoint: Endpoint) {
        switch endpoint {
        case .nameNode:
            guard active.isUp else { return }
            // The answer to a registration goes back to its sender (a new DataNode has no storage id to route by yet).
            if case .report(let report, let sender) = message { runNameNode(active.core.receive(report, now: now), replyTo: sender) }
        case .client:
            clientReceive(message)
        case .dataNode(let index):
            guard dataNodes[index].isUp else {
                bounce(message, off: index)
                return
            }
            dataNodeReceive(message, at: index)
        }
    }

    /// Pipeline traffic sent to a down node: its sender learns of the failure after the detection delay.
    private func bounce(_ message: Message, off index: Int) {
        let (sender, block): (Endpoint?, BlockID?) = switch message {
        case .setup(let setup, let from): (from, setup.block.id)
        case .packet(let packet, let from): (from, packet.block.id)
        case .ack(let ack, let from): (.dataNode(from), ack.blockID)
        default: (nil, nil)
        }
        guard let sender, let block else { return }
        queue.schedule(.deliver(.peerFailed(index, block: block), to: sender), at: now + configuration.failureDetectionMs)
    }

    /// The DataNode at a location's address (a writer or a copy dials the address; the node may not have
    /// heard its storage id from the NameNode yet).
    func index(of location: DataNodeLocation) -> Int? {
        dataNodes.firstIndex { $0.core.address == location.address }
    }

    func index(of id: StorageID) -> Int? { dataNodes.firstIndex { $0.core.storageID == id } }

    // MARK: The NameNode's shell

    /// Journal first (synced), then commands out.
    func runNameNode(_ effects: [NameNodeCore.Effect], replyTo sender: Int? = nil) {
        var records: [JournalRecord] = []
        for effect in effects {
            switch effect {
            case .journal(let record):
                records.append(record)
                do {
                    try active.storage.append([record])
                } catch {
                    report.violations.append("the NameNode could not journal transaction \(record.transaction): \(error)")
                }
            case .command(let command, let id):
                if case .replicate = command { report.replicationsSent += 1 }
                let answer: Int? = switch command {
                case .registered, .shutdown: sender
                default: nil
                }
                if let target = answer ?? index(of: id) { send(.command(command), from: .nameNode, to: .dataNode(target)) }
            case .log(let line):
                if line.contains("is corrupt (") { report.corruptReplicasReported += 1 }
            }
        }
        if !records.isEmpty { streamToBackup(records) }
    }

    /// The BackupNode applies the journal stream as it is written (the stream is a local pipe in this model).
    private func streamToBackup(_ records: [JournalRecord]) {
        guard var standby = backup, standby.isUp else { return }
        for record in records {
            do {
                try standby.core.replay(record, now: now)
                try standby.storage.append([record])
            } catch {
                report.violations.append("the BackupNode could not apply transaction \(record.transaction): \(error)")
            }
        }
        backup = standby
    }
}
