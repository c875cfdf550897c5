// Parsing every subcommand's arguments through the root command, as `audiocap` does.

import ArgumentParser
import CaptureClient
import CaptureProtocol
import Foundation
import Testing

@testable import CaptureCommands

@Suite struct CommandParsingTests {
    private func parse<Command: ParsableCommand>(_ arguments: [String], as type: Command.Type) throws -> Command {
        let command = try AudioCapCommand.parseAsRoot(arguments)
        return try #require(command as? Command)
    }

    /// The message and exit code `audiocap` would print and exit with for `arguments`.
    private func failure(_ arguments: [String]) -> (message: String, code: Int32)? {
        do {
            _ = try AudioCapCommand.parseAsRoot(arguments)
            return nil
        } catch {
            return (AudioCapCommand.message(for: error), AudioCapCommand.exitCode(for: error).rawValue)
        }
    }

    @Test func status() throws {
        let command = try parse(["status"], as: StatusCommand.self)
        #expect(!command.options.json)
        #expect(command.options.socket == GlobalOptions.defaultSocket)
        let custom = try parse(["status", "--json", "--socket", "/tmp/a.sock"], as: StatusCommand.self)
        #expect(custom.options.json)
        #expect(custom.options.socket == "/tmp/a.sock")
    }

    @Test func startWithEveryOption() throws {
        let command = try parse(
            [
                "start", "interview", "--segment", "10m", "--for", "1h30m", "--filename", "{name}-{seq}.wav",
                "--directory", "sessions/3", "--align", "samples", "--format", "flac", "--json",
            ], as: StartCommand.self)
        #expect(
            command.request
                == StartRecordingRequest(
                    name: "interview", segmentSeconds: 600, filename: "{name}-{seq}.wav", durationSeconds: 5_400,
                    directory: "sessions/3", align: "samples", format: "flac"))
        #expect(command.options.json)
    }

    @Test func startWithNameOnlyLeavesTheRestToTheDaemon() throws {
        let command = try parse(["start", "x"], as: StartCommand.self)
        #expect(command.request == StartRecordingRequest(name: "x"))
    }

    @Test func startRefusesBadValues() throws {
        let badDuration = try #require(failure(["start", "x", "--for", "soon"]))
        #expect(badDuration.code == 64)
        #expect(badDuration.message.contains("90s, 10m, 2h, 1h30m, 1d or 45 (seconds)"))
        let badName = try #require(failure(["start", "../etc"]))
        #expect(badName.code == 64)
        #expect(badName.message.contains("not a valid recording name"))
        #expect(try #require(failure(["start", "x", "--align", "beat"])).code == 64)
        #expect(try #require(failure(["start", "x", "--format", "mp3"])).code == 64)
        #expect(try #require(failure(["start", "x", "--segment", "0"])).message.contains("at least 1s"))
        #expect(try #require(failure(["start"])).code == 64)
    }

    @Test func stop() throws {
        #expect(try parse(["stop", "night"], as: StopCommand.self).name == "night")
        #expect(try #require(failure(["stop", "a b"])).code == 64)
    }

    @Test func recordings() throws {
        #expect(try parse(["recordings", "--json"], as: RecordingsCommand.self).options.json)
    }

    @Test func segments() throws {
        let command = try parse(["segments", "night", "--since", "10m"], as: SegmentsCommand.self)
        #expect(command.name == "night")
        #expect(command.since == .ago(seconds: 600))
        let absolute = try parse(["segments", "night", "--since", "2026-11-22T01:00:00Z"], as: SegmentsCommand.self)
        #expect(absolute.since == .time(Date(timeIntervalSince1970: 1_795_309_200)))
        let bad = try #require(failure(["segments", "night", "--since", "last week"]))
        #expect(bad.code == 64)
        #expect(bad.message.contains("now, today, yesterday"))
    }

    @Test func levels() throws {
        let once = try parse(["levels"], as: LevelsCommand.self)
        #expect(!once.follow)
        let following = try parse(["levels", "-f", "--interval", "250", "--json"], as: LevelsCommand.self)
        #expect(following.follow && following.interval == 250 && following.options.json)
        #expect(try #require(failure(["levels", "--interval", "0"])).code == 64)
    }

    @Test func logs() throws {
        let command = try parse(
            ["logs", "-f", "--since", "1h", "--level", "warning", "--recording", "night", "--limit", "50"],
            as: LogsCommand.self)
        #expect(command.follow)
        #expect(command.since == .ago(seconds: 3_600))
        #expect(command.level == .warning)
        #expect(command.recording == "night")
        #expect(command.limit == 50)
        #expect(try parse(["logs", "--follow"], as: LogsCommand.self).follow)
        #expect(try #require(failure(["logs", "--level", "loud"])).code == 64)
        #expect(try #require(failure(["logs", "--limit", "0"])).code == 64)
    }

    @Test func checkConfigStays() throws {
        let command = try parse(["check-config", "config/demo.toml", "--json"], as: CheckConfigCommand.self)
        #expect(command.path == "config/demo.toml")
        #expect(command.json)
    }

    @Test func unknownSubcommandIsAUsageError() throws {
        #expect(try #require(failure(["record"])).code == 64)
    }

    @Test func everyCommandHasExamplesInItsHelp() {
        let commands: [any ParsableCommand.Type] = [
            AudioCapCommand.self, StatusCommand.self, StartCommand.self, StopCommand.self, RecordingsCommand.self,
            SegmentsCommand.self, LevelsCommand.self, LogsCommand.self, CheckConfigCommand.self,
        ]
        for command in commands {
            let help = command.helpMessage(columns: 100)
            #expect(help.contains("Examples:\n  audiocap"), "\(command) has no examples")
        }
    }

    @Test func clientErrorsExitWithTheirCodes() {
        let path = "/run/audiocap/control.sock"
        #expect(ClientError.connectionFailed(errno: ENOENT, socketPath: path).exitCode == 69)
        #expect(ClientError.connectionFailed(errno: EACCES, socketPath: path).exitCode == 77)
        let api = { (status: Int) in
            ClientError(code: .apiError, socketPath: path, status: status, message: "m").exitCode
        }
        #expect(api(400) == 65)
        #expect(api(404) == 66)
        #expect(api(409) == 75)
        #expect(api(403) == 77)
        #expect(api(500) == 70)
        #expect(api(503) == 75)  // a busy daemon answered: not "unreachable"
        #expect(ClientError(code: .badReply, socketPath: path, message: "m").exitCode == 76)
    }
}
