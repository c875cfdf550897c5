// Wakes one destination loop of the outbox: new rows, the end of a back-off, or shutdown.
import Synchronization

/// A wake-up flag with one waiting task. ``signal()`` from any thread (it never blocks); ``wait(seconds:)``
/// returns at the first signal since the last wait, after `seconds` (nil: no limit), or when the task is
/// cancelled. A signal with nobody waiting is kept for the next wait.
final class OutboxWake: Sendable {
    private struct State {
        var signalled = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    init() {}

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.signalled = true
            return nil
        }
        waiter?.resume()
    }

    func wait(seconds: Double?) async {
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                if let seconds {
                    group.addTask { [self] in
                        try? await Task.sleep(for: .seconds(max(0, seconds)))
                        if !Task.isCancelled { signal() }
                    }
                }
                await withCheckedContinuation { continuation in
                    let ready = state.withLock { state -> Bool in
                        if state.signalled || Task.isCancelled {
                            state.signalled = false
                            return true
                        }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
                group.cancelAll()
            }
        } onCancel: {
            signal()
        }
    }
}
