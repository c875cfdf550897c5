// Several sources in one daemon, without ffmpeg: naming a source, events marked with theirs, masked URLs.
import CaptureCore
import CaptureProtocol
import Foundation
import Logging
import Testing

@testable import CaptureDaemon

@Suite struct SeveralSourcesTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func capture(_ name: String, device: String = "default") -> SourceCapture {
        var source = SourceConfiguration(name: name)
        source.device = device
        source.queue = QueueConfiguration()
        source.levels = LevelsConfiguration()
        return SourceCapture(configuration: source, events: EventLog(logger: logger), logger: logger)
    }

    static func controller(_ captures: [SourceCapture], root: String) -> RecordingController {
        RecordingController(
            captures: captures, events: EventLog(logger: logger), logger: logger, storageRoot: root, continuous: [])
    }

    @Test func anOnDemandRecordingMustNameItsSourceWhenThereAreSeveral() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ac-sources-\(getpid())").path
        let controller = Self.controller([Self.capture("mic"), Self.capture("camera")], root: root)
        await #expect(throws: RecordingError.self) { try await controller.start(OnDemandRequest(name: "take")) }
        do {
            _ = try await controller.start(OnDemandRequest(name: "take"))
        } catch {
            #expect(error.code == .invalid)
            #expect(
                error.message
                    == "this daemon records 2 sources (mic, camera): say which one with --source NAME (\"source\" in the API)"
            )
        }
        do {
            _ = try await controller.start(OnDemandRequest(name: "take", source: "roof"))
        } catch {
            #expect(error.code == .invalid)
            #expect(
                error.message == "no source named \"roof\"; the sources are mic, camera (see `audiocap status`)")
        }
        let started = try await controller.start(OnDemandRequest(name: "take", source: "camera"))
        #expect(started.source == "camera")
        #expect(started.configuration.source == "camera")
        let (stopped, _) = try await controller.stop(name: "take")
        #expect(stopped.source == "camera")
    }

    @Test func withOneSourceARequestNeedNotNameIt() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ac-source-\(getpid())").path
        let controller = Self.controller([Self.capture("main")], root: root)
        let started = try await controller.start(OnDemandRequest(name: "take"))
        #expect(started.source == "main")
        _ = try await controller.stop(name: "take")
    }

    @Test func eventsThroughASourcesViewCarryItsNameInTheSharedLog() {
        let log = EventLog(logger: Self.logger)
        let camera = log.forSource("camera")
        camera.emit(.warning, "ffmpeg.exited", "ffmpeg exited on its own")
        log.emit(.info, "daemon.started", "audiocapd started")
        #expect(log.recent.map(\.source) == ["camera", nil])
        #expect(camera.recent.map(\.kind) == ["ffmpeg.exited", "daemon.started"])
        #expect(log.recent.first?.response.source == "camera")
    }

    @Test func aNetworkSourcesPasswordIsMaskedInStatusAndItsMask() {
        let capture = Self.capture("camera", device: "rtsp://viewer:hunter2@192.0.2.7:554/stream1")
        #expect(capture.shownDevice == "rtsp://viewer:***@192.0.2.7:554/stream1")
        #expect(
            capture.mask.mask("[tcp @ 0x5] Connection to tcp://viewer:hunter2@192.0.2.7:554 failed")
                == "[tcp @ 0x5] Connection to tcp://viewer:***@192.0.2.7:554 failed")
    }

    @Test func theSetStopsCapturesAddedAfterShutdownBegan() async {
        let set = CaptureSet([Self.capture("mic")])
        set.stopAll()
        let late = Self.capture("late")
        set.replace(with: [late])
        // Stopped before it ran: its run returns at once and closes its queues.
        await late.run()
        await late.done()
        #expect(set.all.map(\.name) == ["late"])
    }
}
