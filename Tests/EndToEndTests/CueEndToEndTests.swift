// End to end: a recording started 20 s in the past and clips of audio already captured, from the look-back
// buffer, checked frame for frame against a continuous recording of the same paced test microphone.
import CaptureProtocol
import Foundation
import TestSupport
import Testing

/// One chunk (the default `chunk_ms`), in seconds: how closely a start in the past must hit its time.
private let chunkSeconds = 0.1
/// Wall-clock slack for comparing the daemon's frame times with the test's clock: ffmpeg hands audio over
/// in bursts, and the daemon maps frames to time from their arrival.
private let arrivalJitter = 0.05
/// How far a sound card's rate may be from its nominal rate (the test microphone delivers 192,061-192,068
/// bytes per wall second for 192,000: 0.03 % fast).
private let maxRateError = 0.0005
/// Each end of a clip is placed by the frame clock, whose offset follows the audio's arrival times (a 10 s
/// average): it may sit a millisecond or so apart at the two ends of a short clip.
private let clockJitterFrames = 96.0

extension EndToEnd {
    @Suite(
        .serialized,
        .enabled(
            if: TestMic.isAvailable, "the ALSA test microphone needs pulseaudio, pactl, pacat and libasound2-plugins"))
    struct CueEndToEndTests {
        /// After 30 s of capture: a clip of -10 s..-2 s, a clip reaching further back than the buffer, a clip
        /// through the CLI, and a recording started at -20 s that goes on live. Each is the continuous
        /// recording's frames over its span, and the pattern's frame counter runs through without a seam.
        @Test func startInThePastAndClipsAreTheContinuousRecordingsFrames() throws {
            try DaemonFixture.with(
                mic: true,
                config: { dir in
                    """
                    [source]
                    device = "testmic"
                    look_back_seconds = 30
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
                    """
                }
            ) { dir in
                #expect(dir.waitForControl(), "\(dir.daemon.log)")
                // 30 s of capture: the buffer is full.
                var lookBack: LookBackStatus?
                let filled = waitUntil(timeout: 60) {
                    lookBack = dir.sourceStatus("main")?.lookBack
                    return (lookBack?.heldSeconds ?? 0) >= 29.8
                }
                try #require(filled, "the look-back buffer did not fill: \(String(describing: lookBack))")
                let held = try #require(lookBack)
                #expect(held.seconds == 30)
                #expect(held.heldSeconds <= 30 + chunkSeconds, "\(held)")
                #expect(abs(Double(held.bytes) - held.heldSeconds * 192_000) <= 19_200, "\(held)")
                #expect(held.oldest.map { abs(now() - held.heldSeconds - $0) < 1 } == true, "\(held)")

                // A clip of -10 s..-2 s: 8 s exactly, at the right time.
                let clipAsked = now()
                let clipReply = dir.send(
                    "POST", ControlAPI.clips, json: #"{"name":"clip","from_seconds":-10,"to_seconds":-2}"#)
                let clipAnswered = now()
                #expect((200...201).contains(clipReply.status), "\(clipReply)")
                let clip = try dir.decode(ClipResponse.self, clipReply)
                #expect(clip.path.hasPrefix(dir.root + "/clip/"), "a clip goes in ROOT/NAME: \(clip.path)")
                // 8 s of the sound card's frames: the ends are placed by wall time, and a card runs within
                // 0.05 % of its nominal rate (the test microphone about 0.03 % fast).
                #expect(abs(Double(clip.frames) - 384_000) <= 384_000 * maxRateError + clockJitterFrames, "\(clip)")
                #expect(abs(clip.fromSeconds + 10) < 1e-4 && abs(clip.toSeconds + 2) < 1e-4, "\(clip)")
                #expect(clip.gaps == 0 && clip.gapFrames == 0 && clip.message == nil, "\(clip)")
                let clipTolerance = chunkSeconds + arrivalJitter
                #expect(
                    clip.startTime >= clipAsked - 10 - clipTolerance
                        && clip.startTime <= clipAnswered - 10 + clipTolerance,
                    "asked at \(format3(clipAsked)), answered at \(format3(clipAnswered)): \(clip)")

                // Further back than the buffer: it starts at the oldest frame held, and says so.
                let deepReply = dir.send(
                    "POST", ControlAPI.clips, json: #"{"name":"deep","from_seconds":-45,"to_seconds":-25}"#)
                #expect((200...201).contains(deepReply.status), "\(deepReply)")
                let deep = try dir.decode(ClipResponse.self, deepReply)
                #expect(deep.message != nil, "\(deep)")
                #expect(deep.fromSeconds > -31 && deep.fromSeconds < -29, "\(deep)")
                #expect(abs(deep.toSeconds + 25) < 1e-4, "\(deep)")

                // The same through the CLI: a clip of the last seconds, in ROOT/NAME.
                let cliClip = try dir.cli(["clip", "viacli", "--from", "-3s", "--to", "-1s"])
                #expect(cliClip.status == 0, "\(cliClip.out) \(cliClip.err)")

                // A recording that starts 20 s before the request and goes on live.
                let startAsked = now()
                let startReply = dir.send(
                    "POST", ControlAPI.recordings,
                    json: #"{"name":"past","from_seconds":-20,"segment_seconds":10,"filename":"{seq}.wav"}"#)
                let startAnswered = now()
                #expect((200...201).contains(startReply.status), "\(startReply)")
                let started = try dir.decode(RecordingResponse.self, startReply)
                let achieved = try #require(started.fromSeconds, "no from_seconds in \(startReply.body)")
                #expect(abs(achieved + 20) <= chunkSeconds, "\(started)")
                #expect(started.message == nil, "\(started)")
                // 4 s of it live.
                #expect(
                    waitUntil(timeout: 20) { (dir.recordingStatus("past")?.framesWritten ?? 0) >= 24 * 48_000 },
                    "\(String(describing: dir.recordingStatus("past")))")
                #expect(dir.send("DELETE", ControlAPI.recording("past")).status == 200)
                #expect(waitUntil(timeout: 10) { partialFiles(under: dir.root + "/past").isEmpty })
                #expect(dir.daemon.terminate().status == 0)

                let main = try ContinuousAudio(directory: dir.path + "/main", channels: 2)
                #expect(try PatternCheck.check(channels: 2, files: wavFiles(under: dir.path + "/main")).bitExact)

                // The recording: the first frame 20 s before the request (within one chunk), the files one after
                // the other without a hole or a gap, and together the continuous recording's frames.
                let past = try Sidecar.all(under: dir.root + "/past")
                let first = try #require(past.first, "no files under \(dir.root)/past")
                let pastTolerance = chunkSeconds + arrivalJitter
                #expect(
                    first.startTime >= startAsked - 20 - pastTolerance
                        && first.startTime <= startAnswered - 20 + pastTolerance,
                    "asked at \(format3(startAsked)), answered at \(format3(startAnswered)): \(first)")
                for (a, b) in zip(past, past.dropFirst()) {
                    #expect(a.endFrame == b.firstFrame, "\(a) then \(b)")
                }
                #expect(past.allSatisfy { $0.gaps == 0 }, "\(past)")
                let joined = try WAVAudio.joined(past.map(\.path), channels: 2)
                #expect(joined.count / 4 >= 24 * 48_000)
                #expect(main.difference(joined, atCaptureFrame: first.firstFrame) == nil, "\(past)")
                let pattern = try PatternCheck.check(channels: 2, files: past.map(\.path))
                #expect(pattern.bitExact, "the recording's frame counter: \(pattern)")

                // The clips: what the replies said, and the continuous recording's frames.
                let clipFile = try Sidecar(of: clip.path)
                #expect(clipFile.firstFrame == Int(clip.firstFrame) && clipFile.frames == Int(clip.frames))
                #expect(ffprobeFrames(clip.path) == Int(clip.frames))
                #expect(abs(clipFile.startTime - clip.startTime) < 1e-3, "\(clipFile) \(clip)")
                let deepFile = try Sidecar(of: deep.path)
                let cliFiles = try Sidecar.all(under: dir.root + "/viacli")
                #expect(cliFiles.count == 1, "\(cliFiles)")
                #expect(
                    cliFiles.first.map { abs(Double($0.frames) - 96_000) <= 96_000 * maxRateError + clockJitterFrames }
                        == true,
                    "\(cliFiles)")
                for file in [clipFile, deepFile] + cliFiles {
                    let audio = try WAVAudio.bytes(of: file.path, channels: 2)
                    #expect(audio.count == file.frames * 4, "\(file)")
                    #expect(main.difference(audio, atCaptureFrame: file.firstFrame) == nil, "\(file)")
                    #expect(try PatternCheck.check(channels: 2, files: [file.path]).bitExact, "\(file)")
                    #expect(file.gaps == 0, "\(file)")
                }
                // The deep clip starts at the oldest frame the buffer held, 30 s before the request.
                #expect(abs(Double(clip.firstFrame - deep.firstFrame) / 48_000 - 20) < 1, "\(deep) \(clip)")

                print(
                    "cue-figures past_from_seconds=\(achieved) past_start_error_s=\(format3(first.startTime - (startAsked + startAnswered) / 2 + 20)) "
                        + "clip_start_error_s=\(format3(clip.startTime - (clipAsked + clipAnswered) / 2 + 10)) "
                        + "clip_frames=\(clip.frames) deep_from_seconds=\(deep.fromSeconds) look_back_bytes=\(held.bytes)"
                )
            }
        }
    }
}
