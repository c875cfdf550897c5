// The CLI's side of the control API: one function per endpoint, every failure a ClientError with a next step.

import CaptureProtocol
import Foundation
import NIOCore
import NIOHTTP1

/// Talks to audiocapd over its control socket (HTTP/1.1 and JSON over a Unix domain socket).
///
/// Each call opens its own connection. Calls that return one reply give up after `timeout`; the `follow…` calls
/// run until the daemon ends the stream or the calling task is cancelled. Every function throws only
/// `ClientError`.
public struct ControlClient: Sendable {
    /// One value of a followed stream, with the JSON line it was decoded from (without the newline).
    public struct Streamed<Value: Sendable>: Sendable {
        public var value: Value
        public var json: String
        public init(value: Value, json: String) {
            self.value = value
            self.json = json
        }
    }

    public let socketPath: String
    /// How long a call that returns one reply waits for it.
    public var timeout: Duration
    /// Largest reply body accepted by the calls that return one reply, in bytes.
    public var maximumReplyBytes = 64 * 1024 * 1024

    private var connection: ControlConnection { ControlConnection(socketPath: socketPath) }

    public init(socketPath: String = ControlAPI.defaultSocketPath, timeout: Duration = .seconds(30)) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    // MARK: - Endpoints

    /// `GET /v1/status`
    public func status() async throws(ClientError) -> StatusResponse {
        try await call(.GET, ControlAPI.status)
    }

    /// `GET /v1/uploads`: every destination and webhook with what waits and what last happened. A daemon from
    /// before uploads answers 404 (an API error).
    public func uploads() async throws(ClientError) -> UploadsResponse {
        try await call(.GET, ControlAPI.uploads)
    }

    /// `GET /v1/recordings`
    public func recordings() async throws(ClientError) -> RecordingsResponse {
        try await call(.GET, ControlAPI.recordings)
    }

    /// `POST /v1/recordings`: starts an on-demand recording. A recording of that name that is already running is
    /// an API error with status 409; a bad name or option is 400. With `from_seconds` (negative) the recording
    /// starts that far in the past, from the source's look-back buffer: a positive value is 400, a source
    /// without look-back 409; when the buffer held less, the reply's `from_seconds` and `message` say so.
    public func start(_ request: StartRecordingRequest) async throws(ClientError) -> RecordingResponse {
        let body: [UInt8]
        do {
            body = Array(try ControlAPI.encoder().encode(request))
        } catch {
            throw .badReply("cannot encode the request: \(error)", socketPath: socketPath)
        }
        return try await call(.POST, ControlAPI.recordings, body: body)
    }

    /// `POST /v1/clips`: writes one file of audio already captured, from the source's look-back buffer, and
    /// returns it. The reply may carry a `message` (the buffer held less than asked: the clip starts at its
    /// oldest frame). Refusals are API errors: 400 for a span that is not in the past (`from_seconds` at or
    /// above 0, `to_seconds` above 0, `from_seconds` not before `to_seconds`) or a bad option, 404 for a source
    /// the daemon does not have, 409 when that source keeps no look-back (`look_back_seconds = 0`).
    ///
    /// Writing a long clip takes time, so this call waits at least five minutes for the reply.
    public func clip(_ request: ClipRequest) async throws(ClientError) -> ClipResponse {
        let body: [UInt8]
        do {
            body = Array(try ControlAPI.encoder().encode(request))
        } catch {
            throw .badReply("cannot encode the request: \(error)", socketPath: socketPath)
        }
        var patient = self
        patient.timeout = max(timeout, Self.clipTimeout)
        return try await patient.call(.POST, ControlAPI.clips, body: body)
    }

    /// The least time ``clip(_:)`` waits for its reply.
    static let clipTimeout = Duration.seconds(300)

    /// `GET /v1/triggers`: every `[[trigger]]` with its state, last firing and clips. A daemon from before
    /// triggers answers 404 (an API error).
    public func triggers() async throws(ClientError) -> TriggersResponse {
        try await call(.GET, ControlAPI.triggers)
    }

    /// `DELETE /v1/recordings/{name}`: stops a recording and returns the files it wrote. An unknown name is an API
    /// error with status 404.
    public func stop(name: String) async throws(ClientError) -> StopRecordingResponse {
        try await call(.DELETE, ControlAPI.recording(Self.pathComponent(name)))
    }

    /// `GET /v1/recordings/{name}/segments[?since=]`: the closed files of a recording, those that start at or after
    /// `since` when it is given.
    public func segments(name: String, since: Date? = nil) async throws(ClientError) -> SegmentsResponse {
        let target = Self.target(ControlAPI.segments(Self.pathComponent(name)), [("since", since.map(Self.epoch))])
        return try await call(.GET, target)
    }

    /// `POST /v1/reload`: the daemon reads its configuration file again and applies its recordings. A file with
    /// errors is a reply with `reloaded` false; a daemon without a configuration file is an API error 409.
    public func reload() async throws(ClientError) -> ReloadResponse {
        try await call(.POST, ControlAPI.reload)
    }

    /// `GET /v1/levels[?source=]`: the newest reading of every channel of `source`, or of the first source
    /// when it is nil. An unknown source is an API error with status 404.
    public func levels(source: String? = nil) async throws(ClientError) -> LevelsResponse {
        try await call(.GET, Self.target(ControlAPI.levels, [("source", source)]))
    }

    /// `GET /v1/events`: past events, oldest first, filtered by time, lowest level, recording and count.
    public func events(
        since: Date? = nil, level: String? = nil, recording: String? = nil, limit: Int? = nil, source: String? = nil
    ) async throws(ClientError) -> EventsResponse {
        try await call(
            .GET, Self.eventsTarget(since: since, level: level, recording: recording, limit: limit, source: source))
    }

    /// `GET /v1/levels?follow=1[&source=]`: calls `handle` with every reading of every source (of `source`
    /// alone when it is given) as it arrives, about every `intervalMilliseconds` per source.
    ///
    /// Returns when the calling task is cancelled. Throws a `ClientError` when the daemon cannot be reached,
    /// refuses (an unknown source: status 404), or ends the stream (which it does only when it shuts down).
    public func followLevels(
        intervalMilliseconds: Int = 100, source: String? = nil,
        _ handle: (Streamed<LevelsResponse>) async -> Void
    ) async throws(ClientError) {
        let target = Self.target(
            ControlAPI.levels,
            [("follow", "1"), ("interval_ms", String(intervalMilliseconds)), ("source", source)])
        try await follow(target, as: LevelsResponse.self, handle)
    }

    /// `GET /v1/events?follow=1`: calls `handle` with the matching recent events, then with new ones as they
    /// happen.
    ///
    /// Returns when the calling task is cancelled. Throws a `ClientError` when the daemon cannot be reached,
    /// refuses, or ends the stream (which it does only when it shuts down).
    public func followEvents(
        since: Date? = nil, level: String? = nil, recording: String? = nil, limit: Int? = nil, source: String? = nil,
        _ handle: (Streamed<EventResponse>) async -> Void
    ) async throws(ClientError) {
        let target = Self.eventsTarget(
            since: since, level: level, recording: recording, limit: limit, source: source, follow: true)
        try await follow(target, as: EventResponse.self, handle)
    }

    // MARK: - One reply

    /// Sends a request, waits at most `timeout` for the whole reply, and decodes a 2xx body as `Response`; a
    /// non-2xx reply becomes an API error carrying the daemon's message (which names the next step itself).
    private func call<Response: Decodable & Sendable>(
        _ method: HTTPMethod, _ target: String, body: [UInt8]? = nil
    ) async throws(ClientError) -> Response {
        let connection = self.connection
        let limit = maximumReplyBytes
        var reply: (HTTPResponseHead, ByteBuffer)? = nil
        // A GET changes nothing, so one whose connection closed before any reply (the daemon was
        // starting, or busy shedding connections) is tried again, twice at most.
        var attempt = 0
        while reply == nil {
            attempt += 1
            do {
                reply = try await withTimeout {
                    try await connection.exchange(method, target, body: body) { head, body in
                        (head, try await body.collect(upTo: limit))
                    }
                }
            } catch {
                guard method == .GET, attempt < 3, Self.isClosedBeforeReply(error) else { throw mapped(error) }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        guard let reply else { throw .closed("no reply", socketPath: socketPath) }
        let (head, bytes) = reply
        guard (200..<300).contains(head.status.code) else {
            throw apiError(head, bytes)
        }
        do {
            return try ControlAPI.decoder().decode(Response.self, from: Data(bytes.readableBytesView))
        } catch {
            throw .badReply(Self.describe(error, decoding: Response.self), socketPath: socketPath)
        }
    }

    /// Runs `operation`, throwing an unavailable `ClientError` when it has not finished after `timeout`.
    private func withTimeout<Result: Sendable>(
        _ operation: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let timeout = self.timeout
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            if case .some(.some(let result)) = try await group.next() {
                return result
            }
            throw ClientError.closed("no reply within \(timeout)", socketPath: socketPath)
        }
    }

    // MARK: - Streams

    /// Reads a newline-delimited JSON stream, decoding each line as `Value` and handing it to `handle`.
    private func follow<Value: Decodable & Sendable>(
        _ target: String, as type: Value.Type, _ handle: (Streamed<Value>) async -> Void
    ) async throws(ClientError) {
        let socketPath = self.socketPath
        do {
            try await connection.exchange(.GET, target, accept: "application/x-ndjson") { head, body in
                guard (200..<300).contains(head.status.code) else {
                    let bytes = try await body.collect(upTo: 1024 * 1024)
                    throw apiError(head, bytes)
                }
                let decoder = ControlAPI.decoder()
                var lines = LineSplitter()
                while var part = try await body.next() {
                    lines.append(&part)
                    while let line = lines.next() {
                        let value: Value
                        do {
                            value = try decoder.decode(Value.self, from: line)
                        } catch {
                            throw ClientError.badReply(
                                Self.describe(error, decoding: Value.self), socketPath: socketPath)
                        }
                        await handle(Streamed(value: value, json: String(decoding: line, as: UTF8.self)))
                    }
                }
                throw ConnectionFailure.closedInBody
            }
        } catch {
            if Task.isCancelled || error is CancellationError { return }
            if let failure = error as? ConnectionFailure, failure == .closedInBody {
                throw .closed(
                    "it ended the stream", socketPath: socketPath,
                    hint: "Has it stopped? Try `systemctl status audiocapd`")
            }
            throw mapped(error)
        }
    }

    // MARK: - Errors

    private func apiError(_ head: HTTPResponseHead, _ bytes: ByteBuffer) -> ClientError {
        let status = Int(head.status.code)
        let message: String
        if let decoded = try? ControlAPI.decoder().decode(ErrorResponse.self, from: Data(bytes.readableBytesView)) {
            message = decoded.error.message
        } else {
            let text = String(decoding: bytes.readableBytesView.prefix(200), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            message = text.isEmpty ? head.status.reasonPhrase : text
        }
        return .api(status: status, message: message, socketPath: socketPath)
    }

    /// Whether `error` means the connection ended before any byte of a reply.
    static func isClosedBeforeReply(_ error: any Error) -> Bool {
        if let failure = error as? ConnectionFailure, case .closedBeforeReply = failure { return true }
        if let error = error as? ChannelError, error == .ioOnClosedChannel || error == .alreadyClosed { return true }
        return false
    }

    /// Turns what the transport throws into a `ClientError`.
    func mapped(_ error: any Error) -> ClientError {
        switch error {
        case let error as ClientError:
            return error
        case let error as IOError:
            // Linux answers ECONNREFUSED for a path that is not a socket at all; say so.
            if error.errnoCode == ECONNREFUSED, Self.isNonSocket(socketPath) {
                return .connectionFailed(errno: ENOTSOCK, socketPath: socketPath)
            }
            return .connectionFailed(errno: error.errnoCode, socketPath: socketPath)
        case SocketAddressError.unixDomainSocketPathTooLong:
            return ClientError(
                code: .unavailable, socketPath: socketPath, message: "the socket path is too long",
                hint: "Pass a path of at most 107 bytes with --socket")
        case let failure as ConnectionFailure:
            switch failure {
            case .closedBeforeReply:
                return .closed("it closed the connection before replying", socketPath: socketPath)
            case .closedInBody:
                return .closed("it closed the connection in the middle of its reply", socketPath: socketPath)
            case .noHead:
                return .badReply("body without a response head", socketPath: socketPath)
            case .bodyTooLarge(let limit):
                return .badReply("reply larger than \(limit) bytes", socketPath: socketPath)
            }
        case let error as ChannelError:
            switch error {
            case .connectTimeout:
                return ClientError(
                    code: .unavailable, socketPath: socketPath, message: "connecting timed out",
                    hint: ClientError.daemonHint)
            default:
                return .closed("the connection failed (\(error))", socketPath: socketPath)
            }
        case let error as HTTPParserError:
            return .badReply("not a valid HTTP reply (\(error))", socketPath: socketPath)
        default:
            return ClientError(
                code: .unavailable, socketPath: socketPath, message: String(describing: error),
                hint: ClientError.daemonHint)
        }
    }

    /// Whether `path` exists and is something other than a socket.
    private static func isNonSocket(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return (info.st_mode & S_IFMT) != S_IFSOCK
    }

    /// A decoding failure in a few words: which key and what was wrong with it.
    static func describe<Value>(_ error: any Error, decoding type: Value.Type) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { key in key.intValue.map { "[\($0)]" } ?? key.stringValue }
                .joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        let what = "cannot read the \(type) in the reply"
        guard let error = error as? DecodingError else { return "\(what): \(error)" }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(what): `\(path(context.codingPath + [key]))` is missing"
        case .typeMismatch(let expected, let context):
            return "\(what): `\(path(context.codingPath))` is not a \(expected)"
        case .valueNotFound(let expected, let context):
            return "\(what): `\(path(context.codingPath))` is null, expected a \(expected)"
        case .dataCorrupted(let context):
            let location = context.codingPath.isEmpty ? "" : " at `\(path(context.codingPath))`"
            return "\(what): not valid JSON\(location)"
        @unknown default:
            return "\(what): \(error)"
        }
    }

    // MARK: - Targets

    static func eventsTarget(
        since: Date?, level: String?, recording: String?, limit: Int?, source: String? = nil, follow: Bool = false
    ) -> String {
        target(
            ControlAPI.events,
            [
                ("since", since.map(epoch)),
                ("level", level),
                ("recording", recording),
                ("source", source),
                ("limit", limit.map(String.init)),
                ("follow", follow ? "1" : nil),
            ])
    }

    /// `path?key=value&...` with the present values percent-encoded.
    static func target(_ path: String, _ query: [(String, String?)]) -> String {
        let items = query.compactMap { key, value in value.map { "\(key)=\(percentEncoded($0))" } }
        return items.isEmpty ? path : path + "?" + items.joined(separator: "&")
    }

    /// Whole epoch seconds, rounded down, as the API takes them.
    static func epoch(_ date: Date) -> String {
        String(Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    static func pathComponent(_ text: String) -> String { percentEncoded(text) }

    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    private static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}

/// Splits bytes that arrive in arbitrary pieces into lines, dropping empty lines and a trailing `\r`.
struct LineSplitter {
    private var pending = ByteBuffer()

    mutating func append(_ part: inout ByteBuffer) {
        pending.writeBuffer(&part)
    }

    /// The next complete line without its newline, or nil until more bytes arrive.
    mutating func next() -> Data? {
        while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - pending.readerIndex
            var line = pending.readSlice(length: length)!
            pending.moveReaderIndex(forwardBy: 1)
            if line.readableBytesView.last == UInt8(ascii: "\r") {
                line = line.getSlice(at: line.readerIndex, length: line.readableBytes - 1)!
            }
            if pending.readableBytes == 0 { pending.clear() }
            if line.readableBytesView.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            return Data(line.readableBytesView)
        }
        if pending.readerIndex > 64 * 1024 { pending.discardReadBytes() }
        return nil
    }
}
