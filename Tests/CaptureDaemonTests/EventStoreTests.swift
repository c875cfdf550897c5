import CaptureProtocol
import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import CaptureDaemon

@Suite struct EventStoreTests {
    final class Stall: Sendable { let on = Atomic<Bool>(true) }

    private func event(_ i: Int) -> CaptureEvent {
        CaptureEvent(level: .info, kind: "test.event", message: "a test event", fields: ["i": .int(Int64(i))])
    }

    private func lines(_ path: String) throws -> [[String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try data.split(separator: 0x0A).map {
            try #require(try JSONSerialization.jsonObject(with: Data($0)) as? [String: Any])
        }
    }

    private func index(_ line: [String: Any]) -> Int? {
        (line["fields"] as? [String: Any])?["i"] as? Int
    }

    @Test func linesKeepTheOrderTheyWereAppendedIn() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = EventStore(directory: dir.path + "/state")
        for i in 0..<500 { #expect(store.append(event(i))) }
        await store.flush()
        let written = try lines(store.path)
        #expect(written.compactMap(index) == Array(0..<500))
        #expect(store.failures == 0)
        #expect(store.dropped == 0)
        // And they load back, oldest first.
        #expect(store.load(limit: 3).map { $0.fields["i"] } == [.int(497), .int(498), .int(499)])
    }

    @Test func rotationStaysAsItWas() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = EventStore(directory: dir.path, maximumBytes: 2000, keptFiles: 2)
        for i in 0..<100 { store.append(event(i)) }
        await store.flush()
        let current = try lines(store.path).compactMap(index)
        let older = try lines(store.path + ".1").compactMap(index)
        #expect(current.last == 99)
        #expect(older.last.map { $0 + 1 } == current.first)
        #expect(FileManager.default.fileExists(atPath: store.path + ".2"))
        #expect(!FileManager.default.fileExists(atPath: store.path + ".3"))
    }

    @Test func aStoreLetGoWritesWhatWasQueued() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/events.jsonl"
        let gate = DispatchSemaphore(value: 0)
        do {
            let store = EventStore(directory: dir.path, beforeWrite: { gate.wait() })
            for i in 0..<20 { store.append(event(i)) }
        }
        // The store is gone; its thread still owes 20 lines.
        for _ in 0..<20 { gate.signal() }
        var written: [Int] = []
        for _ in 0..<500 {
            written = (try? lines(path).compactMap(index)) ?? []
            if written.count == 20 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(written == Array(0..<20))
    }

    @Test func aStalledDiskNeverBlocksTheEmitterAndDropsAreCountedAndWritten() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let gate = DispatchSemaphore(value: 0)
        let stalled = Stall()
        let store = EventStore(
            directory: dir.path, capacity: 10,
            beforeWrite: { if stalled.on.load(ordering: .relaxed) { gate.wait() } })
        let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), store: store)
        // The writer takes the first event and stalls in its write; 10 more fit; the rest are dropped.
        let started = Date()
        for i in 0..<100 { events.emit(event(i)) }
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(events.recent.count == 100)
        #expect(store.dropped >= 80)
        #expect(events.droppedFromStore == store.dropped)
        let dropped = store.dropped
        stalled.on.store(false, ordering: .relaxed)
        gate.signal()
        await events.flush()
        events.emit(event(100))
        await events.flush()
        let written = try lines(store.path)
        let kept = written.compactMap(index)
        #expect(kept.count == 100 - dropped + 1)
        #expect(kept == kept.sorted())
        #expect(kept.last == 100)
        // Lines say how many were lost, where they were lost: one per run of drops (usually one; two
        // when the writer took an event between two runs), together counting every dropped event.
        let markers = written.filter { $0["kind"] as? String == "events.dropped" }
        #expect(!markers.isEmpty)
        let counted = markers.compactMap { ($0["fields"] as? [String: Any])?["events.dropped"] as? Int }.reduce(0, +)
        #expect(counted == dropped)
        let markerIndex = try #require(written.lastIndex { $0["kind"] as? String == "events.dropped" })
        #expect(index(written[markerIndex + 1]) == 100)
    }
}
