// Ends a following command cleanly on Ctrl-C: SIGINT cancels the work instead of killing the process.

import UnixSignals

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
    /// terminal and exit 0. Errors `body` throws are rethrown. Afterwards SIGINT and SIGTERM end the
    /// process again, as they did before.
    static func runUntilInterrupted(_ body: @escaping @Sendable () async throws -> Void) async throws {
        defer {
            // UnixSignalsSequence leaves the signals ignored once it ends; a second Ctrl-C should still work.
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await body() }
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm) { return }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }
}
