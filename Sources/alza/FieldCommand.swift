import AlzaCore
import AlzaLedger
import AlzaNode
import ArgumentParser
import Foundation

/// `alza field`: open, pay in, inspect, close and dispute payment fields through a node's API (DESIGN.md §6).
struct FieldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "field", abstract: "Open, pay in, inspect, close and dispute payment fields.",
        subcommands: [Open.self, Pay.self, Deposit.self, Withdraw.self, Status.self, Close.self, Dispute.self])

    /// The node's API and a key of the account that acts (it must be one the node holds).
    struct Node: ParsableArguments {
        @Option(help: "The node's API, e.g. http://127.0.0.1:18000") var api: String

        var client: NodeClient { NodeClient(api: api, timeout: 90) }
    }

    static func key(_ path: String) throws -> SigningKey {
        do {
            return try KeyFile.read(from: path)
        } catch {
            throw CommandError(error)
        }
    }

    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    static func calling<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let failure as NodeClient.Failure {
            throw CommandError("\(what): \(failure.code): \(failure.message)")
        }
    }

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a field led by the node at --api (its fieldleader role), gathering each participant's consent over the transport.",
            discussion: #"""
                PARTICIPANTS is a JSON file: [{"account": "alza1…", "deposit": "100"}, …]. An entry with "lockFrom":                 "<field id>" brings its deposit from that open field the account is in (a cross-field lock) instead                 of from the account.
                """#)

        @OptionGroup var node: Node
        @Option(help: "The leader node's key file (the field is led, and the bond paid, by that key's account).") var key: String
        @Option(help: "JSON file of the participants and their deposits.") var participants: String
        @Option(help: "Challenge window of a solo close, seconds (default 86400).") var challengeSeconds: UInt32?
        @Option(help: "Bond in ALZA (default 1).") var bond: String?

        func run() async throws {
            let signer = try FieldCommand.key(key)
            guard let data = FileManager.default.contents(atPath: participants) else { throw CommandError("cannot read \(participants)") }
            let list: [NodeAPI.FieldOpenRequest.Participant]
            do {
                list = try JSONDecoder().decode([NodeAPI.FieldOpenRequest.Participant].self, from: data)
            } catch {
                throw CommandError("\(participants) is not a participants list ([{\"account\": …, \"deposit\": …}]): \(error)")
            }
            let roles = try await FieldCommand.calling("GET /v1/roles") { try await node.client.get("/v1/roles", as: NodeAPI.Roles.self) }
            guard let leader = roles.roles.first(where: { $0.name == "fieldleader" }) else {
                throw CommandError("\(node.api) runs no fieldleader role")
            }
            guard leader.details["leaderKey"] == signer.publicKey.hex else {
                throw CommandError("\(key) is not the key of the leader node at \(node.api) (it leads with \(leader.details["leaderKey"] ?? "-"))")
            }
            let request = NodeAPI.FieldOpenRequest(participants: list, challengeSeconds: challengeSeconds, bond: bond)
            let opened = try await FieldCommand.calling("POST /v1/fields") {
                try await node.client.post("/v1/fields", request, as: NodeAPI.FieldOpened.self)
            }
            try FieldCommand.printJSON(opened)
        }
    }

    struct Pay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pay in a field from an account the node at --api holds; prints the receipt and its latency.")

        @OptionGroup var node: Node
        @Option(help: "Key file of the paying account (held by the node's wallet).") var key: String
        @Option(help: "The field id (64 hex digits).") var field: String
        @Option(help: "The payee: a participant's alza1… address.") var to: String
        @Option(help: "Amount in ALZA, e.g. 2.5") var amount: String
        @Option(help: "A memo, sealed to the payee.") var memo: String?

        func run() async throws {
            let payer = Address(try FieldCommand.key(key).publicKey)
            let started = Date()
            let receipt = try await FieldCommand.calling("POST /v1/fields/\(field)/payments") {
                try await node.client.post("/v1/fields/\(field)/payments",
                                           NodeAPI.FieldPaymentRequest(to: to, amount: amount, from: payer.description, memo: memo),
                                           as: NodeAPI.FieldPaymentReceipt.self)
            }
            try FieldCommand.printJSON(receipt)
            print(String(format: "receipted in %.2f ms (node: %.2f ms)", Date().timeIntervalSince(started) * 1_000,
                         Double(receipt.latencyMicroseconds) / 1_000))
        }
    }

    /// The account and amount of a top-up or a withdrawal.
    struct Flow: ParsableArguments {
        @Option(help: "Key file of the account (held by the node's wallet).") var key: String
        @Option(help: "The field id (64 hex digits).") var field: String
        @Option(help: "Amount in ALZA, e.g. 25") var amount: String

        func request() throws -> NodeAPI.FieldFlowRequest {
            NodeAPI.FieldFlowRequest(amount: amount, account: Address(try FieldCommand.key(key).publicKey).description)
        }
    }

    struct Deposit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add ALZA from an account to an open field it is in (field-deposit); its leader credits it once the chain has it.")

        @OptionGroup var node: Node
        @OptionGroup var flow: Flow

        func run() async throws {
            let submitted = try await FieldCommand.calling("POST /v1/fields/\(flow.field)/deposits") {
                try await node.client.post("/v1/fields/\(flow.field)/deposits", try flow.request(), as: NodeAPI.FieldActionSubmitted.self)
            }
            try FieldCommand.printJSON(submitted)
        }
    }

    struct Withdraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take ALZA out of an open field without closing it: prints the leader's receipt of the withdrawal.",
            discussion: "The node submits field-withdraw by itself once a fully signed snapshot records the withdrawal.")

        @OptionGroup var node: Node
        @OptionGroup var flow: Flow

        func run() async throws {
            let receipt = try await FieldCommand.calling("POST /v1/fields/\(flow.field)/withdrawals") {
                try await node.client.post("/v1/fields/\(flow.field)/withdrawals", try flow.request(), as: NodeAPI.FieldPaymentReceipt.self)
            }
            try FieldCommand.printJSON(receipt)
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A field's record on chain and the node's own view: balances, snapshot numbers, who has not signed.")

        @OptionGroup var node: Node
        @Option(help: "The field id (64 hex digits).") var field: String

        func run() async throws {
            let record = try await FieldCommand.calling("GET /v1/fields/\(field)") {
                try await node.client.get("/v1/fields/\(field)", as: NodeAPI.FieldView.self)
            }
            print("field \(record.id): \(record.status), leader \(record.leader), \(record.participants.count) participants"
                  + (record.anchoredSnapshot > 0 ? ", anchored at snapshot \(record.anchoredSnapshot)" : ""))
            for line in record.participants where line.toppedUp > 0 || line.withdrawn > 0 || line.lockedFrom != nil {
                print("  \(line.address): topped up \(Amounts.format(line.toppedUp)), out \(Amounts.format(line.withdrawn)) ALZA"
                      + (line.lockedFrom.map { ", deposit locked from field \($0)" } ?? ""))
            }
            let local = try? await node.client.get("/v1/fields/\(field)/local", as: FieldLocalView.self)
            if let leader = local?.leader {
                print("leader here: \(leader.payments) payments, snapshot \(leader.newestSnapshot), fully signed \(leader.newestFullySigned)")
                print("not signed the newest snapshot: \(leader.unsigned.isEmpty ? "nobody" : leader.unsigned.joined(separator: ", "))")
                for line in leader.balances { print("  \(line.account)  \(Amounts.format(line.balance)) ALZA") }
            }
            for participant in local?.participants ?? [] {
                let flows = participant.signedDeposited.map { ", topped up \(Amounts.format($0)), withdrawn \(Amounts.format(participant.signedWithdrawn ?? 0))" } ?? ""
                print("participant here: \(participant.account) signed snapshot \(participant.newestSigned) "
                      + "(balance \(participant.signedBalance.map(Amounts.format) ?? "-") ALZA\(flows)), fully signed \(participant.newestFullySigned), "
                      + "\(participant.paymentsSent) sent, \(participant.receipts) receipts")
            }
            if local == nil { print("(the node at \(node.api) neither leads this field nor holds a participant of it)") }
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a field cooperatively through its leader node: no more payments, a final snapshot, field-close.")

        @OptionGroup var node: Node
        @Option(help: "The field id (64 hex digits).") var field: String

        func run() async throws {
            let submitted = try await FieldCommand.calling("POST /v1/fields/\(field)/close") {
                try await node.client.post("/v1/fields/\(field)/close", [String: String](), as: NodeAPI.FieldCloseSubmitted.self)
            }
            try FieldCommand.printJSON(submitted)
        }
    }

    struct Dispute: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Act on chain now from a participant's node: solo-close an open field with the newest fully signed snapshot, or dispute / finalize a closing one.",
            discussion: "The node's chain watcher does the same by itself; this does it at once.")

        @OptionGroup var node: Node
        @Option(help: "The field id (64 hex digits).") var field: String

        func run() async throws {
            let submitted = try await FieldCommand.calling("POST /v1/fields/\(field)/dispute") {
                try await node.client.post("/v1/fields/\(field)/dispute", [String: String](), as: NodeAPI.FieldActionSubmitted.self)
            }
            try FieldCommand.printJSON(submitted)
        }
    }
}
