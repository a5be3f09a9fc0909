import AlzaNet
import CoreMetrics

/// Turns the transport's and the chain lanes' running totals into Prometheus counter increments: every counter
/// the network keeps is exported (DESIGN.md §8), each advanced by what it grew since the last look.
struct TransportMetricsExport {
    /// What the chain service's bounded lanes dropped, as totals.
    struct LaneDrops: Equatable {
        var transactionBatches: UInt64 = 0
        var urgentEvents: UInt64 = 0
    }

    private var last = TransportStatistics()
    private var lastLanes = LaneDrops()

    mutating func export(_ statistics: TransportStatistics, lanes: LaneDrops, to metrics: NodeMetrics) {
        func advance(_ counter: KeyPath<NodeMetrics, CoreMetrics.Counter>, _ value: KeyPath<TransportStatistics, UInt64>) {
            metrics[keyPath: counter].increment(by: Int64(Self.growth(from: last[keyPath: value], to: statistics[keyPath: value])))
        }
        metrics.peers.record(Int64(statistics.peers))
        advance(\.networkBytesSent, \.bytesSent)
        advance(\.networkBytesReceived, \.bytesReceived)
        advance(\.networkRefusals, \.refusals)
        advance(\.networkSlowPeersDropped, \.droppedSlowPeers)
        advance(\.networkEventsDropped, \.eventsDropped)
        advance(\.networkUnroutable, \.unroutable)
        advance(\.networkOverloadedConnections, \.overloadedConnections)
        advance(\.networkOutgoingDropped, \.outgoingDropped)
        advance(\.networkRequestsResent, \.requestsResent)
        advance(\.networkAnnouncementsInvalid, \.announcementsInvalid)
        for (id, traffic) in statistics.protocols {
            let before = last.protocols[id] ?? ProtocolTraffic(priority: traffic.priority)
            let counters = metrics.protocolTraffic(id)
            counters.delivered.increment(by: Int64(Self.growth(from: before.delivered, to: traffic.delivered)))
            counters.dropped.increment(by: Int64(Self.growth(from: before.dropped, to: traffic.dropped)))
        }
        metrics.transactionBatchesDropped.increment(by: Int64(Self.growth(from: lastLanes.transactionBatches, to: lanes.transactionBatches)))
        metrics.chainEventsDropped.increment(by: Int64(Self.growth(from: lastLanes.urgentEvents, to: lanes.urgentEvents)))
        last = statistics
        lastLanes = lanes
    }

    /// Totals only grow; a smaller one (a restarted transport) counts from zero.
    static func growth(from before: UInt64, to now: UInt64) -> UInt64 { now >= before ? now - before : now }
}
