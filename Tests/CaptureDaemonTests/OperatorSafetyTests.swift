// One instance per state folder, damaged state files, durable small files, clock steps and retention
// that does not trust a clock blindly.
import CaptureCore
import CaptureProtocol
import Foundation
import Logging
import TestSupport
import Testing

@testable import CaptureDaemon

@Suite struct InstanceLockTests {
    @Test func aSecondLockOnTheSameFolderFailsNamingTheHolder() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        do {
            let first = try InstanceLock(stateDirectory: dir.file("state"))
            do {
                _ = try InstanceLock(stateDirectory: dir.file("state"))
                Issue.record("a second lock was granted")
            } catch {
                #expect(error.holder == getpid())
                #expect(error.description.contains("another audiocapd (PID \(getpid())) is already running"))
            }
            withExtendedLifetime(first) {}
        }
        // Released with its holder: the next one gets it.
        _ = try InstanceLock(stateDirectory: dir.file("state"))
    }

    @Test func aFolderThatCannotBeUsedSaysSo() {
        do {
            _ = try InstanceLock(stateDirectory: "/proc/no-such-folder")
            Issue.record("a lock in /proc was granted")
        } catch {
            #expect(error.systemError != nil)
            #expect(error.description.contains("[storage] state"))
        }
    }
}

@Suite struct CaptureStateFileTests {
    @Test func outOfRangeValuesAreDamagedNotTrusted() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = CaptureStateFile.path(inStateDirectory: dir.path)
        for text in [
            #"{"clean":false,"last_audio_end":1e300,"recordings":["r"]}"#,
            #"{"clean":false,"last_audio_end":-5,"recordings":["r"]}"#,
            #"{"clean":false,"last_audio_end":1800000000,"recordings":["r"],"sequences":{"r":-1}}"#,
            #"{"clean":false,"last_audio_end":1800000000,"recordings":["r"],"sequences":{"r":1e30}}"#,
            "not json",
        ] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            #expect(throws: CaptureStateFile.Damaged.self, "\(text)") {
                try CaptureStateFile.read(stateDirectory: dir.path)
            }
        }
        try FileManager.default.removeItem(atPath: path)
        #expect(try CaptureStateFile.read(stateDirectory: dir.path) == nil)
        let state = CaptureStateFile(lastAudioEnd: 1_800_000_000.5, recordings: ["r"], clean: true, sequences: ["r": 7])
        #expect(state.write(stateDirectory: dir.path))
        #expect(try CaptureStateFile.read(stateDirectory: dir.path) == state)
        // Written through a temporary name that does not stay behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["capture.json"])
    }

    @Test func timestampsOfAbsurdTimesDoNotTrap() {
        // Still an RFC 3339 time (the `_utc` fields must match the schemas); the epoch beside it shows the value.
        #expect(WireFormat.utc(1e300) == "1970-01-01T00:00:00.000Z")
        #expect(WireFormat.utc(.nan) == "1970-01-01T00:00:00.000Z")
        #expect(WireFormat.utc(0) == "1970-01-01T00:00:00.000Z")
    }
}

@Suite struct DurableFileTests {
    @Test func replacesWholeAndLeavesNoTemporary() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("x.json")
        #expect(DurableFile.write(Array("one".utf8), to: path) == nil)
        #expect(DurableFile.write(Array("two".utf8), to: path) == nil)
        #expect(FileManager.default.contents(atPath: path) == Data("two".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["x.json"])
        let failure = DurableFile.write(Array("x".utf8), to: dir.file("missing/x.json"))
        #expect(failure?.contains("cannot create") == true)
    }
}

@Suite struct ClockStepWatchTests {
    let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))

    @Test func aJumpOfTheWallClockAgainstTheBootClockIsAStep() {
        let watch = ClockStepWatch(events: events, threshold: 1, holdSeconds: 900)
        #expect(watch.check(wall: 1_800_000_000, boot: 100) == nil)
        // Both advance together, with NTP slewing by half a millisecond a second: no step.
        #expect(watch.check(wall: 1_800_000_001.0005, boot: 101) == nil)
        #expect(watch.ageDeletionAllowed(boot: 101))
        // The wall clock goes back five minutes.
        let step = watch.check(wall: 1_799_999_702, boot: 102)
        #expect(step.map { abs($0 + 300) < 0.01 } == true, "\(String(describing: step))")
        #expect(watch.steps == 1)
        #expect(!watch.ageDeletionAllowed(boot: 103))
        #expect(!watch.ageDeletionAllowed(boot: 1001))
        #expect(watch.ageDeletionAllowed(boot: 1002))
        #expect(events.recent.last?.kind == "clock.stepped")
    }
}

@Suite struct RetentionClockTests {
    /// A closed file with a sidecar recording `start` (seconds since the epoch); its mtime is now.
    func make(_ dir: TemporaryDirectory, _ name: String, start: Double?, bytes: Int = 100) throws {
        try Data(count: bytes).write(to: URL(fileURLWithPath: dir.file(name)))
        if let start {
            try Data(#"{"segment":{"start_time":\#(start)}}"#.utf8).write(
                to: URL(fileURLWithPath: dir.file(name + ".json")))
        }
    }

    @Test func agesByTheRecordedStartNotTheModificationTime() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let now = Date()
        let day = 86_400.0
        try make(dir, "old.wav", start: now.timeIntervalSince1970 - 10 * day)
        try make(dir, "new.wav", start: now.timeIntervalSince1970 - day)
        try make(dir, "nosidecar.wav", start: nil)
        let deleted = RetentionSweep(directory: dir.path, keepDays: 7, maxBytes: nil).run(now: now)
        #expect(deleted.map(\.path) == [dir.file("old.wav")])
        #expect(!FileManager.default.fileExists(atPath: dir.file("old.wav.json")))
    }

    @Test func implausibleTimesAndAPausedClockDeleteNothingByAge() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let now = Date()
        // Recorded while a Raspberry Pi thought it was 1970, and one from "next year" (a clock set back).
        try make(dir, "1970.wav", start: 3_600)
        try make(dir, "future.wav", start: now.timeIntervalSince1970 + 365 * 86_400)
        try make(dir, "old.wav", start: now.timeIntervalSince1970 - 30 * 86_400)
        let sweep = RetentionSweep(directory: dir.path, keepDays: 7, maxBytes: nil)
        #expect(sweep.run(now: now, ageDeletionAllowed: false).isEmpty)
        #expect(sweep.run(now: now).map(\.path) == [dir.file("old.wav")])
        #expect(FileManager.default.fileExists(atPath: dir.file("1970.wav")))
        #expect(FileManager.default.fileExists(atPath: dir.file("future.wav")))
        // max_bytes does not depend on the clock: it still applies, oldest recorded first.
        let bySize = RetentionSweep(directory: dir.path, keepDays: 7, maxBytes: 100).run(
            now: now, ageDeletionAllowed: false)
        #expect(bySize.map(\.path) == [dir.file("1970.wav")])
    }

    @Test func oneSweepDeletesAtMostItsCap() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let now = Date()
        for i in 0..<(RetentionSweep.maxDeletionsPerSweep + 20) {
            try make(dir, "f\(i).wav", start: now.timeIntervalSince1970 - 30 * 86_400 + Double(i), bytes: 1)
        }
        let sweep = RetentionSweep(directory: dir.path, keepDays: 7, maxBytes: nil)
        #expect(sweep.run(now: now).count == RetentionSweep.maxDeletionsPerSweep)
        #expect(sweep.run(now: now).count == 20)
    }
}
