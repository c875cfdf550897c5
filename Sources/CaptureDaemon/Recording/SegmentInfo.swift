// What is known about one closed segment file; reported in its event and kept for status.
import CaptureCore

/// A closed segment file (WAV or FLAC).
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
    /// For a trigger's clip: what fired it and where in the clip.
    public var trigger: ClipMark? = nil
}

/// A recording's state as status reports it.
public struct RecordingStatus: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        case recording, blocked, stopped
        /// Outside the recording's schedule: no file is open, and the time is not a gap.
        case scheduledOff = "scheduled_off"
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
    /// Frames and file bytes of the files closed so far (their ratio to PCM is the compression ratio).
    public var closedFrames: Int64 = 0
    public var closedFileBytes: UInt64 = 0
    /// The `{seq}` number of the newest file (0 before the first).
    public var sequence: Int = 0
    public var lastError: String?
    public var lastSegment: SegmentInfo?
}
