import AlzaCore
import AlzaNetCore

// `gossip`: a GossipCore driven by fake peers; the input is a script of events with increasing time.
//
// Script: repeated `op | dt | ...`: op's high nibble is the event, its low nibble the peer (modulo 5); time
// advances dt × 16 ms. Events with a payload take `u16 length | bytes` (the frame payload as received).

let gossipPeers = (0..<5).map { "peer-\($0)" }

enum GossipEvent: UInt8 {
    case connect = 0, disconnect, gossip, gossip2, ihave, iwant, graft, prune, tick, publish, ihaveKnown, iwantKnown
}

let gossipHarness = Harness(
    name: "gossip",
    summary: "GossipCore fed decoded gossip/ihave/iwant/graft/prune frames from 5 fake peers with increasing time",
    run: { input in
        var configuration = GossipCore.Configuration()
        configuration.meshDegree = 2
        configuration.meshLow = 1
        configuration.meshHigh = 3
        configuration.seenMilliseconds = 2_000
        configuration.messageCacheMilliseconds = 1_500
        configuration.messageCacheLimit = 8
        configuration.iwantTimeoutMilliseconds = 300
        configuration.recentAnnounceMilliseconds = 500
        configuration.lazyDegree = 2
        var core = GossipCore(configuration: configuration, seed: 7)
        var reader = ByteReader(input)
        var now: UInt64 = 1_000_000
        var connected: Set<String> = []
        var knownIds: [Hash] = []
        var firstDelivery: [Hash: UInt64] = [:]
        var steps = 0

        func payload() -> [UInt8] { reader.take(Int(reader.u16() % 2_048)) }

        func audit(_ effects: [GossipCore.Effect], requested: [Hash]? = nil) {
            for effect in effects {
                _ = "\(effect)"
                switch effect {
                case .send(let frame, let peer):
                    check(connected.contains(peer), "sent \(frame.kind) to \(peer), which is not connected")
                    switch frame.kind {
                    case .gossip:
                        guard let message = try? GossipMessage(canonicalBytes: frame.payload) else {
                            violation("sent an undecodable gossip frame")
                        }
                        if let requested { check(requested.contains(message.id), "iwant answered with an unrequested message") }
                    case .ihave, .iwant:
                        guard let ids = try? MessageIds(canonicalBytes: frame.payload) else {
                            violation("sent an undecodable \(frame.kind) frame")
                        }
                        check(!ids.ids.isEmpty && ids.ids.count <= MessageIds.maximum, "\(frame.kind) with \(ids.ids.count) ids")
                    case .graft, .prune:
                        check(frame.payload.isEmpty, "\(frame.kind) frame with a payload")
                    default:
                        violation("gossip sent a \(frame.kind) frame")
                    }
                case .deliver(let message, let id, let peer):
                    check(id == message.id, "delivered id is not the message's id")
                    check(connected.contains(peer), "delivered from \(peer), which is not connected")
                    if let first = firstDelivery[id] {
                        check(now - first >= configuration.seenMilliseconds,
                              "message delivered twice within \(now - first) ms (seen window \(configuration.seenMilliseconds) ms)")
                    }
                    firstDelivery[id] = now
                    if knownIds.count < 64 { knownIds.append(id) }
                }
            }
            let peers = core.connectedPeers
            check(Set(peers).count == peers.count, "a peer is listed twice")
            check(Set(peers) == connected, "core's peers \(peers.sorted()) differ from the connected \(connected.sorted())")
            check(core.mesh.isSubset(of: connected), "mesh holds a peer that is not connected")
            check(core.mesh.count <= configuration.meshHigh, "mesh of \(core.mesh.count) passes the high bound")
        }

        while !reader.isAtEnd && steps < 400 {
            steps += 1
            let op = reader.byte()
            let peer = gossipPeers[Int(op & 0x0f) % gossipPeers.count]
            now += UInt64(reader.byte()) * 16
            let event = GossipEvent(rawValue: op >> 4) ?? .tick
            let isConnected = connected.contains(peer)
            switch event {
            case .connect:
                connected.insert(peer)
                audit(core.peerConnected(peer, now: now))
            case .disconnect:
                connected.remove(peer)
                core.peerDisconnected(peer)
                audit([])
            case .gossip, .gossip2:
                let bytes = payload()
                do {
                    let message = try GossipMessage(canonicalBytes: bytes)
                    if isConnected { audit(core.received(message, from: peer, now: now)) }
                } catch {
                    exercise(error)
                }
            case .ihave, .iwant:
                let bytes = payload()
                do {
                    let ids = try MessageIds(canonicalBytes: bytes).ids
                    guard isConnected else { break }
                    if event == .ihave {
                        audit(core.receivedIHave(ids, from: peer, now: now))
                    } else {
                        audit(core.receivedIWant(ids, from: peer), requested: ids)
                    }
                } catch {
                    exercise(error)
                }
            case .ihaveKnown, .iwantKnown:
                // Ids of messages seen earlier in this run (the fuzzer cannot invent SHA-256 ids).
                let count = Int(reader.byte() % 8)
                let ids = (0..<count).compactMap { _ -> Hash? in
                    let index = Int(reader.byte())
                    return knownIds.isEmpty ? nil : knownIds[index % knownIds.count]
                }
                guard isConnected else { break }
                if event == .ihaveKnown {
                    audit(core.receivedIHave(ids, from: peer, now: now))
                } else {
                    audit(core.receivedIWant(ids, from: peer), requested: ids)
                }
            case .graft:
                if isConnected { audit(core.receivedGraft(from: peer)) }
            case .prune:
                if isConnected {
                    core.receivedPrune(from: peer)
                    audit([])
                }
            case .tick:
                audit(core.tick(now: now))
            case .publish:
                let topic = GossipTopic(rawValue: reader.byte())
                let message = GossipMessage(topic: topic, payload: payload())
                if knownIds.count < 64 { knownIds.append(message.id) }
                audit(core.publish(message, now: now))
            }
        }
    },
    seeds: {
        func op(_ event: GossipEvent, _ peer: UInt8, dt: UInt8 = 1) -> [UInt8] { [event.rawValue << 4 | peer, dt] }
        func withPayload(_ bytes: [UInt8]) -> [UInt8] { [UInt8(bytes.count & 0xff), UInt8(bytes.count >> 8)] + bytes }
        let message = GossipMessage(topic: .blocks, payload: Array("block".utf8))
        let other = GossipMessage(topic: .transactions, payload: [1, 2, 3, 4])
        let connectAll = (0..<5).flatMap { op(.connect, UInt8($0)) }
        return [
            connectAll + op(.gossip, 0) + withPayload(message.canonicalBytes) + op(.tick, 0, dt: 10),
            connectAll + op(.publish, 0) + [1] + withPayload([9, 9]) + op(.tick, 0, dt: 50) + op(.tick, 0, dt: 200),
            op(.connect, 1) + op(.connect, 2) + op(.ihave, 1) + withPayload(MessageIds([message.id, other.id]).canonicalBytes)
                + op(.gossip, 2) + withPayload(other.canonicalBytes) + op(.iwantKnown, 1) + [1, 0],
            connectAll + op(.graft, 3) + op(.graft, 4) + op(.prune, 0) + op(.disconnect, 1) + op(.tick, 0, dt: 255)
                + op(.connect, 1),
            op(.connect, 0) + op(.gossip, 0) + withPayload(message.canonicalBytes) + op(.ihaveKnown, 0) + [1, 0]
                + op(.tick, 0, dt: 255) + op(.tick, 0, dt: 255) + op(.gossip, 0) + withPayload(message.canonicalBytes),
        ]
    })
