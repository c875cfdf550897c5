import Foundation
import Synchronization
import Testing

@testable import CaptureDaemon

@Suite struct BlockingWorkerTests {
    struct Failure: Error, Equatable { var code: Int }

    /// State the jobs share with the test.
    final class Shared: Sendable {
        let log = Mutex<[Int]>([])
        let running = Atomic<Int>(0)
        let overlapped = Atomic<Bool>(false)
        let done = Atomic<Int>(0)
        let started = Atomic<Bool>(false)
        let stopped = Atomic<Bool>(false)
    }

    @Test func runsOnItsOwnNamedThreadAndReturnsTheResult() async {
        let worker = BlockingWorker(name: "ac-test-io")
        defer { worker.shutdown() }
        let name = await worker.run { () -> String in
            // The running thread's name as the kernel has it.
            (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        }
        #expect(name == "ac-test-io")
        #expect(await worker.run { 6 * 7 } == 42)
    }

    @Test func errorsReachTheCaller() async throws {
        let worker = BlockingWorker(name: "ac-test-err")
        defer { worker.shutdown() }
        await #expect(throws: Failure(code: 3)) {
            try await worker.run(throwing: { () throws -> Int in throw Failure(code: 3) })
        }
        // The thread survives a throwing job.
        #expect(try await worker.run(throwing: { 5 }) == 5)
    }

    @Test func jobsRunOneAtATimeInTheOrderTheyCame() async {
        let worker = BlockingWorker(name: "ac-test-order")
        defer { worker.shutdown() }
        let shared = Shared()
        // Sequential callers: strict order.
        for i in 0..<50 {
            await worker.run { shared.log.withLock { $0.append(i) } }
        }
        let log = shared.log.withLock { $0 }
        #expect(log == Array(0..<50))
        // Many concurrent callers: every one gets its own result, and jobs never overlap.
        let results = await withTaskGroup(of: (Int, Int).self) { group in
            for i in 0..<200 {
                group.addTask {
                    let value = await worker.run { () -> Int in
                        if shared.running.add(1, ordering: .relaxed).newValue > 1 {
                            shared.overlapped.store(true, ordering: .relaxed)
                        }
                        usleep(50)
                        shared.running.subtract(1, ordering: .relaxed)
                        return i * i
                    }
                    return (i, value)
                }
            }
            var all: [Int: Int] = [:]
            for await (i, value) in group { all[i] = value }
            return all
        }
        #expect(results.count == 200)
        #expect(results.allSatisfy { $0.value == $0.key * $0.key })
        let anyOverlap = shared.overlapped.load(ordering: .relaxed)
        #expect(!anyOverlap)
    }

    @Test func shutdownRunsWhatIsQueuedAndLaterCallsStillComplete() async throws {
        let worker = BlockingWorker(name: "ac-test-stop")
        let gate = DispatchSemaphore(value: 0)
        let shared = Shared()
        let first = Task {
            await worker.run {
                shared.started.store(true, ordering: .releasing)
                gate.wait()
                shared.done.add(1, ordering: .relaxed)
            }
        }
        // Wait until the first job runs …
        while !shared.started.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(5)) }
        let second = Task { await worker.run { shared.done.add(1, ordering: .relaxed) } }
        // … and the second is queued behind it; then shut down while both are owed.
        while worker.waiting == 0 { try await Task.sleep(for: .milliseconds(5)) }
        DedicatedThread.start(name: "test-stopper") {
            worker.shutdown()
            shared.stopped.store(true, ordering: .releasing)
        }
        gate.signal()
        await first.value
        await second.value
        while !shared.stopped.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(5)) }
        let done = shared.done.load(ordering: .relaxed)
        #expect(done == 2)
        // After shutdown a call runs on the caller's thread.
        #expect(await worker.run { 1 } == 1)
    }
}
