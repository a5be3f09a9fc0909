import AlzaCore
import AlzaLedger

extension NodeAPI {
    /// A field as the chain records it (DESIGN.md §6): participants, deposits, roots and final balances only.
    public struct FieldView: Codable, Sendable, Equatable {
        public struct Participant: Codable, Sendable, Equatable {
            public var address: String
            public var deposit: Amount
            /// The balance settled to it (absent until the field closes): its line, with the top-ups and exits
            /// that moved on chain (D34).
            public var finalBalance: Amount?
            /// What moved on chain while open (D34): top-ups credited, and withdrawals paid or locks taken.
            public var toppedUp: Amount
            public var withdrawn: Amount
            /// The field its deposit was locked in, when a lock brought it.
            public var lockedFrom: String?
        }

        public struct Settlement: Codable, Sendable, Equatable {
            public var number: UInt64
            public var paymentCount: UInt64
            public var paymentsRoot: String
            public var balancesHash: String
            /// `H(field ‖ number ‖ payments root ‖ participants hash ‖ balances hash)`: the leaf of the block's field root.
            public var commitment: String
            /// Height of the block that settled it (closed fields).
            public var height: UInt64?
            /// Its RFC 6962 inclusion in that block's field root: leaf index, tree size, path (hex).
            public var proofIndex: Int?
            public var proofTreeSize: Int?
            public var proofPath: [String]?
            /// Why there is no proof, when there is none for a closed field.
            public var proofUnavailable: String?
        }

        public var id: String
        public var status: String
        public var leader: String
        public var leaderKey: String
        public var bond: Amount
        public var leaderForfeited: Bool
        public var challengeSeconds: UInt32
        public var participantsHash: String
        public var participants: [Participant]
        public var claimedAtHeight: UInt64
        public var openedAtHeight: UInt64?
        /// A closing field's deadline (unix ms) and the receipt index under dispute, if any.
        public var deadline: UInt64?
        public var disputedIndex: UInt64?
        /// The posted (closing) or settled (closed) snapshot.
        public var snapshot: Settlement?
        /// The snapshot anchored by a withdrawal or a lock settlement (D34; 0: the opening), and how much of the
        /// leader's bond answers for locks not yet shown in a fully signed snapshot.
        public var anchoredSnapshot: UInt64
        public var bondInUseForLocks: Amount

        init(_ record: FieldRecord, settledIn block: Block?, fields: (FieldId) -> FieldRecord?) {
            id = record.id.hash.hex
            leader = record.leader.description
            leaderKey = record.leaderKey.hex
            bond = record.bond
            leaderForfeited = record.leaderForfeited
            challengeSeconds = record.challengeSeconds
            participantsHash = record.participantsHash.hex
            claimedAtHeight = record.claimedAtHeight
            openedAtHeight = record.openedAtHeight == 0 ? nil : record.openedAtHeight
            status = record.status.name
            anchoredSnapshot = record.base.number
            bondInUseForLocks = record.collateralInUse
            var finals: [Amount]?
            switch record.status {
            case .claimed, .open: break
            case .closing(let posted, let deadline, let dispute):
                self.deadline = deadline
                disputedIndex = dispute?.index
                snapshot = Self.settlement(posted, of: record, height: nil)
            case .closed(let settled, let height):
                finals = try? record.owed(on: settled).amounts
                var view = Self.settlement(settled, of: record, height: height)
                if let block {
                    switch FieldRootProof.proof(for: record.id, in: block, fields: fields) {
                    case .success(let proof):
                        view.proofIndex = proof.index
                        view.proofTreeSize = proof.treeSize
                        view.proofPath = proof.path.map(\.hex)
                    case .failure(let reason):
                        view.proofUnavailable = reason.description
                    }
                } else {
                    view.proofUnavailable = "this node does not hold block \(height)"
                }
                snapshot = view
            case .annulled:
                finals = try? record.owed(on: record.base).amounts
            }
            participants = record.participants.indices.map { index in
                Participant(address: record.participants[index].description, deposit: record.deposits[index],
                            finalBalance: finals?[index], toppedUp: record.flows[index].deposited,
                            withdrawn: record.flows[index].withdrawn,
                            lockedFrom: record.lockedDeposits.first { Int($0.position) == index }?.source.hash.hex)
            }
        }

        private static func settlement(_ settlement: FieldSettlement, of record: FieldRecord, height: UInt64?) -> Settlement {
            Settlement(number: settlement.number, paymentCount: settlement.paymentCount,
                       paymentsRoot: settlement.paymentsRoot.hex, balancesHash: settlement.balancesHash.hex,
                       commitment: record.commitment(of: settlement).hex,
                       height: height)
        }
    }

    /// One line of `GET /v1/fields`.
    public struct FieldSummary: Codable, Sendable, Equatable {
        public var id: String
        public var status: String
        public var leader: String
        public var participants: Int
        /// What the field holds of the supply now (bond and deposits).
        public var held: Amount
    }
}
