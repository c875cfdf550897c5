// GET /v1/status

/// Everything `audiocap status` shows.
public struct StatusResponse: Codable, Sendable, Equatable {
    public var version: String
    public var pid: Int32
    public var uptimeSeconds: Double
    /// The first source (the only one of a single-`[source]` configuration), as before several sources.
    public var source: SourceStatus
    /// Every source, in the order of the configuration, each with its own queues and levels.
    public var sources: [SourceStatus]
    /// Every consumer of every source.
    public var queue: QueueStatus
    /// Frames lost anywhere: every consumer's queue drops plus audio that could not be written.
    public var droppedFrames: Int64
    /// The first source's levels.
    public var levels: LevelsResponse?
    public var disk: DiskStatus?
    public var recordings: [RecordingResponse]
    /// Whether the kernel says an NTP client keeps the system clock synchronised; nil when unknown.
    public var clockSynchronized: Bool?
    /// The station id (`[station] id`, or the host name); nil from daemons before it was added.
    public var station: String?
    /// Delivery off the box; nil when no `[[destination]]` or `[[webhook]]` is configured.
    public var uploads: UploadsResponse?
    /// The `[[trigger]]`s; nil when none is configured.
    public var triggers: [TriggerStatus]?

    public init(
        version: String, pid: Int32, uptimeSeconds: Double, source: SourceStatus, queue: QueueStatus,
        droppedFrames: Int64, levels: LevelsResponse?, disk: DiskStatus?, recordings: [RecordingResponse],
        clockSynchronized: Bool? = nil, sources: [SourceStatus]? = nil, station: String? = nil,
        uploads: UploadsResponse? = nil, triggers: [TriggerStatus]? = nil
    ) {
        self.triggers = triggers
        self.station = station
        self.uploads = uploads
        self.version = version
        self.pid = pid
        self.uptimeSeconds = uptimeSeconds
        self.source = source
        self.sources = sources ?? [source]
        self.queue = queue
        self.droppedFrames = droppedFrames
        self.levels = levels
        self.disk = disk
        self.recordings = recordings
        self.clockSynchronized = clockSynchronized
    }

    enum CodingKeys: String, CodingKey {
        case version, pid, uptimeSeconds, source, sources, queue, droppedFrames, levels, disk, recordings
        case clockSynchronized, station, uploads, triggers
    }

    /// Decodes a status; `sources` may be missing (a daemon from before several sources: its one source).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(String.self, forKey: .version)
        pid = try container.decode(Int32.self, forKey: .pid)
        uptimeSeconds = try container.decode(Double.self, forKey: .uptimeSeconds)
        source = try container.decode(SourceStatus.self, forKey: .source)
        sources = try container.decodeIfPresent([SourceStatus].self, forKey: .sources) ?? [source]
        queue = try container.decode(QueueStatus.self, forKey: .queue)
        droppedFrames = try container.decode(Int64.self, forKey: .droppedFrames)
        levels = try container.decodeIfPresent(LevelsResponse.self, forKey: .levels)
        disk = try container.decodeIfPresent(DiskStatus.self, forKey: .disk)
        recordings = try container.decode([RecordingResponse].self, forKey: .recordings)
        clockSynchronized = try container.decodeIfPresent(Bool.self, forKey: .clockSynchronized)
        station = try container.decodeIfPresent(String.self, forKey: .station)
        uploads = try container.decodeIfPresent(UploadsResponse.self, forKey: .uploads)
        triggers = try container.decodeIfPresent([TriggerStatus].self, forKey: .triggers)
    }
}

/// One capture: its ffmpeg and the audio it delivers.
public struct SourceStatus: Codable, Sendable, Equatable {
    /// The `[[source]]` name; `main` for a single `[source]` table.
    public var name: String
    /// `starting`, `running`, `restarting` or `stopped`.
    public var state: String
    public var inputFormat: String
    /// The device or URL, with any password in it masked (`rtsp://user:***@host/…`).
    public var device: String
    public var sampleRate: Int
    public var channels: Int
    public var sampleFormat: String
    public var ffmpegPID: Int32?
    /// ffmpeg runs that ended and were started again.
    public var restarts: Int
    public var framesCaptured: Int64
    /// Seconds since the last byte of audio, nil before the first.
    public var secondsSinceLastAudio: Double?
    public var xruns: Int64
    /// How the last ffmpeg run ended, e.g. `exited(1)` or `signaled(9)`.
    public var lastExit: String?
    /// ffmpeg's last stderr lines.
    public var lastErrorLines: [String]
    /// Seconds until the next start while restarting.
    public var nextStartInSeconds: Double?
    /// This source's consumer queues (its level monitor and the recordings it feeds).
    public var queue: QueueStatus?
    /// Frames this source lost: its consumers' queue drops plus audio no buffer could take.
    public var droppedFrames: Int64
    /// This source's newest levels.
    public var levels: LevelsResponse?
    /// The audio kept in memory to start recordings in the past; nil from daemons before it was added.
    public var lookBack: LookBackStatus?

    // "PID" would round-trip through snake_case as "Pid"; name the key so the wire says `ffmpeg_pid`.
    enum CodingKeys: String, CodingKey {
        case name, state, inputFormat, device, sampleRate, channels, sampleFormat, ffmpegPID = "ffmpegPid", restarts
        case framesCaptured, secondsSinceLastAudio, xruns, lastExit, lastErrorLines, nextStartInSeconds
        case queue, droppedFrames, levels, lookBack
    }

    public init(
        name: String = "main", state: String, inputFormat: String, device: String, sampleRate: Int, channels: Int,
        sampleFormat: String, ffmpegPID: Int32?, restarts: Int, framesCaptured: Int64, secondsSinceLastAudio: Double?,
        xruns: Int64, lastExit: String?, lastErrorLines: [String], nextStartInSeconds: Double?,
        queue: QueueStatus? = nil, droppedFrames: Int64 = 0, levels: LevelsResponse? = nil
    ) {
        self.name = name
        self.queue = queue
        self.droppedFrames = droppedFrames
        self.levels = levels
        self.state = state
        self.inputFormat = inputFormat
        self.device = device
        self.sampleRate = sampleRate
        self.channels = channels
        self.sampleFormat = sampleFormat
        self.ffmpegPID = ffmpegPID
        self.restarts = restarts
        self.framesCaptured = framesCaptured
        self.secondsSinceLastAudio = secondsSinceLastAudio
        self.xruns = xruns
        self.lastExit = lastExit
        self.lastErrorLines = lastErrorLines
        self.nextStartInSeconds = nextStartInSeconds
    }

    /// Decodes a source; `name`, `queue`, `dropped_frames` and `levels` may be missing (a daemon from
    /// before several sources).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? "main"
        state = try container.decode(String.self, forKey: .state)
        inputFormat = try container.decode(String.self, forKey: .inputFormat)
        device = try container.decode(String.self, forKey: .device)
        sampleRate = try container.decode(Int.self, forKey: .sampleRate)
        channels = try container.decode(Int.self, forKey: .channels)
        sampleFormat = try container.decode(String.self, forKey: .sampleFormat)
        ffmpegPID = try container.decodeIfPresent(Int32.self, forKey: .ffmpegPID)
        restarts = try container.decode(Int.self, forKey: .restarts)
        framesCaptured = try container.decode(Int64.self, forKey: .framesCaptured)
        secondsSinceLastAudio = try container.decodeIfPresent(Double.self, forKey: .secondsSinceLastAudio)
        xruns = try container.decode(Int64.self, forKey: .xruns)
        lastExit = try container.decodeIfPresent(String.self, forKey: .lastExit)
        lastErrorLines = try container.decode([String].self, forKey: .lastErrorLines)
        nextStartInSeconds = try container.decodeIfPresent(Double.self, forKey: .nextStartInSeconds)
        queue = try container.decodeIfPresent(QueueStatus.self, forKey: .queue)
        droppedFrames = try container.decodeIfPresent(Int64.self, forKey: .droppedFrames) ?? 0
        levels = try container.decodeIfPresent(LevelsResponse.self, forKey: .levels)
        lookBack = try container.decodeIfPresent(LookBackStatus.self, forKey: .lookBack)
    }
}

/// A source's look-back buffer: the newest audio, kept so a recording or clip can start in the past.
public struct LookBackStatus: Codable, Sendable, Equatable {
    /// `look_back_seconds` as configured (0: off).
    public var seconds: Double
    /// Seconds of audio held now (less than `seconds` in the first moments after the capture starts).
    public var heldSeconds: Double
    /// Memory the held audio takes, in bytes.
    public var bytes: Int64
    /// Wall time of the oldest frame held (seconds since the epoch); nil when nothing is held.
    public var oldest: Double?
    public var oldestUTC: String?

    enum CodingKeys: String, CodingKey {
        case seconds, heldSeconds, bytes, oldest, oldestUTC = "oldestUtc"
    }

    public init(seconds: Double, heldSeconds: Double, bytes: Int64, oldest: Double?) {
        self.seconds = seconds
        self.heldSeconds = WireFormat.seconds(heldSeconds)
        self.bytes = bytes
        self.oldest = oldest.map(WireFormat.epoch)
        self.oldestUTC = oldest.map(WireFormat.utc)
    }
}

/// The per-consumer queues between the reader thread and the consumers.
public struct QueueStatus: Codable, Sendable, Equatable {
    public struct Consumer: Codable, Sendable, Equatable {
        public var name: String
        public var depthChunks: Int
        public var highWaterChunks: Int
        public var capacityChunks: Int
        public var droppedFrames: Int64
        public init(name: String, depthChunks: Int, highWaterChunks: Int, capacityChunks: Int, droppedFrames: Int64) {
            self.name = name
            self.depthChunks = depthChunks
            self.highWaterChunks = highWaterChunks
            self.capacityChunks = capacityChunks
            self.droppedFrames = droppedFrames
        }
    }
    public var chunkMilliseconds: Int
    /// Deepest queue now and its high-water mark, over all consumers.
    public var depthChunks: Int
    public var highWaterChunks: Int
    public var consumers: [Consumer]

    public init(chunkMilliseconds: Int, depthChunks: Int, highWaterChunks: Int, consumers: [Consumer]) {
        self.chunkMilliseconds = chunkMilliseconds
        self.depthChunks = depthChunks
        self.highWaterChunks = highWaterChunks
        self.consumers = consumers
    }
}

/// Free space where recordings go.
public struct DiskStatus: Codable, Sendable, Equatable {
    public var path: String
    public var freeBytes: UInt64
    public var totalBytes: UInt64
    /// Free space above `min_free_bytes` divided by what the running recordings write per second; nil
    /// when none is running.
    public var estimatedSecondsLeft: Double?
    /// `[storage] min_free_bytes` (0: no floor).
    public var minFreeBytes: Int64
    /// True while the estimate is under `[storage] low_space_warning_hours` (a `disk.low_space` event
    /// was raised).
    public var lowSpace: Bool

    public init(
        path: String, freeBytes: UInt64, totalBytes: UInt64, estimatedSecondsLeft: Double?, minFreeBytes: Int64 = 0,
        lowSpace: Bool = false
    ) {
        self.path = path
        self.freeBytes = freeBytes
        self.totalBytes = totalBytes
        self.estimatedSecondsLeft = estimatedSecondsLeft
        self.minFreeBytes = minFreeBytes
        self.lowSpace = lowSpace
    }
}
