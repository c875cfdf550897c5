// End to end: the built audiocapd against ffmpeg's generator and against a real ALSA capture device.
import CaptureCore
import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// ffmpeg's lavfi generator producing exactly the test pattern (channel 0 the -20 dBFS sine, channel 1
/// the frame counter), for `seconds` seconds.
func patternGenerator(seconds: Int) -> String {
    "aevalsrc=exprs=round(3277*sin(2*PI*1365*mod(n\\,65536)/65536))/32768|(mod(n\\,65536)-65536*gte(mod(n\\,65536)\\,32768))/32768:s=48000:c=stereo:d=\(seconds)"
}

/// `key=value` fields of a log line (values may be quoted).
func fields(of line: String) -> [String: String] {
    var result: [String: String] = [:]
    let pattern = /([a-z_.]+)=("(?:[^"\\]|\\.)*"|\S+)/
    for match in line.matches(of: pattern) {
        var value = String(match.output.2)
        if value.hasPrefix("\"") { value = String(value.dropFirst().dropLast()) }
        result[String(match.output.1)] = value
    }
    return result
}

extension EndToEnd {
    @Suite(.serialized) struct CaptureEndToEndTests {
        @Test func generatorUnpacedIntoSampleAlignedSegmentsIsBitExact() throws {
            try DaemonFixture.with { dir in
                try dir.writeConfig(
                    """
                    [source]
                    input_format = "lavfi"
                    device = '\(patternGenerator(seconds: 5))'

                    restart_delay_seconds = 60
                    [levels]
                    log_interval_seconds = 0
                    [control]
                    socket = ""
                    [storage]
                    root = "\(dir.path)/ondemand"
                    state = "\(dir.path)/state"
                    [[recording]]
                    name = "gen"
                    directory = "\(dir.path)/out"
                    segment_seconds = 1
                    align = "samples"
                    filename = "{seq}.wav"
                    """)
                let daemon = try dir.launch()
                #expect(daemon.waitForLog("ffmpeg exited on its own"), "\(daemon.log)")
                let (status, seconds) = daemon.terminate()
                #expect(status == 0)
                #expect(seconds < 5)
                let files = wavFiles(under: dir.path + "/out")
                #expect(files.count == 5)
                #expect(files.map { ffprobeFrames($0) } == Array(repeating: 48_000, count: 5))
                let report = try PatternCheck.check(channels: 2, files: files)
                #expect(report.bitExact, "\(report)")
                #expect(report.frames == 240_000)
                #expect(partialFiles(under: dir.path).isEmpty)
                // Levels in the segment events against the pattern's known levels.
                let closed = daemon.lines(containing: "event=segment.closed").map(fields)
                #expect(closed.count == 5)
                for event in closed {
                    // Per-channel levels print as the event's numbers joined by commas (WireFormat).
                    let peaks = event["segment.peak_dbfs"]!.split(separator: ",").compactMap { Double($0) }
                    let rms = event["segment.rms_dbfs"]!.split(separator: ",").compactMap { Double($0) }
                    #expect(peaks.first == -20)
                    #expect(abs(rms[0] - -23.01) < 0.02)
                }
            }
        }

        @Test func sighupAppliesRecordingChangesAndRefusesABadFile() throws {
            try DaemonFixture.with { dir in
                func config(_ recordings: String) -> String {
                    """
                    [source]
                    input_format = "lavfi"
                    device = '\(patternGenerator(seconds: 600))'
                    input_options = ["-re"]
                    [control]
                    socket = ""
                    [storage]
                    root = "\(dir.path)/ondemand"
                    state = "\(dir.path)/state"
                    \(recordings)
                    """
                }
                try dir.writeConfig(
                    config(
                        """
                        [[recording]]
                        name = "a"
                        directory = "\(dir.path)/a"
                        segment_seconds = 3600
                        align = "samples"
                        [[recording]]
                        name = "c"
                        directory = "\(dir.path)/c"
                        segment_seconds = 3600
                        align = "samples"
                        filename = "{seq}.wav"
                        """))
                let daemon = try dir.launch()
                #expect(daemon.waitForLog("ffmpeg started"))
                usleep(500_000)
                try dir.writeConfig(
                    config(
                        """
                        [[recording]]
                        name = "b"
                        directory = "\(dir.path)/b"
                        segment_seconds = 1
                        align = "samples"
                        filename = "{seq}.wav"
                        [[recording]]
                        name = "c"
                        directory = "\(dir.path)/c"
                        segment_seconds = 2
                        align = "samples"
                        filename = "{seq}.wav"
                        """))
                daemon.signal(SIGHUP)
                #expect(daemon.waitForLog("event=config.reloaded"), "\(daemon.log)")
                let reloaded = fields(of: daemon.lines(containing: "event=config.reloaded")[0])
                #expect(reloaded["recordings.started"] == "b")
                #expect(reloaded["recordings.stopped"] == "a")
                #expect(reloaded["recordings.restarted"] == "c")
                #expect(daemon.waitForLog("event=segment.closed recording.name=b", count: 1, timeout: 10))
                try dir.writeConfig("[source]\nchannels = 99\n")
                daemon.signal(SIGHUP)
                #expect(daemon.waitForLog("event=config.reload_failed"), "\(daemon.log)")
                #expect(daemon.lines(containing: "event=config.reload_failed")[0].contains("source.channels"))
                #expect(daemon.waitForLog("event=segment.closed recording.name=b", count: 2, timeout: 10))
                #expect(daemon.process.isRunning)
                let (status, seconds) = daemon.terminate()
                #expect(status == 0)
                #expect(seconds < 5)
                #expect(wavFiles(under: dir.path + "/a").count == 1)
                let b = wavFiles(under: dir.path + "/b")
                #expect(try PatternCheck.check(channels: 2, files: b).mismatchingFrames == 0)
                #expect(partialFiles(under: dir.path).isEmpty)
                // The changed recording handed over from one writer to the next without losing or repeating
                // a frame, and its numbering went on.
                let c = wavFiles(under: dir.path + "/c")
                #expect(c.count >= 2 && c.first.map { $0.hasSuffix("/000001.wav") } == true, "\(c)")
                let joined = try PatternCheck.check(channels: 2, files: c)
                #expect(joined.bitExact, "\(joined)")
                #expect(joined.frames == (try framesDelivered(daemon)), "\(joined)")
            }
        }

        @Test func metricsEndpointServesPrometheusText() async throws {
            try await DaemonFixture.with { dir in
                let port = 20_000 + Int(getpid() % 20_000)
                try dir.writeConfig(
                    """
                    [source]
                    input_format = "lavfi"
                    device = '\(patternGenerator(seconds: 600))'
                    input_options = ["-re"]
                    [control]
                    socket = ""
                    [storage]
                    root = "\(dir.path)/ondemand"
                    state = "\(dir.path)/state"
                    [metrics]
                    listen = "127.0.0.1:\(port)"
                    [station]
                    id = "e2e-1"
                    [[recording]]
                    name = "m"
                    directory = "\(dir.path)/m"
                    """)
                let daemon = try dir.launch()
                #expect(daemon.waitForLog("metrics endpoint listening"), "\(daemon.log)")
                #expect(daemon.waitForLog("ffmpeg started"))
                func scrape() async throws -> [String: Double] {
                    let (data, response) = try await URLSession.shared.data(
                        from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
                    #expect((response as? HTTPURLResponse)?.statusCode == 200)
                    var values: [String: Double] = [:]
                    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#")
                    {
                        let parts = line.split(separator: " ")
                        if parts.count == 2 { values[String(parts[0])] = Double(parts[1]) }
                    }
                    return values
                }
                usleep(1_000_000)
                let first = try await scrape()
                usleep(1_000_000)
                let second = try await scrape()
                // Every metric of a source is labelled with it (a single [source] is `main`), and every metric
                // with the station.
                let station = "station=\"e2e-1\""
                let captured = "audiocap_frames_captured_total{source=\"main\",\(station)}"
                #expect((second[captured] ?? 0) > (first[captured] ?? 0))
                #expect(
                    abs((second["audiocap_peak_dbfs{source=\"main\",channel=\"0\",\(station)}"] ?? 0) - -20) < 0.01)
                #expect(second["audiocap_dropped_frames_total{source=\"main\",\(station)}"] == 0)
                #expect(second["audiocap_source_up{source=\"main\",\(station)}"] == 1)
                #expect(second["audiocap_recording_blocked{recording=\"m\",source=\"main\",\(station)}"] == 0)
                #expect(second.keys.allSatisfy { $0.contains(station) }, "\(second.keys.sorted())")
                #expect(daemon.terminate().status == 0)
            }
        }

        @Test func badConfigurationExits78WithTheKey() throws {
            try DaemonFixture.with { dir in
                try dir.writeConfig(
                    """
                    [source]
                    channels = 0
                    sample_rat = 48000
                    """, to: dir.file("bad.toml"))
                let daemon = try dir.launch(config: dir.file("bad.toml"))
                daemon.process.waitUntilExit()
                #expect(daemon.process.terminationStatus == 78)
                #expect(daemon.log.contains("source.channels"))
                #expect(daemon.log.contains("sample_rat"))
                let check = try ProcessRunner.run(Binaries.audiocap, ["check-config", dir.file("bad.toml")])
                #expect(check.status == 78)
                #expect(String(decoding: check.stderr, as: UTF8.self).contains("source.channels"))
            }
        }
    }
}

extension EndToEnd {
    @Suite(
        .serialized,
        .enabled(
            if: TestMic.isAvailable, "the ALSA test microphone needs pulseaudio, pactl, pacat and libasound2-plugins"))
    struct ALSACaptureEndToEndTests {
        func config(dir: DaemonFixture, device: String = "testmic", extraSource: String = "", recordings: String)
            -> String
        {
            """
            [source]
            device = "\(device)"
            restart_delay_seconds = 0.2
            \(extraSource)
            [levels]
            log_interval_seconds = 1
            [control]
            socket = ""
            [storage]
            root = "\(dir.path)/ondemand"
            state = "\(dir.path)/state"
            \(recordings)
            """
        }

        @Test func pacedALSACaptureIntoClockAndSampleAlignedRecordings() throws {
            try DaemonFixture.with(mic: true) { dir in
                try dir.writeConfig(
                    config(
                        dir: dir,
                        recordings: """
                            [[recording]]
                            name = "clock"
                            directory = "\(dir.path)/clock"
                            segment_seconds = 2
                            filename = "%H%M%S.wav"
                            [[recording]]
                            name = "samples"
                            directory = "\(dir.path)/samples"
                            segment_seconds = 1
                            align = "samples"
                            filename = "{seq}.wav"
                            """))
                let daemon = try dir.launch()
                #expect(daemon.waitForLog("recording.name=clock", count: 1, timeout: 15))
                #expect(
                    daemon.waitForLog("event=segment.closed recording.name=clock", count: 3, timeout: 20),
                    "\(daemon.log)")
                let (status, seconds) = daemon.terminate()
                #expect(status == 0)
                #expect(seconds < 5)
                #expect(partialFiles(under: dir.path).isEmpty)

                let samples = wavFiles(under: dir.path + "/samples")
                let clock = wavFiles(under: dir.path + "/clock")
                for files in [samples, clock] {
                    let report = try PatternCheck.check(channels: 2, files: files)
                    #expect(report.bitExact, "\(report)")
                    #expect(report.frames > 4 * 48_000)
                }
                // Both recordings got every frame of the one capture.
                let totalSamples = samples.compactMap(ffprobeFrames).reduce(0, +)
                let totalClock = clock.compactMap(ffprobeFrames).reduce(0, +)
                #expect(totalSamples == totalClock)
                // align = "samples": every file but the last holds exactly 1 s.
                #expect(samples.dropLast().allSatisfy { ffprobeFrames($0) == 48_000 })
                // align = "clock": files are named at even seconds and start within one chunk of the boundary.
                for file in clock.dropFirst() {
                    let name = (file as NSString).lastPathComponent
                    #expect(Int(name.prefix(6))! % 2 == 0, "\(name)")
                }
                let closed = daemon.lines(containing: "event=segment.closed recording.name=clock").map(fields)
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                for event in closed.dropFirst() {
                    let start = formatter.date(from: event["segment.start_time_utc"]!)!.timeIntervalSince1970
                    #expect(abs(Double(event["segment.start_time"]!)! - start) < 0.001)
                    let offset = start - (start / 2).rounded() * 2
                    #expect(abs(offset) <= 0.1, "segment starts \(offset) s from its boundary")
                }
                for file in clock.dropFirst().dropLast() {
                    #expect(abs(ffprobeFrames(file)! - 96_000) <= 4800)
                }
                // Levels of the pattern: the sine channel at -20 dBFS peak.
                let levels = daemon.lines(containing: "levels.peak_dbfs").map(fields)
                #expect(levels.contains { $0["levels.peak_dbfs"]?.hasPrefix("-20,") == true })
            }
        }

        @Test func sigkillMidSegmentLeavesAReadableFileThatTheNextStartRepairs() throws {
            try DaemonFixture.with(mic: true) { dir in
                try dir.writeConfig(
                    config(
                        dir: dir,
                        recordings: """
                            [[recording]]
                            name = "r"
                            directory = "\(dir.path)/r"
                            segment_seconds = 60
                            align = "samples"
                            filename = "{seq}-%H%M%S.wav"
                            sync_seconds = 0.5
                            """))
                let first = try dir.launch()
                #expect(first.waitForLog("ffmpeg started"))
                // Let 3 s of audio reach the file, then kill without warning.
                #expect(
                    waitUntil(timeout: 15) {
                        (partialFiles(under: dir.path + "/r").first.flatMap(ffprobeFrames) ?? 0) >= 3 * 48_000
                    })
                first.kill9()
                let partials = partialFiles(under: dir.path + "/r")
                #expect(partials.count == 1)
                // The header was refreshed at the last sync: an independent reader accepts the file as it is.
                let synced = try #require(ffprobeFrames(partials[0]))
                #expect(synced >= 3 * 48_000)
                let crashed = try PatternCheck.check(channels: 2, files: partials)
                #expect(crashed.bitExact, "\(crashed)")

                let second = try dir.launch()
                #expect(second.waitForLog("event=segment.repaired"), "\(second.log)")
                #expect(second.waitForLog("ffmpeg started"))
                usleep(1_500_000)
                #expect(second.terminate().status == 0)
                #expect(partialFiles(under: dir.path).isEmpty)
                let files = wavFiles(under: dir.path + "/r")
                #expect(files.count == 2)
                let repaired = try #require(files.first)
                #expect(try PatternCheck.check(channels: 2, files: [repaired]).bitExact)
                #expect(ffprobeFrames(repaired)! >= synced)
            }
        }

        @Test func killedFFmpegIsRestartedAndTheRecordingContinues() throws {
            try DaemonFixture.with(mic: true) { dir in
                try dir.writeConfig(
                    config(
                        dir: dir,
                        recordings: """
                            [[recording]]
                            name = "r"
                            directory = "\(dir.path)/r"
                            segment_seconds = 3600
                            filename = "{seq}.wav"
                            """))
                let daemon = try dir.launch()
                #expect(daemon.waitForLog("ffmpeg started"))
                // Half a second of audio reaches the file before the fault.
                #expect(waitForAudio(under: dir.path + "/r"))
                let pid = try #require(daemon.ffmpegPID)
                kill(pid, SIGKILL)
                #expect(daemon.waitForLog("ffmpeg exited on its own"))
                #expect(daemon.waitForLog("ffmpeg started", count: 2, timeout: 10), "\(daemon.log)")
                // And half a second more after the recovery.
                #expect(waitForAudio(under: dir.path + "/r", moreThan: audioBytes(under: dir.path + "/r")))
                #expect(daemon.terminate().status == 0)
                let exited = try #require(daemon.lines(containing: "ffmpeg exited on its own").first.map(fields))
                #expect(exited["ffmpeg.status"]?.contains("signaled(9)") == true)
                let files = wavFiles(under: dir.path + "/r")
                #expect(files.count == 1)
                let closed = try #require(daemon.lines(containing: "event=segment.closed").first.map(fields))
                #expect(closed["segment.restarts"] == "1")
                // The sidecar locates the restart in the file, with the outage as an estimate.
                let sidecar =
                    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: files[0] + ".json")))
                    as! [String: Any]
                let gaps = (sidecar["segment"] as! [String: Any])["gaps"] as! [[String: Any]]
                #expect(gaps.count == 1)
                #expect(gaps.first?["kind"] as? String == "ffmpeg_restart")
                #expect(gaps.first?["exact"] as? Bool == false)
                #expect(((gaps.first?["frames"] as? Int) ?? 0) > 0)
                // The audio on either side of the restart is intact; the outage is one discontinuity.
                let report = try PatternCheck.check(channels: 2, files: files)
                #expect(report.mismatchingFrames == 0)
                #expect(report.discontinuities <= 1)
            }
        }

        @Test func aMissingDeviceIsNamedWithTheDevicesThatExist() throws {
            try DaemonFixture.with(mic: true) { dir in
                try dir.writeConfig(
                    config(
                        dir: dir, device: "nosuchmic",
                        recordings: """
                            [[recording]]
                            name = "r"
                            directory = "\(dir.path)/r"
                            """))
                let daemon = try dir.launch()
                #expect(daemon.waitForLog("event=source.device_unavailable"), "\(daemon.log)")
                let line = try #require(daemon.lines(containing: "event=source.device_unavailable").first)
                #expect(line.contains("nosuchmic"))
                #expect(fields(of: line)["alsa.capture_devices"]?.contains("testmic") == true)
                #expect(fields(of: line)["alsa.error"]?.contains("No such file") == true, "\(line)")
                // ALSA was asked at the start and after the failure, in a child: the PulseAudio plugin that
                // the test mic's configuration loads (and its 25 libraries) did not stay in the daemon.
                let maps = try String(contentsOfFile: "/proc/\(daemon.process.processIdentifier)/maps", encoding: .utf8)
                #expect(!maps.contains("libpulse"), "ALSA's plugins were loaded into audiocapd")
                // It keeps retrying rather than exiting, and stops cleanly.
                #expect(daemon.waitForLog("ffmpeg will be started again", count: 2, timeout: 10))
                #expect(daemon.process.isRunning)
                #expect(daemon.terminate().status == 0)
            }
        }
    }
}
