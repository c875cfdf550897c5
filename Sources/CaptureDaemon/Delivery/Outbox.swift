// The durable outbox: every closed file of a recording with `upload` reaches each of its destinations
// exactly once, verified, whatever the link does.
import CaptureCore
import CaptureProtocol
import Foundation
import Logging
import Synchronization

/// Uploads closed files (and their sidecars) to `[[destination]]`s with rclone.
///
/// Contract:
/// - ``prepare()`` (blocking, before the recordings start) creates the tables in `delivery.sqlite`, loads
///   the ``UploadHolds``, prunes delivered rows older than 30 days and enqueues the closed files that
///   are not in the outbox yet and closed after the (recording, destination) pair's scan-from time
///   (files closed or repaired while the daemon was down). The first time a pair is seen its scan-from
///   time is now: turning uploads on never uploads the archive that is already there.
/// - From then on every `segment.closed` and `segment.repaired` of a recording with `upload` becomes one
///   row per destination, inserted on the outbox's own thread (the listener only hands off).
/// - ``run()`` uploads, per destination, oldest first, at most `transfers` at once, until cancelled.
///   An object already at the key with the same content counts as delivered; one with other content is
///   a conflict: never overwritten, the file stays held, the next files go on (and it is tried again at
///   the next start, after an operator has moved one of the two aside). A file is delivered when
///   the remote audio and sidecar both match the local size and MD5/SHA-256.
/// - A failure backs the destination off (5 s doubling to `retry_max_seconds`, ±20 %); the failed file
///   is the first tried again, so files arrive in order.
public final class Outbox: Sendable {
    /// Tuning that tests change; the defaults are the daemon's.
    public struct Options: Sendable {
        /// The first pause after a failure; it doubles up to the destination's `retryMaxSeconds`.
        public var retryBaseSeconds: Double = 5
        /// Delivered rows older than this are pruned at start.
        public var keepDeliveredSeconds: Double = 30 * 86_400
        public init() {}
    }

    /// Row states.
    public enum State: String, Sendable {
        case pending, delivered, conflict, lost
    }

    /// One (file, destination) row as the upload loop needs it.
    struct Row: Sendable {
        var id: Int64
        var destination: String
        var recording: String
        var path: String
        var sidecar: String
        var key: String
        var bytes: Int64
        var closeTime: Double
        var attempts: Int64
        var sha256: String?
        var md5: String?
    }

    /// A file to enqueue.
    struct Arrival: Sendable {
        var recording: String
        var path: String
        var frames: Int64?
        var startTime: Double?
        var closeTime: Double
    }

    private enum Result: Sendable {
        case delivered(seconds: Double)
        case conflict(String)
        case failed(String)
        case gone
        case cancelled
    }

    /// What one destination did since the start, for status.
    private struct Progress {
        var failedAttempts: Int64 = 0
        var consecutiveFailures = 0
        var lastSuccessTime: Double?
        var lastError: String?
        var lastErrorTime: Double?
        var nextTryTime: Double?
        var backlogWarned = false
    }

    public let holds: UploadHolds
    private let configuration: Configuration
    private let database: DeliveryDatabase
    private let events: EventLog
    private let logger: Logger
    private let options: Options
    private let station: String
    /// Recordings with a non-empty `upload`, by name.
    private let recordings: [String: RecordingConfiguration]
    private let destinations: [String: DestinationConfiguration]
    /// Inserts, hashing, sidecar rewrites and deletions: never on Swift's shared executor.
    private let worker = BlockingWorker(name: "ac-outbox")
    private let wakes: [String: OutboxWake]
    private let progress: Mutex<[String: Progress]>
    private let listenerToken = Mutex<Int?>(nil)

    public init(
        configuration: Configuration, database: DeliveryDatabase, events: EventLog, holds: UploadHolds = UploadHolds(),
        logger: Logger, options: Options = Options()
    ) {
        self.configuration = configuration
        self.database = database
        self.events = events
        self.holds = holds
        self.logger = logger
        self.options = options
        station = configuration.station.resolvedID
        recordings = Dictionary(
            configuration.recordings.filter { !$0.upload.isEmpty }.map { ($0.name, $0) },
            uniquingKeysWith: { a, _ in a })
        destinations = Dictionary(configuration.destinations.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        wakes = Dictionary(uniqueKeysWithValues: destinations.keys.map { ($0, OutboxWake()) })
        progress = Mutex(Dictionary(uniqueKeysWithValues: destinations.keys.map { ($0, Progress()) }))
    }

    deinit {
        if let token = listenerToken.withLock({ $0 }) { events.removeListener(token) }
        // Ended from a thread of its own: the last reference may go in a job on the worker's thread,
        // which must not wait for itself, and a deinit must not block an async thread.
        let worker = self.worker
        DedicatedThread.start(name: "ac-outbox-end") { worker.shutdown() }
    }

    // MARK: - Start

    static let schema = """
        CREATE TABLE IF NOT EXISTS outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            destination TEXT NOT NULL, recording TEXT NOT NULL, path TEXT NOT NULL, sidecar TEXT NOT NULL,
            key TEXT NOT NULL, bytes INTEGER NOT NULL, frames INTEGER, start_time REAL, close_time REAL NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, next_try REAL,
            last_error TEXT, sha256 TEXT, md5 TEXT, delivered_time REAL,
            UNIQUE (destination, path));
        CREATE INDEX IF NOT EXISTS outbox_queue ON outbox (destination, state, close_time, id);
        CREATE INDEX IF NOT EXISTS outbox_path ON outbox (path);
        CREATE TABLE IF NOT EXISTS outbox_scan (
            recording TEXT NOT NULL, destination TEXT NOT NULL, scan_from REAL NOT NULL,
            PRIMARY KEY (recording, destination));
        """

    /// Creates the tables, loads the holds, prunes, enqueues what closed while the daemon was down, and
    /// starts listening for closed files. Blocking database and file I/O: call it once, at start-up.
    public func prepare(now: Date = Date()) throws {
        let nowSeconds = now.timeIntervalSince1970
        let keep = options.keepDeliveredSeconds
        let pairs = recordings.values.flatMap { recording in
            recording.upload.filter { destinations[$0] != nil }.map { (recording.name, $0) }
        }
        let (held, scanFrom) = try database.runBlocking { db -> ([[SQLiteValue]], [String: Double]) in
            try db.execute(Self.schema)
            return try db.transaction { () throws(SQLiteError) -> ([[SQLiteValue]], [String: Double]) in
                // Prune old deliveries, moving each pair's scan-from past them so they are not found again.
                let pruned = try db.run(
                    "SELECT recording, destination, MAX(close_time) FROM outbox WHERE state = 'delivered' "
                        + "AND delivered_time < ? GROUP BY recording, destination", [.double(nowSeconds - keep)])
                for row in pruned {
                    try db.run(
                        "UPDATE outbox_scan SET scan_from = MAX(scan_from, ?) WHERE recording = ? AND destination = ?",
                        [row[2], row[0], row[1]])
                }
                try db.run(
                    "DELETE FROM outbox WHERE state = 'delivered' AND delivered_time < ?", [.double(nowSeconds - keep)])
                // A conflict waits for an operator; a restart is how they say it is resolved: try again.
                try db.run("UPDATE outbox SET state = 'pending', next_try = NULL WHERE state = 'conflict'")
                var scanFrom: [String: Double] = [:]
                for (recording, destination) in pairs {
                    let found = try db.run(
                        "SELECT scan_from FROM outbox_scan WHERE recording = ? AND destination = ?",
                        [.text(recording), .text(destination)])
                    if let time = found.first?[0].double {
                        scanFrom[recording + "\u{0}" + destination] = time
                    } else {
                        try db.run(
                            "INSERT INTO outbox_scan (recording, destination, scan_from) VALUES (?, ?, ?)",
                            [.text(recording), .text(destination), .double(nowSeconds)])
                    }
                }
                let held = try db.run(
                    "SELECT path, recording, destination, frames FROM outbox WHERE state IN ('pending', 'conflict')")
                return (held, scanFrom)
            }
        }
        for row in held {
            guard let path = row[0].text, let recording = row[1].text, let destination = row[2].text else { continue }
            holds.hold(path, recording: recording, destinations: [destination], frames: row[3].int)
        }
        // Files closed after the scan-from time and not in the outbox (closed while the daemon was down,
        // or a crash between the close and the insert).
        for recording in recordings.values.sorted(by: { $0.name < $1.name }) {
            let times = recording.upload.compactMap { scanFrom[recording.name + "\u{0}" + $0] }
            guard let earliest = times.min() else { continue }
            for file in RetentionSweep.closedFiles(in: recording.directory, now: now) {
                let modified = Self.modificationTime(of: file.path) ?? file.time
                guard modified > earliest else { continue }
                insert(
                    Arrival(
                        recording: recording.name, path: file.path, frames: nil, startTime: file.time,
                        closeTime: modified),
                    onlyAfter: scanFrom)
            }
        }
        holds.onLost { [weak self] path, hold in
            guard let self else { return }
            self.worker.submit { [weak self] in self?.markLost(path, hold: hold) }
        }
        let token = events.addListener { [weak self] event in self?.observe(event) }
        listenerToken.withLock { $0 = token }
    }

    /// The event listener: hands a closed file to the outbox's thread. Never blocks.
    private func observe(_ event: CaptureEvent) {
        guard event.kind == "segment.closed" || event.kind == "segment.repaired",
            let name = event.recording, let recording = recordings[name],
            case .string(let path)? = event.fields["segment.path"]
        else { return }
        var frames: Int64? = nil
        if case .int(let value)? = event.fields["segment.frames"] { frames = value }
        var start: Double? = nil
        switch event.fields["segment.start_time"] {
        case .double(let value)?: start = value
        case .int(let value)?: start = Double(value)
        default: break
        }
        // Held at once, so no sweep between the close and the insert deletes it.
        holds.hold(path, recording: name, destinations: recording.upload, frames: frames)
        let arrival = Arrival(recording: name, path: path, frames: frames, startTime: start, closeTime: event.time)
        worker.submit { [weak self] in self?.insert(arrival, onlyAfter: nil) }
    }

    /// Inserts one row per destination of `arrival`'s recording (none for a (file, destination) already
    /// in the outbox) and wakes those destinations. With `onlyAfter`, only for the pairs whose scan-from
    /// time is before the file's close. Blocking: on the outbox's thread or at start-up.
    private func insert(_ arrival: Arrival, onlyAfter scanFrom: [String: Double]?) {
        guard let recording = recordings[arrival.recording] else { return }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: arrival.path) else {
            logger.warning(
                "a closed file to upload no longer exists", metadata: ["segment.path": "\(arrival.path)"])
            return
        }
        let bytes = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        let start =
            arrival.startTime ?? SegmentSidecar.recordedStartTime(of: arrival.path)
            ?? (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? arrival.closeTime
        let source = recording.source.isEmpty ? (configuration.sources.first?.name ?? "main") : recording.source
        var rows: [[SQLiteValue]] = []
        for name in recording.upload {
            guard let destination = destinations[name] else {
                logger.warning(
                    "a recording uploads to a destination that is not configured",
                    metadata: ["recording.name": "\(recording.name)", "destination": "\(name)"])
                continue
            }
            if let scanFrom, arrival.closeTime <= scanFrom[recording.name + "\u{0}" + name] ?? .infinity { continue }
            let key: String
            do {
                key = try ObjectKey(
                    template: destination.path,
                    .init(
                        station: station, recording: recording.name, source: source, path: arrival.path,
                        directory: recording.directory, startTime: start)
                ).key
            } catch {
                events.emit(
                    .warning, "upload.failed", "a file cannot be uploaded: its object key is empty",
                    recording: recording.name,
                    [
                        "destination": .string(name), "segment.path": .string(arrival.path), "upload.key": .string(""),
                        "upload.attempt": .int(0), "error": .string(error.description), "upload.conflict": .bool(false),
                    ])
                continue
            }
            rows.append([
                .text(name), .text(recording.name), .text(arrival.path), .text(SegmentSidecar.path(for: arrival.path)),
                .text(key), .int(bytes), arrival.frames.map { .int($0) } ?? .null, .double(start),
                .double(arrival.closeTime),
            ])
        }
        guard !rows.isEmpty else { return }
        let path = arrival.path
        let inserts = rows
        do {
            let states = try database.runBlocking { db in
                try db.transaction { () throws(SQLiteError) -> [[SQLiteValue]] in
                    for row in inserts {
                        try db.run(
                            "INSERT OR IGNORE INTO outbox (destination, recording, path, sidecar, key, bytes, frames, "
                                + "start_time, close_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
                    }
                    return try db.run("SELECT destination, state, frames FROM outbox WHERE path = ?", [.text(path)])
                }
            }
            var waiting: [String] = []
            for state in states {
                guard let destination = state[0].text else { continue }
                if state[1].text == State.pending.rawValue || state[1].text == State.conflict.rawValue {
                    waiting.append(destination)
                }
            }
            holds.hold(path, recording: recording.name, destinations: waiting, frames: arrival.frames)
            for destination in recording.upload where !waiting.contains(destination) {
                holds.release(path, destination: destination)
            }
            for destination in waiting { wakes[destination]?.signal() }
        } catch {
            logger.error(
                "could not add a closed file to the upload outbox",
                metadata: ["segment.path": "\(path)", "error": "\(error)"])
        }
    }

    private static func modificationTime(of path: String) -> Double? {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date)?.timeIntervalSince1970
    }

    // MARK: - Running

    /// Runs every destination's upload loop until the task is cancelled. A running rclone is then killed
    /// and its row stays pending.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for destination in destinations.values {
                group.addTask { await self.runLoop(destination) }
            }
        }
    }

    private func runLoop(_ destination: DestinationConfiguration) async {
        let rclone = Rclone(destination: destination, stateDirectory: configuration.storage.state)
        guard let wake = wakes[destination.name] else { return }
        let name = destination.name
        let transfers = max(1, destination.transfers)
        while !Task.isCancelled {
            await checkBacklog(destination)
            if let next = progress.withLock({ $0[name]?.nextTryTime }) {
                let wait = next - Date().timeIntervalSince1970
                if wait > 0 {
                    await wake.wait(seconds: wait)
                    continue
                }
            }
            let rows: [Row]
            do {
                rows = try await database.run { db in
                    try db.run(
                        "SELECT id, destination, recording, path, sidecar, key, bytes, close_time, attempts, sha256, md5 "
                            + "FROM outbox WHERE destination = ? AND state = 'pending' ORDER BY close_time, id LIMIT ?",
                        [.text(name), .int(Int64(transfers))]
                    ).compactMap(Self.row)
                }
            } catch {
                logger.error(
                    "could not read the upload outbox", metadata: ["destination": "\(name)", "error": "\(error)"])
                await wake.wait(seconds: 30)
                continue
            }
            if rows.isEmpty {
                // Nothing to do: sleep until a new row (or, with a backlog warning up, the next check).
                await wake.wait(seconds: nil)
                continue
            }
            let results = await withTaskGroup(of: (Int, Result).self) { group in
                for (index, row) in rows.enumerated() {
                    group.addTask { (index, await self.deliver(row, with: rclone)) }
                }
                var results = [Result](repeating: .cancelled, count: rows.count)
                for await (index, result) in group { results[index] = result }
                return results
            }
            if Task.isCancelled { break }
            await record(results, for: rows, destination: destination)
        }
    }

    private static func row(_ values: [SQLiteValue]) -> Row? {
        guard values.count == 11, let id = values[0].int, let destination = values[1].text,
            let recording = values[2].text, let path = values[3].text, let sidecar = values[4].text,
            let key = values[5].text
        else { return nil }
        return Row(
            id: id, destination: destination, recording: recording, path: path, sidecar: sidecar, key: key,
            bytes: values[6].int ?? 0, closeTime: values[7].double ?? 0, attempts: values[8].int ?? 0,
            sha256: values[9].text, md5: values[10].text)
    }

    /// Uploads and verifies one file and then its sidecar.
    private func deliver(_ row: Row, with rclone: Rclone) async -> Result {
        // The hashes, once per file: the first destination to get there computes them for all.
        guard let hashes = await worker.run({ self.hashes(of: row) }) else {
            return FileManager.default.fileExists(atPath: row.path)
                ? .failed("could not read \(row.path) to compute its checksums; check its permissions") : .gone
        }
        guard let size = Self.size(of: row.path) else { return .gone }
        let started = Date().timeIntervalSince1970
        let audio = await upload(
            row.path, to: row.key, size: size, sha256: hashes.sha256, md5: hashes.md5, with: rclone)
        if Task.isCancelled { return .cancelled }
        guard case .delivered = audio else { return audio }
        let seconds = Date().timeIntervalSince1970 - started
        if let sidecar = FileManager.default.contents(atPath: row.sidecar) {
            let bytes = [UInt8](sidecar)
            var md5 = MD5()
            md5.update(bytes)
            let result = await upload(
                row.sidecar, to: row.key + ".json", size: Int64(bytes.count), sha256: SHA256.hash(bytes).hexString,
                md5: md5.finalize().hexString, with: rclone)
            if Task.isCancelled { return .cancelled }
            guard case .delivered = result else { return result }
        }
        return .delivered(seconds: seconds)
    }

    /// One object: what is already at `key` decides; a missing one is copied (never replacing anything)
    /// and read back.
    private func upload(
        _ local: String, to key: String, size: Int64, sha256: String, md5: String, with rclone: Rclone
    ) async -> Result {
        let target = CredentialMask.masked(ObjectKey.join(remote: rclone.destination.remote, key: key))
        switch await rclone.stat(key) {
        case .failure(let error):
            return .failed(error.description)
        case .success(let existing?):
            if let mismatch = Self.mismatch(existing, size: size, sha256: sha256, md5: md5) {
                return mismatch.verifiable
                    ? .conflict(
                        "a different object is already at \(key) (\(mismatch.what)); it is never overwritten: "
                            + "compare it with \(local), then delete or rename one of them")
                    : .failed("cannot verify \(target): \(mismatch.what)")
            }
            return .delivered(seconds: 0)
        case .success(nil):
            break
        }
        let copied = await rclone.copy(local, to: key)
        if Task.isCancelled { return .cancelled }
        if !copied.succeeded {
            let text = copied.errorTail.lowercased()
            if text.contains("immutable") || text.contains("modified") || text.contains("do not match") {
                return .conflict(
                    "a different object is already at \(key); it is never overwritten: compare it with \(local)")
            }
            return .failed(RcloneError(operation: "upload \(local) to", target: target, outcome: copied).description)
        }
        switch await rclone.stat(key) {
        case .failure(let error):
            return .failed(error.description)
        case .success(nil):
            return .failed("\(target) is missing right after its upload; it is uploaded again later")
        case .success(let existing?):
            if let mismatch = Self.mismatch(existing, size: size, sha256: sha256, md5: md5) {
                return mismatch.verifiable
                    ? .conflict(
                        "the object at \(key) does not match \(local) after the upload (\(mismatch.what)); it is "
                            + "never overwritten: check who else writes there")
                    : .failed("cannot verify \(target): \(mismatch.what)")
            }
            return .delivered(seconds: 0)
        }
    }

    /// Nil when `remote` matches; else what differs, and whether it is a known difference (a conflict)
    /// rather than nothing to compare.
    private static func mismatch(
        _ remote: Rclone.RemoteObject, size: Int64, sha256: String, md5: String
    ) -> (what: String, verifiable: Bool)? {
        if remote.size != size { return ("size \(remote.size) there, \(size) here", true) }
        if let value = remote.hashes["sha256"] {
            return value == sha256 ? nil : ("SHA-256 \(value) there, \(sha256) here", true)
        }
        if let value = remote.hashes["md5"] { return value == md5 ? nil : ("MD5 \(value) there, \(md5) here", true) }
        return ("the remote gives neither an MD5 nor a SHA-256, even with --download", false)
    }

    private static func size(of path: String) -> Int64? {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value
    }

    /// The file's SHA-256 and MD5: from the outbox when known, else computed (1 MiB reads), stored in every
    /// row of the file and added to its sidecar. Nil when the file cannot be read. On the outbox's thread.
    private func hashes(of row: Row) -> (sha256: String, md5: String)? {
        if let sha256 = row.sha256, let md5 = row.md5 { return (sha256, md5) }
        let path = row.path
        if let known = try? database.runBlocking({ db in
            try db.run("SELECT sha256, md5 FROM outbox WHERE path = ? AND sha256 IS NOT NULL LIMIT 1", [.text(path)])
        }).first, let sha256 = known[0].text, let md5 = known[1].text {
            return (sha256, md5)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var sha = SHA256()
        var md5 = MD5()
        while true {
            let chunk: Data?
            do {
                chunk = try handle.read(upToCount: 1 << 20)
            } catch {
                return nil
            }
            // nil or empty: the end of the file.
            guard let chunk, !chunk.isEmpty else { break }
            chunk.withUnsafeBytes { bytes in
                sha.update(bytes)
                md5.update(bytes)
            }
        }
        let result = (sha256: sha.finalize().hexString, md5: md5.finalize().hexString)
        do {
            _ = try database.runBlocking { db in
                try db.run(
                    "UPDATE outbox SET sha256 = ?, md5 = ? WHERE path = ?",
                    [.text(result.sha256), .text(result.md5), .text(path)])
            }
        } catch {
            logger.error(
                "could not store a file's checksums in the upload outbox",
                metadata: ["segment.path": "\(path)", "error": "\(error)"])
        }
        if FileManager.default.fileExists(atPath: row.sidecar),
            let failure = SegmentSidecar.addHashes(of: path, sha256: result.sha256, md5: result.md5)
        {
            logger.warning(
                "could not add the checksums to the sidecar",
                metadata: ["segment.path": "\(path)", "error": "\(failure)"])
        }
        return result
    }

    // MARK: - Outcomes

    private func record(_ results: [Result], for rows: [Row], destination: DestinationConfiguration) async {
        let name = destination.name
        let now = Date().timeIntervalSince1970
        let failed = results.contains { if case .failed = $0 { return true } else { return false } }
        var delay = 0.0
        if failed {
            let failures = progress.withLock { state -> Int in
                state[name, default: Progress()].consecutiveFailures += 1
                return state[name]!.consecutiveFailures
            }
            let cap = max(options.retryBaseSeconds, destination.retryMaxSeconds)
            delay = min(cap, options.retryBaseSeconds * pow(2, Double(min(failures - 1, 30))))
            delay *= Double.random(in: 0.8...1.2)
        }
        for (row, result) in zip(rows, results) {
            switch result {
            case .delivered(let seconds):
                let stored = try? await database.run { db -> String? in
                    try db.run(
                        "UPDATE outbox SET state = 'delivered', delivered_time = ?, last_error = NULL, next_try = NULL "
                            + "WHERE id = ?", [.double(now), .int(row.id)])
                    return try db.run("SELECT sha256 FROM outbox WHERE id = ?", [.int(row.id)]).first?[0].text
                }
                holds.release(row.path, destination: name)
                progress.withLock { $0[name, default: Progress()].lastSuccessTime = now }
                events.emit(
                    .info, "upload.done", "file uploaded and verified", recording: row.recording,
                    [
                        "destination": .string(name), "segment.path": .string(row.path), "upload.key": .string(row.key),
                        "upload.bytes": .int(row.bytes), "upload.sha256": .string((stored ?? nil) ?? ""),
                        "upload.seconds": .seconds(seconds), "upload.latency_seconds": .seconds(now - row.closeTime),
                    ])
                if recordings[row.recording]?.afterUpload == .delete {
                    await worker.run { self.deleteIfDelivered(row) }
                }
            case .conflict(let message):
                _ = try? await database.run { db in
                    try db.run(
                        "UPDATE outbox SET state = 'conflict', attempts = attempts + 1, last_error = ?, next_try = NULL "
                            + "WHERE id = ?", [.text(message), .int(row.id)])
                }
                progress.withLock {
                    $0[name, default: Progress()].lastError = message
                    $0[name, default: Progress()].lastErrorTime = now
                    $0[name, default: Progress()].failedAttempts += 1
                }
                events.emit(
                    .warning, "upload.failed", "a different object is already at the key; the file is kept",
                    recording: row.recording,
                    [
                        "destination": .string(name), "segment.path": .string(row.path), "upload.key": .string(row.key),
                        "upload.attempt": .int(row.attempts + 1), "error": .string(message),
                        "upload.conflict": .bool(true),
                    ])
            case .failed(let message):
                let next = now + delay
                _ = try? await database.run { db in
                    try db.run(
                        "UPDATE outbox SET attempts = attempts + 1, next_try = ?, last_error = ? WHERE id = ?",
                        [.double(next), .text(message), .int(row.id)])
                }
                progress.withLock {
                    $0[name, default: Progress()].lastError = message
                    $0[name, default: Progress()].lastErrorTime = now
                    $0[name, default: Progress()].failedAttempts += 1
                }
                events.emit(
                    .warning, "upload.failed", "an upload failed; it is tried again later", recording: row.recording,
                    [
                        "destination": .string(name), "segment.path": .string(row.path), "upload.key": .string(row.key),
                        "upload.attempt": .int(row.attempts + 1), "error": .string(message),
                        "upload.next_try_utc": .utc(next), "upload.conflict": .bool(false),
                    ])
            case .gone:
                // Deleted behind the outbox's back (the floor reports its own deletions before this).
                if holds.reportLost(row.path) == nil {
                    let hold = UploadHolds.Hold(recording: row.recording, destinations: [name], frames: nil)
                    await worker.run { self.markLost(row.path, hold: hold) }
                }
                events.emit(
                    .warning, "upload.lost", "a file was deleted before it was uploaded", recording: row.recording,
                    [
                        "destination": .string(name), "segment.path": .string(row.path),
                        "reason": .string("the file no longer exists"),
                    ])
            case .cancelled:
                break
            }
        }
        progress.withLock { state in
            if failed {
                state[name, default: Progress()].nextTryTime = now + delay
            } else {
                state[name, default: Progress()].consecutiveFailures = 0
                state[name, default: Progress()].nextTryTime = nil
            }
        }
    }

    /// With `after_upload = "delete"`: deletes the file and its sidecar once every destination of its
    /// recording has a verified copy. On the outbox's thread.
    private func deleteIfDelivered(_ row: Row) {
        guard let recording = recordings[row.recording] else { return }
        let path = row.path
        guard
            let states = try? database.runBlocking({ db in
                try db.run("SELECT destination, state FROM outbox WHERE path = ?", [.text(path)])
            })
        else { return }
        let delivered = Set(states.filter { $0[1].text == State.delivered.rawValue }.compactMap { $0[0].text })
        guard recording.upload.allSatisfy({ delivered.contains($0) }), !holds.isHeld(path) else { return }
        let bytes = Self.size(of: path) ?? row.bytes
        guard (try? FileManager.default.removeItem(atPath: path)) != nil else { return }
        try? FileManager.default.removeItem(atPath: row.sidecar)
        events.emit(
            .info, "segment.deleted", "segment deleted after its upload to every destination", recording: row.recording,
            [
                "segment.path": .string(path), "segment.bytes": .int(bytes), "reason": .string("after_upload"),
                "destination": .string(recording.upload.joined(separator: ",")),
            ])
    }

    /// The file was deleted before it was delivered: its waiting rows become `lost`. On the outbox's thread.
    private func markLost(_ path: String, hold: UploadHolds.Hold) {
        do {
            try database.runBlocking { db in
                try db.run(
                    "UPDATE outbox SET state = 'lost', last_error = ? WHERE path = ? AND state IN ('pending', 'conflict')",
                    [.text("the file was deleted before it was uploaded"), .text(path)])
            }
        } catch {
            logger.error("could not mark a deleted file lost in the upload outbox", metadata: ["error": "\(error)"])
        }
    }

    /// `upload.backlog` once when the oldest pending file is older than `backlog_warning_hours`, then
    /// `upload.backlog_cleared` when it is under again.
    private func checkBacklog(_ destination: DestinationConfiguration) async {
        guard destination.backlogWarningHours > 0 else { return }
        let name = destination.name
        guard
            let oldest = try? await database.run({ db -> (time: Double?, recording: String?) in
                let row = try db.run(
                    "SELECT MIN(close_time), recording FROM outbox WHERE destination = ? AND state = 'pending'",
                    [.text(name)]
                ).first
                return (row?[0].double, row?[1].text)
            })
        else { return }
        let now = Date().timeIntervalSince1970
        let age = oldest.time.map { now - $0 } ?? 0
        let over = age > destination.backlogWarningHours * 3600
        let change = progress.withLock { state -> Bool? in
            let warned = state[name, default: Progress()].backlogWarned
            guard warned != over else { return nil }
            state[name, default: Progress()].backlogWarned = over
            return over
        }
        let recording = oldest.recording
        switch change {
        case true?:
            events.emit(
                .warning, "upload.backlog", "the oldest file waiting for a destination is older than the warning",
                recording: recording,
                [
                    "destination": .string(name), "upload.backlog_seconds": .seconds(age),
                    "upload.backlog_warning_hours": .double(destination.backlogWarningHours),
                ])
        case false?:
            events.emit(
                .notice, "upload.backlog_cleared", "the destination's backlog is under the warning again",
                recording: recording, ["destination": .string(name)])
        case nil:
            break
        }
    }

    // MARK: - Status

    /// Per configured destination: what is waiting, what was delivered, and what last happened.
    public func status() async -> [DestinationStatus] {
        let counts =
            (try? await database.run { db in
                try db.run(
                    "SELECT destination, state, COUNT(*), SUM(bytes), MIN(close_time) FROM outbox GROUP BY destination, state"
                )
            }) ?? []
        let progress = self.progress.withLock { $0 }
        return configuration.destinations.map { destination in
            var status = DestinationStatus(name: destination.name, remote: CredentialMask.masked(destination.remote))
            for row in counts where row[0].text == destination.name {
                let files = row[2].int ?? 0
                let bytes = row[3].int ?? 0
                switch row[1].text.flatMap(State.init(rawValue:)) {
                case .pending?:
                    status.pendingFiles = Int(files)
                    status.pendingBytes = bytes
                    status.oldestPendingTime = row[4].double
                case .delivered?:
                    status.deliveredFiles = files
                    status.deliveredBytes = bytes
                case .conflict?: status.conflicts = Int(files)
                case .lost?: status.lostFiles = files
                case nil: break
                }
            }
            if let own = progress[destination.name] {
                status.failedAttempts = own.failedAttempts
                status.lastSuccessTime = own.lastSuccessTime
                status.lastError = own.lastError.map { CredentialMask(device: destination.remote).mask($0) }
                status.lastErrorTime = own.lastErrorTime
                status.nextTryTime = own.nextTryTime
            }
            return status
        }
    }
}
