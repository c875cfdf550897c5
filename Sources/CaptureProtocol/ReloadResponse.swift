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
    /// The sections whose changes wait for a restart: `log`, `control`, `storage`, `metrics`,
    /// `station`, `other`.
    public var restartNeededFor: [String]
    /// Why the file was not applied; empty when `reloaded`.
    public var errors: [String]
    /// Sources new in the file, now capturing; sources no longer in it, now stopped (with the recordings
    /// they fed); sources whose settings changed, restarted. Sources not named here were not touched.
    public var sourcesStarted: [String]
    public var sourcesStopped: [String]
    public var sourcesRestarted: [String]

    public init(
        configPath: String, reloaded: Bool, started: [String] = [], stopped: [String] = [], restarted: [String] = [],
        restartNeeded: Bool = false, restartNeededFor: [String] = [], errors: [String] = [],
        sourcesStarted: [String] = [], sourcesStopped: [String] = [], sourcesRestarted: [String] = []
    ) {
        self.sourcesStarted = sourcesStarted
        self.sourcesStopped = sourcesStopped
        self.sourcesRestarted = sourcesRestarted
        self.configPath = configPath
        self.reloaded = reloaded
        self.started = started
        self.stopped = stopped
        self.restarted = restarted
        self.restartNeeded = restartNeeded
        self.restartNeededFor = restartNeededFor
        self.errors = errors
    }

    enum CodingKeys: String, CodingKey {
        case configPath, reloaded, started, stopped, restarted, restartNeeded, restartNeededFor, errors
        case sourcesStarted, sourcesStopped, sourcesRestarted
    }

    /// Decodes a reply; the `sources_*` lists may be missing (a daemon from before several sources).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        configPath = try container.decode(String.self, forKey: .configPath)
        reloaded = try container.decode(Bool.self, forKey: .reloaded)
        started = try container.decode([String].self, forKey: .started)
        stopped = try container.decode([String].self, forKey: .stopped)
        restarted = try container.decode([String].self, forKey: .restarted)
        restartNeeded = try container.decode(Bool.self, forKey: .restartNeeded)
        restartNeededFor = try container.decode([String].self, forKey: .restartNeededFor)
        errors = try container.decode([String].self, forKey: .errors)
        sourcesStarted = try container.decodeIfPresent([String].self, forKey: .sourcesStarted) ?? []
        sourcesStopped = try container.decodeIfPresent([String].self, forKey: .sourcesStopped) ?? []
        sourcesRestarted = try container.decodeIfPresent([String].self, forKey: .sourcesRestarted) ?? []
    }
}
