// What is known about one closed segment file; reported in its event and kept for status.

/// A discontinuity inside a segment: audio the file does not hold, at a known place.
public struct SegmentGap: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        /// This recording's queue was full and chunks were dropped (exact).
        case queueOverflow = "queue_overflow"
        /// ffmpeg stopped and was started again; the length is the measured outage (an estimate).
        case ffmpegRestart = "ffmpeg_restart"
        /// ffmpeg reported an ALSA buffer overrun; the length is estimated from how late the audio after
        /// it arrived.
        case xrun
        /// audiocapd was not running (stopped, crashed, power cut): from the end of the last audio it
        /// wrote to the first audio of this file (an estimate). Always at the start of a file.
        case daemonRestart = "daemon_restart"
        /// Audio that arrived while no file could be written (disk full, write error, low space), exact;
        /// at the start of the file written after it.
        case notWritten = "not_written"
    }
    public var kind: Kind
    /// Frames into the file where the missing audio belongs.
    public var fileFrame: Int64
    /// Capture frame position of the gap (for queue overflow) or of the first frame after it.
    public var captureFrame: Int64
    /// Wall time the gap began, seconds since the epoch.
    public var time: Double
    public var frames: Int64
    /// False when `frames` is estimated from wall time.
    public var exact: Bool
    /// Frames of silence written in its place (`gap_fill = "silence"`), at most up to the end of the file.
    public var filledFrames: Int64 = 0
}

/// A closed WAV segment.
public struct SegmentInfo: Sendable, Codable, Equatable {
    public var recording: String
    public var path: String
    public var sequence: Int
    /// Capture frame position of the file's first frame.
    public var firstFrame: Int64
    public var frames: Int64
    public var durationSeconds: Double
    /// Wall time of the first frame, seconds since the epoch (UTC).
    public var startTime: Double
    /// Per channel, dBFS over the whole file.
    public var peakDBFS: [Double]
    public var rmsDBFS: [Double]
    /// Frames that belonged inside this file's span but were dropped (queue overflow, write errors).
    public var droppedFrames: Int64
    /// Times ffmpeg restarted while this file was open (the audio on either side is joined).
    public var restarts: Int
    public var bytes: UInt64
    /// Every discontinuity inside the file, in order.
    public var gaps: [SegmentGap] = []
    /// Frames of silence written for gaps (`gap_fill = "silence"`), included in `frames`.
    public var silenceFrames: Int64 = 0
}

/// A recording's state as status reports it.
public struct RecordingStatus: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        case recording, blocked, stopped
    }
    public var name: String
    public var state: State
    public var directory: String
    public var currentFile: String?
    public var currentFrames: Int64
    public var segmentsClosed: Int
    public var framesWritten: Int64
    public var bytesWritten: UInt64
    /// Frames this recording lost: queue overflow plus audio that could not be written.
    public var droppedFrames: Int64
    /// Discontinuities recorded in this recording's ledger since it started, and their frames (exact
    /// and estimated together).
    public var gaps: Int = 0
    public var gapFrames: Int64 = 0
    /// Frames of silence written for gaps (`gap_fill = "silence"`), included in `framesWritten`.
    public var silenceFrames: Int64 = 0
    /// The `{seq}` number of the newest file (0 before the first).
    public var sequence: Int = 0
    public var lastError: String?
    public var lastSegment: SegmentInfo?
}
