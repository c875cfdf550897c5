// What `audiocap uploads`, `audiocap status` and `audiocap check-config` print about delivery.

import CaptureClient
import CaptureCore
import CaptureEnvironment
import CaptureProtocol
import Foundation
import TestSupport
import Testing

@testable import CaptureCommands

@Suite struct UploadsOutputTests {
    static let now = 1_764_547_200.0  // 2025-12-01T00:00:00Z

    static let uploads = UploadsResponse(
        station: "reserve-3",
        destinations: [
            DestinationStatus(
                name: "archive", remote: "s3:bucket/stations", pendingFiles: 12, pendingBytes: 120_000_000,
                oldestPendingTime: now - 3_720, deliveredFiles: 1_440, deliveredBytes: 14_400_000_000,
                failedAttempts: 3, lostFiles: 0, conflicts: 0, lastSuccessTime: now - 3_600,
                lastError: "rclone exited with status 1: couldn't connect\nsecond line", lastErrorTime: now - 60,
                nextTryTime: now + 30),
            DestinationStatus(
                name: "box", remote: "box:/in", deliveredFiles: 7, conflicts: 2, lastSuccessTime: now - 10,
                lastError: "old failure", lastErrorTime: now - 600),
        ],
        webhooks: [
            WebhookStatus(
                name: "ops", url: "https://hooks.example.org/in", pendingEvents: 1, oldestPendingTime: now - 5,
                deliveredEvents: 99, lastSuccessTime: now - 20)
        ])

    @Test func uploadsShowsATableOfDestinationsThenWebhooks() {
        let expected = """
            station: reserve-3

            DESTINATION  PENDING  BYTES   OLDEST     DELIVERED  LAST SUCCESS          LAST ERROR
            archive      12       120 MB  1 h 2 min  1,440      2025-11-30T23:00:00Z  rclone exited with status 1: couldn't connect
            box          0        0 B     -          7          2025-11-30T23:59:50Z  old failure
            archive: next try in 30 s
            box: 2 conflicts: the remote holds different content; never overwritten (see docs/fleet.md)

            WEBHOOK  PENDING  OLDEST  DELIVERED  LAST SUCCESS          LAST ERROR
            ops      1        5.0 s   99         2025-11-30T23:59:40Z  -
            """
        #expect(UploadsCommand.render(Self.uploads, now: Self.now) == expected)
    }

    @Test func aCurrentErrorIsRedAndAnOldOneDim() {
        let text = UploadsCommand.render(Self.uploads, now: Self.now, style: Style(enabled: true))
        #expect(text.contains("\u{1B}[31mrclone exited with status 1: couldn't connect\u{1B}[0m"))
        #expect(text.contains("\u{1B}[2mold failure\u{1B}[0m"))
    }

    @Test func lostFilesAreReported() {
        var uploads = Self.uploads
        uploads.destinations[1].lostFiles = 3
        #expect(
            UploadsCommand.render(uploads, now: Self.now).contains(
                "box: 3 files deleted by the min_free_bytes floor before upload"))
    }

    @Test func aDaemonWithoutDestinationsSaysHowToAddOne() {
        let text = UploadsCommand.render(
            UploadsResponse(station: "reserve-3", destinations: [], webhooks: []), now: Self.now)
        #expect(text.hasPrefix("station: reserve-3\nno uploads configured: add a [[destination]]"))
        #expect(text.contains("`systemctl restart audiocapd` (see docs/fleet.md)"))
    }

    @Test func anOldDaemonIsNamedWithTheNextStep() {
        #expect(
            UploadsCommand.tooOld(socketPath: "/run/audiocap/control.sock")
                == "audiocapd at /run/audiocap/control.sock does not report uploads (it is older than "
                + "this audiocap). Update audiocapd and restart it: `systemctl restart audiocapd`")
    }

    @Test func a404MeansAnOlderDaemonAndOtherErrorsAreReportedAsUsual() {
        let old = ClientError(
            code: .apiError, socketPath: "/run/audiocap/control.sock", status: 404,
            message: "no such endpoint: GET /v1/uploads")
        let failure = UploadsCommand.failure(old)
        #expect(failure.exitCode == 76)
        #expect(failure.message == UploadsCommand.tooOld(socketPath: "/run/audiocap/control.sock"))
        let down = ClientError(
            code: .unavailable, socketPath: "/run/audiocap/control.sock", message: "No such file or directory")
        #expect(UploadsCommand.failure(down).exitCode == 69)
        #expect(UploadsCommand.failure(down).message == down.description)
    }

    @Test func jsonIsTheAPIsSnakeCase() throws {
        let text = try GlobalOptions.json(Self.uploads)
        #expect(text.contains("\"pending_files\" : 12"))
        #expect(text.contains("\"oldest_pending_time\""))
        let decoded = try ControlAPI.decoder().decode(UploadsResponse.self, from: Data(text.utf8))
        #expect(decoded == Self.uploads)
    }

    @Test func theCommandIsRegisteredWithItsHelp() throws {
        #expect(AudioCapCommand.configuration.subcommands.contains { $0 == UploadsCommand.self })
        let help = UploadsCommand.helpMessage()
        for column in ["PENDING", "BYTES", "OLDEST", "DELIVERED", "LAST SUCCESS", "LAST ERROR", "--json", "69", "76"] {
            #expect(help.contains(column), "\(column) missing from --help")
        }
    }

    @Test func statusShowsTheStationAndAShortUploadsBlock() {
        var status = Fixtures.status
        status.station = "reserve-3"
        status.uploads = Self.uploads
        let text = StatusCommand.render(status, now: Self.now)
        #expect(text.contains("\nstation:  reserve-3\n"), "\(text)")
        #expect(
            text.contains(
                "uploads:  archive: 12 files (120 MB) pending, oldest 1 h 2 min, last error: rclone exited with status 1: couldn't connect\n"
            ), "\(text)")
        #expect(text.contains("          box: 0 files (0 B) pending, 2 conflicts\n"), "\(text)")
        #expect(text.contains("          ops (webhook): 1 event pending, oldest 5.0 s\n"), "\(text)")
    }

    @Test func statusWithoutUploadsHasNoUploadsLine() {
        #expect(!StatusCommand.render(Fixtures.status).contains("uploads:"))
    }

    // MARK: check-config

    static let configuration = """
        [source]
        ffmpeg = "true"
        device = "default"
        [[recording]]
        name = "night"
        directory = "DIR/rec"
        upload = ["archive"]
        after_upload = "delete"
        on_close = ["/usr/local/bin/closed", "{path}", "two words"]
        on_upload = ["/usr/local/bin/uploaded", "{key}"]
        [control]
        group = "root"
        [storage]
        root = "DIR/ondemand"
        state = "DIR/state"
        [station]
        id = "reserve-3"
        [[destination]]
        name = "archive"
        remote = "https://user:pa55word@dav.example.org/audio"
        bwlimit = "1M"
        [[webhook]]
        name = "ops"
        url = "https://user:t0ken@hooks.example.org/in"
        secret = "hunter2"
        events = ["upload.*"]
        """

    static func checked(json: Bool) throws -> CheckConfigCommand.Outcome {
        let dir = NSTemporaryDirectory() + "uploads-check-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/audiocap.toml"
        try configuration.replacingOccurrences(of: "DIR", with: dir).write(
            toFile: file, atomically: true, encoding: .utf8)
        let environment = EnvironmentCheck(
            runsFFmpeg: true, serviceUser: "no-such-user-audiocap", searchPath: "/usr/bin:/bin",
            alsaDevices: ["default"])
        return CheckConfigCommand.check(path: file, json: json, environment: environment)
    }

    @Test func checkConfigShowsDestinationsWebhooksAndHooksWithoutSecrets() throws {
        let outcome = try Self.checked(json: false)
        #expect(outcome.exitCode == 0, "\(outcome.errors)")
        let text = outcome.output
        #expect(text.contains("uploads to: archive; files deleted once every destination holds a verified copy"))
        #expect(text.contains("on close: /usr/local/bin/closed {path} \"two words\""))
        #expect(text.contains("on upload: /usr/local/bin/uploaded {key}"))
        #expect(text.contains("hooks: at most 2 at once, killed after 60 s"))
        #expect(text.contains("station:     reserve-3\n"))
        #expect(text.contains("destinations: 1\n  archive  \"https://user:***@dav.example.org/audio\" via rclone"))
        #expect(text.contains("objects: {station}/{recording}/%Y/%m/%d/{file}"))
        #expect(text.contains("2 transfers at once, each run killed after 600 s, bwlimit 1M"))
        #expect(
            text.contains(
                "webhooks:    1\n  ops  POST https://user:***@hooks.example.org/in, events upload.*, signed (secret set), timeout 10 s"
            ), "\(text)")
        for secret in ["pa55word", "t0ken", "hunter2"] { #expect(!text.contains(secret)) }
    }

    @Test func checkConfigJSONMasksRemotesURLsAndSecrets() throws {
        let outcome = try Self.checked(json: true)
        #expect(outcome.exitCode == 0, "\(outcome.errors)")
        for secret in ["pa55word", "t0ken", "hunter2"] { #expect(!outcome.output.contains(secret)) }
        let document = try #require(
            JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any])
        let destination = try #require((document["destinations"] as? [[String: Any]])?.first)
        #expect(destination["remote"] as? String == "https://user:***@dav.example.org/audio")
        #expect(destination["transfers"] as? Int == 2)
        let webhook = try #require((document["webhooks"] as? [[String: Any]])?.first)
        #expect(webhook["secret"] as? String == "***")
        #expect(webhook["events"] as? [String] == ["upload.*"])
        let recording = try #require((document["recordings"] as? [[String: Any]])?.first)
        #expect(recording["upload"] as? [String] == ["archive"])
        #expect(recording["after_upload"] as? String == "delete")
        #expect(recording["hook_concurrency"] as? Int == 2)
    }
}
