// Deletes a recording's oldest closed files by age and by total size.
import Foundation

/// Applies `keep_days` and `max_bytes` to the closed `.wav` files under a recording's directory (with
/// their `.wav.json` sidecars). Files being written (`.partial`) are never touched. Oldest first, by
/// modification time (the time the file was closed).
public struct RetentionSweep: Sendable {
    public struct Deletion: Sendable, Equatable {
        public var path: String
        public var bytes: Int64
        public var reason: String
    }

    public let directory: String
    public let keepDays: Double?
    public let maxBytes: Int64?

    public init(directory: String, keepDays: Double?, maxBytes: Int64?) {
        self.directory = directory
        self.keepDays = keepDays
        self.maxBytes = maxBytes
    }

    public var isEnabled: Bool { keepDays != nil || maxBytes != nil }

    /// Deletes what the limits say; returns what was deleted. Blocking file I/O: call it on a
    /// consumer's own thread.
    public func run(now: Date = Date()) -> [Deletion] {
        guard isEnabled else { return [] }
        let files = Self.closedFiles(in: directory, now: now)
        var deletions: [Deletion] = []
        var total = files.reduce(Int64(0)) { $0 + $1.bytes }
        for file in files {
            var reason: String? = nil
            if let keepDays, now.timeIntervalSince(file.modified) > keepDays * 86_400 {
                reason = "older than keep_days"
            } else if let maxBytes, total > maxBytes {
                reason = "over max_bytes"
            }
            guard let reason else { continue }
            if (try? FileManager.default.removeItem(atPath: file.path)) != nil {
                try? FileManager.default.removeItem(atPath: file.path + ".json")
                total -= file.bytes
                deletions.append(Deletion(path: file.path, bytes: file.bytes, reason: reason))
            }
        }
        return deletions
    }

    /// The closed `.wav` files under `directory` (recursively), oldest first by modification time.
    /// Blocking file I/O.
    public static func closedFiles(in directory: String, now: Date = Date()) -> [(path: String, bytes: Int64, modified: Date)] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var files: [(path: String, bytes: Int64, modified: Date)] = []
        while let relative = enumerator.nextObject() as? String {
            guard relative.hasSuffix(".wav") else { continue }
            let path = directory + "/" + relative
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                attributes[.type] as? FileAttributeType == .typeRegular
            else { continue }
            let bytes = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            files.append((path, bytes, attributes[.modificationDate] as? Date ?? now))
        }
        files.sort { $0.modified < $1.modified }
        return files
    }
}
