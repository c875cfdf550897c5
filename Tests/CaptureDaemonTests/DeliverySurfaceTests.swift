// What users see of delivery through the daemon: GET /v1/uploads, the upload and webhook metrics with the
// station label, and reload's `delivery` section.
import CaptureCore
import CaptureProtocol
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import CaptureDaemon

/// A metrics source whose status the test sets.
final class FakeMetricsSource: MetricsSource {
    let status: StatusResponse
    let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    init(status: StatusResponse) { self.status = status }
    func statusResponse() async -> StatusResponse { status }
}

@Suite struct DeliverySurfaceTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    static let uploads = UploadsResponse(
        station: "reserve-3",
        destinations: [
            DestinationStatus(
                name: "archive", remote: "s3:bucket", pendingFiles: 4, pendingBytes: 4_000,
                oldestPendingTime: Date().timeIntervalSince1970 - 120, deliveredFiles: 10, deliveredBytes: 10_000,
                failedAttempts: 2, lostFiles: 1, conflicts: 3, lastError: "timeout")
        ],
        webhooks: [WebhookStatus(name: "ops", url: "https://h.example/", pendingEvents: 5, deliveredEvents: 6)])

    @Test func uploadsRouteAnswersTheServicesUploads() async throws {
        let service = FakeControlService()
        service.set { $0.uploads = Self.uploads }
        let router = ControlRoutes.router(service: service, logger: Self.logger)
        try await Application(router: router, logger: Self.logger).test(.router) { client in
            try await client.execute(uri: ControlAPI.uploads, method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let body = String(buffer: response.body)
                #expect(body.contains("\"pending_files\":4"), "\(body)")
                let decoded = try ControlAPI.decoder().decode(UploadsResponse.self, from: Data(buffer: response.body))
                #expect(decoded == Self.uploads)
            }
        }
    }

    @Test func uploadsRouteAnswersEmptyListsWithoutDestinations() async throws {
        let router = ControlRoutes.router(service: FakeControlService(), logger: Self.logger)
        try await Application(router: router, logger: Self.logger).test(.router) { client in
            try await client.execute(uri: ControlAPI.uploads, method: .get) { response in
                #expect(response.status == .ok)
                let decoded = try ControlAPI.decoder().decode(UploadsResponse.self, from: Data(buffer: response.body))
                #expect(decoded.destinations.isEmpty && decoded.webhooks.isEmpty)
                #expect(decoded.station == "station-1")
            }
        }
    }

    /// The samples of a scrape: `name{labels}` → value.
    static func samples(_ text: [UInt8]) -> [String: Double] {
        var values: [String: Double] = [:]
        for line in String(decoding: text, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            if parts.count == 2 { values[String(parts[0])] = Double(parts[1]) }
        }
        return values
    }

    @Test func everySeriesCarriesTheStationAndDeliveryHasItsOwn() async throws {
        var status = Fixture.status
        status.station = "reserve-3"
        status.uploads = Self.uploads
        let server = MetricsServer(
            daemon: FakeMetricsSource(status: status), host: "127.0.0.1", port: 0, logger: Self.logger)
        let samples = Self.samples(await server.scrape())
        #expect(!samples.isEmpty)
        for name in samples.keys {
            #expect(name.contains("station=\"reserve-3\""), "\(name) has no station label")
        }
        let archive = "{destination=\"archive\",station=\"reserve-3\"}"
        #expect(samples["audiocap_upload_pending_files" + archive] == 4)
        #expect(samples["audiocap_upload_pending_bytes" + archive] == 4_000)
        let age = try #require(samples["audiocap_upload_oldest_pending_age_seconds" + archive])
        #expect(age >= 120 && age < 180)
        #expect(samples["audiocap_uploads_delivered_total" + archive] == 10)
        #expect(samples["audiocap_upload_delivered_bytes_total" + archive] == 10_000)
        #expect(samples["audiocap_upload_failures_total" + archive] == 2)
        #expect(samples["audiocap_uploads_lost_total" + archive] == 1)
        #expect(samples["audiocap_upload_conflicts" + archive] == 3)
        let ops = "{webhook=\"ops\",station=\"reserve-3\"}"
        #expect(samples["audiocap_webhook_pending_events" + ops] == 5)
        #expect(samples["audiocap_webhook_delivered_total" + ops] == 6)
        #expect(samples["audiocap_webhook_failures_total" + ops] == 0)
    }

    @Test func withoutUploadsThereAreNoDeliverySeries() async {
        var status = Fixture.status
        status.station = "reserve-3"
        let server = MetricsServer(
            daemon: FakeMetricsSource(status: status), host: "127.0.0.1", port: 0, logger: Self.logger)
        let samples = Self.samples(await server.scrape())
        #expect(!samples.keys.contains { $0.hasPrefix("audiocap_upload") || $0.hasPrefix("audiocap_webhook") })
        #expect(samples["audiocap_events_dropped_total{station=\"reserve-3\"}"] == 0)
    }

    @Test func aRecordingsUploadsAndHooksNeedARestart() {
        var current = Configuration()
        current.recordings = [RecordingConfiguration(name: "night", directory: "/srv/night")]
        var next = current
        // A new recording without uploads is applied by the reload.
        next.recordings.append(RecordingConfiguration(name: "day", directory: "/srv/day"))
        #expect(AudioCapDaemon.sectionsNeedingRestart(from: current, to: next).isEmpty)
        for change in [
            { (recording: inout RecordingConfiguration) in recording.upload = ["archive"] },
            { $0.onClose = ["/bin/true"] },
            { $0.onUpload = ["/bin/true", "{key}"] },
        ] {
            var changed = current
            change(&changed.recordings[0])
            #expect(AudioCapDaemon.sectionsNeedingRestart(from: current, to: changed) == ["delivery"])
        }
        var uploading = current
        uploading.recordings[0].upload = ["archive"]
        var deleting = uploading
        deleting.recordings[0].afterUpload = .delete
        #expect(AudioCapDaemon.sectionsNeedingRestart(from: uploading, to: deleting) == ["delivery"])
        // Only upload, after_upload, on_close and on_upload are reported; the hook limits are not.
        var limits = uploading
        limits.recordings[0].hookConcurrency = 8
        #expect(AudioCapDaemon.sectionsNeedingRestart(from: uploading, to: limits).isEmpty)
    }
}
