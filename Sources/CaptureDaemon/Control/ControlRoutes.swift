// The control API's harness: decodes requests, calls the service, maps its errors to HTTP, encodes replies.
import CaptureCore
import CaptureProtocol
import Foundation
import Hummingbird
import Logging
import NIOCore

/// The routes of the control API over a ``ControlService``. All HTTP knowledge of the API lives here and
/// in ``JSONErrorMiddleware``: query parameters, request bodies, status codes, and the mapping of the
/// service's ``RecordingError`` codes to them (see ``ControlError/init(_:)``).
struct ControlRoutes: Sendable {
    let service: any ControlService
    let logger: Logger
    var followStreams = FollowStreams()

    /// The control API's router: the JSON error middleware and every route, over `service`.
    static func router(service: any ControlService, logger: Logger, followStreams: FollowStreams = FollowStreams())
        -> Router<ControlContext>
    {
        let router = Router(context: ControlContext.self)
        router.middlewares.add(JSONErrorMiddleware())
        ControlRoutes(service: service, logger: logger, followStreams: followStreams).register(on: router)
        return router
    }

    func register(on router: Router<ControlContext>) {
        router.get("/v1/status") { _, _ in
            Self.json(await service.statusResponse())
        }
        router.get("/v1/recordings") { _, _ in
            Self.json(RecordingsResponse(recordings: await service.runningRecordings()))
        }
        router.post("/v1/recordings") { request, context in
            try await startRecording(request, context: context)
        }
        router.delete("/v1/recordings/:name") { request, context in
            let name = try Self.name(context)
            await logChange("stop recording", name: name, context: context)
            return Self.json(
                try await Self.answer { () async throws(RecordingError) in try await service.stopRecording(named: name)
                })
        }
        router.get("/v1/recordings/:name/segments") { request, context in
            let name = try Self.name(context)
            let since = try Self.since(request)
            let segments = try await Self.answer { () async throws(RecordingError) in
                try await service.segments(of: name, since: since)
            }
            return Self.json(SegmentsResponse(recording: name, segments: segments))
        }
        router.get("/v1/levels") { request, _ in
            let source = try Self.source(request, among: service.sourceNames())
            guard Self.flag(request, "follow") else {
                guard let levels = service.levelsResponse(source: source) else {
                    throw ControlError.unavailable(
                        "no audio yet: levels appear once ffmpeg delivers audio (see `audiocap status`)")
                }
                return Self.json(levels)
            }
            let interval = try Self.integer(request, "interval_ms", range: 20...60_000) ?? 100
            return followLevels(source: source, intervalMilliseconds: interval, slot: try followSlot())
        }
        router.post("/v1/clips") { request, context in
            try await clip(request, context: context)
        }
        router.get("/v1/triggers") { _, _ in
            Self.json(await service.triggersResponse())
        }
        router.get("/v1/uploads") { _, _ in
            Self.json(await service.uploadsResponse())
        }
        router.get("/v1/events") { request, _ in
            try events(request)
        }
        router.post("/v1/reload") { _, context in
            await logChange("reload configuration", name: nil, context: context)
            guard let result = await service.reload() else {
                throw ControlError.conflict(
                    "audiocapd runs without a configuration file, so there is nothing to reload; "
                        + "start it with --config FILE")
            }
            return Self.json(
                ReloadResponse(
                    configPath: result.configPath, reloaded: result.reloaded, started: result.started,
                    stopped: result.stopped, restarted: result.restarted,
                    restartNeeded: !result.restartNeededFor.isEmpty, restartNeededFor: result.restartNeededFor,
                    errors: result.errors, sourcesStarted: result.sourcesStarted,
                    sourcesStopped: result.sourcesStopped, sourcesRestarted: result.sourcesRestarted,
                    sourcesLevelsChanged: result.sourcesLevelsChanged))
        }
    }

    // MARK: - Handlers

    private func startRecording(_ request: Request, context: ControlContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: ControlAPI.maximumBodyBytes)
        let start: StartRecordingRequest
        do {
            start = try ControlAPI.decoder().decode(StartRecordingRequest.self, from: Data(buffer: body))
        } catch let error as DecodingError {
            throw ControlError.badRequest("invalid request body: \(Self.describe(error))")
        } catch {
            throw ControlError.badRequest("invalid request body: \(error)")
        }
        await logChange("start recording", name: start.name, context: context)
        let onDemand = try Self.onDemandRequest(start)
        let recording = try await Self.answer { () async throws(RecordingError) in
            try await service.startRecording(onDemand)
        }
        return Self.json(recording, status: .created)
    }

    private func clip(_ request: Request, context: ControlContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: ControlAPI.maximumBodyBytes)
        let clip: ClipRequest
        do {
            clip = try ControlAPI.decoder().decode(ClipRequest.self, from: Data(buffer: body))
        } catch let error as DecodingError {
            throw ControlError.badRequest("invalid request body: \(Self.describe(error))")
        } catch {
            throw ControlError.badRequest("invalid request body: \(error)")
        }
        await logChange("write clip", name: clip.name, context: context)
        var format: RecordingFormat?
        if let text = clip.format {
            guard let value = RecordingFormat(rawValue: text) else {
                throw ControlError.badRequest(
                    "format must be \"wav\" or \"flac\", got \(InputValidation.printable(text))")
            }
            format = value
        }
        let response = try await Self.answer { () async throws(RecordingError) in
            try await service.clip(clip, format: format)
        }
        return Self.json(response)
    }

    /// The domain request of a decoded body: `align` as a ``SegmentAlignment`` and `format` as a
    /// ``RecordingFormat`` (a 400 for another word);
    /// every other value goes to the service as it came, which checks it.
    static func onDemandRequest(_ body: StartRecordingRequest) throws(ControlError) -> OnDemandRequest {
        var align: SegmentAlignment?
        if let text = body.align {
            guard let value = SegmentAlignment(rawValue: text) else {
                throw .badRequest("align must be \"clock\" or \"samples\", got \(InputValidation.printable(text))")
            }
            align = value
        }
        var format: RecordingFormat?
        if let text = body.format {
            guard let value = RecordingFormat(rawValue: text) else {
                throw .badRequest("format must be \"wav\" or \"flac\", got \(InputValidation.printable(text))")
            }
            format = value
        }
        return OnDemandRequest(
            name: body.name, segmentSeconds: body.segmentSeconds, filename: body.filename,
            durationSeconds: body.durationSeconds, directory: body.directory, align: align, source: body.source,
            format: format, fromSeconds: body.fromSeconds)
    }

    /// The service's answer, or its refusal as the ``ControlError`` (HTTP status and message) it maps to.
    static func answer<T>(_ call: () async throws(RecordingError) -> T) async throws(ControlError) -> T {
        do {
            return try await call()
        } catch {
            throw ControlError(error)
        }
    }

    private func events(_ request: Request) throws -> Response {
        let since = try Self.since(request)
        let limit = try Self.integer(request, "limit", range: 1...100_000) ?? 100
        var minimum = CaptureEvent.Level.debug
        if let level = request.uri.queryParameters.get("level") {
            guard let parsed = CaptureEvent.Level(rawValue: level) else {
                throw ControlError.badRequest(
                    "level must be one of debug, info, notice, warning, error; got \(InputValidation.printable(level))")
            }
            minimum = parsed
        }
        let recording = try request.uri.queryParameters.get("recording").map { name in
            do {
                try InputValidation.checkName(name, field: "recording")
            } catch {
                throw ControlError.badRequest("\(error)")
            }
            return name
        }
        // A source's events, also those of a source a reload has removed: any valid name.
        let source = try request.uri.queryParameters.get("source").map { name in
            do {
                try InputValidation.checkName(name, field: "source")
            } catch {
                throw ControlError.badRequest("\(error)")
            }
            return name
        }
        let threshold = minimum
        let matches: @Sendable (CaptureEvent) -> Bool = { event in
            event.level >= threshold && (since.map { event.time >= $0 } ?? true)
                && (recording.map { event.recording == $0 } ?? true) && (source.map { event.source == $0 } ?? true)
        }
        let recent = Array(service.events.recent.filter(matches).suffix(limit))
        guard Self.flag(request, "follow") else {
            return Self.json(EventsResponse(events: recent.map(Self.eventResponse)))
        }
        return followEvents(initial: recent, matches: matches, slot: try followSlot())
    }

    /// A follow-stream slot, or a 503 when all are taken.
    private func followSlot() throws -> FollowStreams.Slot {
        guard let slot = followStreams.acquire() else {
            throw ControlError.unavailable(
                "too many follow streams: audiocapd serves at most \(followStreams.maximum) at once "
                    + "(`audiocap logs --follow`, `audiocap levels --follow`); end one and try again")
        }
        return slot
    }

    /// Streams the matching events as NDJSON, with an empty line as a heartbeat every
    /// `FollowStreams.heartbeat` so a vanished client is noticed. Frees `slot` when it ends.
    private func followEvents(
        initial: [CaptureEvent], matches: @escaping @Sendable (CaptureEvent) -> Bool, slot: FollowStreams.Slot
    ) -> Response {
        enum Item: Sendable {
            case event(CaptureEvent)
            case heartbeat
        }
        let log = service.events
        let body = ResponseBody { writer in
            defer { slot.release() }
            let (stream, continuation) = AsyncStream.makeStream(of: Item.self, bufferingPolicy: .bufferingNewest(1000))
            let token = log.addListener { event in
                if matches(event) { continuation.yield(.event(event)) }
            }
            defer { log.removeListener(token) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                defer { group.cancelAll() }
                group.addTask {
                    while true {
                        try await Task.sleep(for: FollowStreams.heartbeat)
                        continuation.yield(.heartbeat)
                    }
                }
                for event in initial { try await writer.write(Self.line(Self.eventResponse(event))) }
                for await item in stream {
                    switch item {
                    case .event(let event): try await writer.write(Self.line(Self.eventResponse(event)))
                    case .heartbeat: try await writer.write(ByteBuffer(bytes: FollowStreams.heartbeatLine))
                    }
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
    }

    /// Streams new level readings as NDJSON, with an empty line when no reading was written for
    /// `FollowStreams.heartbeat`. Frees `slot` when it ends.
    private func followLevels(source: String?, intervalMilliseconds: Int, slot: FollowStreams.Slot) -> Response {
        let service = self.service
        let body = ResponseBody { writer in
            // While the stream runs, the source meters every chunk as it arrives (else in batches).
            service.followLevels(source: source, true)
            defer {
                service.followLevels(source: source, false)
                slot.release()
            }
            var lastFrames: [String: Int64] = [:]
            let clock = ContinuousClock()
            var lastWrite = clock.now
            var nextReading = clock.now
            while !Task.isCancelled {
                if clock.now >= nextReading {
                    nextReading = clock.now + .milliseconds(intervalMilliseconds)
                    // Every source's new reading (or the one asked for), each line naming its source.
                    for name in source.map({ [$0] }) ?? service.sourceNames() {
                        if let levels = service.levelsResponse(source: name), levels.frame != lastFrames[name] {
                            lastFrames[name] = levels.frame
                            try await writer.write(Self.line(levels))
                            lastWrite = clock.now
                        }
                    }
                }
                if clock.now - lastWrite >= FollowStreams.heartbeat {
                    try await writer.write(ByteBuffer(bytes: FollowStreams.heartbeatLine))
                    lastWrite = clock.now
                }
                try await Task.sleep(until: min(nextReading, lastWrite + FollowStreams.heartbeat), clock: clock)
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
    }

    /// Logs a state-changing request with the peer's pid and uid.
    private func logChange(_ action: String, name: String?, context: ControlContext) async {
        let peer = await context.peer()
        var metadata: Logger.Metadata = [
            "control.action": "\(action)",
            "peer.pid": "\(peer.map { String($0.pid) } ?? "unknown")",
            "peer.uid": "\(peer.map { String($0.uid) } ?? "unknown")",
        ]
        if let name { metadata["recording.name"] = "\(name)" }
        logger.notice("control request", metadata: metadata)
    }

    // MARK: - Encoding

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? ControlAPI.encoder().encode(value)) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data + [0x0A])))
    }

    static func line(_ value: some Encodable) -> ByteBuffer {
        let data = (try? ControlAPI.encoder().encode(value)) ?? Data("{}".utf8)
        return ByteBuffer(bytes: data + [0x0A])
    }

    static func eventResponse(_ event: CaptureEvent) -> EventResponse { event.response }

    // MARK: - Parameters

    static func name(_ context: ControlContext) throws -> String {
        let name = context.parameters.get("name") ?? ""
        do {
            try InputValidation.checkName(name)
        } catch {
            throw ControlError.badRequest("\(error)")
        }
        return name
    }

    /// The query parameter `key` as an integer in `range`, nil when absent; a 400 for anything else
    /// (`1e19`, `nan`, `-1`, `2.5`), never a trap.
    static func integer(_ request: Request, _ key: String, range: ClosedRange<Int>) throws -> Int? {
        guard let text = request.uri.queryParameters.get(key) else { return nil }
        do {
            return try InputValidation.integer(text, field: key, range: range)
        } catch {
            throw ControlError.badRequest("\(error)")
        }
    }

    /// The `since` query parameter: seconds since the epoch, from 0 to 10¹⁰ (the year 2286); nil when absent.
    static func since(_ request: Request) throws -> Double? {
        guard let text = request.uri.queryParameters.get("since") else { return nil }
        do {
            return try InputValidation.number(
                text, field: "since", allowed: "seconds since the epoch, from 0 to 10000000000",
                where: { $0 >= 0 && $0 <= 10_000_000_000 })
        } catch {
            throw ControlError.badRequest("\(error)")
        }
    }

    /// The `source` query parameter: one of `names`; nil when absent. Unknown: 404, naming the sources.
    static func source(_ request: Request, among names: [String]) throws -> String? {
        guard let text = request.uri.queryParameters.get("source") else { return nil }
        guard names.contains(text) else {
            throw ControlError.notFound(
                "no source named \(InputValidation.printable(text)); the sources are \(names.joined(separator: ", "))")
        }
        return text
    }

    static func flag(_ request: Request, _ key: String) -> Bool {
        guard let value = request.uri.queryParameters.get(key) else { return false }
        return value == "1" || value == "true" || value.isEmpty
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "field `\(path(context))` has the wrong type (expected \(type))"
        case .valueNotFound(_, let context):
            return "field `\(path(context))` is null"
        case .keyNotFound(let key, _):
            return "field `\(key.stringValue)` is required"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : context.debugDescription
        @unknown default:
            return "\(error)"
        }
    }
}
