import CaptureCore
import CaptureProtocol
import Foundation
import Logging
import TestSupport
import Testing

@testable import CaptureDaemon

/// File hooks run as real programs (shell scripts written by the test), started from real events.
@Suite struct FileHooksTests {
    private let logger = Logger(label: "test.hooks")

    /// Generous: the end-to-end tests running beside these can hold the test process's few shared threads
    /// for twenty seconds and more at the start of a full run, and this loop needs one to look again.
    private func waitFor(_ timeout: Double = 60, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    /// Writes an executable script.
    private func script(_ dir: TemporaryDirectory, _ name: String, _ text: String) throws -> String {
        let path = dir.file(name)
        try ("#!/bin/sh\n" + text).write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    private func closed(_ recording: String, path: String, frames: Int64 = 48000, start: Double = 1_764_603_000)
        -> CaptureEvent
    {
        CaptureEvent(
            level: .info, kind: "segment.closed", message: "segment closed", recording: recording,
            fields: [
                "segment.path": .string(path), "segment.frames": .int(frames), "segment.start_time": .epoch(start),
                "segment.start_time_utc": .utc(start),
            ], source: "mic")
    }

    private func results(_ events: EventLog) -> [CaptureEvent] {
        events.recent.filter { $0.kind == "hook.finished" || $0.kind == "hook.failed" }
    }

    @Test func aHookGetsItsArgumentsSubstitutedWithoutAShell() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let program = try script(dir, "args.sh", "out=$1; shift; printf '%s\\n' \"$@\" > \"$out\"; echo done\n")
        var recording = RecordingConfiguration(name: "main", directory: dir.path)
        recording.onClose = [
            program, dir.file("close.txt"), "{path}", "{sidecar}", "{recording}", "{source}", "{station}", "{frames}",
            "{start_utc}", "--file={path};$(touch x)", "{unknown}", "{key}",
        ]
        recording.onUpload = [program, dir.file("upload.txt"), "{destination}", "{key}", "{path}"]
        let events = EventLog(logger: logger, station: "mast-1")
        let hooks = FileHooks(recordings: [recording], station: "mast-1", events: events, logger: logger)
        hooks.prepare()
        let running = Task { await hooks.run() }
        defer { running.cancel() }
        let path = dir.file("a b's file.wav")
        events.emit(closed("main", path: path))
        events.emit(
            CaptureEvent(
                level: .info, kind: "upload.done", message: "uploaded", recording: "main",
                fields: [
                    "destination": .string("archive"), "segment.path": .string(path),
                    "upload.key": .string("mast-1/main/x.wav"),
                ]))
        events.emit(closed("other", path: "/elsewhere.wav"))
        #expect(await waitFor { results(events).count >= 2 })
        let close = try String(contentsOfFile: dir.file("close.txt"), encoding: .utf8)
        #expect(
            close.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) == [
                path, path + ".json", "main", "mic", "mast-1", "48000", "2025-12-01T15:30:00.000Z",
                "--file=\(path);$(touch x)", "{unknown}", "{key}", "",
            ])
        let upload = try String(contentsOfFile: dir.file("upload.txt"), encoding: .utf8)
        #expect(upload == "archive\nmast-1/main/x.wav\n\(path)\n")
        #expect(!FileManager.default.fileExists(atPath: "x"))
        let finished = results(events)
        #expect(finished.map(\.kind) == ["hook.finished", "hook.finished"])
        #expect(Set(finished.compactMap { $0.fields["hook"]?.description }) == ["on_close", "on_upload"])
        #expect(finished.allSatisfy { $0.fields["hook.exit_status"] == .int(0) && $0.recording == "main" })
        #expect(finished.allSatisfy { $0.fields["hook.output"] == .string("done\n") })
        #expect(finished.allSatisfy { $0.fields["segment.path"] == .string(path) })
        #expect(finished.allSatisfy { $0.fields["hook.program"] == .string(program) })
    }

    @Test func aHookPastItsTimeoutIsKilledWithItsChildren() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // Ignores SIGTERM (as does its child): only the SIGKILL to the group ends them.
        let program = try script(
            dir, "stuck.sh", "trap '' TERM\necho starting\nsleep 60 &\necho $! > \"$1\"\nwait\nwait\n")
        var recording = RecordingConfiguration(name: "main", directory: dir.path)
        recording.onClose = [program, dir.file("child.pid")]
        recording.hookTimeoutSeconds = 1
        let events = EventLog(logger: logger)
        let hooks = FileHooks(recordings: [recording], station: "s", events: events, logger: logger)
        hooks.prepare()
        let running = Task { await hooks.run() }
        defer { running.cancel() }
        let started = Date()
        events.emit(closed("main", path: dir.file("a.wav")))
        #expect(await waitFor { !results(events).isEmpty })
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed >= 1 + HookCommand.killGraceSeconds - 0.2)
        // The upper bound is loose: this runs beside the end-to-end tests, which can keep the test process's
        // few shared threads busy for seconds (the daemon, a process of its own, has no such neighbours).
        #expect(elapsed < 1 + HookCommand.killGraceSeconds + 60)
        let failed = try #require(results(events).first)
        #expect(failed.kind == "hook.failed")
        #expect(failed.level == .warning)
        #expect(failed.fields["hook.timed_out"] == .bool(true))
        #expect(failed.fields["hook.output"] == .string("starting\n"))
        let child = try #require(
            Int32(
                try String(contentsOfFile: dir.file("child.pid"), encoding: .utf8).trimmingCharacters(
                    in: .whitespacesAndNewlines)))
        // The background child was in the group: gone (or a zombie waiting for init to reap it).
        #expect(
            await waitFor(5) {
                let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8)
                return stat == nil || stat!.contains(") Z ")
            })
    }

    @Test func noMoreThanHookConcurrencyRunAtOnce() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.file("running"), withIntermediateDirectories: true)
        let program = try script(
            dir, "busy.sh",
            """
            touch "$1/running/$$"
            ls "$1/running" | wc -l >> "$1/counts"
            sleep 0.5
            ls "$1/running" | wc -l >> "$1/counts"
            rm "$1/running/$$"

            """)
        var recording = RecordingConfiguration(name: "main", directory: dir.path)
        recording.onClose = [program, dir.path]
        recording.hookConcurrency = 2
        let events = EventLog(logger: logger)
        let hooks = FileHooks(recordings: [recording], station: "s", events: events, logger: logger)
        hooks.prepare()
        let running = Task { await hooks.run() }
        defer { running.cancel() }
        for i in 0..<6 { events.emit(closed("main", path: dir.file("\(i).wav"))) }
        #expect(await waitFor { results(events).count >= 6 })
        #expect(results(events).allSatisfy { $0.kind == "hook.finished" })
        let counts = try String(contentsOfFile: dir.file("counts"), encoding: .utf8)
            .split(separator: "\n").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        #expect(counts.count == 12)
        #expect(counts.max() == 2)
    }

    @Test func aFullQueueSkipsAndAFailingOrMissingProgramIsReported() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let program = try script(dir, "fail.sh", "sleep 0.5\necho 'no space left' >&2\nexit 3\n")
        var failing = RecordingConfiguration(name: "failing", directory: dir.path)
        failing.onClose = [program]
        failing.hookConcurrency = 1
        var missing = RecordingConfiguration(name: "missing", directory: dir.path)
        missing.onClose = [dir.file("no-such-program"), "{path}"]
        let events = EventLog(logger: logger)
        let hooks = FileHooks(
            recordings: [failing, missing], station: "s", events: events, logger: logger, queueLimit: 1)
        hooks.prepare()
        let running = Task { await hooks.run() }
        defer { running.cancel() }
        // One runs, one waits, two are skipped.
        for i in 0..<4 { events.emit(closed("failing", path: dir.file("\(i).wav"))) }
        events.emit(closed("missing", path: dir.file("m.wav")))
        #expect(await waitFor { results(events).count >= 3 })
        let skipped = events.recent.filter { $0.kind == "hook.skipped" }
        #expect(skipped.count == 2)
        #expect(skipped.map { $0.fields["segment.path"] } == [.string(dir.file("2.wav")), .string(dir.file("3.wav"))])
        let failures = results(events).filter { $0.recording == "failing" }
        #expect(failures.count == 2)
        #expect(failures.allSatisfy { $0.kind == "hook.failed" && $0.fields["hook.exit_status"] == .int(3) })
        #expect(failures.allSatisfy { $0.fields["hook.output"] == .string("no space left\n") })
        let notStarted = try #require(results(events).first { $0.recording == "missing" })
        #expect(notStarted.kind == "hook.failed")
        #expect(notStarted.fields["error"]?.description.contains("no-such-program") == true)
    }

    @Test func stoppingKillsTheHooksStillRunning() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let program = try script(dir, "long.sh", "echo started > \"$1\"\nsleep 60\n")
        var recording = RecordingConfiguration(name: "main", directory: dir.path)
        recording.onClose = [program, dir.file("started")]
        let events = EventLog(logger: logger)
        let hooks = FileHooks(recordings: [recording], station: "s", events: events, logger: logger)
        hooks.prepare()
        let running = Task { await hooks.run() }
        events.emit(closed("main", path: dir.file("a.wav")))
        #expect(await waitFor { FileManager.default.fileExists(atPath: dir.file("started")) })
        let stopped = Date()
        running.cancel()
        await running.value
        #expect(Date().timeIntervalSince(stopped) < HookCommand.killGraceSeconds + 2)
        let failed = try #require(results(events).first)
        #expect(failed.kind == "hook.failed")
        #expect(failed.fields["hook.stopped"] == .bool(true))
    }
}
