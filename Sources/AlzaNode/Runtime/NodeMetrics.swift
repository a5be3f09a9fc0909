import AlzaNet
import CoreMetrics
import Prometheus
import Synchronization

/// The node's metrics (swift-metrics, exported by swift-prometheus at `/metrics`): chain head and LIB, peers,
/// mempool, blocks produced and missed, gossip traffic, and latencies of what passes through the node.
public final class NodeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    let headHeight: CoreMetrics.Gauge
    let libHeight: CoreMetrics.Gauge
    let peers: CoreMetrics.Gauge
    let mempoolSize: CoreMetrics.Gauge
    let missedSlots: CoreMetrics.Gauge
    let blocksProduced: CoreMetrics.Counter
    let blocksApplied: CoreMetrics.Counter
    let blocksRejected: CoreMetrics.Counter
    let forkSwitches: CoreMetrics.Counter
    let transactionsAccepted: CoreMetrics.Counter
    let transactionsRejected: CoreMetrics.Counter
    let networkBytesSent: CoreMetrics.Counter
    let networkBytesReceived: CoreMetrics.Counter
    let networkRefusals: CoreMetrics.Counter
    /// Peers dropped because they did not read what was sent to them (send queue over its bound).
    let networkSlowPeersDropped: CoreMetrics.Counter
    /// Transport events a protocol's inbox had no room for (all protocols).
    let networkEventsDropped: CoreMetrics.Counter
    /// Messages for a protocol, instance or topic this node does not serve.
    let networkUnroutable: CoreMetrics.Counter
    /// Connections closed because the transport fell its read-batch bound behind.
    let networkOverloadedConnections: CoreMetrics.Counter
    /// Messages posted for sending and dropped because the outgoing queue was full.
    let networkOutgoingDropped: CoreMetrics.Counter
    let networkRequestsResent: CoreMetrics.Counter
    /// Instance announcements ignored as invalid.
    let networkAnnouncementsInvalid: CoreMetrics.Counter
    /// Gossiped transaction batches dropped, oldest first, from the bounded transaction lane.
    let transactionBatchesDropped: CoreMetrics.Counter
    /// Blocks, statuses and peer events dropped, oldest first, from the chain's bounded urgent lane.
    let chainEventsDropped: CoreMetrics.Counter
    private let factory: PrometheusMetricsFactory
    /// Per protocol: events delivered to and dropped from its inbox (label `protocol`).
    private let protocolCounters = Mutex<[ProtocolId: (delivered: CoreMetrics.Counter, dropped: CoreMetrics.Counter)]>([:])
    /// Time from a block's slot start to its arrival here.
    let blockPropagation: CoreMetrics.Timer
    /// Time to apply a received block (validation included).
    let blockApplication: CoreMetrics.Timer
    /// Time to handle a submitted transaction (validation, mempool).
    let transactionAdmission: CoreMetrics.Timer

    public init() {
        registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        self.factory = factory
        headHeight = CoreMetrics.Gauge(label: "alza_head_height", factory: factory)
        libHeight = CoreMetrics.Gauge(label: "alza_lib_height", factory: factory)
        peers = CoreMetrics.Gauge(label: "alza_peers", factory: factory)
        mempoolSize = CoreMetrics.Gauge(label: "alza_mempool_transactions", factory: factory)
        missedSlots = CoreMetrics.Gauge(label: "alza_missed_slots", factory: factory)
        blocksProduced = CoreMetrics.Counter(label: "alza_blocks_produced_total", factory: factory)
        blocksApplied = CoreMetrics.Counter(label: "alza_blocks_applied_total", factory: factory)
        blocksRejected = CoreMetrics.Counter(label: "alza_blocks_rejected_total", factory: factory)
        forkSwitches = CoreMetrics.Counter(label: "alza_fork_switches_total", factory: factory)
        transactionsAccepted = CoreMetrics.Counter(label: "alza_transactions_accepted_total", factory: factory)
        transactionsRejected = CoreMetrics.Counter(label: "alza_transactions_rejected_total", factory: factory)
        networkBytesSent = CoreMetrics.Counter(label: "alza_network_sent_bytes_total", factory: factory)
        networkBytesReceived = CoreMetrics.Counter(label: "alza_network_received_bytes_total", factory: factory)
        networkRefusals = CoreMetrics.Counter(label: "alza_network_refusals_total", factory: factory)
        networkSlowPeersDropped = CoreMetrics.Counter(label: "alza_network_slow_peers_dropped_total", factory: factory)
        networkEventsDropped = CoreMetrics.Counter(label: "alza_network_events_dropped_total", factory: factory)
        networkUnroutable = CoreMetrics.Counter(label: "alza_network_unroutable_total", factory: factory)
        networkOverloadedConnections = CoreMetrics.Counter(label: "alza_network_overloaded_connections_total", factory: factory)
        networkOutgoingDropped = CoreMetrics.Counter(label: "alza_network_outgoing_dropped_total", factory: factory)
        networkRequestsResent = CoreMetrics.Counter(label: "alza_network_requests_resent_total", factory: factory)
        networkAnnouncementsInvalid = CoreMetrics.Counter(label: "alza_network_invalid_announcements_total", factory: factory)
        transactionBatchesDropped = CoreMetrics.Counter(label: "alza_transaction_batches_dropped_total", factory: factory)
        chainEventsDropped = CoreMetrics.Counter(label: "alza_chain_events_dropped_total", factory: factory)
        blockPropagation = CoreMetrics.Timer(label: "alza_block_propagation_seconds", factory: factory)
        blockApplication = CoreMetrics.Timer(label: "alza_block_application_seconds", factory: factory)
        transactionAdmission = CoreMetrics.Timer(label: "alza_transaction_admission_seconds", factory: factory)
    }

    /// The delivered and dropped counters of a protocol's inbox, made on first use.
    func protocolTraffic(_ id: ProtocolId) -> (delivered: CoreMetrics.Counter, dropped: CoreMetrics.Counter) {
        protocolCounters.withLock { counters in
            if let existing = counters[id] { return existing }
            let dimensions = [("protocol", id.description)]
            let made = (CoreMetrics.Counter(label: "alza_protocol_events_delivered_total", dimensions: dimensions, factory: factory),
                        CoreMetrics.Counter(label: "alza_protocol_events_dropped_total", dimensions: dimensions, factory: factory))
            counters[id] = made
            return made
        }
    }

    /// The Prometheus text exposition.
    public func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
