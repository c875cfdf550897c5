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
    // Outbox: uploads to [[destination]]s.
    /// Files still waiting for an upload: retention skips them, the free-space floor deletes them last.
    public let holds = UploadHolds()
    private let outbox: Outbox?

    public init(configuration: Configuration, events: EventLog, logger: Logger) {
        self.configuration = configuration
        self.station = configuration.station.resolvedID
        self.logger = logger
        // Outbox: only when a recording uploads somewhere. Opening the database is start-up work.
        if !configuration.destinations.isEmpty, configuration.recordings.contains(where: { !$0.upload.isEmpty }) {
            do {
                let database = try DeliveryDatabase(stateDirectory: configuration.storage.state)
                outbox = Outbox(
                    configuration: configuration, database: database, events: events, holds: holds, logger: logger)
            } catch {
                logger.error(
                    "could not open the delivery database; closed files are not uploaded",
                    metadata: ["error": "\(error)"])
                outbox = nil
            }
        } else {
            outbox = nil
        }
    }

    /// Whether any destination or webhook is configured (status shows `uploads` only then).
    public var isConfigured: Bool { !configuration.destinations.isEmpty || !configuration.webhooks.isEmpty }

    /// Start-up work before the recordings start: enqueues the files closed or repaired while the daemon
    /// was down. Blocking file and database I/O.
    public func prepare() {
        // Outbox: enqueue what closed while the daemon was down.
        do {
            try outbox?.prepare()
        } catch {
            logger.error("could not prepare the upload outbox", metadata: ["error": "\(error)"])
        }
    }

    /// Runs uploads, webhook deliveries and hooks until cancelled.
    public func run() async {
        // Outbox: the destinations' upload loops.
        await withTaskGroup(of: Void.self) { group in
            if let outbox { group.addTask { await outbox.run() } }
        }
    }

    /// Per destination and webhook: what is waiting and what last happened.
    public func status() async -> UploadsResponse {
        // Outbox: the destinations' queues.
        let destinations =
            await outbox?.status()
            ?? configuration.destinations.map {
                DestinationStatus(name: $0.name, remote: CredentialMask.masked($0.remote))
            }
        return UploadsResponse(
            station: station,
            destinations: destinations,
            webhooks: configuration.webhooks.map { WebhookStatus(name: $0.name, url: CredentialMask.masked($0.url)) })
    }
}
