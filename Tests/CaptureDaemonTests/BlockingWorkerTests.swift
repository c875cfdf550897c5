import Foundation
import Synchronization
import Testing
@testable import CaptureDaemon

@Suite struct BlockingWorkerTests {
    struct Failure: Error, Equatable { var code: Int }

    @Test func runsOnItsOwnNamedThreadAndReturnsTheResult() async {
        let worker = BlockingWorker(name: "ac-test-io")
        defer { worker.shutdown() }
        let name = await worker.run { () -> String in
            var buffer = [CChar](repeating: 0, count: 32)
            pthread_getname_np(pthread_self(), &buffer, buffer.count)
            return String(cString: buffer)
        }
        #expect(name == "ac-test-io")
        #expect(await worker.run { 6 * 7 } == 42)
    }

    @Test func errorsReachTheCaller() async {
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
        let log = Mutex<[Int]>([])
        let running = Atomic<Int>(0)
        let overlapped = Atomic<Bool>(false)
        // Sequential callers: strict order.
        for i in 0..<50 {
            await worker.run { log.withLock { $0.append(i) } }
        }
        #expect(log.withLock { $0 } == Array(0..<50))
        // Many concurrent callers: every one gets its own result, and jobs never overlap.
        let results = await withTaskGroup(of: (Int, Int).self) { group in
            for i in 0..<200 {
                group.addTask {
                    let value = await worker.run { () -> Int in
                        if running.add(1, ordering: .relaxed).newValue > 1 { overlapped.store(true, ordering: .relaxed) }
                        usleep(50)
                        running.subtract(1, ordering: .relaxed)
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
        #expect(!overlapped.load(ordering: .relaxed))
    }

    @Test func shutdownRunsWhatIsQueuedAndLaterCallsStillComplete() async throws {
        let worker = BlockingWorker(name: "ac-test-stop")
        let gate = DispatchSemaphore(value: 0)
        let done = Atomic<Int>(0)
        let started = Atomic<Bool>(false)
        let first = Task {
            await worker.run {
                started.store(true, ordering: .releasing)
                gate.wait()
                done.add(1, ordering: .relaxed)
            }
        }
        // Wait until the first job runs …
        while !started.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(5)) }
        let second = Task { await worker.run { done.add(1, ordering: .relaxed) } }
        // … and the second is queued behind it.
        while worker.waiting == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let stopped = Atomic<Bool>(false)
        let stopper = Thread {
            worker.shutdown()
            stopped.store(true, ordering: .releasing)
        }
        stopper.start()
        gate.signal()
        await first.value
        await second.value
        while !stopped.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(5)) }
        #expect(done.load(ordering: .relaxed) == 2)
        // After shutdown a call runs on the caller's thread.
        #expect(await worker.run { 1 } == 1)
    }
}
