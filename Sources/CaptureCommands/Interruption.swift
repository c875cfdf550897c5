// Ends a following command cleanly on Ctrl-C: SIGINT cancels the work instead of killing the process.

import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs work that lasts until the user presses Ctrl-C.
enum Interruption {
    /// Runs `body` until it returns, throws, or SIGINT or SIGTERM arrives. On a signal `body`'s task is
    /// cancelled and, once it has returned, this function returns normally, so the command can tidy up the
    /// terminal and exit 0. Errors `body` throws are rethrown.
    static func runUntilInterrupted(_ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await body() }
            group.addTask {
                for await _ in signals([SIGINT, SIGTERM]) { return }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// The given signals as they arrive. While the sequence is iterated their default action (ending the process)
    /// is suspended; it is restored when the iteration ends.
    static func signals(_ numbers: [Int32]) -> AsyncStream<Int32> {
        AsyncStream { continuation in
            let sources = numbers.map { number in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { continuation.yield(number) }
                source.resume()
                return source
            }
            let box = SignalSources(sources: sources, numbers: numbers)
            continuation.onTermination = { _ in box.cancel() }
        }
    }
}

/// Keeps the dispatch sources alive until the stream ends.
///
/// `@unchecked Sendable`: the sources are only touched by `cancel()`, which runs once from the stream's
/// termination handler, and `DispatchSource.cancel()` may be called from any thread.
private final class SignalSources: @unchecked Sendable {
    let sources: [any DispatchSourceSignal]
    let numbers: [Int32]

    init(sources: [any DispatchSourceSignal], numbers: [Int32]) {
        self.sources = sources
        self.numbers = numbers
    }

    func cancel() {
        for source in sources { source.cancel() }
        for number in numbers { signal(number, SIG_DFL) }
    }
}
