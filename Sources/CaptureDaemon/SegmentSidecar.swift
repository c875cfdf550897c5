// The `NAME.wav.json` file beside each closed segment: the complete record of what the file holds.
import CaptureCore
import Foundation

/// The sidecar of a closed segment: its ``SegmentInfo`` (frames, levels, every gap), the audio format
/// and the first frame's time in UTC. Written atomically and durably (``DurableFile``), so a crash
/// leaves the old sidecar or the new one.
struct SegmentSidecar: Encodable {
    var segment: SegmentInfo
    var sampleRate: Int
    var channels: Int
    var sampleFormat: String
    var startTimeUTC: String
    /// False for a file repaired after a crash: what it lacks is not known (the ledger of the run that
    /// wrote it was lost with the process). Absent when the gaps are known.
    var gapsKnown: Bool?

    init(segment: SegmentInfo, format: AudioFormat, gapsKnown: Bool = true) {
        var segment = segment
        segment.peakDBFS = segment.peakDBFS.map { ChannelLevels.clamped($0) }
        segment.rmsDBFS = segment.rmsDBFS.map { ChannelLevels.clamped($0) }
        self.segment = segment
        sampleRate = format.sampleRate
        channels = format.channels
        sampleFormat = format.sampleFormat.rawValue
        startTimeUTC = Timestamp.iso8601(segment.startTime)
        self.gapsKnown = gapsKnown ? nil : false
    }

    /// The sidecar's path for the audio file at `path`.
    static func path(for audioPath: String) -> String { audioPath + ".json" }

    /// Writes the sidecar beside `segment.path`. Blocking file I/O. Returns nil, or what failed.
    @discardableResult
    func write() -> String? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
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
}
