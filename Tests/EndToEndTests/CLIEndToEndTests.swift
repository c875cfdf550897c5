// End to end: the CLI's conventions against a running audiocapd: global options before the command, version,
// reload, start of a stopped configured recording, exit codes, and -f surviving a restart of the daemon.
import CaptureProtocol
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEnd {
    @Suite(.serialized) struct CLIEndToEndTests {
        /// A daemon on ffmpeg's paced pattern generator with its socket on: `recordings` as (name, segment
        /// seconds), `extra` lines before them.
        static func config(
            _ dir: DaemonFixture, recordings: [(String, Int)], extra: String = "", device: String? = nil
        ) -> String {
            var text = """
                [source]
                input_format = "lavfi"
                device = '\(device ?? patternGenerator(seconds: 3600))'
                input_options = ["-re"]
                [levels]
                log_interval_seconds = 0
                [control]
                socket = "\(dir.socket)"
                [storage]
                root = "\(dir.path)/ondemand"
                state = "\(dir.path)/state"
                \(extra)

                """
            for (name, seconds) in recordings {
                text += """
                    [[recording]]
                    name = "\(name)"
                    directory = "\(dir.path)/\(name)"
                    segment_seconds = \(seconds)
                    align = "samples"
                    filename = "{seq}.wav"

                    """
            }
            return text
        }

        /// Launches a daemon in `dir` and waits until its control API listens.
        func start(_ dir: DaemonFixture) throws -> DaemonProcess {
            let daemon = try dir.launch()
            try #require(dir.waitForControl(), "\(daemon.log)")
            return daemon
        }

        /// Runs `audiocap ARGS` (no $AUDIOCAP_SOCKET: the socket is in the arguments); exit status, stdout, stderr.
        func cli(_ args: [String], environment extra: [String: String] = [:]) throws -> (
            status: Int32, out: String, err: String
        ) {
            var environment = ProcessInfo.processInfo.environment
            environment.removeValue(forKey: "AUDIOCAP_SOCKET")
            environment.merge(extra) { $1 }
            let result = try ProcessRunner.run(Binaries.audiocap, args, environment: environment, timeout: 30)
            return (
                result.status, String(decoding: result.stdout, as: UTF8.self),
                String(decoding: result.stderr, as: UTF8.self)
            )
        }

        func recordings(_ socket: String) throws -> [RecordingResponse] {
            let result = try cli(["--json", "--socket", socket, "recordings"])
            #expect(result.status == 0, "\(result.err)")
            return try ControlAPI.decoder().decode(RecordingsResponse.self, from: Data(result.out.utf8)).recordings
        }

        @Test func globalOptionsVersionReloadAndConfiguredRecordings() throws {
            try DaemonFixture.with { dir in
                try dir.writeConfig(Self.config(dir, recordings: [("main", 3600)]))
                let daemon = try start(dir)
                let socket = dir.socket
                try #require(waitForAudio(under: dir.path + "/main", bytes: 19_200), "\(daemon.log)")

                // Global options before the subcommand, in both spellings.
                let status = try cli(["--socket", socket, "--json", "status"])
                #expect(status.status == 0, "\(status.err)")
                #expect(
                    try ControlAPI.decoder().decode(StatusResponse.self, from: Data(status.out.utf8)).pid == daemon.pid)
                #expect(try cli(["--socket=\(socket)", "status"]).status == 0)
                #expect(try cli(["--help"]).out.contains("Global options, before or after the command"))

                // version: both versions, exit 0; without a daemon the CLI's and a note, still 0.
                let version = try cli(["--socket", socket, "version"])
                #expect(version.status == 0)
                #expect(version.out.contains("audiocap "))
                #expect(version.out.contains("audiocapd "), "\(version.out)")
                #expect(version.out.contains("pid \(daemon.pid)"))
                let json = try cli(["--json", "--socket", socket, "version"])
                #expect(json.out.contains("\"daemon\""))
                let alone = try cli(["version", "--socket", dir.file("nothing.sock")])
                #expect(alone.status == 0)
                #expect(alone.out.hasPrefix("audiocap "))
                #expect(!alone.out.contains("audiocapd"))
                #expect(alone.err.contains("not") || alone.err.contains("no such socket"), "\(alone.err)")

                // Exit codes: unknown recording in logs is 66, like segments; unreachable is 69.
                let typo = try cli(["logs", "--socket", socket, "--recording", "typo"])
                #expect(typo.status == 66, "\(typo)")
                #expect(typo.err.contains("typo"))
                #expect(try cli(["segments", "typo", "--socket", socket]).status == 66)
                #expect(try cli(["status", "--socket", dir.file("nothing.sock")]).status == 69)
                let none = try cli(["logs", "--socket", socket, "--since", "+1h"])
                #expect(none.status == 0)
                #expect(none.out.contains("-- No entries --"))
                let localTimes = try cli(
                    ["logs", "--socket", socket, "--since", "today"], environment: ["TZ": "Asia/Kolkata"])
                #expect(localTimes.status == 0, "\(localTimes.err)")
                #expect(localTimes.out.contains("+05:30 "), "\(localTimes.out)")
                let utcTimes = try cli(["--utc", "logs", "--socket", socket], environment: ["TZ": "Asia/Kolkata"])
                #expect(utcTimes.out.contains("Z INFO"), "\(utcTimes.out)")

                // A stopped configured recording starts again with its settings; options for it are refused.
                #expect(try cli(["--socket", socket, "stop", "main"]).status == 0)
                #expect(try recordings(socket).isEmpty)
                let withOptions = try cli(["--socket", socket, "start", "main", "--segment", "10s"])
                #expect(withOptions.status == 65, "\(withOptions)")
                #expect(withOptions.err.contains("audiocap reload"))
                let again = try cli(["--socket", socket, "start", "main"])
                #expect(again.status == 0, "\(again.err)")
                #expect(again.out.contains("started main with its configured settings"), "\(again.out)")
                let running = try recordings(socket)
                #expect(running.map(\.name) == ["main"])
                #expect(running.first?.kind == "continuous")
                #expect(running.first?.segmentSeconds == 3600)

                // reload: a new recording starts, a changed one restarts; a changed [queue] restarts the
                // source it applies to (the reload applies it; it no longer waits for a restart of the daemon).
                try dir.writeConfig(
                    Self.config(dir, recordings: [("main", 1800), ("extra", 3600)], extra: "[queue]\nseconds = 20"))
                let reload = try cli(["reload", "--socket", socket])
                #expect(reload.status == 0, "\(reload.err)")
                #expect(reload.out.contains("started: extra"), "\(reload.out)")
                #expect(reload.out.contains("restarted with new settings: main"))
                #expect(reload.out.contains("sources restarted with new settings: main"), "\(reload.out)")
                #expect(!reload.out.contains("[queue]"), "\(reload.out)")
                #expect(Set(try recordings(socket).map(\.name)) == ["main", "extra"])
                #expect(try recordings(socket).first { $0.name == "main" }?.segmentSeconds == 1800)

                // A configured recording stopped by hand stays stopped across a reload; a removed one stops.
                #expect(try cli(["stop", "extra", "--socket", socket]).status == 0)
                try dir.writeConfig(Self.config(dir, recordings: [("extra", 3600)], extra: "[queue]\nseconds = 20"))
                let second = try cli(["--json", "--socket", socket, "reload"])
                #expect(second.status == 0, "\(second.err)")
                let reply = try ControlAPI.decoder().decode(ReloadResponse.self, from: Data(second.out.utf8))
                #expect(reply.reloaded)
                #expect(reply.stopped == ["main"])
                #expect(reply.started.isEmpty)
                #expect(reply.restartNeededFor.isEmpty)
                #expect(reply.sourcesRestarted.isEmpty, "the same [queue] restarts nothing")
                #expect(try recordings(socket).isEmpty)

                // A file with errors changes nothing: 78.
                try "[source\nbroken".write(toFile: dir.configPath, atomically: true, encoding: .utf8)
                let broken = try cli(["reload", "--socket", socket])
                #expect(broken.status == 78, "\(broken)")
                #expect(broken.out.contains("not reloaded"))
                #expect(try cli(["start", "extra", "--socket", socket]).status == 0)
            }
        }

        @Test func levelsBeforeTheFirstAudioSaysSoAndExitsZero() throws {
            try DaemonFixture.with { dir in
                // ffmpeg fails at once and is restarted: audiocapd runs but never has audio.
                try dir.writeConfig(Self.config(dir, recordings: [], device: "nosuchfilter=x"))
                _ = try start(dir)
                let levels = try cli(["levels", "--socket", dir.socket])
                #expect(levels.status == 0, "\(levels)")
                #expect(levels.out.contains("no audio yet"))
                let json = try cli(["levels", "--json", "--socket", dir.socket])
                #expect(json.status == 0)
                #expect(json.out.isEmpty)
                #expect(json.err.contains("no audio yet"))
            }
        }

        /// A CLI process left running, its output going to files.
        final class Follower: @unchecked Sendable {
            // @unchecked: used from one test; Process may be signalled from any thread.
            let process = Process()
            let out: String
            let err: String

            init(_ args: [String], in dir: DaemonFixture, name: String) throws {
                out = dir.file("\(name).out")
                err = dir.file("\(name).err")
                FileManager.default.createFile(atPath: out, contents: nil)
                FileManager.default.createFile(atPath: err, contents: nil)
                process.executableURL = URL(fileURLWithPath: Binaries.audiocap)
                process.arguments = args
                process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
                process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
                try process.run()
            }

            var stdout: String { (try? String(contentsOfFile: out, encoding: .utf8)) ?? "" }
            var stderr: String { (try? String(contentsOfFile: err, encoding: .utf8)) ?? "" }

            /// Ctrl-C, then the exit status.
            func interrupt() -> Int32 {
                kill(process.processIdentifier, SIGINT)
                if !waitUntil(timeout: 10, { !self.process.isRunning }) {
                    kill(process.processIdentifier, SIGKILL)
                }
                process.waitUntilExit()
                return process.terminationStatus
            }
        }

        @Test func followingSurvivesARestartOfTheDaemon() throws {
            try DaemonFixture.with { dir in
                try dir.writeConfig(Self.config(dir, recordings: [("main", 3600)]))
                var daemon = try start(dir)
                try #require(waitForAudio(under: dir.path + "/main", bytes: 19_200), "\(daemon.log)")

                let levels = try Follower(
                    ["--socket", dir.socket, "levels", "-f", "--interval", "200"], in: dir, name: "levels")
                let logs = try Follower(["--socket", dir.socket, "logs", "-f"], in: dir, name: "logs")
                #expect(waitUntil(timeout: 10) { levels.stdout.split(separator: "\n").count >= 3 }, "\(levels.stderr)")
                #expect(waitUntil(timeout: 10) { logs.stdout.contains("daemon.started") }, "\(logs.stderr)")

                let firstPid = daemon.pid
                #expect(daemon.terminate().status == 0)
                #expect(waitUntil(timeout: 10) { levels.stderr.contains("audiocapd went away") }, "\(levels.stderr)")
                #expect(
                    waitUntil(timeout: 10) { logs.stderr.contains("waiting for it to come back") }, "\(logs.stderr)")
                #expect(levels.process.isRunning)
                #expect(logs.process.isRunning)
                let linesBefore = levels.stdout.split(separator: "\n").count

                daemon = try start(dir)
                #expect(daemon.pid != firstPid)
                #expect(
                    waitUntil(timeout: 15) { levels.stderr.contains("audiocapd is back (pid \(daemon.pid))") },
                    "\(levels.stderr)")
                #expect(waitUntil(timeout: 15) { levels.stdout.split(separator: "\n").count >= linesBefore + 3 })
                #expect(waitUntil(timeout: 15) { logs.stderr.contains("audiocapd is back") }, "\(logs.stderr)")
                // The second daemon's start, shown once.
                #expect(
                    waitUntil(timeout: 15) { logs.stdout.components(separatedBy: "daemon.started").count - 1 >= 2 },
                    "\(logs.stdout)")
                #expect(logs.stdout.contains("pid=\(daemon.pid)"))

                #expect(levels.interrupt() == 0)
                #expect(logs.interrupt() == 0)
            }
        }
    }
}
