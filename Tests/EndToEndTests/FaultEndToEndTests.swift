// Fault injection: a stalled ffmpeg and a full disk, against the paced ALSA test microphone.
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

let isRoot = getuid() == 0

extension EndToEnd {
    @Suite(
        .serialized,
        .enabled(
            if: TestMic.isAvailable, "the ALSA test microphone needs pulseaudio, pactl, pacat and libasound2-plugins"))
    struct FaultEndToEndTests {
        @Test func aStalledFFmpegIsKilledAndRestarted() throws {
            try DaemonFixture.with(
                mic: true, config: { testMicConfig($0, source: "stall_seconds = 1.5\nrestart_delay_seconds = 0.2") }
            ) { fixture in
                let daemon = fixture.daemon
                #expect(fixture.waitForCapture())
                // Half a second of audio reaches the file before the fault.
                #expect(waitForAudio(under: fixture.file("r")))
                let pid = try #require(daemon.ffmpegPID)
                let stoppedAt = Date()
                kill(pid, SIGSTOP)
                #expect(daemon.waitForLog("event=ffmpeg.stalled", timeout: 10), "\(daemon.log)")
                #expect(daemon.waitForLog("ffmpeg started", count: 2, timeout: 15), "\(daemon.log)")
                #expect(waitUntil(timeout: 10) { daemon.lines(containing: "event=ffmpeg.exited").count >= 1 })
                let recovery = Date().timeIntervalSince(stoppedAt)
                #expect(recovery < 10, "recovered after \(recovery) s")
                // And half a second more after the recovery.
                #expect(fixture.waitForMoreAudio(in: "r"))
                #expect(daemon.terminate().status == 0)
                let files = wavFiles(under: fixture.file("r"))
                let report = try PatternCheck.check(channels: 2, files: files)
                // The audio on either side of the stall is intact; the stall is one discontinuity.
                #expect(report.mismatchingFrames == 0, "\(report)")
                #expect(report.discontinuities <= 1, "\(report)")
                // The stall is in the ledger, and every frame ffmpeg delivered is in the file.
                let ledger = try LedgerReading(directory: fixture.file("r"))
                ledger.checkInvariant(delivered: try framesDelivered(daemon))
                #expect(ledger.gaps("ffmpeg_restart").count == 1, "\(ledger)")
                print(
                    "ledger-figures fault=ffmpeg_sigstop delivered=\(try framesDelivered(daemon)) in_files=\(ledger.framesInFiles) "
                        + "estimated_gap_frames=\(ledger.estimatedGapFrames) recovery_s=\(String(format: "%.2f", recovery))"
                )
            }
        }

        @Test func aDeviceInTheConfiguredFormatIsCopiedBitExact() throws {
            try DaemonFixture.with(mic: true, config: { testMicConfig($0) }) { fixture in
                let daemon = fixture.daemon
                #expect(fixture.waitForCapture())
                #expect(fixture.waitForMoreAudio(in: "r", bytes: 4 * 48_000))
                #expect(daemon.terminate().status == 0)
                // ffmpeg passed the device's packets through: no conversion, and nothing was refused.
                #expect(daemon.lines(containing: "ffmpeg.stream_copy=true").count == 1, "\(daemon.log)")
                #expect(daemon.lines(containing: "event=ffmpeg.stream_copy_refused").isEmpty)
                let report = try PatternCheck.check(channels: 2, files: wavFiles(under: fixture.file("r")))
                #expect(
                    report.frames >= 48_000 && report.mismatchingFrames == 0 && report.discontinuities == 0, "\(report)"
                )
                let ledger = try LedgerReading(directory: fixture.file("r"))
                ledger.checkInvariant(delivered: try framesDelivered(daemon))
            }
        }

        /// `-ar 44100` among the input options makes ALSA deliver 44.1 kHz to a daemon configured for 48 kHz:
        /// a copy would record 44.1 kHz audio as 48 kHz (played 9 % fast, no error anywhere). The daemon
        /// reads the rate from ffmpeg's description of the stream before it records a byte, refuses the
        /// copy, counts what it did not record, and starts ffmpeg again converting.
        @Test func aDeviceAtAnotherRateIsNotCopiedButConverted() throws {
            try DaemonFixture.with(
                mic: true, config: { testMicConfig($0, source: "input_options = [\"-ar\", \"44100\"]") }
            ) { fixture in
                let daemon = fixture.daemon
                #expect(daemon.waitForLog("event=ffmpeg.stream_copy_refused", timeout: 15), "\(daemon.log)")
                #expect(fixture.waitForMoreAudio(in: "r", bytes: 4 * 48_000))
                #expect(daemon.terminate().status == 0)
                let refusal = try #require(daemon.lines(containing: "event=ffmpeg.stream_copy_refused").first)
                #expect(refusal.contains("reason=\"the device delivers 44100 Hz, not 48000 Hz\""), "\(refusal)")
                #expect(daemon.lines(containing: "ffmpeg.stream_copy=true").count == 1, "\(daemon.log)")
                #expect(daemon.lines(containing: "ffmpeg.stream_copy=false").count == 1, "\(daemon.log)")
                // What the refused run delivered is counted, not recorded.
                let exited = try #require(daemon.lines(containing: "ffmpeg stopped to convert the stream").first)
                let refused = try #require(fields(of: exited)["refused_frames"].flatMap { Int($0) }, "\(exited)")
                #expect(refused > 0)
                // The file holds 48 kHz audio (ffmpeg resampled), and the restart is a gap in its ledger.
                let files = wavFiles(under: fixture.file("r"))
                let first = try #require(files.first)
                let probe = try ProcessRunner.run(
                    "ffprobe", ["-v", "error", "-show_entries", "stream=sample_rate", "-of", "csv=p=0", first])
                #expect(
                    String(decoding: probe.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                        == "48000")
                let ledger = try LedgerReading(directory: fixture.file("r"))
                ledger.checkInvariant(delivered: try framesDelivered(daemon))
                #expect(ledger.gaps("ffmpeg_restart").count <= 1, "\(ledger)")
            }
        }

        @Test(.enabled(if: isRoot, "mounting a small tmpfs needs root"))
        func aFullDiskBlocksOneRecordingWhichResumesWhenSpaceReturns() throws {
            try DaemonFixture.with(mic: true, launch: false) { dir in
                let small = dir.file("small")
                try mountTmpfs(at: small, size: "1m")
                defer { unmount(small) }
                try dir.writeConfig(
                    """
                    [source]
                    device = "testmic"
                    [control]
                    socket = ""
                    [storage]
                    root = "\(dir.path)/ondemand"
                    state = "\(dir.path)/state"
                    [[recording]]
                    name = "main"
                    directory = "\(dir.path)/main"
                    segment_seconds = 3600
                    filename = "{seq}.wav"
                    [[recording]]
                    name = "small"
                    directory = "\(small)"
                    segment_seconds = 1
                    align = "samples"
                    filename = "{seq}.wav"
                    """)
                let daemon = try dir.launch()
                // 1 MiB holds about 5 s of stereo 48 kHz s16.
                #expect(daemon.waitForLog("event=recording.disk_full", timeout: 20), "\(daemon.log)")
                #expect(daemon.process.isRunning)
                // Free the space: remove the closed files.
                let closedBefore = daemon.lines(containing: "event=segment.closed recording.name=small").map(fields)
                var deletedFrames: Int64 = 0
                for event in closedBefore {
                    if let path = event["segment.path"], FileManager.default.fileExists(atPath: path) {
                        deletedFrames += Int64(event["segment.frames"]!)!
                        try FileManager.default.removeItem(atPath: path)
                    }
                }
                #expect(daemon.waitForLog("event=recording.resumed", timeout: 15), "\(daemon.log)")
                #expect(daemon.waitForLog("event=recording.lost", timeout: 5))
                #expect(waitForAudio(under: small))
                #expect(daemon.terminate().status == 0)

                // The other recording never noticed.
                let main = wavFiles(under: dir.path + "/main")
                let mainReport = try PatternCheck.check(channels: 2, files: main)
                #expect(mainReport.bitExact, "\(mainReport)")
                // Every frame of the capture is in a file of `small`, was deleted by us, or is counted as lost.
                let remaining = wavFiles(under: small)
                #expect(remaining.allSatisfy { ffprobeFrames($0) != nil })
                let inFiles = remaining.compactMap(ffprobeFrames).reduce(0, +)
                let lost = daemon.lines(containing: "event=recording.lost").map(fields).compactMap {
                    $0["lost.frames"].flatMap { Int64($0) }
                }.reduce(0, +)
                #expect(lost > 0)
                #expect(
                    Int64(inFiles) + deletedFrames + lost == Int64(mainReport.frames),
                    "in files \(inFiles) + deleted \(deletedFrames) + lost \(lost) vs captured \(mainReport.frames)")
                let delivered = try framesDelivered(daemon)
                try LedgerReading(directory: dir.path + "/main").checkInvariant(delivered: delivered)
                // What could not be written is in the ledger of the file written after it.
                let smallLedger = try LedgerReading(directory: small)
                #expect(Int64(smallLedger.gaps("not_written").map(\.frames).reduce(0, +)) == lost, "\(smallLedger)")
                print(
                    "ledger-figures fault=disk_full delivered=\(delivered) small_in_files=\(inFiles) deleted_by_test=\(deletedFrames) "
                        + "not_written=\(lost)")
                #expect(partialFiles(under: dir.path).isEmpty)
            }
        }
    }
}
