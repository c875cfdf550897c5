// Delivery end to end when the link fails: a 30 s S3 outage with after_upload = "delete", a daemon killed with
// a backlog, and the min_free_bytes floor deleting undelivered files only as upload.lost.
import CaptureCore
import CaptureProtocol
import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Watches a directory from its own thread and notes when each `.wav` file in it disappears.
final class DeletionWatcher: Sendable {
    private let directory: String
    private let state = Mutex<(seen: Set<String>, deleted: [String: Date], stop: Bool, stopped: Bool)>(
        ([], [:], false, false))

    init(directory: String) {
        self.directory = directory
        Thread.detachNewThread { [self] in watch() }
    }

    /// Each file that disappeared, with when it was noticed gone (within 50 ms of its deletion).
    var deleted: [String: Date] { state.withLock { $0.deleted } }

    /// Stops watching; returns once the thread is done. Idempotent.
    func stop() {
        state.withLock { $0.stop = true }
        while !state.withLock({ $0.stopped }) { usleep(10_000) }
    }

    private func watch() {
        while !state.withLock({ $0.stop }) {
            let now = Set(wavFiles(under: directory))
            let at = Date()
            state.withLock { state in
                for gone in state.seen.subtracting(now) where state.deleted[gone] == nil {
                    state.deleted[gone] = at
                }
                state.seen.formUnion(now)
            }
            usleep(50_000)
        }
        state.withLock { $0.stopped = true }
    }
}

/// `2026-12-01T22:36:09+00:00` (what s3.py prints) as a date.
private func isoDate(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text)
}

extension EndToEnd {
    @Suite(.serialized, .enabled(if: S3Server.shouldRun, Comment(rawValue: S3Server.unavailableReason ?? "")))
    struct DeliveryOutageEndToEndTests {
        @Test("after a 30 s outage every file arrives once, in order; none is deleted before its verified upload")
        func anOutageDelaysButLosesNothing() throws {
            let s3 = try S3Server.start()
            defer { s3.stop() }
            try DaemonFixture.with(environment: deliveryEnvironment) { dir in
                let rcloneConfig = dir.file("rclone.conf")
                try Rclone.writeConfig([s3.rcloneSection(name: "s3test")], to: rcloneConfig)
                try dir.writeConfig(
                    deliveryConfig(
                        dir,
                        destinations: [
                            destinationTOML(
                                name: "s3", remote: s3.remote(name: "s3test", prefix: "fleet"),
                                rcloneConfig: rcloneConfig, path: "{station}/{recording}/{file}", timeoutSeconds: 5,
                                extra: retryCapTOML)
                        ],
                        recordings: [
                            DeliveryRecording(
                                name: "r", directory: dir.file("r"),
                                extra: "upload = [\"s3\"]\nafter_upload = \"delete\"")
                        ]))
                let watcher = DeletionWatcher(directory: dir.file("r"))
                defer { watcher.stop() }
                let daemon = try dir.launch()
                #expect(daemon.waitForLog("event=upload.done", timeout: 30), "\(daemon.log)")

                // The outage: 30 s in which files keep closing (15 of them at 2 s).
                s3.pause()
                let closedAtPause = daemon.events("segment.closed").count
                let pausedAt = Date()
                #expect(
                    waitUntil(timeout: 40) {
                        Date().timeIntervalSince(pausedAt) >= 30
                            && daemon.events("segment.closed").count >= closedAtPause + 12
                    }, "\(daemon.log)")
                let failedDuringOutage = daemon.events("upload.failed")
                s3.resume()

                // Everything closed so far arrives.
                let closed = daemon.events("segment.closed").compactMap { $0["segment.path"] }
                let keyOf = { (path: String) in
                    "fleet/\(deliveryStation)/r/" + (path as NSString).lastPathComponent
                }
                #expect(
                    waitUntil(timeout: 90) {
                        let done = Set(daemon.events("upload.done").compactMap { $0["segment.path"] })
                        return closed.allSatisfy(done.contains)
                    }, "\(daemon.log)")
                #expect(daemon.terminate().status == 0, "\(daemon.log)")
                watcher.stop()

                // Retries were reported while the server hung, with growing attempt numbers.
                #expect(!failedDuringOutage.isEmpty, "no upload.failed during the outage: \(daemon.log)")
                let attempts = failedDuringOutage.compactMap { $0["upload.attempt"].flatMap { Int($0) } }
                #expect((attempts.max() ?? 0) >= 2, "\(failedDuringOutage)")
                // In order of closing: the audio files' upload.done events follow the closing order.
                let doneOrder = daemon.events("upload.done").compactMap { $0["segment.path"] }.filter {
                    $0.hasSuffix(".wav")
                }
                #expect(Array(doneOrder.prefix(closed.count)) == closed, "done \(doneOrder)\nclosed \(closed)")
                // Exactly once: one PUT per key, audio and sidecar.
                let puts = try s3.putCounts()
                for path in closed {
                    #expect(puts[keyOf(path)] == 1, "\(keyOf(path)): \(puts[keyOf(path)] ?? 0) PUTs")
                    #expect(
                        puts[keyOf(path) + ".json"] == 1, "\(keyOf(path)).json: \(puts[keyOf(path) + ".json"] ?? 0)")
                }
                #expect(puts.values.allSatisfy { $0 == 1 }, "\(puts)")
                // Nothing deleted before its verified upload: each deleted file's object was stored before the
                // file went (S3 times are whole seconds, rounded down), and its upload.done came first.
                let objects = Dictionary(uniqueKeysWithValues: try s3.objects().map { ($0.key, $0) })
                let deleted = watcher.deleted
                #expect(!deleted.isEmpty, "after_upload = \"delete\" deleted nothing")
                for (path, when) in deleted {
                    let object = objects[keyOf(path)]
                    #expect(object != nil, "\(path) was deleted but never uploaded")
                    if let object, let stored = isoDate(object.lastModified) {
                        #expect(stored <= when, "\(path) deleted at \(when), stored at \(stored)")
                    }
                }
                // What was uploaded is the audio, bit-exact and unbroken from file to file.
                let downloads = try TemporaryDirectory(in: "/tmp")
                var files: [String] = []
                for path in closed {
                    let data = try s3.get(keyOf(path))
                    let done = daemon.events("upload.done").first { $0["segment.path"] == path }
                    #expect(done?["upload.sha256"] == sha256(data), "\(path)")
                    let copy = downloads.file((path as NSString).lastPathComponent)
                    try data.write(to: URL(fileURLWithPath: copy))
                    files.append(copy)
                }
                let report = try PatternCheck.check(channels: 2, files: files)
                #expect(report.mismatchingFrames == 0 && report.discontinuities == 0, "\(report)")
                print(
                    "delivery-figures test=outage files=\(closed.count) failed_attempts=\(daemon.events("upload.failed").count) "
                        + "deleted=\(deleted.count)")
            }
        }

        @Test("a daemon killed with 10 files pending uploads all 10 after its restart, none twice")
        func aBacklogSurvivesSIGKILL() throws {
            let s3 = try S3Server.start()
            defer { s3.stop() }
            try DaemonFixture.with(launch: false, environment: deliveryEnvironment) { dir in
                let rcloneConfig = dir.file("rclone.conf")
                try Rclone.writeConfig([s3.rcloneSection(name: "s3test")], to: rcloneConfig)
                try dir.writeConfig(
                    deliveryConfig(
                        dir,
                        destinations: [
                            destinationTOML(
                                name: "s3", remote: s3.remote(name: "s3test", prefix: "fleet"),
                                rcloneConfig: rcloneConfig, path: "{station}/{recording}/{file}", timeoutSeconds: 5,
                                extra: retryCapTOML)
                        ],
                        recordings: [DeliveryRecording(name: "r", directory: dir.file("r"), extra: "upload = [\"s3\"]")]
                    ))
                s3.pause()
                let first = try dir.launch()
                #expect(first.waitForLog("event=segment.closed", count: 10, timeout: 40), "\(first.log)")
                let uploads = try dir.cli(["uploads", "--json"])
                let status = try? ControlAPI.decoder().decode(UploadsResponse.self, from: Data(uploads.out.utf8))
                #expect((status?.destinations.first?.pendingFiles ?? 0) >= 10, "\(uploads.out)")
                first.kill9()
                let pending = first.events("segment.closed").compactMap { $0["segment.path"] }
                #expect(pending.count >= 10)

                let second = try dir.launch()
                #expect(second.waitForLog("ffmpeg started", timeout: 20), "\(second.log)")
                s3.resume()
                let keyOf = { (path: String) in "fleet/\(deliveryStation)/r/" + (path as NSString).lastPathComponent }
                #expect(
                    waitUntil(timeout: 120) {
                        let keys = Set((try? s3.objects())?.map(\.key) ?? [])
                        return pending.allSatisfy { keys.contains(keyOf($0)) && keys.contains(keyOf($0) + ".json") }
                    }, "first run:\n\(first.log)\nsecond run:\n\(second.log)")
                // A file the kill cut short (when the next one had begun) is repaired and uploaded too, unless
                // it was still empty: then the repair removes it.
                let repaired = second.events("segment.repaired").filter { $0["repair.action"] != "removedEmpty" }
                    .compactMap { $0["segment.path"] }
                #expect(repaired.allSatisfy { $0.hasSuffix(".wav") && FileManager.default.fileExists(atPath: $0) })
                #expect(
                    waitUntil(timeout: 60) {
                        let keys = Set((try? s3.objects())?.map(\.key) ?? [])
                        return repaired.allSatisfy { keys.contains(keyOf($0)) }
                    }, "\(second.log)")
                #expect(second.terminate().status == 0, "\(second.log)")

                let puts = try s3.putCounts()
                for path in pending + repaired {
                    #expect(puts[keyOf(path)] == 1, "\(keyOf(path)): \(puts[keyOf(path)] ?? 0) PUTs")
                    #expect(
                        (try sha256(s3.get(keyOf(path)))) == (try sha256sum(path)), "\(path) differs from its object")
                }
                #expect(puts.values.allSatisfy { $0 == 1 }, "\(puts)")
            }
        }

        @Test(
            "with uploads blocked the min_free_bytes floor deletes undelivered files only as upload.lost; the ledger holds",
            .enabled(if: isRoot, "mounting a small tmpfs needs root"))
        func theFloorDeletesUndeliveredFilesOnlyAsLost() throws {
            let s3 = try S3Server.start()
            defer { s3.stop() }
            try DaemonFixture.with(launch: false, environment: deliveryEnvironment) { dir in
                let disk = dir.file("disk")
                try mountTmpfs(at: disk, size: "3m")
                defer { unmount(disk) }
                let rcloneConfig = dir.file("rclone.conf")
                try Rclone.writeConfig([s3.rcloneSection(name: "s3test")], to: rcloneConfig)
                try dir.writeConfig(
                    deliveryConfig(
                        dir,
                        destinations: [
                            destinationTOML(
                                name: "s3", remote: s3.remote(name: "s3test", prefix: "fleet"),
                                rcloneConfig: rcloneConfig, timeoutSeconds: 5, extra: retryCapTOML)
                        ],
                        recordings: [
                            DeliveryRecording(
                                name: "r", directory: disk + "/r", segmentSeconds: 1,
                                extra: "upload = [\"s3\"]\ndelete_oldest_when_low = true")
                        ], storage: "min_free_bytes = 1_500_000"))
                s3.pause()
                let daemon = try dir.launch()
                // 3 MiB less a 1.5 MB floor holds about 8 s of audio: then the oldest undelivered files go.
                #expect(daemon.waitForLog("event=upload.lost", count: 3, timeout: 40), "\(daemon.log)")
                // The outbox marks its rows lost on its own thread, just after the event: status follows.
                var uploads = try dir.cli(["uploads", "--json"])
                waitUntil(timeout: 10) {
                    uploads = (try? dir.cli(["uploads", "--json"])) ?? uploads
                    let status = try? ControlAPI.decoder().decode(UploadsResponse.self, from: Data(uploads.out.utf8))
                    return (status?.destinations.first?.lostFiles ?? 0) >= 3
                }
                let status = try? ControlAPI.decoder().decode(UploadsResponse.self, from: Data(uploads.out.utf8))
                #expect((status?.destinations.first?.lostFiles ?? 0) >= 3, "\(uploads.out)")
                #expect(daemon.terminate().status == 0, "\(daemon.log)")

                // Every file that is gone went as an upload.lost naming it and its frames; none went otherwise.
                let closed = daemon.events("segment.closed").compactMap { $0["segment.path"] }
                let gone = closed.filter { !FileManager.default.fileExists(atPath: $0) }
                let lost = daemon.events("upload.lost")
                let lostPaths = lost.compactMap { $0["segment.path"] }
                #expect(Set(gone) == Set(lostPaths), "gone \(gone)\nlost \(lost)")
                #expect(lostPaths.count == Set(lostPaths).count, "a file lost twice: \(lostPaths)")
                #expect(lost.allSatisfy { lostFrames($0) != nil }, "upload.lost without frames: \(lost)")
                // The ledger: captured = in the files left + lost with deleted files + not written.
                let delivered = try framesDelivered(daemon)
                let ledger = try LedgerReading(directory: disk + "/r")
                let lostWithFiles = lost.compactMap(lostFrames).reduce(0, +)
                let notWritten = daemon.events("recording.lost").compactMap { $0["lost.frames"].flatMap { Int($0) } }
                    .reduce(0, +)
                #expect(
                    ledger.framesInFiles + lostWithFiles + notWritten == delivered,
                    "in files \(ledger.framesInFiles) + lost with files \(lostWithFiles) + not written \(notWritten) != captured \(delivered); \(ledger)"
                )
                // A not_written gap is in the sidecar of the file after it, which the floor may have deleted since.
                #expect(ledger.gaps("not_written").map(\.frames).reduce(0, +) <= notWritten, "\(ledger)")
                // Nothing reached the server.
                s3.resume()
                #expect(try s3.objects().isEmpty)
                print(
                    "delivery-figures test=floor captured=\(delivered) in_files=\(ledger.framesInFiles) "
                        + "lost_with_files=\(lostWithFiles) not_written=\(notWritten) lost_files=\(lost.count)")
            }
        }
    }
}

/// The `[[destination]]` line capping the retry back-off for the tests, so a resumed server is retried within
/// seconds (the back-off starts at 5 s, so 5 is the shortest cap that means anything).
let retryCapTOML = "retry_max_seconds = 5"
