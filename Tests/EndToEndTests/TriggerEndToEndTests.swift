// End to end: level triggers write one clip per sound, frame-exact, from a signal with bursts at known frames.
import CaptureProtocol
import Foundation
import TestSupport
import Testing

private let hasFFmpeg = ProcessRunner.which("ffmpeg") != nil

/// The trigger every test here configures, and what its clips must look like.
private enum Birds {
    static let threshold = -30.0
    static let highPassHz = 1500.0
    static let pre = BurstPattern.frames(1.0)
    static let post = BurstPattern.frames(1.0)
    static let max = BurstPattern.frames(3.0)
    /// The burst's first frame must be `pre` frames into its clip within 10 ms.
    static let startTolerance = BurstPattern.frames(0.010)
    /// A clip ends `post` frames after the last frame over the threshold; the filter's ring and the
    /// detector's resolution are allowed 20 ms.
    static let endTolerance = BurstPattern.frames(0.020)

    static let table = """
        [[trigger]]
        name = "birds"
        threshold_dbfs = \(threshold)
        hold_ms = 20
        pre_seconds = 1
        post_seconds = 1
        max_seconds = 3
        high_pass_hz = \(highPassHz)
        filename = "{name}-{seq}.wav"
        """
}

extension EndToEnd {
    @Suite(.serialized) struct TriggerEndToEndTests {
        /// The signal is built so the test holds whatever the daemon's filter: the hum is over the
        /// threshold unfiltered (so it would fire without `high_pass_hz`) and far under it after even a
        /// one-pole high-pass; the bursts stay far over it.
        @Test func theTestSignalHasMarginsForAnyHighPassFilter() {
            let samples = BurstPattern.Trigger.pattern.samples()
            func part(_ tone: BurstPattern.Tone) -> [Int16] { Array(samples[tone.start..<tone.end]) }
            let hum = part(BurstPattern.Trigger.hum)
            #expect(BurstPattern.peakDBFS(of: hum, highPassHz: nil) > Birds.threshold + 15)
            let filteredHum = BurstPattern.peakDBFS(of: hum, highPassHz: Birds.highPassHz)
            #expect(filteredHum < Birds.threshold - 6, "the hum after a one-pole high-pass: \(filteredHum) dBFS")
            for tone in [
                BurstPattern.Trigger.single, BurstPattern.Trigger.pairFirst, BurstPattern.Trigger.pairSecond,
                BurstPattern.Trigger.long,
            ] {
                let peak = BurstPattern.peakDBFS(of: part(tone), highPassHz: Birds.highPassHz)
                #expect(peak > Birds.threshold + 12, "a burst after a one-pole high-pass: \(peak) dBFS")
                #expect(abs(BurstPattern.peakDBFS(of: part(tone), highPassHz: nil) - -12) < 0.01)
            }
            // Silence outside the tones, and each burst is over the threshold from its second frame.
            let amplitude = BurstPattern.amplitude(dBFS: Birds.threshold)
            #expect(samples[..<BurstPattern.Trigger.single.start].allSatisfy { $0 == 0 })
            #expect(BurstPattern.firstFrame(over: amplitude, in: samples) == BurstPattern.Trigger.single.start + 1)
            #expect(samples.count == 960_000)
        }

        /// ffmpeg reads the WAV file as the daemon runs it (`-f wav`, mono s16 out) and gives back the
        /// signal's bytes exactly, and nothing else.
        @Test(.enabled(if: hasFFmpeg, "needs ffmpeg")) func ffmpegReadsTheSignalBitExact() throws {
            let directory = try TemporaryDirectory()
            let path = directory.file("signal.wav")
            try BurstPattern.Trigger.pattern.writeWAV(to: path)
            let result = try ProcessRunner.run(
                "ffmpeg",
                [
                    "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "wav", "-i", path, "-map", "0:a:0", "-ac",
                    "1", "-ar", "48000", "-c:a", "pcm_s16le", "-f", "s16le", "pipe:1",
                ], timeout: 30)
            #expect(result.status == 0, "\(String(decoding: result.stderr, as: UTF8.self))")
            #expect(result.stdout == BurstPattern.Trigger.pattern.data())
            #expect(try WAVAudio.bytes(of: path, channels: 1) == BurstPattern.Trigger.pattern.data())
        }

        /// The daemon captures the signal from its WAV file (exact, unpaced: capture frame n is the file's
        /// frame n) into a continuous recording and one trigger; each sound gives the clips it should.
        @Test(.enabled(if: hasFFmpeg, "needs ffmpeg")) func eachBurstYieldsOneFrameExactClip() throws {
            try DaemonFixture.with { dir in
                let pattern = BurstPattern.Trigger.pattern
                let signalPath = dir.file("signal.wav")
                try pattern.writeWAV(to: signalPath)
                let clips = dir.file("clips")
                try dir.writeConfig(
                    """
                    [source]
                    input_format = "wav"
                    device = "\(signalPath)"
                    channels = 1
                    restart_delay_seconds = 60
                    [levels]
                    log_interval_seconds = 0
                    [control]
                    socket = "\(dir.socket)"
                    [storage]
                    root = "\(dir.root)"
                    state = "\(dir.state)"
                    [[recording]]
                    name = "main"
                    directory = "\(dir.path)/main"
                    segment_seconds = 3600
                    align = "samples"
                    filename = "{seq}.wav"
                    \(Birds.table)
                    directory = "\(clips)"
                    """)
                let daemon = try dir.launch()
                #expect(daemon.waitForLog("ffmpeg exited on its own", timeout: 30), "\(daemon.log.suffix(3000))")
                // Four clips: the single burst, the close pair, the long burst and its continuation.
                #expect(daemon.waitForLog("event=clip.closed", count: 4, timeout: 20), "\(daemon.log.suffix(3000))")
                #expect(waitUntil(timeout: 5) { wavFiles(under: clips).count >= 4 })

                let triggers = try dir.decode(TriggersResponse.self, dir.get(ControlAPI.triggers))
                let cli = try dir.cli(["triggers", "--json"])
                #expect(cli.status == 0, "\(cli.err)")
                let fromCLI = try? ControlAPI.decoder().decode(TriggersResponse.self, from: Data(cli.out.utf8))
                #expect(fromCLI?.triggers.map(\.name) == ["birds"], "\(cli.out)")
                #expect(fromCLI?.triggers.first?.clipsTotal == 4, "\(cli.out)")
                #expect(daemon.terminate().status == 0)

                // The continuous recording is the signal, frame for frame, from capture frame 0.
                let main = try ContinuousAudio(directory: dir.path + "/main", channels: 1)
                #expect(main.firstFrame == 0)
                #expect(main.audio == pattern.data(), "the capture is not the signal: \(main.audio.count / 2) frames")
                let samples = pattern.samples()

                let sidecars = try Sidecar.all(under: clips)
                try #require(sidecars.count == 4, "clips: \(sidecars)")
                let (single, pair, longCut, longRest) = (sidecars[0], sidecars[1], sidecars[2], sidecars[3])
                let tones = BurstPattern.Trigger.self
                let amplitude = BurstPattern.amplitude(dBFS: Birds.threshold)
                /// The frame after the last frame of `tone` over the threshold.
                func lastOver(_ tone: BurstPattern.Tone) -> Int {
                    (BurstPattern.lastFrame(over: amplitude, in: samples, before: tone.end) ?? tone.end) + 1
                }

                // Where each clip starts: the burst's first frame `pre_seconds` into the clip.
                var startErrors: [Double] = []
                for (clip, tone) in [(single, tones.single), (pair, tones.pairFirst), (longCut, tones.long)] {
                    let error = (tone.start - clip.firstFrame) - Birds.pre
                    startErrors.append(Double(error) / 48)
                    #expect(
                        abs(error) <= Birds.startTolerance,
                        "the burst at frame \(tone.start) is \(tone.start - clip.firstFrame) frames into \(clip)")
                }
                // Where each clip ends: `post_seconds` after the last frame over the threshold.
                var endErrors: [Double] = []
                for (clip, tone) in [(single, tones.single), (pair, tones.pairSecond), (longRest, tones.long)] {
                    let error = clip.endFrame - (lastOver(tone) + Birds.post)
                    endErrors.append(Double(error) / 48)
                    #expect(abs(error) <= Birds.endTolerance, "\(clip) ends \(error) frames from \(tone)")
                }
                // The close pair is one clip; the long burst is cut at max_seconds and goes on in the next clip
                // from the next frame.
                #expect(pair.firstFrame < tones.pairFirst.start && pair.endFrame > tones.pairSecond.end, "\(pair)")
                #expect(longCut.frames == Birds.max, "\(longCut)")
                #expect(longRest.firstFrame == longCut.endFrame, "\(longCut) then \(longRest)")
                // Nothing fired around the hum.
                let humSpan = tones.hum.start..<tones.hum.end
                #expect(
                    sidecars.allSatisfy { !humSpan.overlaps($0.firstFrame..<$0.endFrame) },
                    "a clip at the hum: \(sidecars)")

                // Every clip is the continuous recording's frames over its span, and what ffprobe reads.
                for clip in sidecars {
                    let audio = try WAVAudio.bytes(of: clip.path, channels: 1)
                    #expect(audio.count == clip.frames * 2, "\(clip)")
                    #expect(main.difference(audio, atCaptureFrame: clip.firstFrame) == nil, "\(clip)")
                    #expect(ffprobeFrames(clip.path) == clip.frames, "\(clip)")
                    #expect(clip.gaps == 0, "\(clip)")
                }

                // The sidecars' `trigger`: the first frame over the threshold and its offset in the clip.
                for (clip, tone, continues) in [
                    (single, tones.single, false), (pair, tones.pairFirst, false), (longCut, tones.long, false),
                ] {
                    let trigger = try #require(clip.trigger, "no trigger in the sidecar of \(clip)")
                    #expect(trigger["name"] as? String == "birds")
                    let frame = try #require(trigger["frame"] as? Int, "\(trigger)")
                    #expect(frame >= tone.start && frame <= tone.start + Birds.startTolerance, "\(trigger)")
                    #expect(trigger["offset_frames"] as? Int == frame - clip.firstFrame, "\(trigger)")
                    let seconds = (trigger["offset_seconds"] as? Double) ?? .nan
                    #expect(abs(seconds - Double(frame - clip.firstFrame) / 48_000) < 1e-5, "\(trigger)")
                    #expect(trigger["continues"] as? Bool == continues, "\(trigger)")
                    let peak = (trigger["peak_dbfs"] as? Double) ?? .nan
                    #expect(peak > -18 && peak < -6, "a -12 dBFS 2 kHz burst after the high-pass: \(trigger)")
                }
                let continued = try #require(longRest.trigger, "no trigger in the sidecar of \(longRest)")
                #expect(continued["continues"] as? Bool == true, "\(continued)")

                // The events say the same.
                let closed = daemon.lines(containing: "event=clip.closed").map(fields)
                #expect(closed.count == 4, "\(closed)")
                for clip in sidecars {
                    let event = closed.first { $0["segment.path"] == clip.path }
                    #expect(event?["segment.frames"] == String(clip.frames), "\(clip): \(String(describing: event))")
                    #expect(event?["segment.first_frame"] == String(clip.firstFrame), "\(String(describing: event))")
                    #expect(event?["clip.cut"] == String(clip.path == longCut.path), "\(String(describing: event))")
                    if let frame = clip.trigger?["frame"] as? Int {
                        #expect(event?["trigger.frame"] == String(frame), "\(String(describing: event))")
                        #expect(
                            event?["trigger.offset_frames"] == String(frame - clip.firstFrame),
                            "\(String(describing: event))")
                    }
                }
                let fired = daemon.lines(containing: "event=trigger.fired").map(fields)
                let firedFrames = fired.compactMap { $0["trigger.frame"].flatMap { Int($0) } }
                for tone in [tones.single, tones.pairFirst, tones.long] {
                    #expect(
                        firedFrames.contains { $0 >= tone.start && $0 <= tone.start + Birds.startTolerance },
                        "no trigger.fired at the burst at \(tone.start): \(fired)")
                }
                // The second of the pair extended the open clip: not a firing of its own; nor is the hum.
                for tone in [tones.pairSecond, tones.hum] {
                    #expect(!firedFrames.contains { $0 >= tone.start && $0 < tone.end }, "\(fired)")
                }

                // GET /v1/triggers.
                let status = try #require(triggers.triggers.first, "\(triggers)")
                #expect(triggers.triggers.count == 1)
                #expect(status.name == "birds" && status.source == "main", "\(status)")
                #expect(status.state == "listening", "\(status)")
                #expect(status.clipsTotal == 4 && status.clipsToday == 4, "\(status)")
                #expect((3...4).contains(status.firings), "\(status)")
                #expect(status.lastClip == longRest.path, "\(status)")
                #expect(status.currentClip == nil && status.droppedFrames == 0, "\(status)")
                #expect(status.highPassHz == Birds.highPassHz && status.thresholdDBFS == Birds.threshold)

                print(
                    "trigger-figures clip_start_error_ms=[\(startErrors.map(format3).joined(separator: ","))] "
                        + "clip_end_error_ms=[\(endErrors.map(format3).joined(separator: ","))] "
                        + "max_abs_start_error_ms=\(format3(startErrors.map(abs).max() ?? .nan)) firings=\(status.firings)"
                )
            }
        }
    }
}
