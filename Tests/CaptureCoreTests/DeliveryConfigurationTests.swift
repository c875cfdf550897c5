// Tests of the delivery keys: [[destination]], [[webhook]] and a recording's upload, after_upload and hooks.

import CaptureCore
import Foundation
import Testing

@Suite struct DeliveryConfigurationTests {
    /// A file with one recording `night` and `extra` appended (its keys go into that recording when
    /// `recordingKeys` is set).
    static func file(recordingKeys: String = "", _ extra: String = "") -> String {
        """
        [[recording]]
        name = "night"
        directory = "/srv/audio/night"
        \(recordingKeys)

        \(extra)
        """
    }

    /// The problems of `text` as `key: message` lines; records an issue when it loads.
    static func problems(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> [String] {
        do {
            _ = try ConfigurationLoader.parse(text, path: "test.toml")
            Issue.record("loaded", sourceLocation: sourceLocation)
            return []
        } catch {
            #expect(error.code == .invalid, "\(error)", sourceLocation: sourceLocation)
            return error.problems.map { "\($0.key): \($0.message)" }
        }
    }

    static let archive = """
        [[destination]]
        name = "archive"
        remote = "s3:bucket/stations"
        """

    @Test func aDestinationTakesItsDefaults() throws {
        let configuration = try ConfigurationLoader.parse(
            Self.file(recordingKeys: "upload = [\"archive\"]", Self.archive), path: "test.toml")
        var expected = DestinationConfiguration(name: "archive", remote: "s3:bucket/stations")
        expected.rcloneConfig = "/etc/audiocap/rclone.conf"
        expected.path = "{station}/{recording}/%Y/%m/%d/{file}"
        expected.transfers = 2
        expected.timeoutSeconds = 600
        expected.backlogWarningHours = 6
        expected.rclone = "rclone"
        expected.bwlimit = ""
        #expect(configuration.destinations == [expected])
        #expect(configuration.recordings[0].upload == ["archive"])
        #expect(configuration.recordings[0].afterUpload == .keep)
        #expect(configuration.recordings[0].hookTimeoutSeconds == 60)
        #expect(configuration.recordings[0].hookConcurrency == 2)
    }

    @Test func everyDestinationKeyIsRead() throws {
        let configuration = try ConfigurationLoader.parse(
            Self.file(
                """
                [[destination]]
                name = "sftp.box-1"
                remote = "box:/srv/incoming"
                rclone_config = "rclone.conf"
                path = "{station}/%Y-%m-%dT%H%M%S/{relpath}"
                bwlimit = "08:00,512k 20:00,off"
                transfers = 32
                timeout_seconds = 30.5
                backlog_warning_hours = 0.5
                rclone = "/opt/rclone/rclone"
                """), path: "test.toml")
        let destination = try #require(configuration.destinations.first)
        #expect(destination.name == "sftp.box-1")
        #expect(destination.remote == "box:/srv/incoming")
        #expect(destination.rcloneConfig == "rclone.conf")
        #expect(destination.path == "{station}/%Y-%m-%dT%H%M%S/{relpath}")
        #expect(destination.bwlimit == "08:00,512k 20:00,off")
        #expect(destination.transfers == 32)
        #expect(destination.timeoutSeconds == 30.5)
        #expect(destination.backlogWarningHours == 0.5)
        #expect(destination.rclone == "/opt/rclone/rclone")
    }

    @Test func aDestinationNeedsANameAndARemote() {
        #expect(
            Self.problems(Self.file("[[destination]]\nbwlimit = \"1M\"")) == [
                "destination[0].name: is required: the name recordings give in `upload`: 1 to 64 letters, digits, `.`, `_` or `-`",
                "destination[0].remote: is required: the rclone remote to upload to, e.g. \"archive:bucket/audio\" (see docs/fleet.md)",
            ])
        #expect(
            Self.problems(Self.file("[[destination]]\nname = \"a b\"\nremote = \"\"")).map { $0.prefix(24) } == [
                "destination[0].name: mus", "destination[0].remote: m",
            ])
    }

    @Test func destinationNamesAreUnique() {
        let problems = Self.problems(Self.file(Self.archive + "\n" + Self.archive))
        #expect(
            problems == [
                "destination[1].name: duplicates the name of the 1st [[destination]] \"archive\"; each destination needs its own name"
            ])
    }

    @Test(arguments: [
        ("transfers = 0", "destination[0].transfers: must be an integer from 1 to 32"),
        ("transfers = 33", "destination[0].transfers: must be an integer from 1 to 32"),
        (
            "timeout_seconds = 0",
            "destination[0].timeout_seconds: must be a number of seconds greater than 0 and at most 86400"
        ),
        (
            "backlog_warning_hours = -1",
            "destination[0].backlog_warning_hours: must be a number of hours greater than 0 and at most 87600"
        ),
        ("bwlimit = 5", "destination[0].bwlimit: must be a string (found an integer)"),
        ("rclone = \"\"", "destination[0].rclone: must be a non-empty string"),
        (
            "colour = \"red\"",
            "destination[0].colour: unknown key; the keys of [[destination]] are `name`, `remote`, `rclone_config`, `path`, `bwlimit`, `transfers`, `timeout_seconds`, `backlog_warning_hours`, `retry_max_seconds`, `rclone`"
        ),
    ])
    func destinationValuesOutOfRange(line: String, problem: String) {
        #expect(Self.problems(Self.file(Self.archive + "\n" + line)) == [problem])
    }

    @Test(arguments: [
        ("{station}/{day}/{file}", "has `{day}`, which is not a placeholder it knows"),
        ("{station}/../{file}", "must not contain `..`"),
        ("%Y/%j/{file}", "has `%j`, which is not a field it knows"),
        ("{station}/{recording}", "must contain {file} or {relpath}"),
        ("{station}/{file", "has a `{` without its `}`"),
    ])
    func destinationPathsAreChecked(path: String, problem: String) {
        let problems = Self.problems(Self.file(Self.archive + "\npath = \"\(path)\""))
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("destination[0].path: " + problem) == true, "\(problems)")
    }

    @Test func aDestinationPathMayUseEveryPlaceholderAndField() throws {
        let path = "{station}/{recording}/{source}/%Y/%m/%d/%H%M%S%%/{relpath}/{file}"
        let configuration = try ConfigurationLoader.parse(
            Self.file(Self.archive + "\npath = \"\(path)\""), path: "test.toml")
        #expect(configuration.destinations.first?.path == path)
    }

    @Test func destinationWrittenAsATableSaysTwoBrackets() {
        #expect(
            Self.problems(Self.file("[destination]\nname = \"a\"\nremote = \"r:\"")) == [
                "destination: must be an array of tables (two brackets: `[[destination]]`, not `[destination]`)"
            ])
    }

    @Test func aWebhookTakesItsDefaults() throws {
        let configuration = try ConfigurationLoader.parse(
            Self.file(
                """
                [[webhook]]
                url = "https://hooks.example.org/audiocap"
                [[webhook]]
                name = "ops"
                url = "http://10.0.0.5:8080/in"
                events = ["upload.*", "segment.closed"]
                secret = "s3cr3t"
                timeout_seconds = 2
                """), path: "test.toml")
        var first = WebhookConfiguration(name: "webhook-1", url: "https://hooks.example.org/audiocap")
        first.events = ["*"]
        first.secret = ""
        first.timeoutSeconds = 10
        var second = WebhookConfiguration(name: "ops", url: "http://10.0.0.5:8080/in")
        second.events = ["upload.*", "segment.closed"]
        second.secret = "s3cr3t"
        second.timeoutSeconds = 2
        #expect(configuration.webhooks == [first, second])
    }

    @Test(arguments: [
        ("url = \"ftp://example.org/x\"", "webhook[0].url: must start with http:// or https://"),
        ("url = \"https:///path\"", "webhook[0].url: has no host"),
        ("url = \"http://exa mple.org/\"", "webhook[0].url: must not contain spaces or control characters"),
        ("url = \"https://h.example/\"\nevents = []", "webhook[0].events: must name at least one kind"),
        ("url = \"https://h.example/\"\nevents = [\"upload\"]", "webhook[0].events[0]: must be \"*\""),
        ("url = \"https://h.example/\"\nevents = [\"*\", \"upload.*\", \"segment.closed\"]", ""),
        ("url = \"https://h.example/\"\nevents = [\"Upload.*\"]", "webhook[0].events[0]: must be \"*\""),
        ("url = \"https://h.example/\"\nevents = [\"upload.*.done\"]", "webhook[0].events[0]: must be \"*\""),
        (
            "url = \"https://h.example/\"\ntimeout_seconds = 0",
            "webhook[0].timeout_seconds: must be a number of seconds greater than 0"
        ),
        ("name = \"\"\nurl = \"https://h.example/\"", "webhook[0].name: must be"),
        ("events = [\"*\"]", "webhook[0].url: is required"),
    ])
    func webhookValuesAreChecked(lines: String, problem: String) {
        let text = Self.file("[[webhook]]\n" + lines)
        if problem.isEmpty {
            #expect(throws: Never.self) { try ConfigurationLoader.parse(text, path: "test.toml") }
            return
        }
        let problems = Self.problems(text)
        #expect(problems.count == 1, "\(problems)")
        #expect(problems.first?.hasPrefix(problem) == true, "\(problems)")
    }

    @Test func webhookNamesAreUniqueIncludingTheDefaults() {
        let problems = Self.problems(
            Self.file(
                """
                [[webhook]]
                url = "https://a.example/"
                [[webhook]]
                name = "webhook-1"
                url = "https://b.example/"
                """))
        #expect(
            problems == [
                "webhook[1].name: duplicates the name of the 1st [[webhook]] \"webhook-1\"; each webhook needs its own name"
            ])
    }

    @Test func aWebhookSecretNeverAppearsInAProblem() {
        let problems = Self.problems(
            Self.file("[[webhook]]\nurl = \"https://a.example/\"\nsecret = \"hunter2\"\ncolor = 1"))
        #expect(problems.count == 1)
        #expect(!problems.joined().contains("hunter2"))
    }

    @Test func uploadMustNameConfiguredDestinations() {
        #expect(
            Self.problems(Self.file(recordingKeys: "upload = [\"archive\", \"backup\"]", Self.archive)) == [
                "recording[0].upload[1]: names no destination; the destinations are \"archive\""
            ])
        #expect(
            Self.problems(Self.file(recordingKeys: "upload = [\"archive\"]")) == [
                "recording[0].upload[0]: names no destination, and none is configured: add a [[destination]] with name = \"archive\" and its remote (see docs/fleet.md)"
            ])
        #expect(
            Self.problems(Self.file(recordingKeys: "upload = [\"archive\", \"archive\"]", Self.archive)) == [
                "recording[0].upload[1]: names a destination twice; list each destination once"
            ])
    }

    @Test func aBrokenDestinationIsReportedOnceNotAgainForEachUpload() {
        #expect(
            Self.problems(Self.file(recordingKeys: "upload = [\"archive\"]", "[[destination]]\nname = \"archive\""))
                == [
                    "destination[0].remote: is required: the rclone remote to upload to, e.g. \"archive:bucket/audio\" (see docs/fleet.md)"
                ])
    }

    @Test func deleteAfterUploadNeedsUploads() throws {
        #expect(
            Self.problems(Self.file(recordingKeys: "after_upload = \"delete\"")) == [
                "recording[0].after_upload: is \"delete\" but the recording uploads nowhere: set `upload` to the destinations that must hold a copy first, or remove after_upload"
            ])
        #expect(
            Self.problems(Self.file(recordingKeys: "after_upload = \"later\"")) == [
                "recording[0].after_upload: must be one of \"keep\" or \"delete\""
            ])
        let configuration = try ConfigurationLoader.parse(
            Self.file(recordingKeys: "upload = [\"archive\"]\nafter_upload = \"delete\"", Self.archive),
            path: "test.toml")
        #expect(configuration.recordings[0].afterUpload == .delete)
    }

    @Test func hooksAreArgvTemplatesOfAnAbsoluteProgram() throws {
        let configuration = try ConfigurationLoader.parse(
            Self.file(
                recordingKeys: """
                    upload = ["archive"]
                    on_close = ["/usr/local/bin/closed", "{path}", "--sidecar={sidecar}", "{recording}", "{source}", "{station}", "{frames}", "{start_utc}"]
                    on_upload = ["/usr/local/bin/uploaded", "{destination}", "{key}", "{path}"]
                    hook_timeout_seconds = 5
                    hook_concurrency = 64
                    """, Self.archive), path: "test.toml")
        let recording = configuration.recordings[0]
        #expect(recording.onClose.first == "/usr/local/bin/closed")
        #expect(recording.onClose.count == 8)
        #expect(recording.onUpload == ["/usr/local/bin/uploaded", "{destination}", "{key}", "{path}"])
        #expect(recording.hookTimeoutSeconds == 5)
        #expect(recording.hookConcurrency == 64)
    }

    @Test(arguments: [
        ("on_close = [\"notify\", \"{path}\"]", "recording[0].on_close[0]: must be the program's absolute path"),
        (
            "on_close = [\"/bin/echo\", \"{key}\"]",
            "recording[0].on_close[1]: has `{key}`, which is not a placeholder of on_close"
        ),
        (
            "on_upload = [\"/bin/echo\", \"{size}\"]",
            "recording[0].on_upload[1]: has `{size}`, which is not a placeholder of on_upload"
        ),
        ("on_upload = [\"/bin/echo\", \"{path\"]", "recording[0].on_upload[1]: has a `{` without its `}`"),
        ("on_close = \"/bin/echo {path}\"", "recording[0].on_close: must be an array of strings (found a string)"),
        ("hook_timeout_seconds = 0", "recording[0].hook_timeout_seconds: must be a number of seconds greater than 0"),
        ("hook_concurrency = 0", "recording[0].hook_concurrency: must be an integer from 1 to 64"),
        ("hook_concurrency = 65", "recording[0].hook_concurrency: must be an integer from 1 to 64"),
        ("upload = \"archive\"", "recording[0].upload: must be an array of strings (found a string)"),
    ])
    func hookAndUploadValuesAreChecked(line: String, problem: String) {
        let problems = Self.problems(Self.file(recordingKeys: line, Self.archive))
        #expect(problems.count == 1, "\(problems)")
        #expect(problems.first?.hasPrefix(problem) == true, "\(problems)")
    }

    @Test func theTablesListNamesTheDeliveryTables() {
        let problems = Self.problems(Self.file("[[uploads]]\nname = \"x\""))
        #expect(problems.count == 1)
        #expect(problems.first?.contains("[[destination]] and [[webhook]]") == true, "\(problems)")
    }
}
