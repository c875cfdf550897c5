// `[[trigger]]`: a clip written around each sound that rises over a level.

/// One level trigger: when the level of `source` (after an optional high-pass filter) stays over
/// `thresholdDBFS` for `holdMilliseconds`, a clip is written from `preSeconds` before the first frame
/// over the threshold to `postSeconds` after the last; sounds that follow within `postSeconds` extend
/// the clip, up to `maxSeconds` (then the clip is cut and, if the sound goes on, a new clip continues at
/// the frame where the cut one ends). ``TriggerDetector`` states the rules frame by frame;
/// docs/triggers.md explains them to users.
public struct TriggerConfiguration: Sendable, Equatable {
    /// `[A-Za-z0-9._-]{1,64}`, unique among triggers and recordings (it names the clips and their events).
    public var name: String
    /// The `[[source]]` it listens to; `""`: the first (the only one).
    public var source = ""
    /// Peak level, in dBFS, that a sound must exceed (on any of `channels`).
    public var thresholdDBFS = -30.0
    /// Channels listened to, counted from 1; empty: all.
    public var channels: [Int] = []
    /// How long the level must stay over the threshold before the trigger fires, in milliseconds (dips
    /// under it shorter than 10 ms do not count as an end); 0 fires on the first frame over.
    public var holdMilliseconds = 50.0
    /// Audio kept before the first frame over the threshold, in seconds (the trigger holds it itself).
    public var preSeconds = 3.0
    /// Audio kept after the last frame over the threshold, in seconds.
    public var postSeconds = 3.0
    /// Longest clip, in seconds, from its first frame; a sound that goes on is cut there and a new clip
    /// continues. `preSeconds + postSeconds` may exceed it.
    public var maxSeconds = 60.0
    /// Cut-off of a high-pass filter applied before the level is measured (the clip itself is not
    /// filtered); nil: none.
    public var highPassHz: Double? = nil
    /// Folder the clips go in.
    public var directory: String
    /// strftime template relative to `directory`, with `{name}` (the trigger's) and `{seq}`.
    public var filename = TriggerConfiguration.defaultFilename(for: .wav)
    public var format = RecordingFormat.wav
    public var flacLevel = 5
    public var timeZone = FilenameTimeZone.utc

    public static let preSecondsRange = 0.0...600.0
    public static let postSecondsRange = 0.0...600.0
    public static let maxSecondsRange = 1.0...3600.0

    /// The default `filename` for clips of `format` (two clips that start within one second get `-1`, `-2`
    /// added, as any name taken).
    public static func defaultFilename(for format: RecordingFormat) -> String {
        "%Y-%m-%d/{name}-%Y%m%dT%H%M%SZ." + format.fileExtension
    }

    public init(name: String, directory: String) {
        self.name = name
        self.directory = directory
    }

    /// The clip writer's recording: one file per clip (never cut on the clock), named after the trigger.
    public var clipRecording: RecordingConfiguration {
        var recording = RecordingConfiguration(name: name, directory: directory)
        recording.segmentSeconds = 86_400
        recording.align = .samples
        recording.format = format
        recording.flacLevel = flacLevel
        recording.filename = filename
        recording.timeZone = timeZone
        recording.source = source
        return recording
    }
}
