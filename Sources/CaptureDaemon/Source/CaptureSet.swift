// The captures the daemon runs, one per source; a reload replaces some of them.
import Synchronization

/// The running ``SourceCapture``s in the configuration's order, readable from any thread.
/// Once ``stopAll()`` has run (shutdown), every capture added later is stopped as it is added.
public final class CaptureSet: Sendable {
    private struct State {
        var captures: [SourceCapture]
        var stopped = false
    }
    private let state: Mutex<State>

    init(_ captures: [SourceCapture]) {
        state = Mutex(State(captures: captures))
    }

    /// The captures now, in the configuration's order.
    public var all: [SourceCapture] { state.withLock { $0.captures } }

    /// The capture of source `name`.
    public func named(_ name: String) -> SourceCapture? { all.first { $0.name == name } }

    /// Makes `captures` the running set (after a reload). When shutdown has begun the new ones are stopped.
    func replace(with captures: [SourceCapture]) {
        let stopped = state.withLock { state in
            state.captures = captures
            return state.stopped
        }
        if stopped { for capture in captures { capture.stop() } }
    }

    /// Stops every capture (shutdown), and those added later.
    func stopAll() {
        let captures = state.withLock { state in
            state.stopped = true
            return state.captures
        }
        for capture in captures { capture.stop() }
    }

    /// Monotonic time the last audio arrived from any source; nil before the first.
    var lastAudioMonotonic: Double? {
        all.compactMap(\.counters.lastAudioMonotonic).max()
    }
}
