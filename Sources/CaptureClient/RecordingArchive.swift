// The record on disk: a recording's files and their sidecars, read without the daemon.
import CaptureCore
import CaptureEnvironment
import CaptureProtocol
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One audio file of a recording as it is on disk, described by its sidecar (`NAME.wav.json`) when it
/// has one and by its WAV header and size otherwise. Encodes as a superset of ``SegmentResponse``.
public struct ArchivedFile: Codable, Sendable, Equatable {
    /// `closed` (a finished file), `partial` (being written, or left open by a crash the daemon has
    /// not repaired yet) or `damaged` (a crash leftover whose header could not be read).
    public var state: String
    public var recording: String
    public var path: String
    /// The `{seq}` number in the name (0 when the template has none).
    public var sequence: Int
    public var firstFrame: Int64
    public var frames: Int64
    public var durationSeconds: Double
    /// Wall time of the first frame (seconds since the epoch); estimated when `timesEstimated`.
    public var startTime: Double
    /// Wall time the audio ends: start + frames + the gaps inside or after them.
    public var endTime: Double
    /// True when the times come from the file's last write rather than a sidecar.
    public var timesEstimated: Bool
    public var peakDBFS: [Double]
    public var rmsDBFS: [Double]
    public var droppedFrames: Int64
    public var restarts: Int
    /// Size of the audio file in bytes.
    public var bytes: UInt64
    /// Discontinuities the sidecar records and their length in seconds.
    public var gaps: Int
    public var gapSeconds: Double
    /// False when what the file lacks is not known: a file repaired after a crash, or one with no sidecar.
    public var gapsKnown: Bool

    public init(
        state: String, recording: String, path: String, sequence: Int, firstFrame: Int64, frames: Int64,
        durationSeconds: Double, startTime: Double, endTime: Double, timesEstimated: Bool, peakDBFS: [Double],
        rmsDBFS: [Double], droppedFrames: Int64, restarts: Int, bytes: UInt64, gaps: Int, gapSeconds: Double,
        gapsKnown: Bool
    ) {
        self.state = state
        self.recording = recording
        self.path = path
        self.sequence = sequence
        self.firstFrame = firstFrame
        self.frames = frames
        self.durationSeconds = durationSeconds
        self.startTime = startTime
        self.endTime = endTime
        self.timesEstimated = timesEstimated
        self.peakDBFS = peakDBFS
        self.rmsDBFS = rmsDBFS
        self.droppedFrames = droppedFrames
        self.restarts = restarts
        self.bytes = bytes
        self.gaps = gaps
        self.gapSeconds = gapSeconds
        self.gapsKnown = gapsKnown
    }

    enum CodingKeys: String, CodingKey {
        case state, recording, path, sequence, firstFrame, frames, durationSeconds, startTime, endTime
        case timesEstimated
        case peakDBFS = "peakDbfs"
        case rmsDBFS = "rmsDbfs"
        case droppedFrames, restarts, bytes
        case gaps, gapSeconds, gapsKnown
    }
}

/// `audiocap segments` from disk: the files of one recording, every run's, with their sidecars.
public struct ArchiveListing: Codable, Sendable, Equatable {
    public var recording: String
    public var directory: String
    /// Every file of the recording, oldest first.
    public var segments: [ArchivedFile]
    /// Bytes of all the recording's files (audio, sidecars, partial and damaged files).
    public var totalBytes: UInt64

    public init(recording: String, directory: String, segments: [ArchivedFile], totalBytes: UInt64) {
        self.recording = recording
        self.directory = directory
        self.segments = segments
        self.totalBytes = totalBytes
    }
}

/// Reads a recording's directory. Blocking file I/O.
public enum RecordingArchive {
    /// Every file `template` produced for `name` under `directory`, oldest first, with what its sidecar
    /// or header says. Files that start before `since` (when given) are left out. A missing directory
    /// lists nothing.
    ///
    /// With no template (an on-demand recording that is not running: the template it had is not known)
    /// every WAV or FLAC file under the directory, four folders deep, is the recording's.
    public static func list(name: String, directory: String, template: FilenameTemplate?, since: Double? = nil)
        -> ArchiveListing
    {
        let matcher = template.map { FilenameTemplateMatcher(template: $0, name: name) }
        let files = DirectoryListing.files(under: directory, depth: matcher?.depth ?? 4)
        var total: UInt64 = 0
        var segments: [ArchivedFile] = []
        let suffixes = [".wav", ".flac"].flatMap { [$0, $0 + ".partial", $0 + ".json", $0 + ".damaged"] }
        for relative in files
        where matcher?.matches(relative) ?? suffixes.contains(where: { relative.hasSuffix($0) }) {
            let path = directory + "/" + relative
            total += size(of: path) ?? 0
            if relative.hasSuffix(".json") { continue }
            let state: String =
                relative.hasSuffix(".partial") ? "partial" : relative.hasSuffix(".damaged") ? "damaged" : "closed"
            let file = describe(
                path: path, state: state, recording: name, sequence: matcher?.sequence(in: relative) ?? 0)
            if let since, file.startTime < since { continue }
            segments.append(file)
        }
        segments.sort { ($0.startTime, $0.sequence, $0.path) < ($1.startTime, $1.sequence, $1.path) }
        return ArchiveListing(recording: name, directory: directory, segments: segments, totalBytes: total)
    }

    /// Bytes of everything `template` produced for `name` under `directory`.
    public static func diskUse(name: String, directory: String, template: FilenameTemplate?) -> UInt64 {
        list(name: name, directory: directory, template: template).totalBytes
    }

    static func describe(path: String, state: String, recording: String, sequence: Int) -> ArchivedFile {
        let bytes = size(of: path) ?? 0
        let modified = modificationTime(path) ?? 0
        var file = ArchivedFile(
            state: state, recording: recording, path: path, sequence: sequence, firstFrame: 0, frames: 0,
            durationSeconds: 0, startTime: modified, endTime: modified, timesEstimated: true, peakDBFS: [], rmsDBFS: [],
            droppedFrames: 0, restarts: 0, bytes: bytes, gaps: 0, gapSeconds: 0, gapsKnown: false)
        if state == "closed", let data = FileManager.default.contents(atPath: path + ".json"),
            let sidecar = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let segment = sidecar["segment"] as? [String: Any],
            let start = number(segment["start_time"]), start.isFinite,
            let rate = number(sidecar["sample_rate"]), rate > 0
        {
            let frames = Int64(number(segment["frames"]) ?? 0)
            file.frames = frames
            file.firstFrame = Int64(number(segment["first_frame"]) ?? 0)
            file.durationSeconds = number(segment["duration_seconds"]) ?? Double(frames) / rate
            file.startTime = start
            file.timesEstimated = false
            file.peakDBFS = numbers(segment["peak_dbfs"])
            file.rmsDBFS = numbers(segment["rms_dbfs"])
            file.droppedFrames = Int64(number(segment["dropped_frames"]) ?? 0)
            file.restarts = Int(number(segment["restarts"]) ?? 0)
            file.gapsKnown = (sidecar["gaps_known"] as? Bool) ?? true
            var after: Int64 = 0
            for gap in segment["gaps"] as? [[String: Any]] ?? [] {
                let gapFrames = Int64(number(gap["frames"]) ?? 0)
                file.gaps += 1
                file.gapSeconds += Double(gapFrames) / rate
                if Int64(number(gap["file_frame"]) ?? 0) > 0 {
                    after += max(0, gapFrames - Int64(number(gap["filled_frames"]) ?? 0))
                }
            }
            file.endTime = start + Double(frames + after) / rate
            return file
        }
        // No sidecar: the header and the size say how much audio, the last write when it ended.
        if state != "damaged", let header = readHead(path), let parsed = try? WAVHeader.parse(header) {
            let perFrame = UInt64(parsed.format.bytesPerFrame)
            let frames =
                bytes > UInt64(parsed.dataOffset) && perFrame > 0
                ? Int64((bytes - UInt64(parsed.dataOffset)) / perFrame) : 0
            file.frames = frames
            file.durationSeconds = Double(frames) / Double(parsed.format.sampleRate)
            file.startTime = modified - file.durationSeconds
        }
        return file
    }

    private static func number(_ value: Any?) -> Double? { (value as? NSNumber)?.doubleValue }

    private static func numbers(_ value: Any?) -> [Double] {
        (value as? [Any] ?? []).map { item in
            if let n = item as? NSNumber { return n.doubleValue }
            // The sidecar writes infinities as strings.
            return (item as? String).map { $0.hasPrefix("-") ? -Double.infinity : Double.infinity } ?? -Double.infinity
        }
    }

    private static func readHead(_ path: String) -> [UInt8]? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 4096)).map { [UInt8]($0) }
    }

    static func size(of path: String) -> UInt64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt64(info.st_size)
    }

    static func modificationTime(_ path: String) -> Double? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
    }
}
