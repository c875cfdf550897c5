// One HTTP/1.1 exchange with audiocapd over its Unix domain socket, using swift-nio's HTTP codecs.

import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Sends one request on a fresh connection to the control socket and hands the response to the caller.
///
/// Every exchange opens its own connection and closes it when the caller's reader returns, so a stream that the
/// caller stops reading ends the connection and the daemon sees the client go.
struct ControlConnection: Sendable {
    let socketPath: String

    /// Connects, sends `method target` with `body` (JSON), and calls `read` with the response head and a reader of
    /// its body. The connection is closed when `read` returns or throws.
    ///
    /// Throws whatever swift-nio throws (`IOError` for connect(2) failures); `ControlClient` maps it to
    /// `ClientError`.
    func exchange<Result: Sendable>(
        _ method: HTTPMethod,
        _ target: String,
        body: [UInt8]? = nil,
        accept: String = "application/json",
        _ read: (HTTPResponseHead, inout ResponseBody) async throws -> Result
    ) async throws -> Result {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(unixDomainSocketPath: socketPath) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: target)
            head.headers.add(name: "Host", value: "localhost")
            head.headers.add(name: "User-Agent", value: "audiocap")
            head.headers.add(name: "Accept", value: accept)
            head.headers.add(name: "Connection", value: "close")
            if let body {
                head.headers.add(name: "Content-Type", value: "application/json")
                head.headers.add(name: "Content-Length", value: String(body.count))
            }
            try await outbound.write(.head(head))
            if let body {
                try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
            }
            try await outbound.write(.end(nil))

            var iterator = inbound.makeAsyncIterator()
            var responseHead: HTTPResponseHead?
            while responseHead == nil {
                let part: HTTPClientResponsePart?
                do {
                    part = try await iterator.next()
                } catch HTTPParserError.invalidEOFState {
                    throw ConnectionFailure.closedBeforeReply
                }
                switch part {
                case .head(let head) where head.status.code >= 200:
                    responseHead = head
                case .head:
                    continue  // 1xx: the real head follows
                case .body, .end:
                    throw ConnectionFailure.noHead
                case nil:
                    throw ConnectionFailure.closedBeforeReply
                }
            }
            var body = ResponseBody(iterator: iterator)
            return try await read(responseHead!, &body)
        }
    }
}

/// What the exchange itself can fail with, besides swift-nio's errors.
enum ConnectionFailure: Error, Equatable {
    /// The daemon closed the connection without sending a response head.
    case closedBeforeReply
    /// The daemon closed the connection in the middle of a response body.
    case closedInBody
    /// Body bytes arrived before a response head.
    case noHead
    /// The response body is larger than the caller accepts.
    case bodyTooLarge(limit: Int)
}

/// The body of a response, read part by part.
struct ResponseBody {
    fileprivate var iterator: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    private var ended = false

    fileprivate init(iterator: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator) {
        self.iterator = iterator
    }

    /// The next part of the body as it arrived (one chunk of a chunked reply, or a piece of a fixed-length one);
    /// nil at the end of the body. Throws `ConnectionFailure.closedInBody` when the connection ends first, and
    /// `CancellationError` when the task is cancelled while waiting.
    mutating func next() async throws -> ByteBuffer? {
        while !ended {
            let part: HTTPClientResponsePart?
            do {
                part = try await iterator.next()
            } catch HTTPParserError.invalidEOFState {
                // The connection closed inside a chunked or fixed-length body.
                ended = true
                throw ConnectionFailure.closedInBody
            }
            switch part {
            case .body(let buffer):
                return buffer
            case .end:
                ended = true
            case .head:
                continue
            case nil:
                ended = true
                throw ConnectionFailure.closedInBody
            }
        }
        return nil
    }

    /// The whole body; throws `ConnectionFailure.bodyTooLarge` past `limit` bytes.
    mutating func collect(upTo limit: Int) async throws -> ByteBuffer {
        var all = ByteBuffer()
        while var part = try await next() {
            guard all.readableBytes + part.readableBytes <= limit else {
                throw ConnectionFailure.bodyTooLarge(limit: limit)
            }
            all.writeBuffer(&part)
        }
        return all
    }
}
