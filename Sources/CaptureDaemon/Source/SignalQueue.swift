// A queue of wake-ups with one async consumer, posted to from any thread.
import Synchronization

/// Unbounded FIFO of small values: any thread may `post`, one task at a time awaits `next()`.
final class SignalQueue<Element: Sendable>: Sendable {
    private struct State {
        var pending: [Element] = []
        var waiter: CheckedContinuation<Element, Never>?
    }
    private let state = Mutex(State())

    init() {}

    func post(_ element: Element) {
        let waiter = state.withLock { state -> CheckedContinuation<Element, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending.append(element)
            return nil
        }
        waiter?.resume(returning: element)
    }

    /// The oldest posted element, waiting for one if none is pending. One caller at a time.
    func next() async -> Element {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Element? in
                if !state.pending.isEmpty { return state.pending.removeFirst() }
                precondition(state.waiter == nil, "SignalQueue has one consumer")
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
