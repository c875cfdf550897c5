// The installed service under a real systemd (Tests/Fixtures/sysbox): make install, enable --now,
// Type=notify, the journal's native fields, reload, the watchdog, a full disk, a bad configuration, uninstall.
import CaptureProtocol
import Foundation
import TestSupport
import Testing

/// One systemd box with audiocap installed from this test run's binaries and the paced test microphone
/// running inside, shared by the tests of `ServiceEndToEndTests` (booting and installing takes seconds).
final class InstalledService: Sendable {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    /// The box of the suite being run (set by `InstalledService.Scope`).
    @TaskLocal static var current: InstalledService?

    /// The service's watchdog in the tests' drop-in: short, so a hung daemon is restarted within seconds
    /// (the shipped unit keeps 30 s).
    static let watchdogSeconds = 6
    /// A tmpfs the full-disk test mounts inside the box; writable to the service through the drop-in.
    static let smallDisk = "/srv/audiocap-small"
    static let unit = "audiocapd"
    static let config = "/etc/audiocap/audiocap.toml"
    static let dropIn = "/etc/systemd/system/audiocapd.service.d/test.conf"

    let box: SystemdBox
    /// The `ALSA_CONFIG_PATH` that defines the test microphone inside the box.
    let alsaConfigPath: String

    private init(box: SystemdBox, alsaConfigPath: String) {
        self.box = box
        self.alsaConfigPath = alsaConfigPath
    }

    /// Boots a box, runs `make install` in it with the test run's binaries, starts the test microphone
    /// in it and gives the service the tests' drop-in.
    static func start() throws -> InstalledService {
        let box = try SystemdBox.start()
        do {
            try install(in: box)
            let mic = try box.run(
                ["sh", repository + "/Tests/Fixtures/testmic/start.sh", "/var/lib/testmic"], timeout: 60)
            let prefix = "ALSA_CONFIG_PATH="
            guard mic.status == 0,
                let path = mic.stdout.split(separator: "\n").last(where: { $0.hasPrefix(prefix) })?.dropFirst(
                    prefix.count)
            else {
                throw SystemdBoxError(reason: "the test microphone did not start inside the box", output: "\(mic)")
            }
            // The service user reads the microphone's ALSA configuration and reaches its socket.
            try box.require(["chmod", "755", "/var/lib/testmic", "/var/lib/testmic/run"])
            try box.require(["mkdir", "-p", (dropIn as NSString).deletingLastPathComponent])
            try """
            [Service]
            Environment=ALSA_CONFIG_PATH=\(path)
            WatchdogSec=\(watchdogSeconds)
            ReadWritePaths=-\(smallDisk)

            """.write(toFile: box.hostPath(dropIn), atomically: true, encoding: .utf8)
            try box.require(["systemctl", "daemon-reload"])
            return InstalledService(box: box, alsaConfigPath: String(path))
        } catch {
            box.stop()
            throw error
        }
    }

    /// `make install BUILD=0 BUILT=<this run's binaries>` inside `box`, onto its root.
    static func install(in box: SystemdBox) throws {
        try box.require(["make", "install", "BUILD=0", "BUILT=\(Binaries.directory)"], in: repository, timeout: 180)
    }

    func stop() { box.stop() }

    // MARK: Driving the service

    /// `systemctl ARGS...` inside the box.
    @discardableResult
    func systemctl(_ arguments: String..., timeout: Double = 60) throws -> SystemdBoxResult {
        try box.run(["systemctl"] + arguments, timeout: timeout)
    }

    /// A property of the service (`systemctl show -P NAME audiocapd`), or "" when it cannot be read.
    func property(_ name: String) -> String {
        (try? box.run(["systemctl", "show", "-P", name, Self.unit]))?.value ?? ""
    }

    var mainPID: Int { Int(property("MainPID")) ?? 0 }
    var restarts: Int { Int(property("NRestarts")) ?? -1 }

    /// Writes the service's configuration file.
    func writeConfig(_ text: String) throws {
        try text.write(toFile: box.hostPath(Self.config), atomically: true, encoding: .utf8)
    }

    /// Stops the service and forgets its failures and restart count, then starts it with `config`; returns
    /// once systemd counts it as started (Type=notify: after READY=1).
    func restart(config: String) throws {
        try systemctl("stop", Self.unit)
        try systemctl("reset-failed", Self.unit)
        try writeConfig(config)
        let started = try systemctl("start", Self.unit, timeout: 120)
        try #require(started.status == 0, "systemctl start audiocapd: \(started)\n\(statusText())")
    }

    /// `systemctl status` and the service's last journal lines, for failure messages.
    func statusText() -> String {
        (try? box.run(["systemctl", "status", "--no-pager", "-n", "30", Self.unit]))?.stdout ?? ""
    }

    // MARK: The journal

    /// Where the journal ends now: entries after it are `journal(after:)`'s.
    func journalCursor() throws -> String {
        let result = try box.run(["journalctl", "-q", "-n", "0", "--show-cursor"])
        let line = result.stdout.split(separator: "\n").last { $0.hasPrefix("-- cursor: ") }
        return try #require(line.map { String($0.dropFirst("-- cursor: ".count)) }, "no journal cursor: \(result)")
    }

    /// The journal's entries after `cursor` (every entry when nil) matching `matches` (journalctl's
    /// FIELD=VALUE), as JSON objects, oldest first; fields that hold text, as strings.
    ///
    /// It reads from `--cursor` and drops the cursor's own entry: journalctl 252's `--after-cursor` with a
    /// match skips the first matching entry when the cursor's entry does not match.
    func journal(after cursor: String?, _ matches: [String]) throws -> [[String: String]] {
        var arguments = ["journalctl", "-q", "--no-pager", "-o", "json"]
        if let cursor { arguments.append("--cursor=\(cursor)") }
        let result = try box.run(arguments + matches)
        return result.stdout.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return nil
            }
            return object.compactMapValues { $0 as? String }
        }.filter { cursor == nil || $0["__CURSOR"] != cursor }
    }

    func journal(after cursor: String?, _ matches: String...) throws -> [[String: String]] {
        try journal(after: cursor, matches)
    }

    /// Waits until the journal has an entry after `cursor` that matches `matches`; returns the first.
    func waitForJournal(after cursor: String?, _ matches: String..., timeout: Double = 20) -> [String: String]? {
        var found: [String: String]?
        waitUntil(timeout: timeout) {
            found = (try? journal(after: cursor, matches))?.first
            return found != nil
        }
        return found
    }

    /// The journal's messages about the service (systemd's and the daemon's) from `cursor` on, one a line.
    func unitMessages(after cursor: String) -> String {
        let arguments = ["journalctl", "-q", "--no-pager", "-o", "cat", "-u", Self.unit, "--cursor=\(cursor)"]
        return (try? box.run(arguments))?.stdout ?? ""
    }

    // MARK: Configurations

    /// A configuration on the test microphone with the default control socket and one recording per
    /// element: `NAME` in `DIRECTORY` (by default /var/lib/audiocap/recordings/NAME), cut every
    /// `SECONDS` on sample counts into `{seq}.wav`.
    static func config(_ recordings: [(name: String, directory: String?, segmentSeconds: Int)]) -> String {
        var text = """
            [source]
            device = "testmic"
            [levels]
            log_interval_seconds = 0

            """
        for recording in recordings {
            text += """
                [[recording]]
                name = "\(recording.name)"
                directory = "\(recording.directory ?? "/var/lib/audiocap/recordings/\(recording.name)")"
                segment_seconds = \(recording.segmentSeconds)
                align = "samples"
                filename = "{seq}.wav"

                """
        }
        return text
    }

    static let standardConfig = config([("main", nil, 2)])

    // MARK: The suite's scope

    /// Boots the box before the suite's first test and stops it after its last.
    struct Scope: SuiteTrait, TestScoping {
        var isRecursive: Bool { false }

        func provideScope(
            for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
        ) async throws {
            guard SystemdBox.isAvailable, TestMic.isAvailable, InstalledService.current == nil else {
                try await function()
                return
            }
            // Booting and stopping block this thread for seconds; acceptable in a test, where the suite
            // runs alone (EndToEnd is serialized) and nothing else waits on Swift's shared threads.
            let service = try InstalledService.start()
            defer { service.stop() }
            try await InstalledService.$current.withValue(service) { try await function() }
        }
    }
}

extension SystemdBox {
    /// Runs `command` inside and requires it to succeed.
    @discardableResult
    func require(_ command: [String], in directory: String? = nil, timeout: Double = 60) throws -> SystemdBoxResult {
        let result = try run(command, in: directory, timeout: timeout)
        try #require(result.status == 0, "`\(command.joined(separator: " "))` in the box: \(result)")
        return result
    }
}

extension Trait where Self == InstalledService.Scope {
    /// One installed service in a systemd box for the whole suite.
    static var installedService: Self { Self() }
}

extension EndToEnd {
    @Suite(
        .serialized,
        .enabled(if: SystemdBox.isAvailable, Comment(rawValue: SystemdBox.unavailableReason ?? "")),
        .enabled(if: TestMic.isAvailable, Comment(rawValue: TestMic.unavailableReason ?? "")),
        .enabled(if: make != nil, "make is not installed (apt-get install make)"),
        .installedService)
    struct ServiceEndToEndTests {
        var service: InstalledService {
            get throws { try #require(InstalledService.current, "no systemd box for this suite") }
        }

        @Test func enableNowStartsTheNotifyServiceWhichRecordsAsItsUserAndLogsNativeFields() throws {
            let service = try service
            let box = service.box
            try service.systemctl("stop", InstalledService.unit)
            try service.systemctl("reset-failed", InstalledService.unit)
            try service.writeConfig(InstalledService.standardConfig)
            let cursor = try service.journalCursor()

            let enabled = try service.systemctl("enable", "--now", InstalledService.unit, timeout: 120)
            #expect(enabled.status == 0, "\(enabled)\n\(service.statusText())")
            #expect(try service.systemctl("is-enabled", InstalledService.unit).value == "enabled")
            #expect(service.property("ActiveState") == "active")
            #expect(service.property("SubState") == "running")
            // Type=notify: READY=1 came with a STATUS= line.
            let status = service.property("StatusText")
            #expect(status.hasPrefix("recording: 1 recording"), "StatusText=\(status)")
            // The unit's ceilings, as systemd applies them.
            #expect(service.property("LimitNOFILE") == "4096")
            #expect(service.property("TasksMax") == "256")
            #expect(service.property("MemoryMax") == String(1 << 30))
            #expect(service.property("StartLimitIntervalUSec") == "0")
            #expect(service.property("Environment").contains("SWIFT_BACKTRACE=enable=no"))

            // A closed file, in the journal with the daemon's native fields.
            let closed = try #require(
                service.waitForJournal(after: cursor, "_SYSTEMD_UNIT=audiocapd.service", "EVENT=segment.closed"),
                "no segment.closed in the journal: \(service.unitMessages(after: cursor))")
            #expect(closed["RECORDING_NAME"] == "main")
            let path = try #require(closed["SEGMENT_PATH"], "\(closed)")
            #expect(path.hasPrefix("/var/lib/audiocap/recordings/main/"), "\(closed)")
            #expect(closed["MESSAGE"]?.isEmpty == false)
            #expect(closed["PRIORITY"] != nil)
            let entries = try service.journal(after: cursor, "-u", InstalledService.unit, "EVENT=segment.closed")
            #expect(!entries.isEmpty)

            // Files and folders belong to the service user; state and runtime folders are 0750.
            let owner = try box.require(["stat", "-c", "%U:%G %a", path]).value
            #expect(owner.hasPrefix("audiocap:audiocap "), "\(path): \(owner)")
            let folders = try box.require(["stat", "-c", "%n %U:%G %a", "/var/lib/audiocap", "/run/audiocap"]).value
            #expect(
                folders == "/var/lib/audiocap audiocap:audiocap 750\n/run/audiocap audiocap:audiocap 750", "\(folders)")

            // The CLI reaches the daemon over the installed socket.
            let cli = try box.run(["/usr/local/bin/audiocap", "status"])
            #expect(cli.status == 0, "\(cli)")
            #expect(cli.stdout.contains("main"), "\(cli)")
        }

        @Test func reloadAppliesTheFileWithoutANewProcess() throws {
            let service = try service
            try service.restart(config: InstalledService.standardConfig)
            let pid = service.mainPID
            #expect(pid > 0)
            let cursor = try service.journalCursor()
            try service.writeConfig(InstalledService.config([("main", nil, 2), ("second", nil, 2)]))
            let reload = try service.systemctl("reload", InstalledService.unit)
            #expect(reload.status == 0, "\(reload)")
            let reloaded = service.waitForJournal(
                after: cursor, "_SYSTEMD_UNIT=audiocapd.service", "EVENT=config.reloaded")
            #expect(reloaded != nil, "no config.reloaded: \(service.unitMessages(after: cursor))")
            #expect(
                service.waitForJournal(
                    after: cursor, "EVENT=segment.closed", "RECORDING_NAME=second", timeout: 10) != nil,
                "the added recording closed no file: \(service.unitMessages(after: cursor))")
            #expect(service.mainPID == pid)
            #expect(service.property("ActiveState") == "active")
        }

        @Test func aHungDaemonIsRestartedByTheWatchdog() throws {
            let service = try service
            try service.restart(config: InstalledService.standardConfig)
            let pid = service.mainPID
            #expect(pid > 0)
            #expect(service.restarts == 0)
            let cursor = try service.journalCursor()
            let stoppedAt = Date()
            try service.box.require(["kill", "-STOP", String(pid)])
            // WatchdogSec, then SIGABRT (pending on a stopped process), SIGKILL after TimeoutAbortSec (the
            // unit's TimeoutStopSec), RestartSec, and the new daemon's READY=1.
            let restarted = waitUntil(timeout: 60) {
                let now = service.mainPID
                return now != 0 && now != pid && service.property("ActiveState") == "active"
            }
            let seconds = Date().timeIntervalSince(stoppedAt)
            #expect(restarted, "no new main PID after \(seconds) s: \(service.statusText())")
            #expect(service.restarts == 1)
            let messages = service.unitMessages(after: cursor)
            #expect(messages.contains("Watchdog timeout"), "\(messages)")
            print(
                "service-figures watchdog=\(InstalledService.watchdogSeconds)s sigstop_to_new_main_pid_s="
                    + String(format: "%.1f", seconds))
        }

        @Test func anAbortEndsTheDaemonAtOnceAndItIsRestarted() throws {
            // What the watchdog sends first. Swift's crash backtracer would catch it and, unable to run
            // under MemoryDenyWriteExecute=, leave the daemon alive until SIGKILL (the unit turns it off).
            let service = try service
            try service.restart(config: InstalledService.standardConfig)
            let pid = service.mainPID
            let cursor = try service.journalCursor()
            try service.systemctl("kill", "--kill-who=main", "-s", "SIGABRT", InstalledService.unit)
            // RestartSec (2 s) and the new daemon's READY=1; a SIGKILL would come only after 15 s.
            let restarted = waitUntil(timeout: 10) {
                let now = service.mainPID
                return now != 0 && now != pid && service.property("ActiveState") == "active"
            }
            let messages = service.unitMessages(after: cursor)
            #expect(restarted, "\(messages)")
            #expect(messages.contains("status=6/ABRT"), "\(messages)")
            #expect(!messages.contains("Backtracing"), "\(messages)")
        }

        @Test func aFullDiskNeitherTripsTheWatchdogNorDisturbsTheOtherRecording() throws {
            let service = try service
            let box = service.box
            let small = InstalledService.smallDisk
            try service.systemctl("stop", InstalledService.unit)
            try box.require(["mkdir", "-p", small])
            try box.require(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0750", "tmpfs", small])
            defer { _ = try? box.run(["umount", "-l", small]) }
            try box.require(["chown", "audiocap:audiocap", small])
            let other = "/var/lib/audiocap/recordings/full-disk-other"
            // The other recording in 10 s files, the small disk's in 1 s files (1 MiB holds about 5 s).
            let config = InstalledService.config([("full-disk-other", other, 10), ("full-disk-small", small, 1)])
            let cursor = try service.journalCursor()
            try service.restart(config: config)
            let pid = service.mainPID
            #expect(
                service.waitForJournal(after: cursor, "EVENT=recording.disk_full", timeout: 30) != nil,
                "the small disk never filled: \(service.unitMessages(after: cursor))")

            // Three watchdog intervals, and at least 45 s, with one recording blocked on the full disk: the
            // daemon stays the same process (observed every second; it ends early once it is not).
            let observe = Double(max(45, 3 * InstalledService.watchdogSeconds))
            let began = Date()
            var pids: Set<Int> = [pid]
            waitUntil(timeout: observe) {
                let now = service.mainPID
                pids.insert(now)
                return now != pid
            }
            let observed = Date().timeIntervalSince(began)
            let restarts = service.restarts
            let state = service.property("ActiveState")
            try service.systemctl("stop", InstalledService.unit, timeout: 60)
            let messages = service.unitMessages(after: cursor)
            #expect(!messages.contains("Watchdog timeout"), "\(messages)")
            try #require(
                pids == [pid] && restarts == 0 && state == "active",
                "main PID \(pid) became \(pids.subtracting([pid])) after \(observed) s (NRestarts=\(restarts), ActiveState=\(state)); the files are not checked"
            )

            // The other recording joins gapless: the test pattern, bit for bit, across its files, and no gap
            // in its sidecars.
            let files = wavFiles(under: box.hostPath(other))
            #expect(files.count >= 4, "\(files)")
            let report = try PatternCheck.check(channels: 2, files: files)
            #expect(report.bitExact, "\(report)")
            #expect(report.seconds >= observed, "\(report)")
            let ledger = try LedgerReading(directory: box.hostPath(other))
            #expect(ledger.gaps.isEmpty, "\(ledger)")
            #expect(ledger.closed.allSatisfy { $0 }, "\(ledger)")
            let stopped = try #require(
                try service.journal(after: cursor, "EVENT=daemon.stopped").last, "no daemon.stopped in the journal")
            let delivered = try #require(stopped["FRAMES_CAPTURED"].flatMap { Int($0) }, "\(stopped)")
            ledger.checkInvariant(delivered: delivered)
            print("service-figures full_disk observed_s=\(Int(observed)) other: \(report) delivered=\(delivered)")
        }

        @Test func aNetworkSourceThatIsDownNeitherDelaysReadinessNorTripsTheWatchdogNorTouchesTheMic() throws {
            let service = try service
            let directory = "/var/lib/audiocap/recordings/beside-the-camera"
            // The mic, and a camera whose stream is down for the whole test (nothing listens on port 9).
            let config = """
                [[source]]
                name = "mic"
                device = "testmic"
                [[source]]
                name = "camera"
                input_format = "http"
                device = "http://viewer:Hunter2Secret@127.0.0.1:9/audio.wav"
                restart_delay_seconds = 0.5
                [levels]
                log_interval_seconds = 0
                [[recording]]
                name = "beside-the-camera"
                source = "mic"
                directory = "\(directory)"
                segment_seconds = 2
                align = "samples"
                filename = "{seq}.wav"
                [[recording]]
                name = "camera"
                source = "camera"
                directory = "/var/lib/audiocap/recordings/camera"

                """
            let cursor = try service.journalCursor()
            // Ready (Type=notify) although the camera never delivers: its supervisor keeps retrying it.
            try service.restart(config: config)
            let pid = service.mainPID
            let retried = try #require(
                service.waitForJournal(after: cursor, "EVENT=ffmpeg.exited", "SOURCE_NAME=camera", timeout: 30),
                "the camera's ffmpeg never exited: \(service.unitMessages(after: cursor))")
            #expect(retried["SOURCE_DEVICE"] == nil || retried["SOURCE_DEVICE"]?.contains("Hunter2Secret") == false)
            // Three watchdog intervals, and at least 20 s, with the camera down: the same process throughout.
            let observe = Double(max(20, 3 * InstalledService.watchdogSeconds))
            var pids: Set<Int> = [pid]
            waitUntil(timeout: observe) {
                let now = service.mainPID
                pids.insert(now)
                return now != pid
            }
            let status = service.property("StatusText")
            let restarts = service.restarts
            let cli = try service.box.run(["/usr/local/bin/audiocap", "status", "--json"])
            try service.systemctl("stop", InstalledService.unit, timeout: 60)
            let messages = service.unitMessages(after: cursor)
            #expect(!messages.contains("Watchdog timeout"), "\(messages)")
            #expect(pids == [pid] && restarts == 0, "main PID \(pid) became \(pids); NRestarts=\(restarts)")
            #expect(status.contains("camera: "), "StatusText=\(status)")
            // The password is nowhere: not in the journal, not in the status.
            let journal = try service.box.run(["journalctl", "-q", "--no-pager", "-o", "verbose", "--cursor=\(cursor)"])
            #expect(!journal.stdout.contains("Hunter2Secret"))
            #expect(cli.status == 0 && cli.stdout.contains("viewer:***@127.0.0.1:9"), "\(cli)")
            #expect(!cli.stdout.contains("Hunter2Secret"))
            // The mic's recording is gapless, and its journal entries name their source.
            let closed = try service.journal(
                after: cursor, "EVENT=segment.closed", "RECORDING_NAME=beside-the-camera", "SOURCE_NAME=mic")
            #expect(closed.count >= 5, "\(messages)")
            let files = wavFiles(under: service.box.hostPath(directory))
            let report = try PatternCheck.check(channels: 2, files: files)
            #expect(report.bitExact, "\(report)")
            let ledger = try LedgerReading(directory: service.box.hostPath(directory))
            #expect(ledger.gaps.isEmpty, "\(ledger)")
        }

        @Test func uploadsAndHooksRunInsideTheShippedSandboxWithoutTrippingTheWatchdog() throws {
            let service = try service
            let directory = "/var/lib/audiocap/recordings/shipped"
            // A local folder as the destination: rclone's local backend, no network (the shipped unit has
            // none), under the unit's ReadWritePaths. What runs is the real rclone, under the unit's
            // system-call filter, user, and read-only /etc.
            let target = "/var/lib/audiocap/offsite"
            let marker = "/var/lib/audiocap/hook-ran"
            let config = """
                [station]
                id = "box-1"
                [source]
                device = "testmic"
                [levels]
                log_interval_seconds = 0
                [[destination]]
                name = "offsite"
                remote = "\(target)"
                [[recording]]
                name = "shipped"
                directory = "\(directory)"
                segment_seconds = 2
                align = "samples"
                filename = "{seq}.wav"
                upload = ["offsite"]
                on_close = ["/usr/bin/touch", "\(marker)"]

                """
            let cursor = try service.journalCursor()
            try service.restart(config: config)
            let pid = service.mainPID
            var done: [[String: String]] = []
            waitUntil(timeout: 40) {
                done = (try? service.journal(after: cursor, "EVENT=upload.done", "RECORDING_NAME=shipped")) ?? []
                return done.count >= 3
            }
            let hooks = try service.journal(after: cursor, "EVENT=hook.finished", "RECORDING_NAME=shipped")
            let restarts = service.restarts
            let samePID = service.mainPID == pid
            try service.systemctl("stop", InstalledService.unit, timeout: 60)
            let messages = service.unitMessages(after: cursor)
            #expect(done.count >= 3, "\(messages)")
            #expect(!hooks.isEmpty, "\(messages)")
            #expect(restarts == 0 && samePID, "NRestarts=\(restarts)\n\(messages)")
            #expect(!messages.contains("Watchdog timeout"), "\(messages)")
            // Each uploaded file is where the default key puts it, byte for byte.
            for entry in done.prefix(3) {
                let path = try #require(entry["SEGMENT_PATH"], "\(entry)")
                let key = try #require(entry["UPLOAD_KEY"], "\(entry)")
                #expect(key.hasPrefix("box-1/shipped/") && key.hasSuffix("/" + (path as NSString).lastPathComponent))
                let local = try Data(contentsOf: URL(fileURLWithPath: service.box.hostPath(path)))
                let remote = try Data(contentsOf: URL(fileURLWithPath: service.box.hostPath(target + "/" + key)))
                #expect(local == remote, "\(key)")
                #expect(FileManager.default.fileExists(atPath: service.box.hostPath(target + "/" + key + ".json")))
            }
            try? service.box.run(["rm", "-rf", target, marker, directory])
        }

        /// Recording on cue under the shipped unit: a trigger writes clips (cut at max_seconds and continued,
        /// as the test microphone's pattern never falls silent) and `audiocap clip` cuts a file from the
        /// look-back buffer, both under the unit's user and sandbox, without a restart or the watchdog.
        @Test func triggersAndClipsWorkInsideTheShippedSandbox() throws {
            let service = try service
            let clips = "/var/lib/audiocap/clips/box"
            let config = """
                [source]
                device = "testmic"
                look_back_seconds = 10
                [levels]
                log_interval_seconds = 0
                [[trigger]]
                name = "box"
                threshold_dbfs = -60
                pre_seconds = 0.5
                post_seconds = 0.5
                max_seconds = 2
                directory = "\(clips)"
                filename = "{seq}.wav"

                """
            let cursor = try service.journalCursor()
            try service.restart(config: config)
            let pid = service.mainPID
            var closed: [[String: String]] = []
            waitUntil(timeout: 30) {
                closed = (try? service.journal(after: cursor, "EVENT=clip.closed", "RECORDING_NAME=box")) ?? []
                return closed.count >= 2
            }
            let cut = try service.box.run(
                ["audiocap", "clip", "boxclip", "--from", "-3s", "--to", "-1s", "--json"], timeout: 30)
            let restarts = service.restarts
            let samePID = service.mainPID == pid
            try service.systemctl("stop", InstalledService.unit, timeout: 60)
            let messages = service.unitMessages(after: cursor)
            #expect(closed.count >= 2, "\(messages)")
            #expect(restarts == 0 && samePID, "NRestarts=\(restarts)\n\(messages)")
            #expect(!messages.contains("Watchdog timeout"), "\(messages)")
            // The first clip reached max_seconds (2 s of 48 kHz) and was cut; its file holds exactly that.
            let first = try #require(closed.first)
            #expect(first["CLIP_CUT"] == "true", "\(first)")
            #expect(first["SEGMENT_FRAMES"] == "96000", "\(first)")
            let path = try #require(first["SEGMENT_PATH"])
            let size = try FileManager.default.attributesOfItem(atPath: service.box.hostPath(path))[.size] as? Int ?? 0
            #expect(size > 96_000 * 4, "\(path): \(size) bytes")
            // The clip from the look-back buffer: 2 s, written by the daemon's user, readable.
            #expect(cut.status == 0, "\(cut)")
            let response = try ControlAPI.decoder().decode(ClipResponse.self, from: Data(cut.stdout.utf8))
            #expect(response.frames == 96_000, "\(response)")
            #expect(FileManager.default.fileExists(atPath: service.box.hostPath(response.path)), "\(response)")
            try? service.box.run(["rm", "-rf", clips, (response.path as NSString).deletingLastPathComponent])
        }

        @Test func aBadConfigurationFailsOnceWithStatus78() throws {
            let service = try service
            try service.systemctl("stop", InstalledService.unit)
            try service.systemctl("reset-failed", InstalledService.unit)
            defer { try? service.writeConfig(InstalledService.standardConfig) }
            try service.writeConfig(InstalledService.standardConfig + "\n[source]\nno_such_key = 1\n")
            let start = try service.systemctl("start", InstalledService.unit, timeout: 60)
            #expect(start.status != 0, "\(start)")
            #expect(waitUntil(timeout: 10) { service.property("ActiveState") == "failed" }, "\(service.statusText())")
            // RestartPreventExitStatus=78: no restart after RestartSec (2 s), observed for twice that.
            let stayed = !waitUntil(timeout: 5) { service.restarts != 0 || service.property("ActiveState") != "failed" }
            #expect(stayed, "\(service.statusText())")
            #expect(service.restarts == 0)
            #expect(service.property("Result") == "exit-code")
            #expect(service.property("ExecMainStatus") == "78")
            try service.systemctl("reset-failed", InstalledService.unit)
        }

        @Test func uninstallRemovesTheBinariesAndTheUnit() throws {
            let service = try service
            let box = service.box
            let uninstall = try box.run(["make", "uninstall"], in: InstalledService.repository, timeout: 60)
            #expect(uninstall.status == 0, "\(uninstall)")
            for path in [
                "/usr/local/bin/audiocapd", "/usr/local/bin/audiocap",
                "/usr/local/lib/systemd/system/audiocapd.service",
                "/usr/local/lib/sysusers.d/audiocap.conf",
            ] {
                #expect(try box.run(["test", "-e", path]).status != 0, "\(path) is still there")
            }
            #expect(service.property("LoadState") == "not-found")
            #expect(service.property("ActiveState") == "inactive")
            // What uninstall keeps.
            #expect(try box.run(["test", "-e", InstalledService.config]).status == 0)
            // Leave the box as the other tests expect it.
            try InstalledService.install(in: box)
            try box.require(["systemctl", "daemon-reload"])
            #expect(service.property("LoadState") == "loaded")
        }
    }
}
