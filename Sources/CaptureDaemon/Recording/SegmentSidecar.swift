// The `NAME.wav.json` file beside each closed segment: the complete record of what the file holds.
import CaptureCore
import CaptureProtocol
import Foundation

/// The sidecar of a closed segment: its ``SegmentInfo`` (frames, levels, every gap), the audio format
/// and the first frame's time. Written atomically and durably (``DurableFile``), so a crash leaves the
/// old sidecar or the new one. The format is docs/sidecar.schema.json: the names and values of the API's
/// segments and of the `segment.closed` event, per ``WireFormat`` (levels as arrays of dBFS with -200
/// for silence, durations to the microsecond, every epoch time with its RFC 3339 `_utc` twin).
struct SegmentSidecar: Encodable {
    var segment: SegmentInfo
    var sampleRate: Int
    var channels: Int
    var sampleFormat: String
    /// False for a file repaired after a crash: what it lacks is not known (the ledger of the run that
    /// wrote it was lost with the process). Absent when the gaps are known.
    var gapsKnown: Bool?
    /// The source the audio came from (absent when not known: a repaired on-demand file).
    var source: String?
    /// SHA-256 and MD5 of the audio file, lower-case hex: added by the outbox before the first upload
    /// (``addHashes(of:sha256:md5:)``); absent until then and for recordings without `upload`.
    var sha256: String?
    var md5: String?

    init(segment: SegmentInfo, format: AudioFormat, gapsKnown: Bool = true, source: String? = nil) {
        self.segment = segment
        self.source = source.flatMap { $0.isEmpty ? nil : $0 }
        sampleRate = format.sampleRate
        channels = format.channels
        sampleFormat = format.sampleFormat.rawValue
        self.gapsKnown = gapsKnown ? nil : false
    }

    enum CodingKeys: String, CodingKey {
        case segment, source, sampleRate, channels, sampleFormat, startTimeUTC = "startTimeUtc", gapsKnown, sha256, md5
        case trigger
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Segment(segment), forKey: .segment)
        try container.encodeIfPresent(source, forKey: .source)
        try container.encode(sampleRate, forKey: .sampleRate)
        try container.encode(channels, forKey: .channels)
        try container.encode(sampleFormat, forKey: .sampleFormat)
        // The same as `segment.start_time_utc`; kept where sidecars before it had it.
        try container.encode(WireFormat.utc(segment.startTime), forKey: .startTimeUTC)
        try container.encodeIfPresent(gapsKnown, forKey: .gapsKnown)
        try container.encodeIfPresent(sha256, forKey: .sha256)
        try container.encodeIfPresent(md5, forKey: .md5)
        try container.encodeIfPresent(
            segment.trigger.map { Trigger($0, firstFrame: segment.firstFrame, sampleRate: sampleRate) },
            forKey: .trigger)
    }

    /// `trigger` in a clip's sidecar: the trigger that fired it and the firing's place in the clip.
    struct Trigger: Encodable {
        var name: String
        var frame: Int64
        var offsetFrames: Int64
        var offsetSeconds: Double
        var peakDBFS: Double
        var continues: Bool

        enum CodingKeys: String, CodingKey {
            case name, frame, offsetFrames, offsetSeconds, peakDBFS = "peakDbfs", continues
        }

        init(_ mark: ClipMark, firstFrame: Int64, sampleRate: Int) {
            name = mark.trigger
            frame = mark.frame
            offsetFrames = mark.frame - firstFrame
            offsetSeconds = WireFormat.seconds(Double(offsetFrames) / Double(max(1, sampleRate)))
            peakDBFS = (mark.peakDBFS * 10).rounded() / 10
            continues = mark.continues
        }
    }

    /// `segment` in the sidecar: ``SegmentInfo`` with its values per ``WireFormat``.
    struct Segment: Encodable {
        var recording: String
        var path: String
        var sequence: Int
        var firstFrame: Int64
        var frames: Int64
        var durationSeconds: Double
        var startTime: Double
        var startTimeUTC: String
        var peakDBFS: [Double]
        var rmsDBFS: [Double]
        var droppedFrames: Int64
        var restarts: Int
        var bytes: UInt64
        var gaps: [Gap]
        var silenceFrames: Int64

        enum CodingKeys: String, CodingKey {
            case recording, path, sequence, firstFrame, frames, durationSeconds, startTime
            case startTimeUTC = "startTimeUtc", peakDBFS = "peakDbfs", rmsDBFS = "rmsDbfs", droppedFrames, restarts
            case bytes, gaps, silenceFrames
        }

        init(_ info: SegmentInfo) {
            recording = info.recording
            path = info.path
            sequence = info.sequence
            firstFrame = info.firstFrame
            frames = info.frames
            durationSeconds = WireFormat.seconds(info.durationSeconds)
            startTime = WireFormat.epoch(info.startTime)
            startTimeUTC = WireFormat.utc(info.startTime)
            peakDBFS = WireFormat.dbfs(info.peakDBFS)
            rmsDBFS = WireFormat.dbfs(info.rmsDBFS)
            droppedFrames = info.droppedFrames
            restarts = info.restarts
            bytes = info.bytes
            gaps = info.gaps.map(Gap.init)
            silenceFrames = info.silenceFrames
        }
    }

    /// A gap in the sidecar: ``SegmentGap`` with its time per ``WireFormat``.
    struct Gap: Encodable {
        var kind: String
        var fileFrame: Int64
        var captureFrame: Int64
        var time: Double
        var timeUTC: String
        var frames: Int64
        var exact: Bool
        var filledFrames: Int64

        enum CodingKeys: String, CodingKey {
            case kind, fileFrame, captureFrame, time, timeUTC = "timeUtc", frames, exact, filledFrames
        }

        init(_ gap: SegmentGap) {
            kind = gap.kind.rawValue
            fileFrame = gap.fileFrame
            captureFrame = gap.captureFrame
            time = WireFormat.epoch(gap.time)
            timeUTC = WireFormat.utc(gap.time)
            frames = gap.frames
            exact = gap.exact
            filledFrames = gap.filledFrames
        }
    }

    /// The sidecar's path for the audio file at `path`.
    static func path(for audioPath: String) -> String { audioPath + ".json" }

    /// Writes the sidecar beside `segment.path`. Blocking file I/O. Returns nil, or what failed.
    @discardableResult
    func write() -> String? {
        let encoder = ControlAPI.encoder(pretty: true)
        let data: Data
        do {
            data = try encoder.encode(self)
        } catch {
            return "cannot encode the sidecar: \(error)"
        }
        return DurableFile.write(data + [0x0A], to: Self.path(for: segment.path))
    }

    /// Start time recorded in the sidecar of the audio file at `audioPath` (seconds since the epoch), or
    /// nil when there is no readable sidecar. Blocking file I/O.
    static func recordedStartTime(of audioPath: String) -> Double? {
        guard let data = FileManager.default.contents(atPath: path(for: audioPath)),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let segment = object["segment"] as? [String: Any],
            let start = (segment["start_time"] as? NSNumber)?.doubleValue, start.isFinite
        else { return nil }
        return start
    }

    /// Adds the top-level `"sha256"` and `"md5"` keys to the sidecar of the audio file at `audioPath`,
    /// replacing the file atomically and durably (temporary file, fsync, rename). Nothing else in it
    /// changes; a sidecar that already holds these values is left alone. Blocking file I/O. Returns nil,
    /// or what failed (no sidecar is a failure: the caller decides whether that matters).
    static func addHashes(of audioPath: String, sha256: String, md5: String) -> String? {
        let sidecar = path(for: audioPath)
        guard let data = FileManager.default.contents(atPath: sidecar) else {
            return "cannot read the sidecar \(sidecar)"
        }
        guard var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            return "the sidecar \(sidecar) is not a JSON object"
        }
        if object["sha256"] as? String == sha256, object["md5"] as? String == md5 { return nil }
        var text = String(decoding: data, as: UTF8.self)
        if object["sha256"] == nil, object["md5"] == nil, let brace = text.firstIndex(of: "{") {
            // Inserted as text, so every other byte (numbers, key order) stays as the writer made it.
            text.insert(
                contentsOf: "\n  \"md5\" : \"\(md5)\",\n  \"sha256\" : \"\(sha256)\",", at: text.index(after: brace))
            return DurableFile.write(Array(text.utf8), to: sidecar)
        }
        object["sha256"] = sha256
        object["md5"] = md5
        guard
            let encoded = try? JSONSerialization.data(
                withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return "cannot encode the sidecar \(sidecar)" }
        return DurableFile.write(encoded + [0x0A], to: sidecar)
    }
}
