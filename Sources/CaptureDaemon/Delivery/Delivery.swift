// Delivery off the box: the outbox of uploads, the webhooks and the file hooks, as one part of the daemon.
import CaptureCore
import CaptureProtocol
import Logging

/// Everything that takes what the daemon recorded or saw somewhere else: uploads of closed files to
/// `[[destination]]`s through rclone (``Outbox``), events POSTed to `[[webhook]]`s (``WebhookDispatcher``)
/// and programs run on each closed or uploaded file (``FileHooks``). Each listens to the event log; none
/// ever delays a writer or a capture.
public final class Delivery: Sendable {
    /// `[station] id`, or the host name.
    public let station: String
    private let configuration: Configuration
    private let events: EventLog
    private let logger: Logger
    /// Files still waiting for an upload: retention skips them, the free-space floor deletes them last.
    public let holds: UploadHolds
    /// Uploads to `[[destination]]`s; nil when no recording uploads (or delivery.sqlite cannot be opened).
    private let outbox: Outbox?
    /// The `[[webhook]]`s' queue; nil without webhooks (or when delivery.sqlite cannot be opened).
    let webhookDispatcher: WebhookDispatcher?
    /// The recordings' `on_close` / `on_upload` programs.
    let fileHooks: FileHooks
    /// Why delivery.sqlite could not be opened, reported at ``prepare()``; nil when it opened or is not needed.
    private let databaseError: String?

    public init(configuration: Configuration, events: EventLog, logger: Logger) {
        self.configuration = configuration
        self.events = events
        self.station = configuration.station.resolvedID
        self.logger = logger
        let holds = UploadHolds()
        self.holds = holds
        let uploads =
            !configuration.destinations.isEmpty && configuration.recordings.contains { !$0.upload.isEmpty }
        var database: DeliveryDatabase?
        var databaseError: String?
        if uploads || !configuration.webhooks.isEmpty {
            do {
                // Opening the database is start-up work (the daemon is being constructed).
                database = try DeliveryDatabase(stateDirectory: configuration.storage.state)
            } catch {
                databaseError = "\(error)"
            }
        }
        self.databaseError = databaseError
        if uploads, database == nil {
            // Nothing can say which files were delivered: retention keeps every file of the recordings
            // that upload (only the min_free_bytes floor may still delete).
            holds.holdEverything(under: configuration.recordings.filter { !$0.upload.isEmpty }.map(\.directory))
        }
        outbox =
            uploads
            ? database.map {
                Outbox(configuration: configuration, database: $0, events: events, holds: holds, logger: logger)
            } : nil
        webhookDispatcher =
            configuration.webhooks.isEmpty
            ? nil
            : database.map {
                WebhookDispatcher(
                    webhooks: configuration.webhooks, station: configuration.station.resolvedID, database: $0,
                    events: events, logger: logger)
            }
        fileHooks = FileHooks(
            recordings: configuration.recordings, station: station, events: events, logger: logger)
    }

    /// Whether any destination or webhook is configured (status shows `uploads` only then).
    public var isConfigured: Bool { !configuration.destinations.isEmpty || !configuration.webhooks.isEmpty }

    /// Start-up work before the recordings start: enqueues the files closed or repaired while the daemon
    /// was down, and starts listening to events. Blocking file and database I/O.
    public func prepare() {
        if let databaseError {
            events.emit(
                .error, "delivery.unavailable",
                "the delivery database cannot be opened: no file is uploaded and no webhook sent until a restart "
                    + "after the cause is fixed; retention keeps every file of the recordings that upload",
                [
                    "storage.state": .string(configuration.storage.state), "error": .string(databaseError),
                ])
        }
        do {
            try outbox?.prepare()
        } catch {
            events.emit(
                .error, "delivery.unavailable", "the upload outbox cannot be read: no file is uploaded",
                ["error": .string("\(error)")])
        }
        do {
            try webhookDispatcher?.prepare()
        } catch {
            events.emit(
                .error, "delivery.unavailable", "the webhooks' queue cannot be read: no webhook is sent",
                ["error": .string("\(error)")])
        }
        fileHooks.prepare()
    }

    /// Runs uploads, webhook deliveries and hooks until cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            if let outbox { group.addTask { await outbox.run() } }
            if let webhookDispatcher { group.addTask { await webhookDispatcher.run() } }
            group.addTask { [fileHooks] in await fileHooks.run() }
        }
    }

    /// Per destination and webhook: what is waiting and what last happened.
    public func status() async -> UploadsResponse {
        let destinations =
            await outbox?.status()
            ?? configuration.destinations.map {
                DestinationStatus(
                    name: $0.name, remote: CredentialMask.masked($0.remote),
                    lastError: databaseError.map { "the delivery database cannot be opened: \($0)" })
            }
        let webhooks =
            await webhookDispatcher?.status()
            ?? configuration.webhooks.map {
                WebhookStatus(
                    name: $0.name, url: CredentialMask.masked($0.url),
                    lastError: databaseError.map { "the delivery database cannot be opened: \($0)" })
            }
        return UploadsResponse(station: station, destinations: destinations, webhooks: webhooks)
    }
}
