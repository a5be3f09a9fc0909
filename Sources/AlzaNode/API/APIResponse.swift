import AlzaCore
import FlyingFox
import Foundation

/// A request the API refuses, with its status and `{"error": code, "message": text}` body.
public struct APIFailure: Error {
    public var status: HTTPStatusCode
    public var code: String
    public var message: String

    public init(status: HTTPStatusCode, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public static func bad(_ error: any AlzaError) -> APIFailure {
        APIFailure(status: .badRequest, code: error.code, message: error.description)
    }
}

/// How every API handler — the server's own and the roles' — reads bodies and writes answers, so all routes
/// share one JSON style and one error shape. Public: roles of other modules answer through it too.
public enum APIResponse {
    public static let maximumBodyBytes = 1 << 20

    public static func json<T: Encodable>(_ value: T, status: HTTPStatusCode = .ok) throws -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return HTTPResponse(statusCode: status, headers: [.contentType: "application/json"], body: try encoder.encode(value))
    }

    public static func failure(_ status: HTTPStatusCode, _ code: String, _ message: String) -> HTTPResponse {
        var response = (try? json(NodeAPI.Failure(error: code, message: message), status: status)) ?? HTTPResponse(statusCode: status)
        if status == .serviceUnavailable { response.headers[HTTPHeader("Retry-After")] = "1" }
        return response
    }

    public static func body(_ request: HTTPRequest) async throws -> Data {
        let data = try await request.bodyData
        guard data.count <= maximumBodyBytes else {
            throw APIFailure(status: .payloadTooLarge, code: "request.too-large",
                             message: "request body of \(data.count) bytes exceeds \(maximumBodyBytes)")
        }
        return data
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw APIFailure(status: .badRequest, code: "request.bad-json", message: "request body is not valid JSON for this route: \(error)")
        }
    }

    /// Submissions are refused (503) while the node is halted, or overloaded (with a hint to retry).
    public static func refuseUnlessAccepting(_ chain: ChainService) async throws {
        if let reason = await chain.haltReason {
            throw APIFailure(status: .serviceUnavailable, code: "node.halted", message: "this node is halted: \(reason)")
        }
        if let reason = await chain.overload {
            throw APIFailure(status: .serviceUnavailable, code: "node.overloaded",
                             message: "this node is overloaded, retry later: \(reason)")
        }
    }
}
