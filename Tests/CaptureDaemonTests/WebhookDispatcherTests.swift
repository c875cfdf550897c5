import CaptureCore
import CaptureProtocol
import Foundation
import Logging
import TestSupport
import Testing

@testable import CaptureDaemon

/// Webhooks against a real HTTP receiver (Tests/Fixtures/webhook-receiver): order, retries, signatures,
/// restarts and which events each webhook takes.
@Suite(.serialized) struct WebhookDispatcherTests {
    private let logger = Logger(label: "test.webhooks")
    /// Short back-off so a test of an outage takes seconds.
    private let fastBackoff = WebhookDispatcher.Backoff(initialSeconds: 0.2, maximumSeconds: 1.0)

    /// Waits until `condition` holds, up to `timeout` seconds; returns whether it held.
    private func waitFor(_ timeout: Double = 20, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }

    private struct Body: Decodable {
        var id: String
        var kind: String
        var station: String?
        var fields: [String: EventValue]
        var timeUtc: String?
    }

    private func decode(_ post: ReceivedPost) throws -> Body {
        try ControlAPI.decoder().decode(Body.self, from: Data(post.body.utf8))
    }

    private func index(_ body: Body) -> Int64? {
        if case .int(let i) = body.fields["i"] { return i }
        return nil
    }

    @Test func everyEventArrivesInOrderSignedThroughFailuresAndAnOutage() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        try receiver.failNext(3)
        var webhook = WebhookConfiguration(name: "ops", url: receiver.url())
        webhook.events = ["test.*"]
        webhook.secret = "s3cret"
        webhook.timeoutSeconds = 2
        let events = EventLog(logger: logger, station: "mast-1")
        let database = try DeliveryDatabase(stateDirectory: dir.path)
        let dispatcher = WebhookDispatcher(
            webhooks: [webhook], station: "mast-1", database: database, events: events, logger: logger,
            backoff: fastBackoff, failedEventInterval: 0)
        try dispatcher.prepare()
        let running = Task { await dispatcher.run() }
        defer { running.cancel() }

        for i in 0..<5 {
            events.emit(.info, "test.tick", "a test event", ["i": .int(Int64(i))])
        }
        events.emit(.info, "other.kind", "not for this webhook")
        #expect(try await waitFor { try receiver.received().filter { $0.status == 500 }.count >= 3 })
        try receiver.goDown()
        for i in 5..<10 {
            events.emit(.info, "test.tick", "a test event", ["i": .int(Int64(i))])
        }
        // Connections are refused for a while: the dispatcher keeps retrying the same event.
        let failedBefore = await dispatcher.status()[0].failedAttempts
        #expect(
            await waitFor { await dispatcher.status()[0].failedAttempts >= failedBefore + 3 } == true)
        let during = await dispatcher.status()[0]
        #expect(during.pendingEvents >= 5)
        #expect(during.lastError != nil)
        #expect(during.nextTryTime != nil)
        try receiver.comeBack()

        #expect(try await waitFor { try Set(receiver.received().filter { $0.status == 200 }.map(\.body)).count >= 10 })
        let posts = try receiver.received()
        let delivered = try posts.filter { $0.status == 200 }.map(decode)
        // In order, each once as delivered (a retry would repeat the same id with the same bytes).
        var seen: [String: String] = [:]
        var order: [Int64] = []
        for post in posts {
            let body = try decode(post)
            if let earlier = seen[body.id] { #expect(earlier == post.body, "a retry sends the same bytes") }
            seen[body.id] = post.body
            if post.status == 200, let i = index(body), !order.contains(i) { order.append(i) }
            #expect(post.headers["x-audiocap-event-id"] == body.id)
            #expect(post.headers["x-audiocap-event"] == "test.tick")
            #expect(post.headers["content-type"] == "application/json")
            #expect(post.headers["user-agent"] == "audiocapd/\(AudioCapVersion.string)")
            let code = HMACSHA256.authenticationCode(key: Array("s3cret".utf8), message: Array(post.body.utf8))
            #expect(post.headers["x-audiocap-signature"] == "sha256=" + code.hexString)
            #expect(body.station == "mast-1")
            #expect(body.timeUtc != nil)
            #expect(body.id.hasPrefix("mast-1-"))
        }
        #expect(order == Array(0..<10))
        #expect(delivered.allSatisfy { $0.kind == "test.tick" })
        // Ids rise with the order of the events.
        let rows = delivered.compactMap { Int($0.id.split(separator: "-").last ?? "") }
        #expect(rows == rows.sorted())

        // The receiver has the last event; the dispatcher removes it from the queue once the answer is in.
        #expect(await waitFor(5) { await dispatcher.status()[0].pendingEvents == 0 })
        let status = await dispatcher.status()[0]
        #expect(status.deliveredEvents == 10)
        #expect(status.lastSuccessTime != nil)
        #expect(status.oldestPendingTime == nil)
        let kinds = events.recent.map(\.kind)
        #expect(kinds.contains("webhook.failed"))
        #expect(kinds.contains("webhook.recovered"))
        let failed = try #require(events.recent.first { $0.kind == "webhook.failed" })
        #expect(failed.fields["webhook"] == .string("ops"))
        #expect(failed.fields["webhook.attempt"] != nil)
        #expect(failed.fields["webhook.next_try_utc"] != nil)
        // Its own events are not sent to a webhook that asked for `test.*`.
        #expect(posts.allSatisfy { $0.headers["x-audiocap-event"] == "test.tick" })
    }

    @Test func aNewDispatcherOnTheSameDatabaseDeliversWhatWasPending() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        try receiver.goDown()
        var webhook = WebhookConfiguration(name: "ops", url: receiver.url())
        webhook.timeoutSeconds = 2
        do {
            let events = EventLog(logger: logger, station: "mast-2")
            let database = try DeliveryDatabase(stateDirectory: dir.path)
            let dispatcher = WebhookDispatcher(
                webhooks: [webhook], station: "mast-2", database: database, events: events, logger: logger,
                backoff: fastBackoff)
            try dispatcher.prepare()
            let running = Task { await dispatcher.run() }
            for i in 0..<3 { events.emit(.info, "test.tick", "a test event", ["i": .int(Int64(i))]) }
            #expect(
                await waitFor {
                    let status = await dispatcher.status()[0]
                    return status.failedAttempts >= 1 && status.pendingEvents == 3
                })
            running.cancel()
            await running.value
        }
        try receiver.comeBack()
        #expect(try receiver.received().isEmpty)

        let events = EventLog(logger: logger, station: "mast-2")
        let database = try DeliveryDatabase(stateDirectory: dir.path)
        let dispatcher = WebhookDispatcher(
            webhooks: [webhook], station: "mast-2", database: database, events: events, logger: logger,
            backoff: fastBackoff)
        try dispatcher.prepare()
        #expect(await dispatcher.status()[0].pendingEvents == 3)
        #expect(await dispatcher.status()[0].oldestPendingTime != nil)
        let running = Task { await dispatcher.run() }
        defer { running.cancel() }
        #expect(try await waitFor { try receiver.received().count >= 3 })
        let bodies = try receiver.received().map(decode)
        #expect(bodies.compactMap(index) == [0, 1, 2])
        #expect(Set(bodies.map(\.id)).count == 3)
        #expect(await waitFor { await dispatcher.status()[0].pendingEvents == 0 })
    }

    @Test func eachWebhookGetsTheKindsItAskedFor() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        var all = WebhookConfiguration(name: "all", url: receiver.url(path: "/all"))
        all.events = ["*"]
        var segments = WebhookConfiguration(name: "segments", url: receiver.url(path: "/segments"))
        segments.events = ["segment.*", "webhook.failed"]
        var exact = WebhookConfiguration(name: "exact", url: receiver.url(path: "/exact"))
        exact.events = ["ffmpeg.exited", "webhook.*"]
        // Refused: its failures become webhook.failed events, which only `segments` asked for by name.
        var broken = WebhookConfiguration(name: "broken", url: "http://127.0.0.1:\(try freeTCPPort())/x")
        broken.events = ["none.such"]
        broken.timeoutSeconds = 1
        let events = EventLog(logger: logger)
        let database = try DeliveryDatabase(stateDirectory: dir.path)
        let dispatcher = WebhookDispatcher(
            webhooks: [all, segments, exact, broken], station: "mast-3", database: database, events: events,
            logger: logger, backoff: fastBackoff)
        try dispatcher.prepare()
        let running = Task { await dispatcher.run() }
        defer { running.cancel() }
        events.emit(.info, "segment.closed", "segment closed")
        events.emit(.info, "segments.other", "not a segment event")
        events.emit(.warning, "ffmpeg.exited", "ffmpeg exited")
        events.emit(.info, "none.such", "for the broken one")

        #expect(
            try await waitFor {
                let posts = try receiver.received()
                return posts.filter { $0.path == "/all" }.count >= 4
                    && posts.contains { $0.path == "/segments" && $0.headers["x-audiocap-event"] == "webhook.failed" }
            })
        let posts = try receiver.received()
        func kinds(_ path: String) -> [String] {
            posts.filter { $0.path == path }.compactMap { $0.headers["x-audiocap-event"] }
        }
        #expect(kinds("/all") == ["segment.closed", "segments.other", "ffmpeg.exited", "none.such"])
        #expect(kinds("/segments").first == "segment.closed")
        #expect(Set(kinds("/segments")) == ["segment.closed", "webhook.failed"])
        #expect(kinds("/exact") == ["ffmpeg.exited"])
        // The station is set on the body even when the log carries none.
        let body = try decode(try #require(posts.first { $0.path == "/all" }))
        #expect(body.station == "mast-3")
        #expect(!WebhookDispatcher.sends("webhook.failed", to: all))
        #expect(WebhookDispatcher.sends("webhook.failed", to: segments))
        #expect(!WebhookDispatcher.sends("webhook.recovered", to: exact))
    }

    @Test func theDeliveryFacadeRunsWebhooksAndHooksAndReportsThem() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        var configuration = Configuration()
        configuration.storage.state = dir.file("state")
        configuration.station.id = "mast-4"
        var webhook = WebhookConfiguration(name: "ops", url: receiver.url())
        webhook.events = ["hook.*"]
        configuration.webhooks = [webhook]
        var recording = RecordingConfiguration(name: "main", directory: dir.path)
        recording.onClose = ["/bin/true"]
        configuration.recordings = [recording]
        let events = EventLog(logger: logger, station: "mast-4")
        let delivery = Delivery(configuration: configuration, events: events, logger: logger)
        delivery.prepare()
        let running = Task { await delivery.run() }
        defer { running.cancel() }
        events.emit(
            CaptureEvent(
                level: .info, kind: "segment.closed", message: "segment closed", recording: "main",
                fields: ["segment.path": .string(dir.file("a.wav"))]))
        // The hook's result is itself an event, which the webhook takes.
        #expect(try await waitFor { try receiver.received().count >= 1 })
        let post = try #require(try receiver.received().first)
        #expect(post.headers["x-audiocap-event"] == "hook.finished")
        #expect(try decode(post).station == "mast-4")
        #expect(FileManager.default.fileExists(atPath: dir.file("state") + "/" + DeliveryDatabase.fileName))
        #expect(await waitFor { await delivery.status().webhooks.first?.deliveredEvents == 1 })
        #expect(await delivery.status().station == "mast-4")
    }
}
