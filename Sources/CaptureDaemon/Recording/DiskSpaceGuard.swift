// Keeps `[storage] min_free_bytes` free where recordings write, deleting the oldest files that may go.
import CaptureProtocol
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Shared by every segment writer. A writer asks ``check(directory:)`` before it opens a file and at each
/// sync; when the file system holding `directory` has less than `minFreeBytes` free, the oldest closed
/// files of the recordings registered with `deleteOldestWhenLow` on that same file system are deleted,
/// oldest first, each one an event, until the floor is met. When that is not enough the answer is
/// ``Verdict/low(freeBytes:)`` and the writer pauses.
public final class DiskSpaceGuard: Sendable {
    public enum Verdict: Sendable, Equatable {
        case ok
        /// Below the floor even after deleting what could be deleted.
        case low(freeBytes: UInt64)
    }

    public let minFreeBytes: Int64
    private let events: EventLog
    /// Recordings by name: their directory and whether their files may be deleted for space.
    private let recordings = Mutex<[String: (directory: String, deletable: Bool)]>([:])
    /// Held while deleting, so two writers never prune at once (apart from the registry, which the
    /// recording controller touches and must never wait on a deletion).
    private let deleting = Mutex(())

    /// How free space is measured: `statvfs` (tests give their own).
    typealias Probe = @Sendable (String) -> (free: UInt64, total: UInt64, device: UInt64, probe: String)?
    private let probe: Probe

    /// Files still waiting for an upload: deleted only when deleting every other file was not enough,
    /// each one an `upload.lost` event. Nil: none.
    private let holds: UploadHolds?

    public convenience init(minFreeBytes: Int64, events: EventLog, holds: UploadHolds? = nil) {
        self.init(minFreeBytes: minFreeBytes, events: events, holds: holds, probe: { DiskSpaceGuard.space(at: $0) })
    }

    init(minFreeBytes: Int64, events: EventLog, holds: UploadHolds? = nil, probe: @escaping Probe) {
        self.minFreeBytes = minFreeBytes
        self.events = events
        self.holds = holds
        self.probe = probe
    }

    public var isEnabled: Bool { minFreeBytes > 0 }

    public func register(_ recording: String, directory: String, deleteOldestWhenLow: Bool) {
        recordings.withLock { $0[recording] = (directory, deleteOldestWhenLow) }
    }

    public func unregister(_ recording: String) {
        _ = recordings.withLock { $0.removeValue(forKey: recording) }
    }

    /// Whether `directory`'s file system has `minFreeBytes` free, after deleting what may be deleted.
    /// Blocking file-system work: call it on a consumer's own thread.
    public func check(directory: String) -> Verdict {
        guard isEnabled, let space = probe(directory) else { return .ok }
        if space.free >= UInt64(minFreeBytes) { return .ok }
        let registered = recordings.withLock { $0 }
        return deleting.withLock { _ -> Verdict in
            var free = probe(directory)?.free ?? space.free
            guard free < UInt64(minFreeBytes) else { return .ok }
            var candidates: [(path: String, bytes: Int64, time: Double, recording: String)] = []
            for (name, entry) in registered where entry.deletable {
                guard probe(entry.directory)?.device == space.device else { continue }
                for file in RetentionSweep.closedFiles(in: entry.directory) {
                    candidates.append((file.path, file.bytes, file.time, name))
                }
            }
            // Files no destination waits for go first, oldest first; held ones only when that is not enough.
            candidates.sort { a, b in
                let (heldA, heldB) = (holds?.isHeld(a.path) ?? false, holds?.isHeld(b.path) ?? false)
                return heldA != heldB ? !heldA : a.time < b.time
            }
            // Some file systems (btrfs, ZFS, a file still open elsewhere) free space later than the
            // unlink: count what was deleted too, so one check never deletes more than the shortfall.
            let before = free
            var freed: UInt64 = 0
            for file in candidates {
                guard free < UInt64(minFreeBytes), before + freed < UInt64(minFreeBytes) else { break }
                let hold = holds?.hold(for: file.path)
                let frames = hold?.frames ?? (hold == nil ? nil : Self.recordedFrames(of: file.path))
                guard (try? FileManager.default.removeItem(atPath: file.path)) != nil else { continue }
                try? FileManager.default.removeItem(atPath: file.path + ".json")
                if let hold, let holds {
                    holds.reportLost(file.path)
                    let destinations = hold.destinations.sorted()
                    var fields: [String: EventValue] = [
                        "segment.path": .string(file.path), "segment.bytes": .int(file.bytes),
                        "destination": .string(destinations.joined(separator: ",")),
                        "destinations": .list(destinations.map { .string($0) }),
                        "reason": .string("deleted by the min_free_bytes floor before it was uploaded"),
                    ]
                    if let frames { fields["segment.frames"] = .int(frames) }
                    events.emit(
                        .warning, "upload.lost", "a file was deleted for free space before it was uploaded",
                        recording: file.recording, fields)
                }
                events.emit(
                    .notice, "segment.deleted", "segment deleted to keep the minimum free space",
                    recording: file.recording,
                    [
                        "segment.path": .string(file.path), "segment.bytes": .int(file.bytes),
                        "reason": .string("below min_free_bytes"), "disk.min_free_bytes": .int(minFreeBytes),
                    ])
                freed += UInt64(max(0, file.bytes))
                free = probe(directory)?.free ?? free
            }
            return free >= UInt64(minFreeBytes) || before + freed >= UInt64(minFreeBytes) ? .ok : .low(freeBytes: free)
        }
    }

    /// `segment.frames` from the sidecar of the audio file at `path`, if it has one. Blocking file I/O.
    static func recordedFrames(of path: String) -> Int64? {
        guard let data = FileManager.default.contents(atPath: SegmentSidecar.path(for: path)),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let segment = object["segment"] as? [String: Any]
        else { return nil }
        return (segment["frames"] as? NSNumber)?.int64Value
    }

    /// Free bytes (for unprivileged users) and the device of the file system holding `path`, or of its
    /// nearest existing parent.
    static func space(at path: String) -> (free: UInt64, total: UInt64, device: UInt64, probe: String)? {
        var probe = path.isEmpty ? "/" : path
        var info = statvfs()
        while statvfs(probe, &info) != 0 {
            guard errno == ENOENT || errno == ENOTDIR, probe != "/" else { return nil }
            probe = (probe as NSString).deletingLastPathComponent
            if probe.isEmpty { probe = "/" }
        }
        var st = stat()
        let device = stat(probe, &st) == 0 ? UInt64(st.st_dev) : 0
        return (
            UInt64(info.f_bavail) * UInt64(info.f_frsize), UInt64(info.f_blocks) * UInt64(info.f_frsize), device, probe
        )
    }
}
