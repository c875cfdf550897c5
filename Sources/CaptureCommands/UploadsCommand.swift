// `audiocap uploads`: what waits to leave the box, per destination and webhook, and what last happened.

import ArgumentParser
import CaptureClient
import CaptureProtocol
import Foundation

/// `audiocap uploads [--json]`: the outbox of each `[[destination]]` and the queue of each `[[webhook]]`.
public struct UploadsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "uploads",
        abstract: "Show what waits to be uploaded, per destination and webhook.",
        discussion: """
            One row per [[destination]]: files waiting for a verified upload (PENDING, audio and sidecar \
            count as one) and their size (BYTES), how long ago the oldest of them closed (OLDEST), files \
            delivered since the outbox was created (DELIVERED), when the last upload succeeded (LAST \
            SUCCESS) and the last error (LAST ERROR), in red while it is newer than the last success. Below the table: conflicts (a remote object that differs from the \
            local file; never overwritten, see docs/fleet.md), files lost before delivery (deleted by the \
            min_free_bytes floor) and when the next try is due after a failure. Then one row per \
            [[webhook]]: events waiting, the oldest, events delivered, the last success and error.

            --json prints the reply as the API writes it (GET /v1/uploads), times in seconds since the epoch.

            A daemon without destinations or webhooks says so and how to add one; that is not an error \
            (exit 0). Exits with 69 when the daemon cannot be reached, 77 when the socket's permissions \
            keep you out, and 76 when the daemon is too old to report uploads.

            Examples:
              audiocap uploads
              audiocap uploads --json | jq '.destinations[] | {name, pending_files, last_error}'
              watch -n 10 audiocap uploads
            """
    )

    @OptionGroup public var options: GlobalOptions

    public init() {}

    public func run() async throws {
        let uploads: UploadsResponse
        do {
            uploads = try await options.client.uploads()
        } catch let error as ClientError {
            let failure = Self.failure(error)
            Console.error(failure.message)
            throw ExitCode(failure.exitCode)
        }
        if options.json {
            Console.line(try GlobalOptions.json(uploads))
        } else {
            Console.line(
                Self.render(
                    uploads, now: Date().timeIntervalSince1970, times: options.times, style: Console.outputStyle))
        }
    }

    /// What `audiocap uploads` prints to standard error for `error`, and its exit code: a 404 means a daemon
    /// from before uploads (76, `EX_PROTOCOL`); anything else is reported as every command reports it.
    static func failure(_ error: ClientError) -> (message: String, exitCode: Int32) {
        if error.code == .apiError, error.status == 404 {
            return (tooOld(socketPath: error.socketPath), ClientError.ExitCodes.protocolError)
        }
        return (error.description, error.exitCode)
    }

    /// What `audiocap uploads` prints to standard error for a daemon that does not know `GET /v1/uploads`.
    static func tooOld(socketPath: String) -> String {
        "audiocapd at \(socketPath) does not report uploads (it is older than this audiocap). "
            + "Update audiocapd and restart it: `systemctl restart audiocapd`"
    }

    /// What `audiocap uploads` prints when neither destinations nor webhooks are configured.
    static let nothingConfigured = """
        no uploads configured: add a [[destination]] (and `upload = ["NAME"]` to a [[recording]]) or a \
        [[webhook]] to /etc/audiocap/audiocap.toml, check it with `audiocap check-config`, then \
        `systemctl restart audiocapd` (see docs/fleet.md)
        """

    /// The text `audiocap uploads` prints for `uploads` at time `now` (seconds since the epoch).
    static func render(
        _ uploads: UploadsResponse, now: Double, times: TimeStyle = .utc, style: Style = .plain
    ) -> String {
        if uploads.destinations.isEmpty, uploads.webhooks.isEmpty {
            return "station: \(uploads.station)\n" + nothingConfigured
        }
        var blocks = ["station: \(uploads.station)"]
        if !uploads.destinations.isEmpty {
            var rows = [["DESTINATION", "PENDING", "BYTES", "OLDEST", "DELIVERED", "LAST SUCCESS", "LAST ERROR"]]
            var notes: [String] = []
            for destination in uploads.destinations {
                rows.append([
                    destination.name, TextFormat.grouped(destination.pendingFiles),
                    TextFormat.bytes(UInt64(max(0, destination.pendingBytes))),
                    age(destination.oldestPendingTime, now: now), TextFormat.grouped(destination.deliveredFiles),
                    destination.lastSuccessTime.map { TextFormat.time($0, times) } ?? "-",
                    lastError(
                        destination.lastError, at: destination.lastErrorTime, success: destination.lastSuccessTime,
                        style: style),
                ])
                if destination.conflicts > 0 {
                    notes.append(
                        "\(destination.name): "
                            + style.red(
                                TextFormat.count(destination.conflicts, "conflict")
                                    + ": the remote holds different content; never overwritten (see docs/fleet.md)"))
                }
                if destination.lostFiles > 0 {
                    notes.append(
                        "\(destination.name): "
                            + style.red(
                                "\(TextFormat.count(Int(destination.lostFiles), "file")) deleted by the min_free_bytes "
                                    + "floor before upload"))
                }
                if let next = destination.nextTryTime {
                    notes.append("\(destination.name): next try in \(TextFormat.duration(max(0, next - now)))")
                }
            }
            blocks.append(([TextFormat.table(rows)] + notes).joined(separator: "\n"))
        }
        if !uploads.webhooks.isEmpty {
            var rows = [["WEBHOOK", "PENDING", "OLDEST", "DELIVERED", "LAST SUCCESS", "LAST ERROR"]]
            var notes: [String] = []
            for webhook in uploads.webhooks {
                rows.append([
                    webhook.name, TextFormat.grouped(webhook.pendingEvents), age(webhook.oldestPendingTime, now: now),
                    TextFormat.grouped(webhook.deliveredEvents),
                    webhook.lastSuccessTime.map { TextFormat.time($0, times) } ?? "-",
                    lastError(
                        webhook.lastError, at: webhook.lastErrorTime, success: webhook.lastSuccessTime, style: style),
                ])
                if let next = webhook.nextTryTime {
                    notes.append("\(webhook.name): next try in \(TextFormat.duration(max(0, next - now)))")
                }
            }
            blocks.append(([TextFormat.table(rows)] + notes).joined(separator: "\n"))
        }
        return blocks.joined(separator: "\n\n")
    }

    /// `3 h 12 min`: how long ago `time` was; `-` without one.
    static func age(_ time: Double?, now: Double) -> String {
        guard let time else { return "-" }
        return TextFormat.duration(max(0, now - time))
    }

    /// The last error, in red while it is newer than the last success; `-` without one.
    private static func lastError(_ error: String?, at time: Double?, success: Double?, style: Style) -> String {
        guard let error else { return "-" }
        let current = (time ?? 0) >= (success ?? 0)
        let line = error.split(separator: "\n").first.map(String.init) ?? error
        return current ? style.red(line) : style.dim(line)
    }
}
