// Deletes a recording's oldest closed files by age and by total size.
import Foundation

/// Applies `keep_days` and `max_bytes` to the closed `.wav` and `.flac` files under a recording's directory
/// (with their `.json` sidecars). Files being written (`.partial`) are never touched. Oldest first.
///
/// A file's age comes from the start time its sidecar records, not from its modification time (which
/// a copy, a `touch` or a restore changes); a file without a sidecar falls back to its modification
/// time. The clock is not trusted blindly: age-based deletion can be paused by the caller (right after
/// the clock was stepped), a file whose recorded time is implausible (before 2020, or in the future) is
/// never deleted by age, and one sweep deletes at most `maxDeletionsPerSweep` files, so no single
/// mistake empties an archive.
public struct RetentionSweep: Sendable {
    public struct Deletion: Sendable, Equatable {
        public var path: String
        public var bytes: Int64
        public var reason: String
    }

    /// A closed file as retention sees it.
    public struct ClosedFile: Sendable, Equatable {
        public var path: String
        public var bytes: Int64
        /// The recorded start (sidecar), else the modification time, seconds since the epoch.
        public var time: Double
    }

    public let directory: String
    public let keepDays: Double?
    public let maxBytes: Int64?
    public static let maxDeletionsPerSweep = 100
    /// 2020-01-01: no file recorded by this software is older; an earlier time is a wrong clock.
    public static let earliestPlausibleTime = 1_577_836_800.0

    public init(directory: String, keepDays: Double?, maxBytes: Int64?) {
        self.directory = directory
        self.keepDays = keepDays
        self.maxBytes = maxBytes
    }

    public var isEnabled: Bool { keepDays != nil || maxBytes != nil }

    /// Deletes what the limits say; returns what was deleted. `ageDeletionAllowed` false skips
    /// `keep_days` (the clock was just stepped); `max_bytes` does not depend on the clock and always
    /// applies. Files in `holds` (still waiting for an upload, or in conflict) are never deleted, though
    /// they count toward `max_bytes`. Blocking file I/O: call it on a consumer's own thread.
    public func run(now: Date = Date(), ageDeletionAllowed: Bool = true, holds: UploadHolds? = nil) -> [Deletion] {
        guard isEnabled else { return [] }
        let files = Self.closedFiles(in: directory, now: now)
        let nowSeconds = now.timeIntervalSince1970
        var deletions: [Deletion] = []
        var total = files.reduce(Int64(0)) { $0 + $1.bytes }
        for file in files {
            guard deletions.count < Self.maxDeletionsPerSweep else { break }
            if let holds, holds.isHeld(file.path) { continue }
            var reason: String? = nil
            if let keepDays, ageDeletionAllowed, file.time >= Self.earliestPlausibleTime,
                file.time <= nowSeconds + 86_400,
                nowSeconds - file.time > keepDays * 86_400
            {
                reason = "older than keep_days"
            } else if let maxBytes, total > maxBytes {
                reason = "over max_bytes"
            }
            guard let reason else { continue }
            if (try? FileManager.default.removeItem(atPath: file.path)) != nil {
                try? FileManager.default.removeItem(atPath: SegmentSidecar.path(for: file.path))
                total -= file.bytes
                deletions.append(Deletion(path: file.path, bytes: file.bytes, reason: reason))
            }
        }
        return deletions
    }

    /// The closed `.wav` and `.flac` files under `directory` (recursively), oldest first by recorded start time.
    /// Blocking file I/O.
    public static func closedFiles(in directory: String, now: Date = Date()) -> [ClosedFile] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var files: [(file: ClosedFile, modified: Double)] = []
        while let relative = enumerator.nextObject() as? String {
            guard relative.hasSuffix(".wav") || relative.hasSuffix(".flac") else { continue }
            let path = directory + "/" + relative
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                attributes[.type] as? FileAttributeType == .typeRegular
            else { continue }
            let bytes = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            let modified = (attributes[.modificationDate] as? Date ?? now).timeIntervalSince1970
            let time = SegmentSidecar.recordedStartTime(of: path) ?? modified
            files.append((ClosedFile(path: path, bytes: bytes, time: time), modified))
        }
        files.sort { ($0.file.time, $0.modified, $0.file.path) < ($1.file.time, $1.modified, $1.file.path) }
        return files.map(\.file)
    }
}
