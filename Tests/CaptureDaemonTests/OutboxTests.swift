// The upload outbox end to end with the real rclone: remotes are local folders (directly, or through an
// `alias` remote in a generated rclone.conf), the database is the real SQLite file.
import CaptureCore
import CaptureProtocol
import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import CaptureDaemon

@Suite(.serialized) struct OutboxTests {
    /// One test's world: a recording directory, a state directory, an rclone.conf, an event log.
    final class World: Sendable {
        let dir: TemporaryDirectory
        let recordings: String
        let state: String
        let rcloneConfig: String
        let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        /// 2026-03-04 05:06:07 UTC.
        static let start = 1_772_600_767.0

        init() throws {
            dir = try TemporaryDirectory(prefix: "outbox")
            recordings = dir.path + "/rec"
            state = dir.path + "/state"
            rcloneConfig = dir.path + "/rclone.conf"
            try FileManager.default.createDirectory(atPath: recordings, withIntermediateDirectories: true)
            try "[later]\ntype = alias\nremote = \(dir.path)/later/dest\n".write(
                toFile: rcloneConfig, atomically: true, encoding: .utf8)
        }

        func destination(_ name: String, remote: String) -> DestinationConfiguration {
            var destination = DestinationConfiguration(name: name, remote: remote)
            destination.rcloneConfig = rcloneConfig
            destination.retryMaxSeconds = 1
            destination.timeoutSeconds = 60
            return destination
        }

        func configuration(
            _ destinations: [DestinationConfiguration], afterUpload: AfterUpload = .keep
        ) -> Configuration {
            var configuration = Configuration()
            configuration.station.id = "st1"
            configuration.storage.state = state
            var recording = RecordingConfiguration(name: "rec", directory: recordings)
            recording.upload = destinations.map(\.name)
            recording.afterUpload = afterUpload
            configuration.recordings = [recording]
            configuration.destinations = destinations
            return configuration
        }

        func outbox(_ configuration: Configuration, events: EventLog? = nil) throws -> Outbox {
            var options = Outbox.Options()
            options.retryBaseSeconds = 0.2
            return Outbox(
                configuration: configuration, database: try DeliveryDatabase(stateDirectory: state),
                events: events ?? self.events,
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                options: options)
        }

        /// Writes a closed file `index` (distinct random bytes) with its sidecar, as a writer leaves them.
        @discardableResult
        func closedFile(_ index: Int, bytes: Int = 70_000) throws -> String {
            let path = recordings + "/rec-\(index).wav"
            var data = [UInt8](repeating: 0, count: bytes)
            for i in data.indices { data[i] = UInt8(truncatingIfNeeded: i &* 31 &+ index &* 7 &+ (i >> 8)) }
            FileManager.default.createFile(atPath: path, contents: Data(data))
            let sidecar = """
                {
                  "segment" : {
                    "frames" : \(1000 + index),
                    "path" : "\(path)",
                    "start_time" : \(Self.start + Double(index) * 60)
                  },
                  "sample_rate" : 48000
                }

                """
            try sidecar.write(toFile: path + ".json", atomically: true, encoding: .utf8)
            return path
        }

        func close(_ path: String, index: Int, on events: EventLog? = nil) {
            (events ?? self.events).emit(
                .info, "segment.closed", "segment closed", recording: "rec",
                [
                    "segment.path": .string(path), "segment.frames": .int(Int64(1000 + index)),
                    "segment.start_time": .epoch(Self.start + Double(index) * 60),
                ])
        }

        func key(_ index: Int) -> String {
            // {station}/{recording}/%Y/%m/%d/{file} of a start on 2026-03-04.
            "st1/rec/2026/03/04/rec-\(index).wav"
        }

        func kinds(_ kind: String, events: EventLog? = nil) -> [CaptureEvent] {
            (events ?? self.events).recent.filter { $0.kind == kind }
        }
    }

    static func sha256(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { SHA256.hash([UInt8]($0)).hexString }
    }

    static func string(_ value: EventValue?) -> String? {
        if case .string(let text)? = value { return text }
        return nil
    }

    /// Waits (up to `seconds`) until `condition` holds.
    static func waitUntil(
        _ seconds: Double = 30, _ condition: @Sendable () async -> Bool,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await condition() { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("condition not met within \(seconds) s", sourceLocation: sourceLocation)
    }

    @Test func closedFilesReachEveryDestinationVerifiedWithTheirSidecars() async throws {
        let world = try World()
        let local = world.destination("local", remote: world.dir.path + "/dest")
        let alias = world.destination("alias", remote: "later:")
        let outbox = try world.outbox(world.configuration([local, alias]))
        try outbox.prepare()
        let running = Task { await outbox.run() }
        defer { running.cancel() }
        let paths = try (1...3).map { try world.closedFile($0) }
        for (index, path) in zip(1...3, paths) { world.close(path, index: index) }

        await Self.waitUntil { world.kinds("upload.done").count == 6 }
        for (index, path) in zip(1...3, paths) {
            for root in [world.dir.path + "/dest", world.dir.path + "/later/dest"] {
                let remote = root + "/" + world.key(index)
                #expect(Self.sha256(remote) == Self.sha256(path), "\(remote)")
                let remoteSidecar = try #require(FileManager.default.contents(atPath: remote + ".json"))
                #expect(remoteSidecar == FileManager.default.contents(atPath: path + ".json"))
                let object = try #require(try JSONSerialization.jsonObject(with: remoteSidecar) as? [String: Any])
                #expect(object["sha256"] as? String == Self.sha256(path))
                #expect((object["md5"] as? String)?.count == 32)
                // The sidecar went up after the audio.
                let audioTime = try #require(
                    try FileManager.default.attributesOfItem(atPath: remote)[.modificationDate] as? Date)
                let sidecarTime = try #require(
                    try FileManager.default.attributesOfItem(atPath: remote + ".json")[.modificationDate] as? Date)
                #expect(sidecarTime >= audioTime)
            }
            #expect(!outbox.holds.isHeld(path))
        }
        let done = world.kinds("upload.done").filter { $0.fields["destination"] == .string("local") }
        #expect(done.map { Self.string($0.fields["upload.key"]) } == (1...3).map { world.key($0) })
        #expect(done.first?.fields["upload.sha256"] == .string(Self.sha256(paths[0]) ?? ""))
        #expect(done.first?.fields["upload.bytes"] == .int(70_000))
        #expect(done.allSatisfy { $0.recording == "rec" })
        let status = await outbox.status()
        #expect(status.map(\.deliveredFiles) == [3, 3])
        #expect(status.map(\.pendingFiles) == [0, 0])
        #expect(status.map(\.failedAttempts) == [0, 0])
        #expect(world.kinds("upload.failed").isEmpty)
    }

    @Test func aDifferentObjectAtTheKeyIsAConflictNeverOverwritten() async throws {
        let world = try World()
        let local = world.destination("local", remote: world.dir.path + "/dest")
        let outbox = try world.outbox(world.configuration([local]))
        try outbox.prepare()
        let squatter = world.dir.path + "/dest/" + world.key(1)
        try FileManager.default.createDirectory(
            atPath: (squatter as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try "someone else's file".write(toFile: squatter, atomically: true, encoding: .utf8)
        let paths = try (1...2).map { try world.closedFile($0) }
        // The same bytes already at the second key (an earlier run got that far): that one is delivered.
        try FileManager.default.copyItem(atPath: paths[1], toPath: world.dir.path + "/dest/" + world.key(2))
        let running = Task { await outbox.run() }
        defer { running.cancel() }
        for (index, path) in zip(1...2, paths) { world.close(path, index: index) }

        await Self.waitUntil { world.kinds("upload.done").count == 1 && !world.kinds("upload.failed").isEmpty }
        let failed = try #require(world.kinds("upload.failed").first)
        #expect(failed.fields["upload.conflict"] == .bool(true))
        #expect(failed.fields["destination"] == .string("local"))
        #expect(Self.string(failed.fields["error"])?.contains(world.key(1)) == true)
        #expect(try String(contentsOfFile: squatter, encoding: .utf8) == "someone else's file")
        #expect(Self.sha256(world.dir.path + "/dest/" + world.key(2)) == Self.sha256(paths[1]))
        #expect(outbox.holds.isHeld(paths[0]))
        #expect(!outbox.holds.isHeld(paths[1]))
        let status = try #require(await outbox.status().first)
        #expect(status.conflicts == 1)
        #expect(status.deliveredFiles == 1)
        #expect(status.pendingFiles == 0)

        // The operator moves the other object aside and restarts: the file in conflict is tried again.
        running.cancel()
        await running.value
        try FileManager.default.moveItem(atPath: squatter, toPath: squatter + ".theirs")
        let restarted = try world.outbox(world.configuration([local]))
        try restarted.prepare()
        let again = Task { await restarted.run() }
        defer { again.cancel() }
        await Self.waitUntil { world.kinds("upload.done").count == 2 }
        #expect(Self.sha256(squatter) == Self.sha256(paths[0]))
        #expect(!restarted.holds.isHeld(paths[0]))
        let resolved = try #require(await restarted.status().first)
        #expect(resolved.conflicts == 0 && resolved.pendingFiles == 0, "\(resolved)")
    }

    @Test func aRemoteThatFailsIsRetriedWithBackOffThenDrainsInOrder() async throws {
        let world = try World()
        // `later:` is an alias to DIR/later/dest; while DIR/later is a plain file nothing can be made there.
        let blocker = world.dir.path + "/later"
        FileManager.default.createFile(atPath: blocker, contents: Data("not a folder".utf8))
        let outbox = try world.outbox(world.configuration([world.destination("later", remote: "later:")]))
        try outbox.prepare()
        let running = Task { await outbox.run() }
        defer { running.cancel() }
        let paths = try (1...3).map { try world.closedFile($0) }
        for (index, path) in zip(1...3, paths) { world.close(path, index: index) }

        await Self.waitUntil { world.kinds("upload.failed").count >= 3 }
        let failures = world.kinds("upload.failed")
        #expect(failures.allSatisfy { $0.fields["upload.conflict"] == .bool(false) })
        #expect(failures.allSatisfy { Self.string($0.fields["upload.next_try_utc"]) != nil })
        // The oldest file is the one tried again, attempt after attempt.
        #expect(failures.contains { $0.fields["upload.attempt"] == .int(2) })
        let waiting = try #require(await outbox.status().first)
        #expect(waiting.pendingFiles == 3)
        #expect(waiting.lastError != nil)
        #expect(paths.allSatisfy { outbox.holds.isHeld($0) })

        try FileManager.default.removeItem(atPath: blocker)
        await Self.waitUntil { world.kinds("upload.done").count == 3 }
        let order = world.kinds("upload.done").map { Self.string($0.fields["segment.path"]) }
        #expect(order == paths.map { Optional($0) })
        for (index, path) in zip(1...3, paths) {
            #expect(Self.sha256(world.dir.path + "/later/dest/" + world.key(index)) == Self.sha256(path))
        }
        let drained = try #require(await outbox.status().first)
        #expect(drained.pendingFiles == 0)
        #expect(drained.deliveredFiles == 3)
        #expect(drained.failedAttempts >= 3)
        #expect(drained.nextTryTime == nil)
    }

    @Test func aRestartDeliversWhatWasPendingAndWhatClosedMeanwhileNothingTwice() async throws {
        let world = try World()
        let configuration = world.configuration([world.destination("local", remote: world.dir.path + "/dest")])
        // In the folder before uploads were turned on: never uploaded.
        try world.closedFile(0)
        try await Task.sleep(for: .milliseconds(20))
        let firstEvents = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        do {
            let first = try world.outbox(configuration, events: firstEvents)
            try first.prepare()
            let path = try world.closedFile(1)
            world.close(path, index: 1, on: firstEvents)
            // Enqueued, and the daemon stops before it uploads anything.
            await Self.waitUntil { await first.status().first?.pendingFiles == 1 }
        }
        // Closed while the daemon was down: no event, only the file.
        try world.closedFile(2)

        let second = try world.outbox(configuration)
        try second.prepare()
        #expect(second.holds.isHeld(world.recordings + "/rec-1.wav"))
        let running = Task { await second.run() }
        defer { running.cancel() }
        await Self.waitUntil { world.kinds("upload.done").count == 2 }
        // The same close reported again (a duplicate event) uploads nothing more.
        world.close(world.recordings + "/rec-1.wav", index: 1)
        try await Task.sleep(for: .milliseconds(500))
        let done = world.kinds("upload.done").compactMap { Self.string($0.fields["segment.path"]) }
        // Both at once (two transfers): either may finish first; each exactly once.
        #expect(done.sorted() == [world.recordings + "/rec-1.wav", world.recordings + "/rec-2.wav"])
        #expect(!FileManager.default.fileExists(atPath: world.dir.path + "/dest/" + world.key(0)))
        #expect(FileManager.default.fileExists(atPath: world.dir.path + "/dest/" + world.key(2)))
        let status = try #require(await second.status().first)
        #expect(status.deliveredFiles == 2)
        #expect(status.pendingFiles == 0)
    }

    @Test func afterUploadDeleteWaitsForAVerifiedCopyAtEveryDestination() async throws {
        let world = try World()
        let blocker = world.dir.path + "/later"
        FileManager.default.createFile(atPath: blocker, contents: Data("not a folder".utf8))
        let configuration = world.configuration(
            [
                world.destination("local", remote: world.dir.path + "/dest"),
                world.destination("later", remote: "later:"),
            ],
            afterUpload: .delete)
        let outbox = try world.outbox(configuration)
        try outbox.prepare()
        let running = Task { await outbox.run() }
        defer { running.cancel() }
        let path = try world.closedFile(1)
        world.close(path, index: 1)

        await Self.waitUntil { world.kinds("upload.done").count == 1 && !world.kinds("upload.failed").isEmpty }
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(outbox.holds.isHeld(path))
        // Retention leaves it alone while it waits.
        let sweep = RetentionSweep(directory: world.recordings, keepDays: nil, maxBytes: 0)
        #expect(sweep.run(holds: outbox.holds).isEmpty)
        #expect(FileManager.default.fileExists(atPath: path))

        let sha = Self.sha256(path)
        try FileManager.default.removeItem(atPath: blocker)
        await Self.waitUntil { !world.kinds("segment.deleted").isEmpty }
        let deleted = try #require(world.kinds("segment.deleted").first)
        #expect(deleted.fields["reason"] == .string("after_upload"))
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: path + ".json"))
        #expect(Self.sha256(world.dir.path + "/dest/" + world.key(1)) == sha)
        #expect(Self.sha256(world.dir.path + "/later/dest/" + world.key(1)) == sha)
        #expect(world.kinds("upload.done").count == 2)
    }

    @Test func retentionSkipsHeldFiles() throws {
        let world = try World()
        let paths = try (1...3).map { try world.closedFile($0) }
        let holds = UploadHolds()
        holds.hold(paths[1], recording: "rec", destinations: ["local"], frames: 1001)
        let deletions = RetentionSweep(directory: world.recordings, keepDays: nil, maxBytes: 0).run(holds: holds)
        #expect(deletions.map(\.path) == [paths[0], paths[2]])
        #expect(FileManager.default.fileExists(atPath: paths[1]))
        holds.release(paths[1], destination: "local")
        #expect(!holds.isHeld(paths[1]))
    }

    @Test func theFreeSpaceFloorDeletesUnheldFilesFirstAndReportsHeldOnesLost() async throws {
        let world = try World()
        let outbox = try world.outbox(
            world.configuration([world.destination("local", remote: world.dir.path + "/dest")]))
        try outbox.prepare()
        // The oldest file waits for its upload (the outbox is not running); two newer ones do not.
        let held = try world.closedFile(1, bytes: 1000)
        world.close(held, index: 1)
        await Self.waitUntil { await outbox.status().first?.pendingFiles == 1 }
        let free1 = try world.closedFile(2, bytes: 1000)
        let free2 = try world.closedFile(3, bytes: 1000)
        #expect(outbox.holds.isHeld(held))

        // Free space grows by 1000 bytes for each of the three files deleted.
        let recordings = world.recordings
        let guardian = DiskSpaceGuard(minFreeBytes: 2500, events: world.events, holds: outbox.holds) { _ in
            let left = RetentionSweep.closedFiles(in: recordings).count
            return (UInt64(1000 * (3 - left)), 1 << 30, 1, "/")
        }
        guardian.register("rec", directory: world.recordings, deleteOldestWhenLow: true)
        #expect(guardian.check(directory: world.recordings) == .ok)
        let deleted = world.kinds("segment.deleted").compactMap { Self.string($0.fields["segment.path"]) }
        #expect(deleted == [free1, free2, held])
        let lost = try #require(world.kinds("upload.lost").first)
        #expect(lost.level == .warning)
        #expect(lost.recording == "rec")
        #expect(lost.fields["segment.path"] == .string(held))
        #expect(lost.fields["segment.frames"] == .int(1001))
        #expect(lost.fields["destination"] == .string("local"))
        #expect(lost.fields["reason"] == .string("deleted by the min_free_bytes floor before it was uploaded"))
        #expect(!outbox.holds.isHeld(held))
        await Self.waitUntil { await outbox.status().first?.lostFiles == 1 }
        #expect(await outbox.status().first?.pendingFiles == 0)
    }

    @Test func objectKeysFollowTheTemplateAndNeverClimbOut() throws {
        let inputs = ObjectKey.Inputs(
            station: "st1", recording: "rec", source: "main", path: "/r/2026-03-04/a.wav", directory: "/r",
            startTime: World.start)
        #expect(try ObjectKey(template: DestinationConfiguration.defaultPath, inputs).key == "st1/rec/2026/03/04/a.wav")
        #expect(try ObjectKey(template: "{source}/%H%M%S/{relpath}", inputs).key == "main/050607/2026-03-04/a.wav")
        #expect(try ObjectKey(template: "../x//./{file}", inputs).key == "x/a.wav")
        #expect(throws: ObjectKey.EmptyKeyError.self) { try ObjectKey(template: "../..//", inputs) }
        #expect(ObjectKey.join(remote: "s3:bucket", key: "k") == "s3:bucket/k")
        #expect(ObjectKey.join(remote: "arch:", key: "k") == "arch:k")
    }

    /// The real writer's `segment.closed`: the file goes up with a sidecar that has its hashes and still
    /// matches docs/sidecar.schema.json.
    @Test(.enabled(if: SchemaCheck.isAvailable, "jsonschema is not installed: run `sh scripts/install-test-python.sh`"))
    func theWritersFilesGoUpWithHashedSidecarsThatMatchTheSchema() async throws {
        let world = try World()
        var configuration = world.configuration([world.destination("local", remote: world.dir.path + "/dest")])
        configuration.recordings[0].segmentSeconds = 1
        configuration.recordings[0].align = .samples
        configuration.recordings[0].filename = "{seq}.wav"
        let outbox = try world.outbox(configuration)
        try outbox.prepare()
        let running = Task { await outbox.run() }
        defer { running.cancel() }
        let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16)
        let writer = SegmentWriter(
            recording: configuration.recordings[0], format: format, events: world.events,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let chunkFrames = 4800
        let pool = ChunkPool(chunkBytes: chunkFrames * 4, initialCount: 2)
        for i in 0..<25 {
            let chunk = try #require(pool.acquire())
            chunk.bytes.initializeMemory(as: UInt8.self, repeating: UInt8(i), count: chunkFrames * 4)
            chunk.byteCount = chunkFrames * 4
            chunk.frameCount = chunkFrames
            chunk.firstFrame = Int64(i * chunkFrames)
            chunk.startTime = World.start + Double(i * chunkFrames) / 48_000
            writer.consume(chunk)
            chunk.release()
        }
        writer.finish()
        let closed = world.kinds("segment.closed").compactMap { Self.string($0.fields["segment.path"]) }
        #expect(closed.count == 3)
        await Self.waitUntil { world.kinds("upload.done").count == closed.count }
        var remoteSidecars: [String] = []
        for path in closed {
            let done = try #require(
                world.kinds("upload.done").first { $0.fields["segment.path"] == .string(path) })
            let remote = world.dir.path + "/dest/" + (Self.string(done.fields["upload.key"]) ?? "")
            #expect(Self.sha256(remote) == Self.sha256(path))
            let sidecar = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: remote + ".json")))
                    as? [String: Any])
            #expect(sidecar["sha256"] as? String == Self.sha256(path))
            #expect(
                FileManager.default.contents(atPath: remote + ".json")
                    == FileManager.default.contents(atPath: path + ".json"))
            remoteSidecars.append(remote + ".json")
        }
        let check = try SchemaCheck.validate(remoteSidecars, against: SchemaCheck.schema("sidecar.schema.json"))
        #expect(check.isValid, "\(check)")
    }

    /// An rclone that hangs is killed at the destination's timeout (and reaped); the file stays pending.
    @Test func aHungRcloneIsKilledAtItsTimeoutAndReaped() async throws {
        let world = try World()
        let script = world.dir.path + "/rclone"
        let pidFile = world.dir.path + "/rclone.pid"
        try "#!/bin/sh\necho $$ > \(pidFile)\nexec sleep 60\n".write(toFile: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        var destination = world.destination("local", remote: world.dir.path + "/dest")
        destination.rclone = script
        destination.timeoutSeconds = 1
        let outbox = try world.outbox(world.configuration([destination]))
        try outbox.prepare()
        let running = Task { await outbox.run() }
        defer { running.cancel() }
        let path = try world.closedFile(1)
        world.close(path, index: 1)

        await Self.waitUntil(20) { !world.kinds("upload.failed").isEmpty }
        let failed = try #require(world.kinds("upload.failed").first)
        #expect(Self.string(failed.fields["error"])?.contains("killed after its timeout") == true)
        let pid = try #require(
            Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        await Self.waitUntil(5) { kill(pid, 0) != 0 }
        #expect(await outbox.status().first?.pendingFiles == 1)
        #expect(outbox.holds.isHeld(path))
    }

    /// Shutdown (the run task cancelled) kills a running rclone and reaps it; the file stays pending.
    @Test func shutdownKillsARunningRcloneAndKeepsTheFilePending() async throws {
        let world = try World()
        let script = world.dir.path + "/rclone"
        let pidFile = world.dir.path + "/rclone.pid"
        try "#!/bin/sh\necho $$ > \(pidFile)\nexec sleep 60\n".write(toFile: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        var destination = world.destination("local", remote: world.dir.path + "/dest")
        destination.rclone = script
        let outbox = try world.outbox(world.configuration([destination]))
        try outbox.prepare()
        let running = Task { await outbox.run() }
        let path = try world.closedFile(1)
        world.close(path, index: 1)
        await Self.waitUntil(20) { FileManager.default.fileExists(atPath: pidFile) }
        let pid = try #require(
            Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        running.cancel()
        await running.value
        #expect(kill(pid, 0) != 0)
        #expect(world.kinds("upload.failed").isEmpty)
        #expect(await outbox.status().first?.pendingFiles == 1)
        #expect(outbox.holds.isHeld(path))
    }
}
