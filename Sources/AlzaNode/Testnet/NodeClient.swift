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
