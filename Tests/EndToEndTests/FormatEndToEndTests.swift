// End to end: every sidecar and event a daemon writes matches docs/*.schema.json, and `--for 2s` is 2 s.
import CaptureProtocol
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEnd {
    @Suite(.serialized)
    struct FormatEndToEndTests {
        /// A continuous recording that loses audio once (ffmpeg killed), an on-demand `--for 2s` and an
        /// on-demand one stopped by hand: all their sidecars and every line of events.jsonl are checked
        /// against the schemas, and the `--for 2s` recording holds exactly 96000 frames.
        @Test(
            .enabled(
                if: SchemaCheck.isAvailable, "jsonschema is not installed: run `sh scripts/install-test-python.sh`"))
        func aDaemonsSidecarsAndEventsMatchTheSchemas() throws {
            try DaemonFixture.with { dir in
                try dir.writeConfig(
                    """
                    [source]
                    input_format = "lavfi"
                    device = '\(patternGenerator(seconds: 600))'
                    input_options = ["-re"]
                    restart_delay_seconds = 0.2
                    [levels]
                    log_interval_seconds = 1
                    [control]
                    socket = "\(dir.socket)"
                    [storage]
                    root = "\(dir.path)/ondemand"
                    state = "\(dir.path)/state"
                    [[recording]]
                    name = "main"
                    directory = "\(dir.path)/main"
                    segment_seconds = 1
                    align = "samples"
                    filename = "{seq}.wav"
                    """)
                let daemon = try dir.launch()
                #expect(daemon.waitForLog("control API listening"), "\(daemon.log)")
                #expect(daemon.waitForLog("ffmpeg started"), "\(daemon.log)")
                #expect(waitForAudio(under: dir.path + "/main"))

                // On demand for 2 s: it stops by itself after exactly 2 s of frames.
                let start = try dir.cli(["start", "twosec", "--for", "2s", "--segment", "1s"])
                #expect(start.status == 0, "\(start.err)")
                let other = try dir.cli(["start", "byhand"])
                #expect(other.status == 0, "\(other.err)")
                #expect(
                    waitUntil(timeout: 15) {
                        daemon.lines(containing: "event=recording.stopped").contains {
                            $0.contains("recording.name=twosec")
                        }
                    }, "\(daemon.log)")

                // One gap: ffmpeg killed, restarted.
                let pid = try #require(daemon.ffmpegPID, "no ffmpeg: \(daemon.log)")
                kill(pid, SIGKILL)
                #expect(daemon.waitForLog("ffmpeg started", count: 2, timeout: 15), "\(daemon.log)")
                let before = wavFiles(under: dir.path + "/main").count
                #expect(waitUntil(timeout: 15) { wavFiles(under: dir.path + "/main").count >= before + 2 })

                // Human output of the stopped recording: durations rounded, not float noise.
                let segments = try dir.cli(["segments", "twosec"])
                #expect(segments.status == 0, "\(segments.err)")
                #expect(!segments.out.contains("1.99999"), "\(segments.out)")
                let stop = try dir.cli(["stop", "byhand"])
                #expect(stop.status == 0, "\(stop.err)")
                let logs = try dir.cli(["logs", "--recording", "twosec"])
                #expect(logs.status == 0, "\(logs.err)")
                #expect(logs.out.contains("segment.peak_dbfs=-20,"), "\(logs.out)")
                #expect(daemon.terminate().status == 0)

                // Exactly 2 s of frames, in files and in sidecars.
                let twosec = wavFiles(under: dir.path + "/ondemand/twosec")
                #expect(!twosec.isEmpty)
                #expect(
                    twosec.compactMap(ffprobeFrames).reduce(0, +) == 96_000,
                    "\(twosec.map { ($0, ffprobeFrames($0) ?? -1) })")
                let sidecarFrames = try twosec.map { file -> Int in
                    let json = try JSONSerialization.jsonObject(
                        with: Data(contentsOf: URL(fileURLWithPath: file + ".json")))
                    return ((json as? [String: Any])?["segment"] as? [String: Any])?["frames"] as? Int ?? -1
                }
                #expect(sidecarFrames.reduce(0, +) == 96_000)

                // Every sidecar and every event line against the published schemas.
                let sidecars = [dir.path + "/main", dir.path + "/ondemand"].flatMap { wavFiles(under: $0) }.map {
                    $0 + ".json"
                }
                #expect(sidecars.allSatisfy { FileManager.default.fileExists(atPath: $0) })
                let sidecarCheck = try SchemaCheck.validate(
                    sidecars, against: SchemaCheck.schema("sidecar.schema.json"))
                #expect(sidecarCheck.isValid, "\(sidecarCheck)")
                #expect(sidecarCheck.documents >= 8)
                let eventCheck = try SchemaCheck.validate(
                    [dir.path + "/state/events.jsonl"], against: SchemaCheck.schema("event.schema.json"))
                #expect(eventCheck.isValid, "\(eventCheck)")
                let kinds = Set(
                    try String(contentsOfFile: dir.path + "/state/events.jsonl", encoding: .utf8).split(separator: "\n")
                        .compactMap { try? ControlAPI.decoder().decode(EventResponse.self, from: Data($0.utf8)).kind })
                for kind in [
                    "daemon.started", "segment.closed", "recording.started", "recording.stopped", "ffmpeg.exited",
                    "daemon.stopped",
                ] {
                    #expect(kinds.contains(kind), "no \(kind) in \(kinds.sorted())")
                }
                // The gap is in the continuous recording's sidecars.
                let gaps = try wavFiles(under: dir.path + "/main").flatMap { file -> [String] in
                    let json = try JSONSerialization.jsonObject(
                        with: Data(contentsOf: URL(fileURLWithPath: file + ".json")))
                    let list =
                        ((json as? [String: Any])?["segment"] as? [String: Any])?["gaps"] as? [[String: Any]] ?? []
                    return list.compactMap { $0["kind"] as? String }
                }
                #expect(gaps.contains("ffmpeg_restart"), "\(gaps)")
            }
        }
    }
}
