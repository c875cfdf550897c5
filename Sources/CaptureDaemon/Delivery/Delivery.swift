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
    private let logger: Logger
    // Webhooks and file hooks.
    /// The `[[webhook]]`s' queue; nil without webhooks (or when delivery.sqlite cannot be opened: said).
    let webhookDispatcher: WebhookDispatcher?
    /// The recordings' `on_close` / `on_upload` programs.
    let fileHooks: FileHooks

    public init(configuration: Configuration, events: EventLog, logger: Logger) {
        self.configuration = configuration
        self.station = configuration.station.resolvedID
        self.logger = logger
        // Webhooks and file hooks.
        var webhookDispatcher: WebhookDispatcher?
        if !configuration.webhooks.isEmpty {
            do {
                let database = try DeliveryDatabase(stateDirectory: configuration.storage.state)
                webhookDispatcher = WebhookDispatcher(
                    webhooks: configuration.webhooks, station: station, database: database, events: events,
                    logger: logger)
            } catch {
                logger.error(
                    "the delivery database cannot be opened; no webhook is sent. Check [storage] state",
                    metadata: ["storage.state": .string(configuration.storage.state), "error": .string("\(error)")])
            }
        }
        self.webhookDispatcher = webhookDispatcher
        fileHooks = FileHooks(
            recordings: configuration.recordings, station: station, events: events, logger: logger)
    }

    /// Whether any destination or webhook is configured (status shows `uploads` only then).
    public var isConfigured: Bool { !configuration.destinations.isEmpty || !configuration.webhooks.isEmpty }

    /// Start-up work before the recordings start: enqueues the files closed or repaired while the daemon
    /// was down. Blocking file and database I/O.
    public func prepare() {
        // Webhooks and file hooks: listen from here on, before the recordings start.
        do {
            try webhookDispatcher?.prepare()
        } catch {
            logger.error(
                "the webhooks' queue cannot be opened; no webhook is sent", metadata: ["error": .string("\(error)")])
        }
        fileHooks.prepare()
    }

    /// Runs uploads, webhook deliveries and hooks until cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            // Webhooks and file hooks.
            if let webhookDispatcher { group.addTask { await webhookDispatcher.run() } }
            group.addTask { [fileHooks] in await fileHooks.run() }
        }
    }

    /// Per destination and webhook: what is waiting and what last happened.
    public func status() async -> UploadsResponse {
        UploadsResponse(
            station: station,
            destinations: configuration.destinations.map {
                DestinationStatus(name: $0.name, remote: CredentialMask.masked($0.remote))
            },
            // Webhooks.
            webhooks: await webhookDispatcher?.status()
                ?? configuration.webhooks.map { WebhookStatus(name: $0.name, url: CredentialMask.masked($0.url)) })
    }
}
