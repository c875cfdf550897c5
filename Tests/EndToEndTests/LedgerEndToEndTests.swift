// Faults against the paced ALSA test microphone, each checked against the gap ledger: ffmpeg killed
// again and again, the microphone gone and back, a writer stalled like a slow disk, the daemon killed.
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A recording's files and their ledger, read back from disk (`NAME.wav.json` beside each `NAME.wav`).
struct LedgerReading: CustomStringConvertible {
    struct Gap {
        var kind: String
        var fileFrame: Int
        var frames: Int
        var exact: Bool
        var filledFrames: Int
    }

    var files: [String] = []
    /// Frames per file, from ffprobe (an independent reader of the headers).
    var frames: [Int] = []
    /// Whether each file has its sidecar (a file repaired after a crash has none).
    var closed: [Bool] = []
    var silenceFrames = 0
    var gaps: [Gap] = []

    init(directory: String) throws {
        files = wavFiles(under: directory)
        for file in files {
            frames.append(try #require(ffprobeFrames(file), "ffprobe cannot read \(file)"))
            // A file repaired after a crash was never closed: its sidecar, written by the repair, says
            // its gaps are not known.
            let data = FileManager.default.contents(atPath: file + ".json")
            guard let data else {
                closed.append(false)
                continue
            }
            let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            closed.append(json["gaps_known"] as? Bool != false)
            let segment = try #require(json["segment"] as? [String: Any])
            silenceFrames += segment["silence_frames"] as? Int ?? 0
            for gap in segment["gaps"] as? [[String: Any]] ?? [] {
                gaps.append(
                    Gap(
                        kind: gap["kind"] as? String ?? "?", fileFrame: gap["file_frame"] as? Int ?? -1,
                        frames: gap["frames"] as? Int ?? -1, exact: gap["exact"] as? Bool ?? false,
                        filledFrames: gap["filled_frames"] as? Int ?? 0))
            }
        }
    }

    var framesInFiles: Int { frames.reduce(0, +) }
    var exactGapFrames: Int { gaps.filter(\.exact).map(\.frames).reduce(0, +) }
    var estimatedGapFrames: Int { gaps.filter { !$0.exact }.map(\.frames).reduce(0, +) }
    func gaps(_ kind: String) -> [Gap] { gaps.filter { $0.kind == kind } }

    var description: String {
        "files=\(files.count) frames=\(framesInFiles) silence=\(silenceFrames) exact_gap_frames=\(exactGapFrames) "
            + "estimated_gap_frames=\(estimatedGapFrames) gaps="
            + gaps.map { "\($0.kind):\($0.frames)@\($0.fileFrame)" }.joined(separator: ",")
    }

    /// The ledger's promise for a recording that ran as long as the capture: the audio in its files (less
    /// the silence written for gaps) plus its exact gaps is every frame ffmpeg delivered.
    func checkInvariant(delivered: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(
            framesInFiles - silenceFrames + exactGapFrames == delivered,
            "in files \(framesInFiles) - silence \(silenceFrames) + exact gaps \(exactGapFrames) != delivered \(delivered); \(self)",
            sourceLocation: sourceLocation)
    }
}

/// Frames the daemon captured in its run, from its `daemon.stopped` event.
func framesDelivered(_ daemon: DaemonProcess) throws -> Int {
    let line = try #require(daemon.lines(containing: "event=daemon.stopped").last, "no daemon.stopped in \(daemon.log)")
    return try #require(fields(of: line)["frames_captured"].flatMap { Int($0) })
}

/// The pattern's frame counter wraps every 65536 frames: the missing frames that fit `jump` and lie
/// nearest to `estimate`.
func unwrappedJump(_ jump: Int, near estimate: Int) -> Int {
    let k = ((Double(estimate - jump) / 65536).rounded())
    return jump + Int(k) * 65536
}

extension EndToEnd {
    @Suite(
        .serialized,
        .enabled(
            if: TestMic.isAvailable, "the ALSA test microphone needs pulseaudio, pactl, pacat and libasound2-plugins"))
    struct LedgerEndToEndTests {
        @Test func ffmpegKilledTenTimesAtRandomMomentsLosesOnlyTheOutages() throws {
            try DaemonFixture.with(mic: true) { dir in
                // A short first pause so ten restarts (the pause doubles each time) fit in about 10 s.
                try dir.writeConfig(testMicConfig(dir, source: "restart_delay_seconds = 0.01"))
                let daemon = try dir.launch()
                #expect(waitForAudio(under: dir.path + "/r"))
                var recoveries: [Double] = []
                for kill in 1...10 {
                    let pid = try #require(daemon.ffmpegPID, "no ffmpeg before kill \(kill): \(daemon.log)")
                    usleep(UInt32.random(in: 50_000...700_000))
                    let killedAt = Date()
                    Glibc.kill(pid, SIGKILL)
                    // Recovered: a new ffmpeg run has delivered audio to the file. (Counted from its start: what
                    // the killed run left in the pipe is written first, and a run killed before it delivers
                    // anything is no break of its own.)
                    #expect(daemon.waitForLog("ffmpeg started", count: kill + 1, timeout: 15), "\(daemon.log)")
                    let before = audioBytes(under: dir.path + "/r")
                    #expect(waitForAudio(under: dir.path + "/r", moreThan: before, bytes: 96_000, timeout: 15))
                    recoveries.append(Date().timeIntervalSince(killedAt))
                }
                #expect(daemon.terminate().status == 0)
                let delivered = try framesDelivered(daemon)
                let ledger = try LedgerReading(directory: dir.path + "/r")
                ledger.checkInvariant(delivered: delivered)
                let restarts = ledger.gaps("ffmpeg_restart")
                #expect(restarts.count == 10, "\(ledger)")
                // The audio between the kills is the pattern, bit for bit; each kill is one break, where the
                // pattern shows how much audio the outage took: the ledger's estimate is within 0.5 s of it (the
                // reader reads in bursts of half a second; one run in four missed the old 0.25 s bound by 0.06 s).
                let report = try PatternCheck.check(channels: 2, files: ledger.files)
                #expect(report.mismatchingFrames == 0, "\(report)")
                #expect(report.discontinuities == 10, "\(report)")
                for (gap, cut) in zip(restarts, report.firstDiscontinuities) {
                    #expect(gap.fileFrame == cut.frame, "gap at \(gap.fileFrame), break at \(cut)")
                    let missing = unwrappedJump(cut.jump, near: gap.frames)
                    #expect(abs(missing - gap.frames) < 24_000, "estimated \(gap.frames), missing \(missing)")
                }
                print(
                    "ledger-figures fault=ffmpeg_sigkill_x10 delivered=\(delivered) in_files=\(ledger.framesInFiles) "
                        + "estimated_gap_frames=\(ledger.estimatedGapFrames) exact_gap_frames=\(ledger.exactGapFrames) "
                        + "recovery_max_s=\(String(format: "%.2f", recoveries.max() ?? 0)) recovery_mean_s=\(String(format: "%.2f", recoveries.reduce(0, +) / Double(recoveries.count)))"
                )
            }
        }

        @Test func theMicrophoneGoneAndBackResumesByItself() throws {
            try DaemonFixture.with { dir in
                let state = try TemporaryDirectory(prefix: "testmic", in: "/tmp")
                defer { state.remove() }
                var mic = try TestMic.start(stateDirectory: state.path)
                defer { mic.stop() }
                try dir.writeConfig(testMicConfig(dir, source: "restart_delay_seconds = 0.2\nstall_seconds = 2"))
                let daemon = try dir.launch(environment: mic.environment)
                #expect(waitForAudio(under: dir.path + "/r"))
                // Unplugged: the device goes away for 3 s.
                let unpluggedAt = Date()
                mic.stop()
                #expect(daemon.waitForLog("event=ffmpeg.exited", timeout: 15), "\(daemon.log)")
                #expect(daemon.waitForLog("event=source.device_unavailable", timeout: 15), "\(daemon.log)")
                usleep(3_000_000)
                mic = try TestMic.start(stateDirectory: state.path)
                let pluggedAt = Date()
                let before = audioBytes(under: dir.path + "/r")
                #expect(
                    waitForAudio(under: dir.path + "/r", moreThan: before, bytes: 96_000, timeout: 30), "\(daemon.log)")
                let recovery = Date().timeIntervalSince(pluggedAt)
                let outage = pluggedAt.timeIntervalSince(unpluggedAt)
                #expect(daemon.terminate().status == 0)
                let delivered = try framesDelivered(daemon)
                let ledger = try LedgerReading(directory: dir.path + "/r")
                ledger.checkInvariant(delivered: delivered)
                // One gap, as long as the device was away (and ffmpeg took to start again).
                let restarts = ledger.gaps("ffmpeg_restart")
                #expect(restarts.count >= 1, "\(ledger)")
                let estimated = Double(restarts.map(\.frames).reduce(0, +)) / 48_000
                #expect(
                    estimated >= outage - 1 && estimated <= outage + recovery + 1,
                    "ledger \(estimated) s, outage \(outage) s + \(recovery) s")
                // The audio before the device went away is the pattern, bit for bit, up to the chunk where the
                // ledger has its first gap (ALSA may report an xrun and hand out a few held frames as the
                // server goes away; that chunk is flagged).
                let first = try PatternCheck.check(channels: 2, files: ledger.files)
                let firstGap = try #require(ledger.gaps.first)
                #expect(first.firstBadFrame.map { $0 >= firstGap.fileFrame } ?? true, "\(first) \(ledger)")
                print(
                    "ledger-figures fault=mic_gone_3s delivered=\(delivered) in_files=\(ledger.framesInFiles) "
                        + "estimated_gap_frames=\(ledger.estimatedGapFrames) outage_s=\(String(format: "%.2f", outage)) "
                        + "recovery_after_replug_s=\(String(format: "%.2f", recovery))")
            }
        }

        @Test func aStalledWriterLosesOnlyItsOwnAudioAndFillsTheGapWithSilence() throws {
            try DaemonFixture.with(mic: true) { dir in
                // A 1 s queue and a writer that stops for 3 s after 1 s of audio: about 2 s are dropped for it.
                try dir.writeConfig(
                    testMicConfig(
                        dir, source: "gap_fill = \"silence\"", recordings: ["slow", "fast"], queueSeconds: 1),
                    to: dir.file("a.toml"))
                let daemon = try dir.launch(environment: ["AUDIOCAP_FAULT_WRITER_STALL": "slow:1:3"])
                #expect(daemon.waitForLog("event=recording.dropped", timeout: 20), "\(daemon.log)")
                let droppedAt = Date()
                // The stalled writer is back and writes again.
                let before = audioBytes(under: dir.path + "/slow")
                #expect(waitForAudio(under: dir.path + "/slow", moreThan: before, bytes: 192_000, timeout: 15))
                #expect(daemon.terminate().status == 0)
                let delivered = try framesDelivered(daemon)

                let fast = try LedgerReading(directory: dir.path + "/fast")
                let slow = try LedgerReading(directory: dir.path + "/slow")
                fast.checkInvariant(delivered: delivered)
                slow.checkInvariant(delivered: delivered)
                // The other recording and the level monitor never noticed.
                #expect(fast.gaps.isEmpty, "\(fast)")
                #expect(try PatternCheck.check(channels: 2, files: fast.files).bitExact)
                #expect(daemon.lines(containing: "event=levels.dropped").isEmpty)
                // The slow one: exact queue-overflow gaps, filled with as much silence, so its files are as
                // long as the other's and equal to them outside the gaps.
                let overflows = slow.gaps("queue_overflow")
                #expect(
                    !overflows.isEmpty && overflows.allSatisfy { $0.exact && $0.filledFrames == $0.frames }, "\(slow)")
                #expect(slow.silenceFrames == slow.exactGapFrames)
                #expect(slow.framesInFiles == fast.framesInFiles)
                let slowFile = try Data(contentsOf: URL(fileURLWithPath: slow.files[0]))
                let fastFile = try Data(contentsOf: URL(fileURLWithPath: fast.files[0]))
                let slowAudio = slowFile.suffix(slow.frames[0] * 4)
                let fastAudio = fastFile.suffix(fast.frames[0] * 4)
                #expect(slowAudio.count == fastAudio.count)
                var differing = 0
                var zeroedOutsideGaps = 0
                let gapRanges = overflows.map { ($0.fileFrame * 4)..<(($0.fileFrame + $0.frames) * 4) }
                slowAudio.withUnsafeBytes { s in
                    fastAudio.withUnsafeBytes { f in
                        for i in 0..<min(s.count, f.count) where s[i] != f[i] {
                            differing += 1
                            if !gapRanges.contains(where: { $0.contains(i) }) || s[i] != 0 { zeroedOutsideGaps += 1 }
                        }
                    }
                }
                #expect(differing > 0)
                #expect(zeroedOutsideGaps == 0, "bytes that differ outside the gaps or are not silence")
                print(
                    "ledger-figures fault=writer_stall_3s delivered=\(delivered) slow_in_files=\(slow.framesInFiles) "
                        + "slow_silence=\(slow.silenceFrames) slow_exact_gap_frames=\(slow.exactGapFrames) fast_in_files=\(fast.framesInFiles) "
                        + "first_drop_after_s=\(String(format: "%.2f", Date().timeIntervalSince(droppedAt)))")
            }
        }

        @Test func retentionDeletesTheOldestFilesWhileRecording() throws {
            try DaemonFixture.with(mic: true) { dir in
                // 1 s files of 192,000 bytes of audio: at most three closed ones are kept.
                try dir.writeConfig(
                    testMicConfig(dir).replacingOccurrences(
                        of: "segment_seconds = 3600", with: "segment_seconds = 1\nmax_bytes = 600000"),
                    to: dir.file("a.toml"))
                let daemon = try dir.launch()
                #expect(daemon.waitForLog("event=segment.deleted", count: 3, timeout: 20), "\(daemon.log)")
                #expect(daemon.terminate().status == 0)
                let delivered = try framesDelivered(daemon)
                let ledger = try LedgerReading(directory: dir.path + "/r")
                // The newest files stay, joined bit for bit; the deleted ones are exactly the oldest.
                #expect(ledger.files.count <= 4, "\(ledger)")
                let closedEvents = daemon.lines(containing: "event=segment.closed").map(fields)
                let deleted = Set(
                    daemon.lines(containing: "event=segment.deleted").compactMap { fields(of: $0)["segment.path"] })
                let closedPaths = closedEvents.compactMap { $0["segment.path"] }
                #expect(Array(closedPaths.prefix(deleted.count)) == closedPaths.filter { deleted.contains($0) })
                let deletedFrames = closedEvents.filter { deleted.contains($0["segment.path"] ?? "") }.compactMap {
                    $0["segment.frames"].flatMap(Int.init)
                }.reduce(0, +)
                #expect(
                    ledger.framesInFiles + deletedFrames == delivered,
                    "\(ledger) deleted \(deletedFrames) delivered \(delivered)")
                #expect(try PatternCheck.check(channels: 2, files: ledger.files).mismatchingFrames == 0)
                #expect(!FileManager.default.fileExists(atPath: (deleted.first ?? "/nonexistent") + ".json"))
            }
        }

        @Test(.enabled(if: isRoot, "mounting a small tmpfs needs root"))
        func belowMinFreeBytesTheOldestAllowedFilesGoThenRecordingPausesAndResumes() throws {
            try DaemonFixture.with(mic: true) { dir in
                let disk = dir.file("disk")
                try mountTmpfs(at: disk, size: "3m")
                defer { unmount(disk) }
                // Two recordings on a 3 MiB disk that must keep 1.5 MB free: `old` may be deleted, `keep` not.
                try dir.writeConfig(
                    """
                    [source]
                    device = "testmic"
                    [control]
                    socket = ""
                    [storage]
                    root = "\(dir.path)/ondemand"
                    state = "\(dir.path)/state"
                    min_free_bytes = 1_500_000
                    [[recording]]
                    name = "old"
                    directory = "\(disk)/old"
                    segment_seconds = 1
                    align = "samples"
                    filename = "{seq}.wav"
                    delete_oldest_when_low = true
                    [[recording]]
                    name = "keep"
                    directory = "\(disk)/keep"
                    segment_seconds = 3600
                    align = "samples"
                    filename = "{seq}.wav"
                    """)
                let daemon = try dir.launch()
                // First `old`'s oldest files make room; once none is left, both pause.
                #expect(daemon.waitForLog("reason=\"below min_free_bytes\"", timeout: 20), "\(daemon.log)")
                #expect(daemon.waitForLog("event=recording.low_space", timeout: 30), "\(daemon.log)")
                #expect(daemon.process.isRunning)
                let pausedAt = Date()
                // The floor held, give or take one second of writing between checks (2 × 192 kB).
                var info = statvfs()
                #expect(statvfs(disk, &info) == 0)
                #expect(Int(info.f_bavail) * Int(info.f_frsize) > 1_500_000 - 400_000)
                // Free space once `keep` has paused and closed its file: that file goes; both resume by themselves.
                #expect(
                    waitUntil(timeout: 10) {
                        partialFiles(under: disk + "/keep").isEmpty && !wavFiles(under: disk + "/keep").isEmpty
                    })
                var removedFrames = 0
                for path in wavFiles(under: disk + "/keep") {
                    removedFrames += ffprobeFrames(path) ?? 0
                    try FileManager.default.removeItem(atPath: path)
                }
                #expect(daemon.waitForLog("event=recording.resumed", timeout: 15), "\(daemon.log)")
                let recovery = Date().timeIntervalSince(pausedAt)
                #expect(waitForAudio(under: disk + "/keep"))
                #expect(daemon.terminate().status == 0)
                let delivered = try framesDelivered(daemon)
                let keep = try LedgerReading(directory: disk + "/keep")
                var lost = 0
                for line in daemon.lines(containing: "event=recording.lost") {
                    let event: [String: String] = fields(of: line)
                    if event["recording.name"] == "keep", let frames = event["lost.frames"].flatMap({ Int($0) }) {
                        lost += frames
                    }
                }
                #expect(lost > 0)
                #expect(
                    keep.framesInFiles + removedFrames + lost == delivered,
                    "\(keep) removed \(removedFrames) lost \(lost) delivered \(delivered)")
                #expect(keep.gaps("not_written").map(\.frames).reduce(0, +) == lost, "\(keep)")
                print(
                    "ledger-figures fault=min_free_bytes delivered=\(delivered) keep_in_files=\(keep.framesInFiles) removed_by_test=\(removedFrames) "
                        + "not_written=\(lost) resume_after_free_s=\(String(format: "%.2f", recovery))")
            }
        }

        @Test func aDaemonKilledMidSegmentRecordsTheTimeItWasDownInTheNextFile() throws {
            try DaemonFixture.with(mic: true) { dir in
                try dir.writeConfig(testMicConfig(dir))
                let first = try dir.launch()
                #expect(waitForAudio(under: dir.path + "/r", bytes: 192_000))
                first.kill9()
                let killedAt = Date()
                usleep(2_000_000)
                let second = try dir.launch()
                #expect(second.waitForLog("event=segment.repaired", timeout: 15), "\(second.log)")
                // New audio past the repaired file's.
                #expect(waitForAudio(under: dir.path + "/r", moreThan: audioBytes(under: dir.path + "/r")))
                let down = Date().timeIntervalSince(killedAt)
                #expect(second.terminate().status == 0)
                let delivered = try framesDelivered(second)
                let ledger = try LedgerReading(directory: dir.path + "/r")
                // Two files: the repaired one (its sidecar written by the repair, gaps unknown) and the new one.
                #expect(ledger.files.count == 2)
                #expect(ledger.files.allSatisfy { FileManager.default.fileExists(atPath: $0 + ".json") })
                #expect(ledger.closed.filter { $0 }.count == 1)
                let new = try #require(ledger.closed.firstIndex(of: true))
                let restart = try #require(ledger.gaps("daemon_restart").first, "\(ledger)")
                #expect(restart.fileFrame == 0)
                let seconds = Double(restart.frames) / 48_000
                // From the repaired file's last write (at most a second before the kill) to the new first frame.
                #expect(
                    seconds >= 2 && seconds < down + 1.5,
                    "ledger says \(seconds) s, the daemon was down about \(down) s")
                // The new run: its file holds every frame it delivered.
                #expect(ledger.frames[new] == delivered)
                print(
                    "ledger-figures fault=daemon_sigkill delivered_second_run=\(delivered) in_new_file=\(ledger.frames[new]) "
                        + "repaired_frames=\(ledger.frames[1 - new]) daemon_restart_gap_s=\(String(format: "%.2f", seconds)) down_s=\(String(format: "%.2f", down))"
                )
            }
        }
    }
}
