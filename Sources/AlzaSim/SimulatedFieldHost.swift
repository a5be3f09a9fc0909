import AlzaCore
import AlzaField
import AlzaLedger
import AlzaNetCore

/// The `field` protocol on one simulated node (DESIGN.md §6, §8), as a node's transport and `FieldService` hold
/// it: the protocol registry with the instances the node hosts, the instance directory learnt from hellos and
/// gossip, the request correlator, and the field actors — leaders (`FieldLeaderCore`) and wallet accounts
/// (`FieldParticipantCore`) — with the node's one field journal on its simulated disk. Made at every start and
/// lost with a crash; each actor is made again when a message or the workload needs it, from the chain's record
/// and its journal records, as a node's actors are.
final class SimulatedFieldHost {
    static let journalName = "fields.journal"

    /// A field leader on this node: the core, the requests waiting for its answers, and its close.
    struct Leader {
        var core: FieldLeaderCore
        /// Requests waiting for a payment's receipt or refusal, by payment hash.
        var waiting: [Hash: [Reply]] = [:]
        /// Set by the cooperative close: payments are refused from then on.
        var closing = false
        /// The close signatures asked for: the final snapshot, its time limit, and the signatures in so far.
        var closeAsked: (final: SignedFieldSnapshot, closeBy: UInt64, signatures: [Address: Signature])?
        /// The slot the field-close was submitted at (asked again if it does not land).
        var closeSubmittedAt: UInt64?
    }

    /// Where a request's answer goes: back over the link to the asking node under its request id.
    struct Reply {
        var node: Int
        var requestId: UInt64
        var address: ActorAddress
    }

    /// What an outstanding request of this node asked, so its answer (or its failure) reaches the asker.
    enum Request {
        /// A wallet account's payment to the field's leader.
        case payment(FieldJournalOwner, SignedFieldPayment)
        /// A leader's request for a participant's close signature.
        case closeSignature(FieldId, Address)
    }

    var registry = ProtocolRegistry()
    var directory: InstanceDirectory
    var correlator = RequestCorrelator()
    let journal: RecordLog
    /// Journal records written before this start, by owner (replayed when the actor is made).
    private(set) var recovered: [FieldJournalOwner: [[UInt8]]] = [:]
    var leaders: [FieldId: Leader] = [:]
    /// Wallet accounts' cores, by `.participant(field, account)`.
    var participants: [FieldJournalOwner: FieldParticipantCore] = [:]
    var requests: [UInt64: Request] = [:]
    /// Each wallet account's payment without an answer yet (it pays one at a time), and the accounts whose
    /// payment request is out now (the others are sent again).
    var unanswered: [FieldJournalOwner: SignedFieldPayment] = [:]
    var paymentsOut: Set<FieldJournalOwner> = []
    /// The first fully signed snapshot each account received (what a dishonest one posts), and what each account's
    /// chain watcher last submitted, when (local time): submitted again only if still called for 10 s later.
    var firstFullySigned: [FieldJournalOwner: SignedFieldSnapshot] = [:]
    var reacted: [FieldJournalOwner: (payload: MessagePayload, at: UInt64)] = [:]
    /// A failed journal write stops the node's field actors (they could not keep a promise any more).
    private(set) var journalFailure: String?

    /// Opens the node's field journal (a torn tail is cut and said in `repair`) and registers the protocol.
    init(storage: MemoryStorage, chainId: Hash) throws(StorageError) {
        directory = InstanceDirectory(chainId: chainId)
        journal = RecordLog(storage: storage, name: Self.journalName)
        let opened = try journal.open()
        repair = opened.repair
        for bytes in opened.records {
            guard let record = try? FieldJournalRecord(canonicalBytes: bytes) else { break }
            recovered[record.owner, default: []].append(record.entry)
        }
        do {
            try registry.register(ProtocolRegistration(.field, priority: .payments, inboxCapacity: 65_536))
        } catch {
            preconditionFailure("a fresh registry takes the field protocol: \(error)")
        }
    }

    /// What opening the journal cut off its tail, if anything.
    let repair: String?

    static func leaderAddress(_ field: FieldId) -> ActorAddress { ActorAddress(.field, instance: InstanceId(field.hash)) }
    static func participantAddress(_ account: Address) -> ActorAddress {
        ActorAddress(.field, instance: InstanceId(account.bytes32.bytes))
    }

    /// The account an instance id names, if it is one.
    static func account(of instance: InstanceId?) -> Address? {
        instance.flatMap { Bytes32($0.bytes) }.map(Address.init(bytes32:))
    }

    /// Starts hosting `address`; true when the node's announcement must change.
    func host(_ address: ActorAddress) -> Bool {
        guard let instance = address.instance else { return false }
        do {
            return try registry.host(instance, of: .field)
        } catch {
            preconditionFailure("the field protocol is registered at start: \(error)")
        }
    }

    /// Appends journal records for `owner` and makes them durable before the caller acts on them (a node's
    /// `GroupCommitJournal`, one write at a time). False once a write failed.
    @discardableResult
    func append(_ entries: [[UInt8]], for owner: FieldJournalOwner) -> Bool {
        guard journalFailure == nil else { return false }
        do {
            try journal.append(entries.map { FieldJournalRecord(owner: owner, entry: $0).canonicalBytes })
            try journal.sync()
            return true
        } catch {
            journalFailure = error.description
            return false
        }
    }

    /// The records `owner` wrote before this start, handed over once (the actor made from them keeps the rest).
    func takeRecovered(_ owner: FieldJournalOwner) -> [[UInt8]] { recovered.removeValue(forKey: owner) ?? [] }
}

/// What a test or a report reads of a node's field protocol (nil or empty without `--payment-fields`).
extension Simulation.Node {
    /// The actor instances the node hosts, as its announcement lists them.
    public var hostedFieldInstances: [ActorAddress] { fields?.registry.hostedAddresses ?? [] }

    /// The keys of the other nodes this node's instance directory says host `address`.
    public func announcedHosts(of address: ActorAddress) -> [PublicKey] { fields?.directory.hosts(of: address) ?? [] }

    public func fieldLeader(_ field: FieldId) -> FieldLeaderCore? { fields?.leaders[field]?.core }

    public func fieldParticipant(_ field: FieldId, _ account: Address) -> FieldParticipantCore? {
        fields?.participants[.participant(field, account)]
    }

    /// Requests of this node still waiting for an answer.
    public var outstandingFieldRequests: Int { fields?.correlator.pending.count ?? 0 }

    public var publicKey: PublicKey { key.publicKey }
}

extension Simulation {
    /// The off-chain fields' ids, their leader nodes and their accounts, in field order.
    public var paymentFields: [(id: FieldId, leaderNode: Int, accounts: [Address], accountNodes: [Int])] {
        paymentFieldPlans.map { ($0.id, $0.leaderNode, $0.addresses, $0.accountNodes) }
    }

    /// A byzantine peer's frame: `from` sends `frame` to `to` over the simulated link (loss, partitions and
    /// latency apply), whatever its content.
    public func inject(_ frame: Frame, from: Int, to: Int) {
        transmit(frame, from: nodes[from], to: nodes[to])
    }

    /// What the field actors did so far (the report's `paymentFields`, without the end-of-run check).
    public var paymentFieldActivitySoFar: PaymentFieldActivity { fieldCounters }
}
