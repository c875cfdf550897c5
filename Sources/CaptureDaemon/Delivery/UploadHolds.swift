// Which closed files may not be deleted yet because a destination still waits for them.
import Synchronization

/// The files still pending or in conflict for at least one destination. Retention (``RetentionSweep``)
/// skips them; the `min_free_bytes` floor (``DiskSpaceGuard``) deletes them only as a last resort and then
/// reports them through ``reportLost(_:)``. Filled by the ``Outbox`` from its database at start and as
/// files are enqueued and delivered. Every method only takes a lock: safe from a writer's thread.
public final class UploadHolds: Sendable {
    /// What the outbox knows of a held file.
    public struct Hold: Sendable, Equatable {
        public var recording: String
        /// The destinations that do not have a verified copy yet.
        public var destinations: Set<String>
        public var frames: Int64?
    }

    private struct State {
        var held: [String: Hold] = [:]
        /// Folders whose every file is held (their recordings upload, but the outbox could not be opened).
        var heldFolders: [String] = []
        var onLost: (@Sendable (String, Hold) -> Void)?
    }
    private let state = Mutex(State())

    public init() {}

    /// Whether the file at `path` still waits for a destination.
    public func isHeld(_ path: String) -> Bool {
        state.withLock { state in
            state.held[path] != nil || state.heldFolders.contains { path.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }
        }
    }

    /// Holds every file under each of `folders`: used when the outbox cannot be opened, so that retention
    /// never deletes a file of a recording that uploads while nobody knows whether it was delivered.
    public func holdEverything(under folders: [String]) {
        state.withLock { $0.heldFolders.append(contentsOf: folders) }
    }

    /// The hold on `path`, if any.
    public func hold(for path: String) -> Hold? { state.withLock { $0.held[path] } }

    /// Every held path.
    public var paths: Set<String> { state.withLock { Set($0.held.keys) } }

    /// Holds `path` for `destinations` (added to any it is already held for).
    public func hold(_ path: String, recording: String, destinations: some Sequence<String>, frames: Int64?) {
        state.withLock { state in
            var hold = state.held[path] ?? Hold(recording: recording, destinations: [], frames: frames)
            hold.destinations.formUnion(destinations)
            if hold.frames == nil { hold.frames = frames }
            state.held[path] = hold
        }
    }

    /// `destination` has a verified copy of `path` (or gave it up); the hold ends with the last one.
    public func release(_ path: String, destination: String) {
        state.withLock { state in
            guard var hold = state.held[path] else { return }
            hold.destinations.remove(destination)
            state.held[path] = hold.destinations.isEmpty ? nil : hold
        }
    }

    /// A held file was deleted before it was delivered: the hold ends and the outbox's handler (which
    /// only hands off, never blocks) marks its rows lost. Returns the hold that ended, if any.
    @discardableResult
    public func reportLost(_ path: String) -> Hold? {
        let (hold, handler) = state.withLock { state in (state.held.removeValue(forKey: path), state.onLost) }
        if let hold { handler?(path, hold) }
        return hold
    }

    /// Sets what ``reportLost(_:)`` calls; it must not block.
    public func onLost(_ handler: @escaping @Sendable (String, Hold) -> Void) {
        state.withLock { $0.onLost = handler }
    }
}
