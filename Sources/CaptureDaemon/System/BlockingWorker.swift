// The one long-lived thread for short blocking work asked for by async code (files, statvfs, ALSA lookups).
import Dispatch
import Synchronization

/// A queue of closures drained, in order, by one thread of its own; `run` suspends the async caller
/// (never blocking a thread of Swift's shared executor) until its closure has run there, and returns its
/// result or rethrows its error. One caller's slow disk delays the callers queued after it, so only
/// short work belongs here; long-lived loops get a thread of their own (``DedicatedThread/start``).
public final class BlockingWorker: Sendable {
    /// The daemon's worker, thread `ac-io`, started at first use and kept for the life of the process.
    public static let shared = BlockingWorker(name: "ac-io")

    public let name: String
    private struct Queue {
        var jobs: [@Sendable () -> Void] = []
        var head = 0
        var stopping = false
    }
    private let queue = Mutex(Queue())
    // Mutex has no condition variable: a semaphore counts the queued jobs (plus one for shutdown), as in
    // ChunkChannel.
    private let wake = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)

    /// Starts the thread, named `name`.
    public init(name: String) {
        self.name = name
        DedicatedThread.start(name: name) { [self] in drain() }
    }

    /// Runs `body` on the worker's thread after the work queued before it and returns its result.
    /// After ``shutdown()``, runs `body` on the caller's thread instead (nothing else would).
    public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            submit { continuation.resume(returning: body()) }
        }
    }

    /// Runs `body` on the worker's thread after the work queued before it; returns its result or throws
    /// what it threw.
    public func run<T: Sendable>(throwing body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Runs what is queued, then ends the thread; returns once it has ended. Blocking: for tests and
    /// workers other than ``shared``.
    public func shutdown() {
        let first = queue.withLock { queue -> Bool in
            defer { queue.stopping = true }
            return !queue.stopping
        }
        guard first else { return }
        wake.signal()
        stopped.wait()
    }

    /// Jobs queued and not yet started.
    var waiting: Int { queue.withLock { $0.jobs.count - $0.head } }

    func submit(_ job: @escaping @Sendable () -> Void) {
        let accepted = queue.withLock { queue -> Bool in
            guard !queue.stopping else { return false }
            queue.jobs.append(job)
            return true
        }
        if accepted { wake.signal() } else { job() }
    }

    private func drain() {
        while true {
            wake.wait()
            let (job, done) = queue.withLock { queue -> ((@Sendable () -> Void)?, Bool) in
                guard queue.head < queue.jobs.count else { return (nil, queue.stopping) }
                let job = queue.jobs[queue.head]
                queue.head += 1
                if queue.head > 64, queue.head * 2 > queue.jobs.count {
                    queue.jobs.removeFirst(queue.head)
                    queue.head = 0
                }
                return (job, false)
            }
            if let job {
                job()
            } else if done {
                stopped.signal()
                return
            }
        }
    }
}
