import CoreMetrics
import Prometheus

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
    /// Transport events the node could not take in time (its event buffer was full).
    let networkEventsDropped: CoreMetrics.Counter
    /// Gossiped transaction batches dropped, oldest first, from the bounded transaction lane.
    let transactionBatchesDropped: CoreMetrics.Counter
    /// Time from a block's slot start to its arrival here.
    let blockPropagation: CoreMetrics.Timer
    /// Time to apply a received block (validation included).
    let blockApplication: CoreMetrics.Timer
    /// Time to handle a submitted transaction (validation, mempool).
    let transactionAdmission: CoreMetrics.Timer

    public init() {
        registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
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
        transactionBatchesDropped = CoreMetrics.Counter(label: "alza_transaction_batches_dropped_total", factory: factory)
        blockPropagation = CoreMetrics.Timer(label: "alza_block_propagation_seconds", factory: factory)
        blockApplication = CoreMetrics.Timer(label: "alza_block_application_seconds", factory: factory)
        transactionAdmission = CoreMetrics.Timer(label: "alza_transaction_admission_seconds", factory: factory)
    }

    /// The Prometheus text exposition.
    public func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
