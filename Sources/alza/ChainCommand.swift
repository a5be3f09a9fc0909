import AlzaCore
import AlzaLedger
import AlzaNode
import ArgumentParser
import Foundation

struct ChainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chain", abstract: "Query a node's chain.", subcommands: [Info.self])

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the chain id, head, LIB, slot and schedule.")

        @Option(help: "The node's API, e.g. http://127.0.0.1:18000") var api: String

        func run() async throws {
            let client = NodeClient(api: api)
            do {
                let data = try await client.raw("/v1/chain/info")
                let object = try JSONSerialization.jsonObject(with: data)
                let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: pretty, as: UTF8.self))
            } catch {
                throw CommandError("cannot read \(api)/v1/chain/info: \(error)")
            }
        }
    }
}

struct TxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tx", abstract: "Build, sign and submit transactions.", subcommands: [Transfer.self])

    struct Transfer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Transfer ALZA from the key's account.")

        @Option(help: "The node's API, e.g. http://127.0.0.1:18000") var api: String
        @Option(help: "Key file of the paying account.") var key: String
        @Option(help: "Recipient: alza1… address or account name.") var to: String
        @Option(help: "Amount in ALZA, e.g. 12.5") var amount: String
        @Option(help: "Fee in base units (default: the chain's minimum).") var fee: UInt64?
        @Option(help: "Wait until the transfer is `included` or `final` (irreversible).") var wait: WaitMode?

        enum WaitMode: String, ExpressibleByArgument { case included, final }

        func run() async throws {
            let signer: SigningKey
            let value: Amount
            do {
                signer = try KeyFile.read(from: key)
                value = try Amounts.parse(amount)
            } catch let error as any AlzaError {
                throw CommandError(error)
            }
            let client = NodeClient(api: api)
            let payer = Address(signer.publicKey)
            do {
                let info = try await client.get("/v1/chain/info", as: NodeAPI.ChainInfo.self)
                let account = try await client.get("/v1/accounts/\(payer)", as: NodeAPI.AccountView.self)
                let recipient: Address
                if let address = try? Address(parsing: to) {
                    recipient = address
                } else {
                    recipient = try Address(parsing: try await client.get("/v1/accounts/\(to)", as: NodeAPI.AccountView.self).address)
                }
                let header = TransactionHeader(chainId: try Hash(hex: info.chainId),
                                               expiration: UInt64(Date().timeIntervalSince1970 * 1000) + 600_000,
                                               nonce: account.nextNonce, fee: fee ?? info.minimumFee)
                let message = Message(.transfer(inputs: [AmountEntry(payer, value)], outputs: [AmountEntry(recipient, value)],
                                                memo: []), authorizer: payer)
                let transaction = SignedTransaction.sign(Transaction(header: header, messages: [message]), with: [signer])
                let submitted = try await client.post("/v1/transactions",
                                                      NodeAPI.SubmitRequest(transaction: Hex.encode(transaction.canonicalBytes)),
                                                      as: NodeAPI.Submitted.self)
                print("submitted \(submitted.id)")
                guard let wait else { return }
                let deadline = Date().addingTimeInterval(300)
                var last = ""
                while Date() < deadline {
                    let status = try await client.get("/v1/transactions/\(submitted.id)", as: NodeAPI.TransactionStatusView.self)
                    if status.status != last {
                        print("\(status.status)\(status.height.map { " at height \($0)" } ?? "")\(status.reason.map { ": \($0)" } ?? "")")
                        last = status.status
                    }
                    if status.status == "dropped" { throw ExitCode(1) }
                    if status.status == "irreversible" || (wait == .included && status.status == "included") { return }
                    try await Task.sleep(for: .milliseconds(250))
                }
                throw CommandError("transaction \(submitted.id) is not \(wait.rawValue) after 300 s")
            } catch let failure as NodeClient.Failure {
                throw CommandError(failure.message)
            }
        }
    }
}
