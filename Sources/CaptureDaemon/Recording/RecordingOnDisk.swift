// What a recording's directory says about its past: the highest `{seq}` used and where its audio ended.
import CaptureCore
import CaptureEnvironment
import Foundation

/// Reads a recording's files back (blocking file I/O: call it from a dedicated thread, a consumer thread
/// or the start-up thread, never from Swift's shared executor).
enum RecordingOnDisk {
    /// Paths relative to `directory` of the files at most `depth` folders below it, sorted.
    static func files(under directory: String, depth: Int) -> [String] {
        DirectoryListing.files(under: directory, depth: depth)
    }

    /// The highest `{seq}` number among the files `template` produced for `name` in `directory` (final,
    /// `.partial`, `.damaged` or sidecar), or nil when there is none or the template has no `{seq}`.
    static func highestSequence(directory: String, template: FilenameTemplate, name: String) -> Int? {
        let matcher = FilenameTemplateMatcher(template: template, name: name)
        return files(under: directory, depth: matcher.depth).compactMap { matcher.sequence(in: $0) }.max()
    }

    /// The wall time at which the newest closed file of the recording ends (from its sidecar: start time
    /// plus the frames it holds plus the gaps inside or after its audio), or nil when no file has a
    /// readable sidecar. Reads only the few most recently modified sidecars.
    static func newestClosedEnd(directory: String, template: FilenameTemplate, name: String) -> Double? {
        closedEnds(directory: directory, template: template, name: name).max()
    }

    /// The ends of the `count` most recently modified files of the recording that have a readable sidecar.
    static func closedEnds(directory: String, template: FilenameTemplate, name: String, count: Int = 4) -> [Double] {
        let matcher = FilenameTemplateMatcher(template: template, name: name)
        let sidecars = files(under: directory, depth: matcher.depth)
            .filter { $0.hasSuffix(".json") && matcher.matches($0) }
            .map { (path: directory + "/" + $0, modified: modificationTime(directory + "/" + $0) ?? 0) }
            .sorted { $0.modified > $1.modified }
        return sidecars.prefix(count).compactMap { sidecar in
            FileManager.default.contents(atPath: sidecar.path).flatMap(audioEnd(ofSidecar:))
        }
    }

    /// The end of the audio a sidecar describes: `start_time` + (frames + the frames of the gaps placed
    /// after the file's first frame that were not filled with silence) / `sample_rate`. Gaps at frame 0
    /// (a daemon restart, audio not written) came before the file's first frame and are not counted.
    static func audioEnd(ofSidecar data: Data) -> Double? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let segment = object["segment"] as? [String: Any],
            let start = (segment["start_time"] as? NSNumber)?.doubleValue, start.isFinite,
            let frames = (segment["frames"] as? NSNumber)?.int64Value,
            let rate = (object["sample_rate"] as? NSNumber)?.doubleValue, rate > 0
        else { return nil }
        var missing: Int64 = 0
        for gap in segment["gaps"] as? [[String: Any]] ?? [] {
            guard let at = (gap["file_frame"] as? NSNumber)?.int64Value, at > 0 else { continue }
            let gapFrames = (gap["frames"] as? NSNumber)?.int64Value ?? 0
            let filled = (gap["filled_frames"] as? NSNumber)?.int64Value ?? 0
            missing += max(0, gapFrames - filled)
        }
        return start + Double(frames + missing) / rate
    }

    static func modificationTime(_ path: String) -> Double? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
    }
}

/// Where each continuous recording's audio ended before this start, for its `daemon_restart` gap.
enum RestartGap {
    /// Files of one run follow each other with no time between them; a file that starts more than this
    /// after the one before it on disk began a new run.
    static let contiguousSeconds = 0.5

    /// The end to measure the gap from: the audio on disk (a repaired `.partial`'s last write, the
    /// newest closed file's end), the later of the two; the saved state only when the disk says
    /// nothing (a state file is written every 10 s and may be older than the audio on disk, but never
    /// describes audio the disk does not hold).
    static func audioEnd(stateEnd: Double?, repairedEnd: Double?, closedEnd: Double?) -> Double? {
        let disk = [repairedEnd, closedEnd].compactMap { $0 }.max()
        return disk ?? stateEnd
    }

    /// For a repaired file that starts at `start`: the end of the file before it (among `earlierEnds`)
    /// when the file starts more than ``contiguousSeconds`` after it, so began a run whose restart gap
    /// died with that run; nil when it follows on (or nothing is before it).
    static func restartBeforeRepaired(start: Double, earlierEnds: [Double]) -> Double? {
        guard let before = earlierEnds.filter({ $0 <= start + 0.05 }).max(), start - before > contiguousSeconds else {
            return nil
        }
        return before
    }

    /// Per recording of `names`, the end its `daemon_restart` gap starts from: for the recordings that
    /// ran before (named in the state file or leaving a `.partial` behind).
    static func audioEnds(
        names: [String], state: CaptureStateFile?, repaired: [String: Double], closed: [String: Double]
    ) -> [String: Double] {
        var ends: [String: Double] = [:]
        for name in names where (state?.recordings.contains(name) ?? false) || repaired[name] != nil {
            ends[name] = audioEnd(stateEnd: state?.lastAudioEnd, repairedEnd: repaired[name], closedEnd: closed[name])
        }
        return ends
    }
}
