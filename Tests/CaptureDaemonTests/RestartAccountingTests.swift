// The daemon_restart gap is measured from the audio on disk; {seq} is read back from the files.
import CaptureCore
import Foundation
import TestSupport
import Testing

@testable import CaptureDaemon

@Suite("Restart accounting")
struct RestartAccountingTests {
    let now = 1_800_000_000.0

    @Test("the disk wins over an older state file: a repaired file's end or the newest closed file's end")
    func diskBeatsState() {
        // Clean stop at now-30 (state), restarted, killed at now-8 (the repaired file's last write).
        #expect(RestartGap.audioEnd(stateEnd: now - 30, repairedEnd: now - 8, closedEnd: now - 30) == now - 8)
        // Killed before a file was open; the closed file of the earlier run ends after the state's time.
        #expect(RestartGap.audioEnd(stateEnd: now - 40, repairedEnd: nil, closedEnd: now - 31) == now - 31)
        // Nothing on disk: the state is all there is.
        #expect(RestartGap.audioEnd(stateEnd: now - 40, repairedEnd: nil, closedEnd: nil) == now - 40)
        #expect(RestartGap.audioEnd(stateEnd: nil, repairedEnd: nil, closedEnd: nil) == nil)
    }

    @Test("a gap only for recordings that ran before: named in the state, or leaving a partial file")
    func whichRecordings() {
        let state = CaptureStateFile(lastAudioEnd: now - 30, recordings: ["a"], clean: true)
        let ends = RestartGap.audioEnds(
            names: ["a", "b", "c"], state: state, repaired: ["b": now - 5], closed: ["a": now - 29, "c": now - 100])
        #expect(ends == ["a": now - 29, "b": now - 5])
    }

    @Test("a repaired file that starts well after the file before it began a run: its restart gap is measured again")
    func repairedFirstFile() {
        // The run died before closing its first file: 3 s between the last closed file and it.
        #expect(RestartGap.restartBeforeRepaired(start: now, earlierEnds: [now - 10, now - 3, now + 5]) == now - 3)
        // A file that follows on from the one before it (same run) gets no gap.
        #expect(RestartGap.restartBeforeRepaired(start: now, earlierEnds: [now - 0.02]) == nil)
        #expect(RestartGap.restartBeforeRepaired(start: now, earlierEnds: []) == nil)
    }

    @Test("a sidecar's end counts the gaps inside and after its audio, not those before its first frame")
    func sidecarEnd() throws {
        let json = """
            {"sample_rate": 1000, "segment": {"start_time": \(now), "frames": 5000, "gaps": [
              {"file_frame": 0, "frames": 9000, "filled_frames": 0},
              {"file_frame": 2000, "frames": 1000, "filled_frames": 0},
              {"file_frame": 3000, "frames": 500, "filled_frames": 500},
              {"file_frame": 5000, "frames": 250}
            ]}}
            """
        let end = try #require(RecordingOnDisk.audioEnd(ofSidecar: Data(json.utf8)))
        #expect(abs(end - (now + 6.25)) < 1e-9)
    }

    @Test("the highest {seq} on disk, in nested folders, of this recording only, partial and damaged files included")
    func highestSequenceOnDisk() throws {
        let directory = try TemporaryDirectory(prefix: "audiocap-seq")
        let template = FilenameTemplate("%Y-%m-%d/{name}-%Y%m%dT%H%M%SZ-{seq}.wav")
        func touch(_ relative: String) throws {
            let path = directory.file(relative)
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: path, contents: Data())
        }
        #expect(RecordingOnDisk.highestSequence(directory: directory.path, template: template, name: "r") == nil)
        try touch("2026-11-21/r-20261121T235959Z-000004.wav")
        try touch("2026-11-21/r-20261121T235959Z-000004.wav.json")
        try touch("2026-11-22/r-20261122T000010Z-000009.wav.partial")
        try touch("2026-11-22/r-20261122T000020Z-000002.wav")
        try touch("2026-11-22/other-20261122T000020Z-000050.wav")
        try touch("2026-11-22/deeper/r-20261122T000020Z-000070.wav")
        #expect(RecordingOnDisk.highestSequence(directory: directory.path, template: template, name: "r") == 9)
        try touch("2026-11-23/r-20261123T000020Z-000011.wav.damaged")
        #expect(RecordingOnDisk.highestSequence(directory: directory.path, template: template, name: "r") == 11)
        #expect(
            RecordingOnDisk.highestSequence(
                directory: directory.path, template: FilenameTemplate("{name}.wav"), name: "r") == nil
        )
    }
}
