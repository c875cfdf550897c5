// The gap ledger of one recording: every discontinuity, where it belongs, and what is not yet reported.

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

    public init(
        kind: Kind, fileFrame: Int64, captureFrame: Int64, time: Double, frames: Int64, exact: Bool,
        filledFrames: Int64 = 0
    ) {
        self.kind = kind
        self.fileFrame = fileFrame
        self.captureFrame = captureFrame
        self.time = time
        self.frames = frames
        self.exact = exact
        self.filledFrames = filledFrames
    }
}

/// What a recording has not got, kept in order and placed in its files. Pure bookkeeping (no I/O, no
/// clock): the segment writer tells it when files open and close and what went missing, and reads back
/// the gaps each file holds and the losses to report.
///
/// Where a gap lands: while a file is open, at the file's current end (`fileFrame`); with no file open
/// (between two files, or while the recording is blocked), at frame 0 of the next file, in time order with
/// that file's other leading gaps; one that no later file follows is handed back by ``takePending()``
/// for the last file's sidecar.
public struct GapLedger: Sendable, Equatable {
    /// Audio that arrived while nothing could be written, as one range.
    public struct LostRange: Sendable, Equatable {
        public var frame: Int64
        public var time: Double
        public var frames: Int64

        public init(frame: Int64, time: Double, frames: Int64) {
            self.frame = frame
            self.time = time
            self.frames = frames
        }
    }

    /// Queue overflows since the last report: reported at once, then at most every `dropReportSeconds`.
    public struct DropReport: Sendable, Equatable {
        public var lastEmitted: Double? = nil
        public var gaps = 0
        public var frames: Int64 = 0
        public var firstFrame: Int64 = 0
        public var firstTime: Double = 0
    }

    public static let dropReportSeconds = 10.0

    /// The open file's gaps, in order.
    public private(set) var fileGaps: [SegmentGap] = []
    /// Gaps that came while no file was open.
    public private(set) var pending: [SegmentGap] = []
    /// Every gap recorded since the recording started, and their frames.
    public private(set) var count = 0
    public private(set) var frames: Int64 = 0
    public private(set) var lost: LostRange?
    public private(set) var drops = DropReport()

    public init() {}

    /// Records `gap`: at `openFileFrames` (the open file's length) when a file is open, else for the next
    /// file. Returns whether it went into an open file.
    @discardableResult
    public mutating func record(_ gap: SegmentGap, openFileFrames: Int64?) -> Bool {
        count += 1
        frames += gap.frames
        guard let openFileFrames else {
            pending.append(gap)
            return false
        }
        var gap = gap
        gap.fileFrame = openFileFrames
        fileGaps.append(gap)
        return true
    }

    /// A file opened: it starts with the gaps that came while none was open and the audio that could not
    /// be written (a `not_written` gap), in time order. Returns that lost range, for the writer to report.
    @discardableResult
    public mutating func fileOpened() -> LostRange? {
        fileGaps.removeAll(keepingCapacity: true)
        fileGaps += pending
        pending.removeAll(keepingCapacity: true)
        let range = takeLost(openFileFrames: 0)
        fileGaps.sort { $0.time < $1.time }
        return range
    }

    /// Silence written for the newest gap of the open file (`gap_fill = "silence"`).
    public mutating func setLastFilled(_ filled: Int64) {
        guard !fileGaps.isEmpty else { return }
        fileGaps[fileGaps.count - 1].filledFrames = filled
    }

    /// The gaps no file has taken (at the end of the recording), which are forgotten.
    public mutating func takePending() -> [SegmentGap] {
        defer { pending.removeAll() }
        return pending
    }

    /// Audio that could not be written: added to the range reported when writing resumes.
    public mutating func noteLost(frame: Int64, frames: Int64, time: Double) {
        guard frames > 0 else { return }
        if let range = lost {
            lost = LostRange(frame: range.frame, time: range.time, frames: range.frames + frames)
        } else {
            lost = LostRange(frame: frame, time: time, frames: frames)
        }
    }

    /// The lost range to report, now a `not_written` gap of the ledger (at the open file's frame 0 when
    /// writing resumed into a new file, else pending).
    public mutating func takeLost(openFileFrames: Int64?) -> LostRange? {
        guard let range = lost else { return nil }
        lost = nil
        record(
            SegmentGap(
                kind: .notWritten, fileFrame: 0, captureFrame: range.frame, time: range.time, frames: range.frames,
                exact: true),
            openFileFrames: openFileFrames)
        return range
    }

    /// A queue overflow of `frames` frames starting at capture frame `frame` (wall time `time`), at
    /// monotonic time `now`. Returns whether a report is due now (the first drop, or the first after a
    /// quiet `dropReportSeconds`).
    public mutating func noteDropped(frame: Int64, frames: Int64, time: Double, now: Double) -> Bool {
        if drops.gaps == 0 {
            drops.firstFrame = frame
            drops.firstTime = time
        }
        drops.gaps += 1
        drops.frames += frames
        return drops.lastEmitted.map { now - $0 >= Self.dropReportSeconds } ?? true
    }

    /// Whether drops wait to be reported and the last report is `dropReportSeconds` old.
    public func dropReportDue(now: Double) -> Bool {
        drops.gaps > 0 && (drops.lastEmitted.map { now - $0 >= Self.dropReportSeconds } ?? false)
    }

    /// The drops to report now (nil when none), starting a new report period.
    public mutating func takeDrops(now: Double) -> DropReport? {
        guard drops.gaps > 0 else { return nil }
        defer { drops = DropReport(lastEmitted: now) }
        return drops
    }
}
