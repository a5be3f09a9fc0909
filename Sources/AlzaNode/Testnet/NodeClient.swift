import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A small client of a node's HTTP API (for the CLI, testnets and load generators).
public struct NodeClient: Sendable {
    public let baseURL: String
    let session: URLSession

    public init(api: String, timeout: TimeInterval = 5) {
        baseURL = api.hasPrefix("http") ? api : "http://" + api
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.httpMaximumConnectionsPerHost = 16
        session = URLSession(configuration: configuration)
    }

    public struct Failure: Error, CustomStringConvertible {
        public var status: Int
        public var code: String
        public var message: String
        public var description: String { "HTTP \(status) \(code): \(message)" }
    }

    /// GET `path`, decoding JSON.
    public func get<T: Decodable>(_ path: String, as type: T.Type = T.self) async throws -> T {
        let (data, status) = try await send(path, method: "GET", body: nil)
        return try decode(data, status: status)
    }

    /// GET `path` as raw bytes.
    public func raw(_ path: String) async throws -> Data {
        let (data, status) = try await send(path, method: "GET", body: nil)
        guard (200..<300).contains(status) else { throw failure(data, status: status) }
        return data
    }

    /// POST JSON to `path`, decoding the JSON answer.
    public func post<Body: Encodable, T: Decodable>(_ path: String, _ body: Body, as type: T.Type = T.self) async throws -> T {
        let (data, status) = try await send(path, method: "POST", body: try JSONEncoder().encode(body))
        return try decode(data, status: status)
    }

    private func send(_ path: String, method: String, body: Data?) async throws -> (Data, Int) {
        guard let url = URL(string: baseURL + path) else { throw Failure(status: 0, code: "client.bad-url", message: path) }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await session.data(for: request)
        return (data, (response as? HTTPURLResponse)?.statusCode ?? 0)
    }

    private func decode<T: Decodable>(_ data: Data, status: Int) throws -> T {
        guard (200..<300).contains(status) else { throw failure(data, status: status) }
        return try JSONDecoder().decode(T.self, from: data)
    }

    private func failure(_ data: Data, status: Int) -> Failure {
        struct Body: Decodable { var error: String; var message: String }
        if let body = try? JSONDecoder().decode(Body.self, from: data) {
            return Failure(status: status, code: body.error, message: body.message)
        }
        return Failure(status: status, code: "http.\(status)", message: String(decoding: data.prefix(200), as: UTF8.self))
    }
}

/// The JSON the client reads (a subset of the API's views).
public enum NodeAPI {
    public struct Reference: Codable, Sendable, Equatable {
        public var height: UInt64
        public var slot: UInt64
        public var id: String
    }

    public struct ChainInfo: Codable, Sendable {
        public var chainId: String
        public var node: String
        public var roles: [String]
        public var head: Reference
        public var lib: Reference
        public var currentSlot: UInt64
        public var slotMilliseconds: UInt64
        public var currentProducer: String?
        public var mempool: Int
        public var peers: Int
        public var forkSwitches: UInt64
        public var blocksProduced: UInt64
    }

    public struct TransactionSummary: Codable, Sendable {
        public var id: String
    }

    public struct Block: Codable, Sendable {
        public var height: UInt64
        public var slot: UInt64
        public var id: String
        public var producer: String
        public var timestamp: UInt64
        public var transactions: [TransactionSummary]
    }

    public struct Submitted: Codable, Sendable {
        public var id: String
    }

    public struct Submission: Codable, Sendable {
        public var transaction: String
        public init(transaction: String) { self.transaction = transaction }
    }

    public struct TransactionStatus: Codable, Sendable {
        public var id: String
        public var status: String
        public var height: UInt64?
        public var block: String?
        public var reason: String?
        public var code: String?
    }

    public struct Account: Codable, Sendable {
        public var address: String
        public var balance: UInt64
        public var nonce: UInt64
    }
}
