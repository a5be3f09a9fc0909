import AlzaCore

/// Where one chain lives in RaFi's namespace (DESIGN.md §7):
///
/// ```
/// /chain/<chain id hex>/genesis.json                                   the genesis file's exact bytes
/// /chain/<chain id hex>/segments/<first>-<last>-<last block id>.seg    blocks first...last (ChainSegmentFile)
/// /chain/<chain id hex>/checkpoints/<height>-<block id>.ckp            a state checkpoint + journal (ChainCheckpointArchive)
/// /chain/<chain id hex>/finality/<height>-<block id>.evidence          what made that block irreversible
/// ```
///
/// Heights are 12 decimal digits (more only past 10¹²), ids lowercase hex. A name carries the id of the block its
/// content ends at, so a replica is checked against its own name without trusting the DataNode that served it;
/// the parsers accept exactly what the builders write, so one file has one name.
public struct ChainArchiveLayout: Hashable, Sendable {
    public let chainId: Hash

    public init(chainId: Hash) { self.chainId = chainId }

    public var root: String { "/chain/" + chainId.hex }
    public var genesisPath: String { root + "/genesis.json" }
    public var segmentsFolder: String { root + "/segments" }
    public var checkpointsFolder: String { root + "/checkpoints" }
    public var finalityFolder: String { root + "/finality" }

    public func path(of segment: SegmentName) -> String { segmentsFolder + "/" + segment.fileName }

    public func path(of point: PointName) -> String {
        (point.kind == .checkpoint ? checkpointsFolder : finalityFolder) + "/" + point.fileName
    }

    /// A file of this chain's archive, as its path says.
    public enum Entry: Hashable, Sendable {
        case genesis
        case segment(SegmentName)
        case checkpoint(PointName)
        case evidence(PointName)
    }

    /// Parses a full RaFi path of this chain's archive; a path under another chain id is `wrongChain`.
    public func entry(atPath path: String) throws(ChainArchiveError) -> Entry {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 4, parts[0].isEmpty, parts[1] == "chain" else {
            throw .invalidName(path, reason: "not under /chain/<chain id>/")
        }
        guard let id = Self.hash(parts[2]) else { throw .invalidName(path, reason: "\(parts[2]) is not a chain id") }
        guard id == chainId else { throw .wrongChain(expected: chainId, found: id) }
        switch (parts.count, parts[3]) {
        case (4, "genesis.json"): return .genesis
        case (5, "segments"): return .segment(try SegmentName(parsing: parts[4]))
        case (5, "checkpoints"): return .checkpoint(try PointName(parsing: parts[4], kind: .checkpoint))
        case (5, "finality"): return .evidence(try PointName(parsing: parts[4], kind: .evidence))
        default: throw .invalidName(path, reason: "not genesis.json, segments/, checkpoints/ or finality/")
        }
    }

    /// A segment given either by its file name or by its full path in this chain's archive.
    public func segmentName(_ nameOrPath: String) throws(ChainArchiveError) -> SegmentName {
        guard nameOrPath.contains("/") else { return try SegmentName(parsing: nameOrPath) }
        guard case .segment(let name) = try entry(atPath: nameOrPath) else {
            throw .invalidName(nameOrPath, reason: "not a segment")
        }
        return name
    }

    /// The name of a segment file: `<first>-<last>-<last block id>.seg`.
    public struct SegmentName: Hashable, Sendable, CustomStringConvertible {
        public let first: UInt64
        public let last: UInt64
        /// The id of block `last`: the segment's content address.
        public let lastBlockId: Hash

        /// `first` is at least 1 and at most `last` (a segment holds at least one block).
        public init(first: UInt64, last: UInt64, lastBlockId: Hash) {
            precondition(first >= 1 && first <= last, "a segment holds heights 1 or more, first <= last")
            self.first = first
            self.last = last
            self.lastBlockId = lastBlockId
        }

        public init(parsing fileName: String) throws(ChainArchiveError) {
            guard fileName.hasSuffix(".seg") else { throw .invalidName(fileName, reason: "a segment name ends in .seg") }
            let parts = fileName.dropLast(4).split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3 else { throw .invalidName(fileName, reason: "expected <first>-<last>-<block id>.seg") }
            guard let first = ChainArchiveLayout.height(parts[0]), let last = ChainArchiveLayout.height(parts[1]) else {
                throw .invalidName(fileName, reason: "heights are 12 decimal digits")
            }
            guard first >= 1, first <= last else { throw .invalidName(fileName, reason: "heights \(first)-\(last) are no range") }
            guard let id = ChainArchiveLayout.hash(parts[2]) else {
                throw .invalidName(fileName, reason: "\(parts[2]) is not a lowercase block id")
            }
            self.init(first: first, last: last, lastBlockId: id)
        }

        public var heights: ClosedRange<UInt64> { first...last }
        public var count: UInt64 { last - first + 1 }

        public var fileName: String {
            ChainArchiveLayout.padded(first) + "-" + ChainArchiveLayout.padded(last) + "-" + lastBlockId.hex + ".seg"
        }

        public var description: String { fileName }
    }

    /// The name of a file about one block: a checkpoint (`<height>-<block id>.ckp`) or finality evidence
    /// (`<height>-<block id>.evidence`).
    public struct PointName: Hashable, Sendable, CustomStringConvertible {
        public enum Kind: String, Hashable, Sendable {
            case checkpoint = ".ckp"
            case evidence = ".evidence"
        }

        public let kind: Kind
        public let height: UInt64
        public let blockId: Hash

        public init(kind: Kind, height: UInt64, blockId: Hash) {
            self.kind = kind
            self.height = height
            self.blockId = blockId
        }

        public init(parsing fileName: String, kind: Kind) throws(ChainArchiveError) {
            guard fileName.hasSuffix(kind.rawValue) else {
                throw .invalidName(fileName, reason: "expected <height>-<block id>\(kind.rawValue)")
            }
            let parts = fileName.dropLast(kind.rawValue.count).split(separator: "-", omittingEmptySubsequences: false)
                .map(String.init)
            guard parts.count == 2 else { throw .invalidName(fileName, reason: "expected <height>-<block id>\(kind.rawValue)") }
            guard let height = ChainArchiveLayout.height(parts[0]) else {
                throw .invalidName(fileName, reason: "the height is 12 decimal digits")
            }
            guard let id = ChainArchiveLayout.hash(parts[1]) else {
                throw .invalidName(fileName, reason: "\(parts[1]) is not a lowercase block id")
            }
            self.init(kind: kind, height: height, blockId: id)
        }

        public var fileName: String { ChainArchiveLayout.padded(height) + "-" + blockId.hex + kind.rawValue }

        public var description: String { fileName }
    }

    // MARK: Parts of names

    /// A height as ChainStorage pads it: at least 12 digits.
    static func padded(_ value: UInt64) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, 12 - text.count)) + text
    }

    /// The height `padded` wrote, or nil for anything else (signs, short or over-padded numbers).
    static func height(_ text: String) -> UInt64? {
        guard text.utf8.count >= 12, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let value = UInt64(text), padded(value) == text
        else { return nil }
        return value
    }

    /// A 64-character lowercase hex hash (`Hash.hex`), or nil.
    static func hash(_ text: String) -> Hash? {
        guard text.utf8.count == 64, let hash = try? Hash(hex: text), hash.hex == text else { return nil }
        return hash
    }
}
