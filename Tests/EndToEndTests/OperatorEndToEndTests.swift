// What a careless operator or a wrong clock does to a running daemon: a second instance, a damaged state
// file, a clock stepped back and forward.
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEnd {
    @Suite(.serialized) struct OperatorEndToEndTests {
        /// A lavfi source at real time (no test microphone needed): what the clock tests record.
        static func lavfiConfig(_ dir: DaemonFixture, recording: String) -> String {
            """
            [source]
            input_format = "lavfi"
            device = "sine=frequency=440:sample_rate=48000"
            input_options = ["-re"]
            sample_rate = 48000
            channels = 1
            [control]
            socket = ""
            [storage]
            root = "\(dir.path)/ondemand"
            state = "\(dir.path)/state"
            \(recording)
            """
        }

        /// One recording `r`, one `{seq}.wav` file an hour, cut on samples.
        static func hourlyRecording(_ dir: DaemonFixture) -> String {
            """
            [[recording]]
            name = "r"
            directory = "\(dir.path)/r"
            segment_seconds = 3600
            align = "samples"
            filename = "{seq}.wav"
            """
        }

        @Test func aSecondInstanceRefusesWithTheRunningPIDAndTouchesNothing() throws {
            try DaemonFixture.with { dir in
                try dir.writeConfig(
                    Self.lavfiConfig(dir, recording: Self.hourlyRecording(dir)))
                let first = try dir.launch()
                #expect(waitForAudio(under: dir.file("r")), "\(first.log)")
                let partials = partialFiles(under: dir.file("r"))
                #expect(partials.count == 1)

                let second = try dir.launch()
                #expect(waitUntil(timeout: 10) { !second.process.isRunning }, "the second daemon kept running")
                second.process.waitUntilExit()
                #expect(second.process.terminationStatus == 75)
                #expect(second.log.contains("another audiocapd (PID \(first.pid)) is already running"), "\(second.log)")
                // It did not repair (rename) the running daemon's open file, nor start ffmpeg.
                #expect(!second.log.contains("segment.repaired"))
                #expect(!second.log.contains("ffmpeg started"))
                #expect(partialFiles(under: dir.file("r")) == partials)
                let before = audioBytes(under: dir.file("r"))
                #expect(waitForAudio(under: dir.file("r"), moreThan: before), "the first daemon stopped recording")
                #expect(first.process.isRunning)
            }
        }

        @Test func aDamagedStateFileIsIgnoredWithAWarning() throws {
            try DaemonFixture.with { dir in
                try FileManager.default.createDirectory(atPath: dir.file("state"), withIntermediateDirectories: true)
                // Valid JSON, but numbers no daemon writes: they used to trap at every start.
                try Data(
                    #"{"clean":false,"last_audio_end":1e300,"recordings":["r"],"sequences":{"r":9223372036854775807}}"#
                        .utf8
                )
                .write(to: URL(fileURLWithPath: dir.file("state/capture.json")))
                try dir.writeConfig(
                    Self.lavfiConfig(dir, recording: Self.hourlyRecording(dir)))
                let daemon = try dir.launch()
                #expect(daemon.waitForLog("event=state.damaged"), "\(daemon.log)")
                #expect(waitForAudio(under: dir.file("r")), "\(daemon.log)")
                #expect(daemon.process.isRunning)
                #expect(daemon.terminate().status == 0)
                // No restart gap was made up from the damaged file.
                #expect(!daemon.log.contains("daemon_restart"))
            }
        }

        /// The daemon's wall clock is shifted through a file the test writes (the daemon's test hook
        /// `AUDIOCAP_TEST_CLOCK_SHIFT_FILE`), while its monotonic and boot clocks stay real, as when NTP or
        /// an operator steps the clock. (libfaketime was tried: it shifts the monotonic clock too.)
        @Test func clockStepsAreEventsNeverStretchAFileAndPauseAgeRetention() throws {
            try DaemonFixture.with { dir in
                let offsetFile = dir.file("clock-shift")
                try Data("0\n".utf8).write(to: URL(fileURLWithPath: offsetFile))
                try dir.writeConfig(
                    Self.lavfiConfig(
                        dir,
                        recording: """
                            [[recording]]
                            name = "r"
                            directory = "\(dir.path)/r"
                            segment_seconds = 10
                            align = "clock"
                            filename = "%Y%m%dT%H%M%S-{seq}.wav"
                            keep_days = 1
                            """))
                let daemon = try dir.launch(environment: ["AUDIOCAP_TEST_CLOCK_SHIFT_FILE": offsetFile])
                #expect(waitUntil(timeout: 30) { wavFiles(under: dir.file("r")).count >= 1 }, "\(daemon.log)")

                // Back by 5 minutes: without care the open file would run until the old boundary came round.
                try Data("-300\n".utf8).write(to: URL(fileURLWithPath: offsetFile))
                #expect(daemon.waitForLog("event=clock.stepped", timeout: 10), "\(daemon.log)")
                let closedBefore = wavFiles(under: dir.file("r")).count
                #expect(
                    waitUntil(timeout: 30) { wavFiles(under: dir.file("r")).count >= closedBefore + 2 }, "\(daemon.log)"
                )
                for file in wavFiles(under: dir.file("r")) {
                    let frames = try #require(ffprobeFrames(file))
                    #expect(frames <= 10 * 48_000 + 4_800, "\(file) holds \(frames) frames: stretched past its 10 s")
                }

                // Forward by 30 days: every file now looks a month old, but the clock just moved, so
                // keep_days deletes nothing.
                try Data("2592000\n".utf8).write(to: URL(fileURLWithPath: offsetFile))
                #expect(daemon.waitForLog("event=clock.stepped", count: 2, timeout: 10), "\(daemon.log)")
                let files = wavFiles(under: dir.file("r")).count
                #expect(waitUntil(timeout: 30) { wavFiles(under: dir.file("r")).count >= files + 2 }, "\(daemon.log)")
                #expect(!daemon.log.contains("event=segment.deleted"), "\(daemon.lines(containing: "segment.deleted"))")
                #expect(daemon.process.isRunning)
            }
        }
    }
}
