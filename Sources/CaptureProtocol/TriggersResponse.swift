// GET /v1/triggers

/// Every `[[trigger]]` and what it has done.
public struct TriggersResponse: Codable, Sendable, Equatable {
    public var triggers: [TriggerStatus]
    public init(triggers: [TriggerStatus]) { self.triggers = triggers }
}

/// One trigger: listening or writing a clip, its last firing and its clips.
public struct TriggerStatus: Codable, Sendable, Equatable {
    public var name: String
    public var source: String
    /// `listening`, `recording` (a clip is open), `blocked` (its clips cannot be written) or `stopped`.
    public var state: String
    public var thresholdDBFS: Double
    public var highPassHz: Double?
    public var directory: String
    /// Wall time of the last firing; nil before the first.
    public var lastFired: Double?
    public var lastFiredUTC: String?
    /// Peak level, in dBFS, of the sound that fired last.
    public var lastPeakDBFS: Double?
    /// Clips closed since local midnight, and since the daemon started.
    public var clipsToday: Int
    public var clipsTotal: Int
    /// Firings since the daemon started (sounds that extended an open clip are not firings).
    public var firings: Int
    /// The clip being written, if any.
    public var currentClip: String?
    /// The last clip closed.
    public var lastClip: String?
    /// Frames this trigger's queue dropped.
    public var droppedFrames: Int64

    enum CodingKeys: String, CodingKey {
        case name, source, state, thresholdDBFS = "thresholdDbfs", highPassHz, directory, lastFired
        case lastFiredUTC = "lastFiredUtc", lastPeakDBFS = "lastPeakDbfs", clipsToday, clipsTotal, firings
        case currentClip, lastClip, droppedFrames
    }

    public init(
        name: String, source: String, state: String, thresholdDBFS: Double, highPassHz: Double?, directory: String,
        lastFired: Double?, lastPeakDBFS: Double?, clipsToday: Int, clipsTotal: Int, firings: Int,
        currentClip: String?, lastClip: String?, droppedFrames: Int64
    ) {
        self.name = name
        self.source = source
        self.state = state
        self.thresholdDBFS = thresholdDBFS
        self.highPassHz = highPassHz
        self.directory = directory
        self.lastFired = lastFired.map(WireFormat.epoch)
        self.lastFiredUTC = lastFired.map(WireFormat.utc)
        self.lastPeakDBFS = lastPeakDBFS.map { ($0 * 10).rounded() / 10 }
        self.clipsToday = clipsToday
        self.clipsTotal = clipsTotal
        self.firings = firings
        self.currentClip = currentClip
        self.lastClip = lastClip
        self.droppedFrames = droppedFrames
    }
}
