// Events POSTed to the `[[webhook]]`s: a durable queue per webhook in delivery.sqlite, delivered in order,
// at least once.
import AsyncHTTPClient
import CaptureCore
import CaptureProtocol
import Foundation
import Logging
import NIOCore
import Synchronization

/// Sends every event a `[[webhook]]` wants to its URL as JSON, in the order they happened, at least once.
///
/// The event log's listener only appends to an in-memory buffer; ``run()`` moves the buffer into the
/// table `webhook_events` of ``DeliveryDatabase`` (so what is queued survives a restart) and delivers each
/// webhook's queue strictly in order, one request at a time: a 2xx answer removes the event; anything else
/// (another status, a refused connection, a timeout) retries the same event after a back-off (1 s
/// doubling to 60 s, ±20 %) before any later one.
///
/// The body is the event as the API sends it (``EventResponse``, snake_case) plus `"id"`, which names the
/// event for good (`STATION-DATABASE_UUID-ROW`): a receiver that sees an id twice has seen a retry. The
/// body's bytes are stored at enqueue, so a retry sends the same bytes. Headers: `Content-Type:
/// application/json`, `User-Agent: audiocapd/VERSION`, `X-Audiocap-Event-Id: ID`, `X-Audiocap-Event: KIND`,
/// and with a `secret`, `X-Audiocap-Signature: sha256=HEX`.
///
/// Verifying the signature (the receiver's side): compute HMAC-SHA256 with the shared secret as the key
/// over the raw request body, exactly the bytes received (before any JSON parsing), write it as lower-case
/// hex, prepend `sha256=`, and compare with the header using a constant-time comparison; in Python:
/// `hmac.compare_digest("sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest(), header)`.
///
/// `*` and prefix patterns (`webhook.*` too) never match the dispatcher's own `webhook.*` events, so a
/// failing webhook cannot feed itself; an exact pattern such as `webhook.failed` does.
public final class WebhookDispatcher: Sendable {
    /// How long to wait after the n-th failed attempt at one event.
    public struct Backoff: Sendable {
        public var initialSeconds = 1.0
        public var maximumSeconds = 60.0
        /// ±this fraction, at random.
        public var jitter = 0.2
        public init(initialSeconds: Double = 1.0, maximumSeconds: Double = 60.0, jitter: Double = 0.2) {
            self.initialSeconds = initialSeconds
            self.maximumSeconds = maximumSeconds
            self.jitter = jitter
        }

        /// The delay after `attempts` failures in a row (1: the first).
        public func delay(afterAttempts attempts: Int) -> Double {
            let base = min(maximumSeconds, initialSeconds * pow(2, Double(max(0, min(attempts - 1, 30)))))
            return base * Double.random(in: (1 - jitter)...(1 + jitter))
        }
    }

    /// Events kept per webhook; past it new events are dropped (`webhook.dropped`).
    public let maximumQueued: Int
    public let station: String
    private let webhooks: [WebhookConfiguration]
    private let database: DeliveryDatabase
    private let events: EventLog
    private let logger: Logger
    private let backoff: Backoff
    /// `webhook.failed` is said at most this often per webhook while it fails.
    private let failedEventInterval: Double

    private struct Incoming {
        var events: [CaptureEvent] = []
        /// Events the in-memory buffer could not take (the database fell far behind).
        var overflow = 0
        var listener: Int?
    }
    private let incoming = Mutex(Incoming())
    /// The in-memory buffer never holds more than this many events.
    private static let bufferCapacity = 50_000

    /// What status shows, per webhook (same order as `webhooks`).
    private struct State {
        var pending = 0
        var delivered: Int64 = 0
        var failedAttempts: Int64 = 0
        var dropped: Int64 = 0
        var dropSaid = false
        var lastSuccess: Double?
        var lastError: String?
        var lastErrorTime: Double?
        var nextTry: Double?
    }
    private let states: Mutex<[State]>
    /// Set by `prepare()`: the random id of this database's queue, part of every event id.
    private let databaseID = Mutex<String?>(nil)

    private let wake: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation

    /// - Parameters:
    ///   - webhooks: the `[[webhook]]`s; events are queued for each one that wants them.
    ///   - station: the id every body carries (events from the log already carry it; set where missing).
    ///   - database: the delivery database; the dispatcher keeps its queue in table `webhook_events`.
    ///   - events: the log whose events are sent, and where the dispatcher's own events go.
    public init(
        webhooks: [WebhookConfiguration], station: String, database: DeliveryDatabase, events: EventLog,
        logger: Logger, backoff: Backoff = Backoff(), maximumQueued: Int = 100_000, failedEventInterval: Double = 60
    ) {
        self.webhooks = webhooks
        self.station = station
        self.database = database
        self.events = events
        self.logger = logger
        self.backoff = backoff
        self.maximumQueued = maximumQueued
        self.failedEventInterval = failedEventInterval
        states = Mutex(Array(repeating: State(), count: webhooks.count))
        (wake, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Whether `webhook` is sent an event of `kind`: its `wants`, except that only an exact pattern
    /// matches the dispatcher's own `webhook.*` events.
    public static func sends(_ kind: String, to webhook: WebhookConfiguration) -> Bool {
        if kind.hasPrefix("webhook.") { return webhook.events.contains(kind) }
        return webhook.wants(kind)
    }

    /// Creates the queue's tables, reads what is pending from the last run and starts listening to the
    /// event log: from here on, events are buffered until ``run()`` stores and sends them. Blocking
    /// database I/O: call at start-up.
    ///
    /// - Throws: `SQLiteError` when the database cannot be read or written.
    public func prepare() throws {
        let names = webhooks.map(\.name)
        let (id, pending) = try database.runBlocking { db -> (String, [Int]) in
            try db.execute(
                """
                CREATE TABLE IF NOT EXISTS webhook_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS webhook_events(
                    id INTEGER PRIMARY KEY AUTOINCREMENT, webhook TEXT NOT NULL, kind TEXT NOT NULL,
                    body TEXT NOT NULL, created REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX IF NOT EXISTS webhook_events_by_webhook ON webhook_events(webhook, id);
                """)
            var id = try db.run("SELECT value FROM webhook_meta WHERE key = 'database_id'").first?.first?.text
            if id == nil {
                let fresh = UUID().uuidString.lowercased()
                _ = try db.run("INSERT INTO webhook_meta(key, value) VALUES('database_id', ?)", [.text(fresh)])
                id = fresh
            }
            let pending = try names.map { name in
                Int(
                    try db.run("SELECT COUNT(*) FROM webhook_events WHERE webhook = ?", [.text(name)]).first?.first?.int
                        ?? 0)
            }
            return (id!, pending)
        }
        databaseID.withLock { $0 = id }
        states.withLock { states in
            for index in states.indices { states[index].pending = pending[index] }
        }
        let token = events.addListener { [weak self] event in self?.hand(event) }
        incoming.withLock { $0.listener = token }
    }

    /// The listener: keeps the event for `run()`; never blocks.
    private func hand(_ event: CaptureEvent) {
        guard webhooks.contains(where: { Self.sends(event.kind, to: $0) }) else { return }
        incoming.withLock { incoming in
            if incoming.events.count < Self.bufferCapacity {
                incoming.events.append(event)
            } else {
                incoming.overflow += 1
            }
        }
        wakeContinuation.yield()
    }

    /// Stores and delivers events until cancelled; then stops listening and shuts its HTTP client down.
    /// Events not yet delivered stay queued in the database for the next run.
    public func run() async {
        guard !webhooks.isEmpty else { return }
        if databaseID.withLock({ $0 }) == nil {
            do {
                try await BlockingWorker.shared.run(throwing: { [self] in try prepare() })
            } catch {
                logger.error(
                    "the webhooks' queue cannot be opened; no events are sent",
                    metadata: ["database.path": .string(database.path), "error": .string("\(error)")])
                return
            }
        }
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let wakes = webhooks.map { _ in AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1)) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                for await _ in wake {
                    await store()
                    for wake in wakes { wake.continuation.yield() }
                }
            }
            for (index, webhook) in webhooks.enumerated() {
                group.addTask { [self] in
                    await deliver(index: index, webhook: webhook, client: client, wake: wakes[index].stream)
                }
            }
            // Anything that arrived before run() started.
            wakeContinuation.yield()
            await withTaskCancellationHandler {
                await group.next()
            } onCancel: {
                wakeContinuation.finish()
                for wake in wakes { wake.continuation.finish() }
            }
            group.cancelAll()
            await group.waitForAll()
        }
        if let token = incoming.withLock({ $0.listener }) { events.removeListener(token) }
        await store()
        do {
            try await client.shutdown()
        } catch {
            logger.debug("the webhooks' HTTP client did not shut down cleanly", metadata: ["error": "\(error)"])
        }
    }

    /// Moves the buffered events into the database, dropping (and saying so) past `maximumQueued`.
    private func store() async {
        let (batch, overflow) = incoming.withLock { incoming -> ([CaptureEvent], Int) in
            defer {
                incoming.events.removeAll(keepingCapacity: true)
                incoming.overflow = 0
            }
            return (incoming.events, incoming.overflow)
        }
        guard !batch.isEmpty || overflow > 0 else { return }
        guard let databaseID = databaseID.withLock({ $0 }) else { return }
        // Which webhook takes which event, within the bound.
        var rows: [(webhook: Int, event: CaptureEvent)] = []
        var newlyDropping: [Int] = []
        let station = self.station
        states.withLock { states in
            for event in batch {
                for (index, webhook) in webhooks.enumerated() where Self.sends(event.kind, to: webhook) {
                    if states[index].pending < maximumQueued {
                        states[index].pending += 1
                        states[index].dropSaid = false
                        rows.append((index, event))
                    } else {
                        states[index].dropped += 1
                        if !states[index].dropSaid {
                            states[index].dropSaid = true
                            newlyDropping.append(index)
                        }
                    }
                }
            }
            if overflow > 0 {
                for index in states.indices { states[index].dropped += Int64(overflow) }
            }
        }
        let names = webhooks.map(\.name)
        let prepared = rows.map { row -> (String, String, Double, CaptureEvent) in
            var event = row.event
            if event.station == nil { event.station = station }
            return (names[row.webhook], event.kind, event.time, event)
        }
        do {
            try await database.run { db in
                try db.transaction { () throws(SQLiteError) -> Void in
                    for (name, kind, created, event) in prepared {
                        _ = try db.run(
                            "INSERT INTO webhook_events(webhook, kind, body, created) VALUES(?, ?, '', ?)",
                            [.text(name), .text(kind), .double(created)])
                        let row = db.lastInsertedRowID
                        let body = Self.body(event: event, id: "\(station)-\(databaseID)-\(row)")
                        _ = try db.run("UPDATE webhook_events SET body = ? WHERE id = ?", [.text(body), .int(row)])
                    }
                }
            }
        } catch {
            states.withLock { states in
                for row in rows { states[row.webhook].pending -= 1 }
            }
            logger.error(
                "webhook events cannot be stored; they are lost",
                metadata: ["events.count": "\(rows.count)", "error": .string("\(error)")])
        }
        for index in newlyDropping {
            events.emit(
                .warning, "webhook.dropped", "the webhook's queue is full; new events for it are dropped",
                [
                    "webhook": .string(names[index]),
                    "webhook.url": .string(CredentialMask.masked(webhooks[index].url)),
                    "webhook.queue_limit": .int(Int64(maximumQueued)),
                ])
        }
        if overflow > 0 {
            logger.warning(
                "the webhooks' buffer overflowed; events were dropped before they were stored",
                metadata: ["events.dropped": "\(overflow)"])
        }
    }

    /// The JSON body of `event` with `id`: the project's encoder, keys sorted, so the same event is always
    /// the same bytes.
    static func body(event: CaptureEvent, id: String) -> String {
        let data = (try? ControlAPI.encoder().encode(WebhookBody(id: id, event: event.response))) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private struct Pending: Sendable {
        var id: Int64
        var kind: String
        var body: String
        var attempts: Int
    }

    /// Delivers webhook `index`'s queue in order until cancelled.
    private func deliver(index: Int, webhook: WebhookConfiguration, client: HTTPClient, wake: AsyncStream<Void>) async {
        let name = webhook.name
        var wakes = wake.makeAsyncIterator()
        var failingSince: Double?
        var lastFailedEvent: Double?
        while !Task.isCancelled {
            let next: Pending?
            do {
                next = try await database.run { db in
                    try db.run(
                        "SELECT id, kind, body, attempts FROM webhook_events WHERE webhook = ? ORDER BY id LIMIT 1",
                        [.text(name)]
                    ).first.map {
                        Pending(
                            id: $0[0].int ?? 0, kind: $0[1].text ?? "", body: $0[2].text ?? "",
                            attempts: Int($0[3].int ?? 0))
                    }
                }
            } catch {
                logger.error(
                    "the webhook's queue cannot be read; retrying",
                    metadata: ["webhook": .string(name), "error": .string("\(error)")])
                try? await Task.sleep(for: .seconds(backoff.maximumSeconds))
                continue
            }
            guard let next else {
                // Nothing pending: wait for the next batch.
                guard await wakes.next() != nil else { return }
                continue
            }
            let eventID = Self.eventID(body: next.body) ?? "\(next.id)"
            let error = await post(next, eventID: eventID, webhook: webhook, client: client)
            if Task.isCancelled && error != nil { return }
            let now = Date().timeIntervalSince1970
            if let error {
                let attempts = next.attempts + 1
                let delay = backoff.delay(afterAttempts: attempts)
                let nextTry = now + delay
                _ = try? await database.run { db in
                    try db.run(
                        "UPDATE webhook_events SET attempts = ? WHERE id = ?", [.int(Int64(attempts)), .int(next.id)])
                }
                states.withLock {
                    $0[index].failedAttempts += 1
                    $0[index].lastError = error
                    $0[index].lastErrorTime = now
                    $0[index].nextTry = nextTry
                }
                if failingSince == nil { failingSince = now }
                if lastFailedEvent.map({ now - $0 >= failedEventInterval }) ?? true {
                    lastFailedEvent = now
                    events.emit(
                        .warning, "webhook.failed", "an event could not be delivered to the webhook; it is retried",
                        [
                            "webhook": .string(name), "webhook.url": .string(CredentialMask.masked(webhook.url)),
                            "error": .string(error), "webhook.attempt": .int(Int64(attempts)),
                            "webhook.next_try_utc": .utc(nextTry), "webhook.event_id": .string(eventID),
                        ])
                }
                logger.debug(
                    "a webhook delivery failed",
                    metadata: ["webhook": .string(name), "error": .string(error), "webhook.attempt": "\(attempts)"])
                do {
                    try await Task.sleep(for: .seconds(delay))
                } catch {
                    return
                }
                continue
            }
            _ = try? await database.run { db in
                try db.run("DELETE FROM webhook_events WHERE id = ?", [.int(next.id)])
            }
            let waiting = states.withLock { states -> Int in
                states[index].pending = max(0, states[index].pending - 1)
                states[index].delivered += 1
                states[index].lastSuccess = now
                states[index].nextTry = nil
                return states[index].pending
            }
            if failingSince != nil {
                failingSince = nil
                lastFailedEvent = nil
                events.emit(
                    .notice, "webhook.recovered", "the webhook takes events again",
                    [
                        "webhook": .string(name), "webhook.url": .string(CredentialMask.masked(webhook.url)),
                        "webhook.waiting": .int(Int64(waiting + 1)),
                    ])
            }
        }
    }

    /// POSTs one event; nil when the webhook answered 2xx, else what went wrong (URL masked).
    private func post(_ pending: Pending, eventID: String, webhook: WebhookConfiguration, client: HTTPClient) async
        -> String?
    {
        var request = HTTPClientRequest(url: webhook.url)
        request.method = .POST
        let body = Array(pending.body.utf8)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "audiocapd/\(AudioCapVersion.string)")
        request.headers.add(name: "X-Audiocap-Event-Id", value: eventID)
        request.headers.add(name: "X-Audiocap-Event", value: pending.kind)
        if !webhook.secret.isEmpty {
            let code = HMACSHA256.authenticationCode(key: Array(webhook.secret.utf8), message: body)
            request.headers.add(name: "X-Audiocap-Signature", value: "sha256=" + code.hexString)
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(
                request, timeout: .milliseconds(Int64(max(0.001, webhook.timeoutSeconds) * 1000)))
            // Read (and discard) the answer so the connection can be reused.
            for try await _ in response.body {}
            guard (200..<300).contains(response.status.code) else {
                return "the webhook answered HTTP \(response.status.code); it must answer 2xx to take an event"
            }
            return nil
        } catch {
            return CredentialMask(device: webhook.url).mask(
                "cannot POST to \(webhook.url) within \(WireFormat.number(webhook.timeoutSeconds)) s: \(error);"
                    + " check that the receiver is up and reachable")
        }
    }

    /// The `"id"` stored in a body.
    private static func eventID(body: String) -> String? {
        struct OnlyID: Decodable { var id: String }
        return try? JSONDecoder().decode(OnlyID.self, from: Data(body.utf8)).id
    }

    /// Per webhook, in configuration order: what is queued and what last happened.
    public func status() async -> [WebhookStatus] {
        let names = webhooks.map(\.name)
        let oldest =
            (try? await database.run { db in
                try names.map { name in
                    try db.run("SELECT MIN(created) FROM webhook_events WHERE webhook = ?", [.text(name)]).first?
                        .first?.double
                }
            }) ?? names.map { _ in nil }
        let states = self.states.withLock { $0 }
        return webhooks.enumerated().map { index, webhook in
            let state = states[index]
            return WebhookStatus(
                name: webhook.name, url: CredentialMask.masked(webhook.url), pendingEvents: state.pending,
                oldestPendingTime: oldest[index], deliveredEvents: state.delivered,
                failedAttempts: state.failedAttempts, lastSuccessTime: state.lastSuccess,
                lastError: state.lastError, lastErrorTime: state.lastErrorTime, nextTryTime: state.nextTry)
        }
    }
}

/// The body of a webhook POST: the event's own JSON plus its `id`.
private struct WebhookBody: Encodable {
    var id: String
    var event: EventResponse

    private enum Key: String, CodingKey { case id }

    func encode(to encoder: any Encoder) throws {
        try event.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(id, forKey: .id)
    }
}
