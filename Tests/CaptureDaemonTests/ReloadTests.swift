// What a reload reports: the sections whose changes wait for a restart.
import CaptureCore
import Testing

@testable import CaptureDaemon

@Suite struct ReloadTests {
    @Test func onlyChangedSectionsOutsideTheRecordingsNeedARestart() {
        let current = Configuration()
        var next = current
        next.recordings = [RecordingConfiguration(name: "x", directory: "/tmp/x")]
        #expect(AudioCapDaemon.sectionsNeedingRestart(from: current, to: next).isEmpty)
        // Sources, [queue] and [levels] are applied by the reload itself (the captures they change restart).
        next.queue.seconds = 5
        next.levels.silenceDBFS = -50
        next.source.device = "hw:1"
        next.sources.append(SourceConfiguration(name: "second"))
        #expect(AudioCapDaemon.sectionsNeedingRestart(from: current, to: next).isEmpty)
        next = current
        next.storage.root = "/elsewhere"
        next.metrics.listen = "127.0.0.1:9100"
        #expect(AudioCapDaemon.sectionsNeedingRestart(from: current, to: next) == ["storage", "metrics"])
    }
}
