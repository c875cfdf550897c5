// When delivery.sqlite cannot be opened: an error event, status says why, and retention keeps the files.
import CaptureCore
import Foundation
import Logging
import Testing

@testable import CaptureDaemon

@Suite struct DeliveryUnavailableTests {
    @Test func anUnopenableDatabaseIsAnEventAndHoldsEveryFileOfTheRecordingsThatUpload() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("delivery-unavailable-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        // A regular file where the state folder should be: the database cannot be created under it.
        let notAFolder = root + "/state"
        try Data("x".utf8).write(to: URL(fileURLWithPath: notAFolder))
        var configuration = Configuration()
        configuration.storage.state = notAFolder
        configuration.destinations = [DestinationConfiguration(name: "offsite", remote: root + "/remote")]
        var uploading = RecordingConfiguration(name: "up", directory: root + "/up")
        uploading.upload = ["offsite"]
        uploading.keepDays = 1
        let local = RecordingConfiguration(name: "local", directory: root + "/local")
        configuration.recordings = [uploading, local]
        let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let delivery = Delivery(
            configuration: configuration, events: events,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        delivery.prepare()
        let unavailable = events.recent.filter { $0.kind == "delivery.unavailable" }
        #expect(unavailable.count == 1 && unavailable.first?.level == .error, "\(events.recent.map(\.kind))")
        #expect(delivery.holds.isHeld(root + "/up/2026-12-01/up-1.wav"))
        #expect(!delivery.holds.isHeld(root + "/local/2026-12-01/local-1.wav"))
        // A sibling folder whose name starts the same is not held.
        #expect(!delivery.holds.isHeld(root + "/upper/x.wav"))
        let status = await delivery.status()
        #expect(status.destinations.first?.lastError?.contains("cannot be opened") == true, "\(status)")
    }
}
