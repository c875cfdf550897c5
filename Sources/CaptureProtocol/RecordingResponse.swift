// A recording as the API shows it (GET /v1/recordings, status, start and stop replies).

public struct RecordingResponse: Codable, Sendable, Equatable {
    public var name: String
    /// The source the recording takes its audio from; nil only from daemons before several sources.
    public var source: String?
    /// `continuous` (declared in the configuration) or `on-demand` (started through the API).
    public var kind: String
    /// `recording`, `blocked` (write error or disk full; retrying) or `stopped`.
    public var state: String
    public var directory: String
    public var segmentSeconds: Int
    public var align: String
    /// `wav` or `flac`: the file format of the segments; nil only from daemons before FLAC.
    public var format: String?
    /// For FLAC: the PCM bytes of the audio in the closed files divided by the files' bytes (3.0 is a
    /// third of the WAV's size); nil for WAV and before the first file is closed.
    public var compressionRatio: Double?
    public var filename: String
    public var currentFile: String?
    public var currentFileSeconds: Double
    public var segmentsClosed: Int
    public var framesWritten: Int64
    public var bytesWritten: UInt64
    public var droppedFrames: Int64
    /// Discontinuities in the recording's gap ledger (queue overflows, ffmpeg restarts, xruns, daemon
    /// restarts, audio not written) and their frames, exact and estimated together.
    public var gaps: Int
    public var gapFrames: Int64
    /// Frames of silence written in place of gaps (`gap_fill = "silence"`), part of `frames_written`.
    public var silenceFrames: Int64
    public var lastError: String?
    /// Seconds since the epoch.
    public var startedAt: Double
    /// `started_at` as RFC 3339 UTC; nil only from daemons before it was added.
    public var startedAtUTC: String?
    /// When an on-demand recording with a duration limit stops by itself (an estimate: it stops after
    /// exactly its duration's frames, which the capture delivers at the sound card's pace).
    public var stopsAt: Double?
    /// `stops_at` as RFC 3339 UTC.
    public var stopsAtUTC: String?
    /// For a recording started in the past (`from_seconds`): how far back its first frame is from the
    /// request, in seconds (negative), which may be less than asked when the look-back buffer held less.
    public var fromSeconds: Double?
    /// A note for the caller, e.g. that the look-back buffer held less than was asked for.
    public var message: String?
    /// The recording's `schedule`; nil when it has none.
    public var schedule: ScheduleStatus?

    // "UTC" would round-trip through snake_case as "Utc"; name the keys so the wire says `started_at_utc`.
    enum CodingKeys: String, CodingKey {
        case name, source, kind, state, directory, segmentSeconds, align, format, compressionRatio, filename
        case currentFile
        case currentFileSeconds
        case segmentsClosed, framesWritten, bytesWritten, droppedFrames, gaps, gapFrames, silenceFrames, lastError
        case startedAt, startedAtUTC = "startedAtUtc", stopsAt, stopsAtUTC = "stopsAtUtc"
        case fromSeconds, message, schedule
    }

    public init(
        name: String, kind: String, state: String, directory: String, segmentSeconds: Int, align: String,
        filename: String, currentFile: String?, currentFileSeconds: Double, segmentsClosed: Int, framesWritten: Int64,
        bytesWritten: UInt64, droppedFrames: Int64, gaps: Int = 0, gapFrames: Int64 = 0, silenceFrames: Int64 = 0,
        lastError: String?, startedAt: Double, stopsAt: Double?, source: String? = nil, format: String? = nil,
        compressionRatio: Double? = nil
    ) {
        self.compressionRatio = compressionRatio.map { ($0 * 1000).rounded() / 1000 }
        self.name = name
        self.format = format
        self.source = source
        self.kind = kind
        self.state = state
        self.directory = directory
        self.segmentSeconds = segmentSeconds
        self.align = align
        self.filename = filename
        self.currentFile = currentFile
        self.currentFileSeconds = WireFormat.seconds(currentFileSeconds)
        self.segmentsClosed = segmentsClosed
        self.framesWritten = framesWritten
        self.bytesWritten = bytesWritten
        self.droppedFrames = droppedFrames
        self.gaps = gaps
        self.gapFrames = gapFrames
        self.silenceFrames = silenceFrames
        self.lastError = lastError
        self.startedAt = WireFormat.epoch(startedAt)
        self.startedAtUTC = WireFormat.utc(startedAt)
        self.stopsAt = stopsAt.map(WireFormat.epoch)
        self.stopsAtUTC = stopsAt.map(WireFormat.utc)
    }
}

/// A recording's schedule as status shows it.
public struct ScheduleStatus: Codable, Sendable, Equatable {
    /// The windows as configured.
    public var windows: [String]
    /// Whether a window is open now.
    public var open: Bool
    /// The window open now, or else the next one; nil when none opens within 400 days.
    public var windowStart: Double?
    public var windowStartUTC: String?
    public var windowEnd: Double?
    public var windowEndUTC: String?

    enum CodingKeys: String, CodingKey {
        case windows, open, windowStart, windowStartUTC = "windowStartUtc", windowEnd, windowEndUTC = "windowEndUtc"
    }

    public init(windows: [String], open: Bool, window: (start: Double, end: Double)?) {
        self.windows = windows
        self.open = open
        windowStart = window.map { WireFormat.epoch($0.start) }
        windowStartUTC = window.map { WireFormat.utc($0.start) }
        windowEnd = window.map { WireFormat.epoch($0.end) }
        windowEndUTC = window.map { WireFormat.utc($0.end) }
    }
}

/// GET /v1/recordings
public struct RecordingsResponse: Codable, Sendable, Equatable {
    public var recordings: [RecordingResponse]
    public init(recordings: [RecordingResponse]) { self.recordings = recordings }
}

/// A closed segment file.
public struct SegmentResponse: Codable, Sendable, Equatable {
    public var recording: String
    public var path: String
    public var sequence: Int
    public var firstFrame: Int64
    public var frames: Int64
    /// `frames` / the sample rate, to the microsecond.
    public var durationSeconds: Double
    /// Seconds since the epoch (UTC) of the first frame.
    public var startTime: Double
    /// `start_time` as RFC 3339 UTC; nil only from daemons before it was added.
    public var startTimeUTC: String?
    /// Per channel, dBFS over the whole file; -200 for digital silence.
    public var peakDBFS: [Double]
    public var rmsDBFS: [Double]
    public var droppedFrames: Int64
    public var restarts: Int
    public var bytes: UInt64

    // "DBFS" would round-trip through snake_case as "Dbfs"; name the keys so the wire says `peak_dbfs`.
    enum CodingKeys: String, CodingKey {
        case recording, path, sequence, firstFrame, frames, durationSeconds, startTime, startTimeUTC = "startTimeUtc"
        case peakDBFS = "peakDbfs", rmsDBFS = "rmsDbfs", droppedFrames, restarts, bytes
    }

    public init(
        recording: String, path: String, sequence: Int, firstFrame: Int64, frames: Int64, durationSeconds: Double,
        startTime: Double, peakDBFS: [Double], rmsDBFS: [Double], droppedFrames: Int64, restarts: Int, bytes: UInt64
    ) {
        self.recording = recording
        self.path = path
        self.sequence = sequence
        self.firstFrame = firstFrame
        self.frames = frames
        self.durationSeconds = WireFormat.seconds(durationSeconds)
        self.startTime = WireFormat.epoch(startTime)
        self.startTimeUTC = WireFormat.utc(startTime)
        self.peakDBFS = WireFormat.dbfs(peakDBFS)
        self.rmsDBFS = WireFormat.dbfs(rmsDBFS)
        self.droppedFrames = droppedFrames
        self.restarts = restarts
        self.bytes = bytes
    }
}

/// GET /v1/recordings/{name}/segments
public struct SegmentsResponse: Codable, Sendable, Equatable {
    public var recording: String
    public var segments: [SegmentResponse]
    public init(recording: String, segments: [SegmentResponse]) {
        self.recording = recording
        self.segments = segments
    }
}

/// DELETE /v1/recordings/{name}: the recording as it ended and the files it wrote.
public struct StopRecordingResponse: Codable, Sendable, Equatable {
    public var recording: RecordingResponse
    public var files: [SegmentResponse]
    public init(recording: RecordingResponse, files: [SegmentResponse]) {
        self.recording = recording
        self.files = files
    }
}
