import AlzaCore

/// A DataNode as placement sees it.
public struct PlacementCandidate: Sendable, Equatable {
    public var location: DataNodeLocation
    public var remaining: UInt64
    public var transfersInProgress: UInt32

    public init(location: DataNodeLocation, remaining: UInt64, transfersInProgress: UInt32) {
        self.location = location
        self.remaining = remaining
        self.transfersInProgress = transfersInProgress
    }
}

/// Where a block's replicas go and which one goes when there are too many (HDFS's BlockPlacementPolicy). The
/// NameNode asks it with the in-service DataNodes only; a policy is pure and draws from the random source given.
public protocol BlockPlacementPolicy: Sendable {
    /// `count` more targets for a block that already has replicas on `chosen`, never one of `chosen` or
    /// `excluded`, each with room for `blockBytes`. Fewer when the cluster cannot take more.
    func chooseTargets(count: Int, writer: StorageID?, chosen: [DataNodeLocation], excluded: Set<StorageID>,
                       candidates: [PlacementCandidate], blockBytes: UInt64,
                       random: inout SeededRandom) -> [DataNodeLocation]

    /// Which of `replicas` (more than the replication) to delete so that what stays is still well placed.
    func replicaToDelete(from replicas: [PlacementCandidate], deleteHint: StorageID?) -> StorageID?

    /// Whether `locations` are spread as the policy wants (for the badly-distributed queue and the balancer).
    func isWellPlaced(_ locations: [DataNodeLocation], replication: Int, rackCount: Int) -> Bool
}

/// HDFS's default policy (BlockPlacementPolicyDefault): the first replica on the writer when it is a DataNode
/// (else anywhere), the second on another rack, the third on the second's rack on another node, more at random;
/// at most `(replicas - 1) / racks + 2` replicas per rack, one per node; a node busier than twice the average
/// (transfers in progress) is passed over while others can take the block.
public struct RackAwarePlacement: BlockPlacementPolicy {
    public init() {}

    public static func maximumNodesPerRack(totalReplicas: Int, rackCount: Int) -> Int {
        rackCount <= 1 ? totalReplicas : (totalReplicas - 1) / rackCount + 2
    }

    public func chooseTargets(count: Int, writer: StorageID?, chosen: [DataNodeLocation], excluded: Set<StorageID>,
                              candidates: [PlacementCandidate], blockBytes: UInt64,
                              random: inout SeededRandom) -> [DataNodeLocation] {
        let taken = Set(chosen.map(\.storageID)).union(excluded)
        var pool = candidates.filter { !taken.contains($0.location.storageID) && $0.remaining >= blockBytes }
            .sorted { $0.location.storageID < $1.location.storageID }
        guard !pool.isEmpty, count > 0 else { return [] }
        let averageLoad = Double(candidates.reduce(0) { $0 + Int($1.transfersInProgress) }) / Double(max(1, candidates.count))
        let unloaded = pool.filter { Double($0.transfersInProgress) <= max(2, 2 * averageLoad) }
        if !unloaded.isEmpty { pool = unloaded }

        let racks = Set(candidates.map(\.location.rack)).union(chosen.map(\.rack))
        let total = min(chosen.count + count, chosen.count + pool.count)
        let perRack = Self.maximumNodesPerRack(totalReplicas: total, rackCount: racks.count)
        var result = chosen
        var added: [DataNodeLocation] = []

        func pick(_ wanted: (DataNodeLocation) -> Bool) -> Bool {
            let fitting = pool.filter { candidate in
                wanted(candidate.location) && result.filter { $0.rack == candidate.location.rack }.count < perRack
            }
            guard !fitting.isEmpty else { return false }
            let choice = fitting[random.next(below: fitting.count)]
            result.append(choice.location)
            added.append(choice.location)
            pool.removeAll { $0.location.storageID == choice.location.storageID }
            return true
        }

        while added.count < count, !pool.isEmpty {
            let placed: Bool
            switch result.count {
            case 0:
                placed = (writer.map { id in pick { $0.storageID == id } } ?? false) || pick { _ in true }
            case 1:
                let first = result[0].rack
                placed = pick { $0.rack != first } || pick { _ in true }
            case 2:
                let (first, second) = (result[0].rack, result[1].rack)
                placed = first == second
                    ? (pick { $0.rack != first } || pick { _ in true })
                    : (pick { $0.rack == second } || pick { _ in true })
            default:
                placed = pick { _ in true }
            }
            if !placed { break }
        }
        return added
    }

    public func replicaToDelete(from replicas: [PlacementCandidate], deleteHint: StorageID?) -> StorageID? {
        var byRack: [String: Int] = [:]
        for replica in replicas { byRack[replica.location.rack, default: 0] += 1 }
        // Only a replica whose rack keeps another one may go, so no rack is lost (unless every rack has one).
        let sharing = replicas.filter { byRack[$0.location.rack]! > 1 }
        let eligible = sharing.isEmpty ? replicas : sharing
        if let deleteHint, let hinted = eligible.first(where: { $0.location.storageID == deleteHint }) {
            return hinted.location.storageID
        }
        return eligible.min { ($0.remaining, $0.location.storageID) < ($1.remaining, $1.location.storageID) }?.location.storageID
    }

    public func isWellPlaced(_ locations: [DataNodeLocation], replication: Int, rackCount: Int) -> Bool {
        replication <= 1 || rackCount <= 1 || Set(locations.map(\.rack)).count >= 2
    }
}
