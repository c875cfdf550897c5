// Tests of `audiocap check-config`: environment checks, the JSON document, exit codes.

import CaptureCore
import CaptureEnvironment
import Foundation
import Testing

@testable import CaptureCommands

@Suite struct CheckConfigTests {
    /// A scratch folder holding `text` as `audiocap.toml`; removed by `cleanup`.
    private final class Scratch {
        let path: String
        init(_ text: (String) -> String) throws {
            path = NSTemporaryDirectory() + "check-config-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try text(path).write(toFile: file, atomically: true, encoding: .utf8)
        }
        var file: String { path + "/audiocap.toml" }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    /// An environment check that needs no ffmpeg and sees `devices` as ALSA's capture devices.
    private func environment(devices: [String] = ["default", "hw:CARD=PCH,DEV=0"]) -> EnvironmentCheck {
        EnvironmentCheck(
            runsFFmpeg: true, serviceUser: "no-such-user-audiocap", searchPath: "/usr/bin:/bin", alsaDevices: devices)
    }

    /// A configuration that can run here: ffmpeg is `true` (`true -version` exits 0), folders in `dir`.
    private func good(_ dir: String, extra: String = "", device: String = "default", group: String = "root") -> String {
        """
        [source]
        ffmpeg = "true"
        device = "\(device)"
        [levels]
        alarm_hold_seconds = 5
        [[recording]]
        name = "archive"
        directory = "\(dir)/rec/archive"
        [control]
        group = "\(group)"
        [storage]
        root = "\(dir)/ondemand"
        state = "\(dir)/state"
        \(extra)
        """
    }

    private func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func aConfigurationThatCanRunIsValidAndLeavesNothingBehind() throws {
        let scratch = try Scratch { good($0) }
        let outcome = CheckConfigCommand.check(path: scratch.file, json: false, environment: environment())
        #expect(outcome.exitCode == 0, "\(outcome.errors)")
        #expect(outcome.output.hasPrefix("\(scratch.file): valid"))
        #expect(outcome.output.contains("alarms:      begin after 5 s, end after 30 s clear"))
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch.path)
        #expect(left == ["audiocap.toml"])
    }

    @Test func jsonHasEveryKeyTheLoaderAccepts() throws {
        let scratch = try Scratch {
            good(
                $0,
                extra: """
                    [[destination]]
                    name = "archive"
                    remote = "s3:bucket"
                    [[webhook]]
                    url = "https://hooks.example.org/in"
                    [[trigger]]
                    name = "bats"
                    directory = "\($0)/clips/bats"
                    """)
        }
        let outcome = CheckConfigCommand.check(path: scratch.file, json: true, environment: environment())
        #expect(outcome.exitCode == 0)
        let document = try json(outcome.output)
        #expect(document["valid"] as? Bool == true)
        #expect((document["problems"] as? [Any])?.isEmpty == true)
        for (table, keys) in ConfigurationLoader.keys {
            let object: [String: Any]?
            if ["recording", "destination", "webhook", "trigger"].contains(table) {
                object = (document[table + "s"] as? [[String: Any]])?.first
            } else {
                object = document[table] as? [String: Any]
            }
            #expect(object != nil, "no \(table) in the JSON")
            for key in keys {
                #expect(object?.keys.contains(key) == true, "\(table).\(key) is missing from the JSON")
            }
        }
        let levels = document["levels"] as? [String: Any]
        #expect(levels?["alarm_hold_seconds"] as? Double == 5)
        #expect(levels?["alarm_clear_seconds"] as? Double == 30)
        let recording = (document["recordings"] as? [[String: Any]])?.first
        #expect(recording?["keep_days"] is NSNull)
        #expect(recording?["delete_oldest_when_low"] as? Bool == false)
        #expect((document["source"] as? [String: Any])?["gap_fill"] as? String == "none")
        #expect((document["source"] as? [String: Any])?["chunk_frames"] as? Int == 4800)
    }

    @Test func missingFFmpegIsAProblem() throws {
        let scratch = try Scratch {
            good($0).replacingOccurrences(of: "ffmpeg = \"true\"", with: "ffmpeg = \"ffmpg-not-here\"")
        }
        let outcome = CheckConfigCommand.check(path: scratch.file, json: true, environment: environment())
        #expect(outcome.exitCode == 78)
        let document = try json(outcome.output)
        #expect(document["valid"] as? Bool == false)
        let problems = document["problems"] as? [[String: Any]] ?? []
        #expect(problems.map { $0["key"] as? String } == ["source.ffmpeg"])
        #expect((problems.first?["message"] as? String)?.contains("not found in PATH") == true)
        #expect(
            outcome.errors.contains("line 2: source.ffmpeg = \"ffmpg-not-here\": is not found in PATH"),
            "\(outcome.errors)")
    }

    @Test func ffmpegThatDoesNotRunIsAProblem() throws {
        let scratch = try Scratch { good($0).replacingOccurrences(of: "ffmpeg = \"true\"", with: "ffmpeg = \"false\"") }
        let outcome = CheckConfigCommand.check(path: scratch.file, json: false, environment: environment())
        #expect(outcome.exitCode == 78)
        #expect(
            outcome.errors.contains("does not run: `/usr/bin/false -version` exited with status 1"), "\(outcome.errors)"
        )
    }

    @Test func missingGroupAndUnwritableFoldersAreProblems() throws {
        let scratch = try Scratch { dir in
            good(dir, group: "no-such-group-audiocap")
                .replacingOccurrences(of: "\(dir)/rec/archive", with: "/proc/audiocap-check/archive")
        }
        let outcome = CheckConfigCommand.check(path: scratch.file, json: false, environment: environment())
        #expect(outcome.exitCode == 78)
        let lines = outcome.errors.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(lines)")
        #expect(
            lines.first?.contains(
                "line 8: [[recording]] \"archive\" directory = \"/proc/audiocap-check/archive\": cannot be created in /proc"
            )
                == true, "\(lines)")
        #expect(
            lines.last?.contains("line 10: control.group = \"no-such-group-audiocap\": no such group") == true,
            "\(lines)")
    }

    @Test func aMissingDeviceIsAWarningOnly() throws {
        let scratch = try Scratch { good($0, device: "hw:USB,0") }
        let outcome = CheckConfigCommand.check(path: scratch.file, json: true, environment: environment())
        #expect(outcome.exitCode == 0)
        let document = try json(outcome.output)
        #expect(document["valid"] as? Bool == true)
        let warnings = document["warnings"] as? [[String: Any]] ?? []
        #expect(warnings.map { $0["key"] as? String } == ["source.device"])
        #expect((warnings.first?["message"] as? String)?.contains("no ALSA capture device by that name now") == true)
    }

    @Test func folderBitsAreJudgedForTheServiceUser() {
        var info = stat()
        info.st_uid = 500
        info.st_gid = 600
        info.st_mode = S_IFDIR | 0o750
        #expect(EnvironmentCheck.allows(info, uid: 500, gids: []))
        #expect(!EnvironmentCheck.allows(info, uid: 501, gids: [600]))
        info.st_mode = S_IFDIR | 0o770
        #expect(EnvironmentCheck.allows(info, uid: 501, gids: [600]))
        #expect(!EnvironmentCheck.allows(info, uid: 501, gids: [601]))
    }

    @Test func cardNamesMatchTheirCard() throws {
        #expect(EnvironmentCheck.card(of: "hw:CARD=PCH,DEV=0") == "PCH")
        #expect(EnvironmentCheck.card(of: "plughw:PCH") == "PCH")
        #expect(EnvironmentCheck.card(of: "hw:1,0") == "1")
        #expect(EnvironmentCheck.card(of: "testmic") == nil)
        let scratch = try Scratch { good($0, device: "plughw:PCH,0") }
        let outcome = CheckConfigCommand.check(path: scratch.file, json: true, environment: environment())
        #expect((try json(outcome.output)["warnings"] as? [Any])?.isEmpty == true)
    }

    @Test func anInvalidFileGivesValidFalseWithItsProblemsAndLines() throws {
        let scratch = try Scratch { dir in
            good(dir).replacingOccurrences(of: "name = \"archive\"", with: "name = \"archive\"\nsegment_seconds = 0")
        }
        let outcome = CheckConfigCommand.check(path: scratch.file, json: true, environment: environment())
        #expect(outcome.exitCode == 78)
        let document = try json(outcome.output)
        #expect(document["valid"] as? Bool == false)
        let problems = document["problems"] as? [[String: Any]] ?? []
        #expect(problems.count == 1)
        #expect(problems.first?["line"] as? Int == 8)
        #expect(problems.first?["table"] as? String == "[[recording]] \"archive\"")
        #expect(
            outcome.errors.contains("line 8: [[recording]] \"archive\" segment_seconds = 0: must be an integer"),
            "\(outcome.errors)")
    }
}
