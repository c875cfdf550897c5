// POST /v1/reload

/// What reloading the configuration file did. A file with errors changes nothing: `reloaded` is false and
/// `errors` says why; the running configuration stays.
public struct ReloadResponse: Codable, Sendable, Equatable {
    /// The configuration file that was read.
    public var configPath: String
    /// Whether the file was read and its recordings applied.
    public var reloaded: Bool
    /// Recordings new in the file, now running.
    public var started: [String]
    /// Recordings no longer in the file, now stopped.
    public var stopped: [String]
    /// Running recordings whose settings changed: the new settings apply from the next chunk on.
    public var restarted: [String]
    /// Whether settings outside `[[recording]]` changed, which take effect only when audiocapd restarts.
    public var restartNeeded: Bool
    /// The sections whose changes wait for a restart: `source`, `queue`, `levels`, `log`, `control`,
    /// `storage`, `metrics`.
    public var restartNeededFor: [String]
    /// Why the file was not applied; empty when `reloaded`.
    public var errors: [String]

    public init(
        configPath: String, reloaded: Bool, started: [String] = [], stopped: [String] = [], restarted: [String] = [],
        restartNeeded: Bool = false, restartNeededFor: [String] = [], errors: [String] = []
    ) {
        self.configPath = configPath
        self.reloaded = reloaded
        self.started = started
        self.stopped = stopped
        self.restarted = restarted
        self.restartNeeded = restartNeeded
        self.restartNeededFor = restartNeededFor
        self.errors = errors
    }
}
