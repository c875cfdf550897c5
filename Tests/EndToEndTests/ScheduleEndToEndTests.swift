// End to end: a recording with two UTC windows that open and close while the test runs, on a paced source.
import CaptureProtocol
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

private let chunkSeconds = 0.1

/// One window of the schedule, in seconds since the epoch.
private struct Window: CustomStringConvertible {
    var start: Double
    var end: Double

    /// `HH:MM:SS-HH:MM:SS` in UTC.
    var text: String { "\(Self.clock(start))-\(Self.clock(end))" }
    var description: String { "\(text) (\(format3(start))..\(format3(end)))" }

    static func clock(_ time: Double) -> String {
        let second = Int(time.rounded()) % 86_400
        return String(format: "%02d:%02d:%02d", second / 3600, second / 60 % 60, second % 60)
    }
}

/// What the test saw at one moment: the recording's state and whether a file was open.
private struct Sample {
    var time: Double
    var state: String?
    var schedule: ScheduleStatus?
    var fileOpen: Bool
}

extension EndToEnd {
    @Suite(.serialized) struct ScheduleEndToEndTests {
        /// Windows at +8 s..+16 s and +18 s..+21 s: files open and close within one chunk of them (by the
        /// daemon's frame times and by the test's clock), cut on the clock in between, hold the capture
        /// without a hole, and the time off is no gap; status says `scheduled_off` outside them.
        @Test func filesOpenAndCloseWithTheWindowsAndTheTimeOffIsNoGap() throws {
            // Both windows within one UTC day.
            var base = now().rounded(.up)
            let midnight = ((base / 86_400).rounded(.down) + 1) * 86_400
            if base + 30 >= midnight {
                waitUntil(timeout: 40) { now() >= midnight + 1 }
                base = now().rounded(.up)
            }
            let windows = [Window(start: base + 8, end: base + 16), Window(start: base + 18, end: base + 21)]
            let segmentSeconds = 5.0
            try DaemonFixture.with(
                config: { dir in
                    """
                    [source]
                    input_format = "lavfi"
                    device = '\(patternGenerator(seconds: 3600))'
                    input_options = ["-re"]
                    [levels]
                    log_interval_seconds = 0
                    [control]
                    socket = "\(dir.socket)"
                    [storage]
                    root = "\(dir.root)"
                    state = "\(dir.state)"
                    [[recording]]
                    name = "sched"
                    directory = "\(dir.path)/sched"
                    segment_seconds = \(Int(segmentSeconds))
                    filename = "{seq}.wav"
                    time_zone = "utc"
                    schedule = [\(windows.map { "\"\($0.text)\"" }.joined(separator: ", "))]
                    """
                }
            ) { dir in
                #expect(dir.waitForControl(), "\(dir.daemon.log)")
                let directory = dir.path + "/sched"
                // Watch until after the second window closes.
                var samples: [Sample] = []
                while now() < windows[1].end + 1.5 && dir.daemon.process.isRunning {
                    let time = now()
                    let recording = dir.recordingStatus("sched")
                    samples.append(
                        Sample(
                            time: time, state: recording?.state, schedule: recording?.schedule,
                            fileOpen: !partialFiles(under: directory).isEmpty))
                    usleep(100_000)
                }
                let after = try #require(dir.recordingStatus("sched"), "no recording `sched` in status")
                #expect(after.gaps == 0 && after.gapFrames == 0, "the time off is no gap: \(after)")
                #expect(after.state == "scheduled_off", "\(after)")
                #expect(after.schedule?.open == false, "\(String(describing: after.schedule))")
                // Tomorrow's first window is next.
                #expect(
                    after.schedule?.windowStart == windows[0].start + 86_400, "\(String(describing: after.schedule))")
                #expect(after.schedule?.windows == windows.map(\.text), "\(String(describing: after.schedule))")
                #expect(dir.daemon.terminate().status == 0)

                // Status and files as the test saw them: off outside the windows, recording inside. What the
                // writer has done shows up to `lag` after the audio's time: the reader reads half a second at a
                // time and the writer writes what waits once a second (the files' own frame times are exact,
                // checked below).
                let lag = 1.8
                func isOff(_ time: Double) -> Bool {
                    time < windows[0].start - 0.3 || (time > windows[0].end + lag && time < windows[1].start - 0.3)
                        || time > windows[1].end + lag
                }
                func isOn(_ time: Double) -> Bool {
                    windows.contains { time > $0.start + lag && time < $0.end - 0.3 }
                }
                #expect(
                    samples.contains { $0.time < windows[0].start - 1 }, "no look at the recording before its window")
                // From the first answer on, also before the first audio arrives.
                for sample in samples where isOff(sample.time) {
                    let seen =
                        "at \(format3(sample.time)), \(format3(sample.time - windows[0].start)) s from the first window: "
                        + "state \(String(describing: sample.state)), schedule open "
                        + "\(String(describing: sample.schedule?.open)), file open \(sample.fileOpen)"
                    #expect(
                        sample.state == "scheduled_off" && !sample.fileOpen && sample.schedule?.open == false,
                        "\(seen)")
                }
                /// Up to `lag` after a cut on the clock, one file may be closed and the next not yet created: the
                /// writer opens it with its next batch of audio (once per `sync_seconds`), after the reader's burst.
                func isAtCut(_ time: Double) -> Bool {
                    let since = time - (time / segmentSeconds).rounded(.down) * segmentSeconds
                    return since < lag
                }
                for sample in samples where isOn(sample.time) {
                    #expect(
                        sample.state == "recording" && (sample.fileOpen || isAtCut(sample.time))
                            && sample.schedule?.open == true,
                        "at \(format3(sample.time)): \(String(describing: sample.state)), file open \(sample.fileOpen)")
                }
                let before = samples.first { $0.time < windows[0].start - 1 }
                #expect(before?.schedule?.windowStart == windows[0].start, "\(String(describing: before?.schedule))")
                #expect(before?.schedule?.windowEnd == windows[0].end, "\(String(describing: before?.schedule))")

                // By the test's clock: a file appears once the window opens and is gone once it closes (allowing
                // the poll's 0.1 s and `lag`).
                var wallErrors: [Double] = []
                for window in windows {
                    guard let on = samples.firstIndex(where: { $0.fileOpen && $0.time > window.start - 1 }), on > 0,
                        let off = samples[on...].firstIndex(where: {
                            !$0.fileOpen && $0.time > window.end - 1 && !($0.time < window.end && isAtCut($0.time))
                        })
                    else {
                        Issue.record("no file opened and closed for \(window)")
                        continue
                    }
                    #expect(samples[on].time >= window.start - chunkSeconds, "opened early for \(window)")
                    #expect(samples[on - 1].time <= window.start + lag, "opened late for \(window)")
                    #expect(samples[off].time >= window.end - chunkSeconds, "closed early for \(window)")
                    #expect(samples[off - 1].time <= window.end + lag, "closed late for \(window)")
                    wallErrors += [samples[on].time - window.start, samples[off].time - window.end]
                }

                // By the files: each window's files start and end within one chunk of it, follow each other
                // without a hole, cut on the clock, hold the pattern bit for bit, and have no gap.
                let sidecars = try Sidecar.all(under: directory)
                var fileErrors: [Double] = []
                for window in windows {
                    let files = sidecars.filter { $0.startTime > window.start - 1 && $0.startTime < window.end }
                    guard let first = files.first, let last = files.last else {
                        Issue.record("no files for \(window): \(sidecars)")
                        continue
                    }
                    #expect(abs(first.startTime - window.start) <= chunkSeconds, "\(first) for \(window)")
                    #expect(abs(last.endTime - window.end) <= chunkSeconds, "\(last) for \(window)")
                    fileErrors += [first.startTime - window.start, last.endTime - window.end]
                    for (a, b) in zip(files, files.dropFirst()) {
                        #expect(a.endFrame == b.firstFrame, "\(a) then \(b)")
                    }
                    for file in files.dropFirst() {
                        let offset = file.startTime - (file.startTime / segmentSeconds).rounded() * segmentSeconds
                        #expect(abs(offset) <= chunkSeconds, "\(file) is not cut on the clock")
                    }
                    #expect(files.allSatisfy { $0.gaps == 0 }, "\(files)")
                    let frames = files.map(\.frames).reduce(0, +)
                    #expect(
                        abs(Double(frames) / 48_000 - (window.end - window.start)) <= 2 * chunkSeconds,
                        "\(frames) frames for \(window)")
                    let report = try PatternCheck.check(channels: 2, files: files.map(\.path))
                    #expect(report.bitExact, "\(window): \(report)")
                }
                #expect(
                    sidecars.allSatisfy { file in
                        windows.contains { file.startTime > $0.start - 1 && file.startTime < $0.end }
                    },
                    "files outside the windows: \(sidecars)")
                // The second window's audio comes later in the capture by the time off.
                if let firstEnd = sidecars.last(where: { $0.startTime < windows[0].end }),
                    let secondStart = sidecars.first(where: { $0.startTime > windows[1].start - 1 })
                {
                    let off = Double(secondStart.firstFrame - firstEnd.endFrame) / 48_000
                    #expect(abs(off - (windows[1].start - windows[0].end)) <= 2 * chunkSeconds, "off \(off) s")
                }

                // Each window opened and closed once, in turn (a daemon may announce at its start that it is
                // outside the schedule).
                let daemon = dir.daemon
                var transitions = daemon.lines(containing: "event=recording.window_").map {
                    fields(of: $0)["event"] ?? "?"
                }
                while transitions.first == "recording.window_closed" { transitions.removeFirst() }
                #expect(
                    transitions
                        == Array(repeating: ["recording.window_opened", "recording.window_closed"], count: 2).flatMap {
                            $0
                        },
                    "\(daemon.lines(containing: "event=recording.window_"))")
                #expect(
                    daemon.lines(containing: "event=recording.window_").allSatisfy {
                        $0.contains("recording.name=sched")
                    })

                print(
                    "schedule-figures file_edge_error_s=[\(fileErrors.map(format3).joined(separator: ","))] "
                        + "wall_edge_error_s=[\(wallErrors.map(format3).joined(separator: ","))]")
            }
        }
    }
}
