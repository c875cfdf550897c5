// A value that becomes available once, awaited from async code and completed from any thread.
import Synchronization

/// A one-shot result: `complete` sets it (later calls are ignored); `value()` waits for it.
final class Completion<Value: Sendable>: Sendable {
    private enum State {
        case waiting([CheckedContinuation<Value, Never>])
        case done(Value)
    }
    private let state = Mutex(State.waiting([]))

    init() {}

    func complete(_ value: Value) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, Never>] in
            guard case .waiting(let list) = state else { return [] }
            state = .done(value)
            return list
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    func value() async -> Value {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Value? in
                switch state {
                case .done(let value): return value
                case .waiting(var list):
                    list.append(continuation)
                    state = .waiting(list)
                    return nil
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
