// A tiny HTTP/1.1 server on a temporary Unix socket that answers with canned replies, standing in for audiocapd.

import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A request as the test server received it.
struct ReceivedRequest: Sendable {
    var method: String
    var uri: String
    var headers: [String: String]
    var body: String
}

/// What the test server answers.
enum CannedReply: Sendable {
    /// A complete reply with a JSON body.
    case json(status: Int, body: String)
    /// A chunked 200 reply: each string is written as its own chunk (a chunk may hold part of a line or several
    /// lines); then the reply ends when `end` is true, or stays open until the client goes.
    case stream(chunks: [String], end: Bool)
    /// A chunked 200 reply whose connection closes after the chunks, without the closing empty chunk, as when the
    /// daemon is killed.
    case streamThenClose(chunks: [String])
    /// Reads the request and never answers.
    case silence
    /// Closes the connection without answering.
    case close
}

/// Runs a test server on a fresh socket path for the duration of `body`, which gets the path. Every connection
/// carries one request, answered by `respond`.
func withTestServer<Result>(
    _ respond: @escaping @Sendable (ReceivedRequest) -> CannedReply,
    _ body: (_ socketPath: String) async throws -> Result
) async throws -> Result {
    let directory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/control.sock"
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(unixDomainSocketPath: path) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                    wrappingChannelSynchronously: channel)
            }
        }
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            try await server.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { handlers in
                    for try await connection in connections {
                        handlers.addTask { try? await answer(connection, respond) }
                    }
                }
            }
        }
        defer { group.cancelAll() }
        return try await body(path)
    }
}

private func answer(
    _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
    _ respond: @Sendable (ReceivedRequest) -> CannedReply
) async throws {
    try await connection.executeThenClose { inbound, outbound in
        var request = ReceivedRequest(method: "", uri: "", headers: [:], body: "")
        for try await part in inbound {
            switch part {
            case .head(let head):
                request.method = head.method.rawValue
                request.uri = head.uri
                for (name, value) in head.headers { request.headers[name.lowercased()] = value }
            case .body(let buffer):
                request.body += String(buffer: buffer)
            case .end:
                switch respond(request) {
                case .json(let status, let body):
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: "application/json")
                    headers.add(name: "Content-Length", value: String(body.utf8.count))
                    try await outbound.write(
                        .head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body))))
                    try await outbound.write(.end(nil))
                case .stream(let chunks, let end):
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: "application/x-ndjson")
                    headers.add(name: "Transfer-Encoding", value: "chunked")
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)))
                    for chunk in chunks {
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(string: chunk))))
                        try await Task.sleep(for: .milliseconds(5))
                    }
                    if end {
                        try await outbound.write(.end(nil))
                    } else {
                        try await Task.sleep(for: .seconds(3_600))
                    }
                case .streamThenClose(let chunks):
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: "application/x-ndjson")
                    headers.add(name: "Transfer-Encoding", value: "chunked")
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)))
                    for chunk in chunks {
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(string: chunk))))
                    }
                    try await Task.sleep(for: .milliseconds(20))
                    try await connection.channel.close()
                case .silence:
                    try await Task.sleep(for: .seconds(3_600))
                case .close:
                    break
                }
                return
            }
        }
    }
}

private func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/audiocap-cli-test-XXXXXX".utf8CString)
    guard let result = mkdtemp(&template) else {
        throw CocoaError(.fileWriteUnknown)
    }
    return String(cString: result)
}
