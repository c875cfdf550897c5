// GET /v1/uploads (and `uploads` in GET /v1/status): delivery off the box, per destination and webhook.

/// Every `[[destination]]` and `[[webhook]]`, with what is waiting and what last happened.
public struct UploadsResponse: Codable, Sendable, Equatable {
    /// The station id every object key, webhook body and event carries.
    public var station: String
    public var destinations: [DestinationStatus]
    public var webhooks: [WebhookStatus]

    public init(station: String, destinations: [DestinationStatus], webhooks: [WebhookStatus]) {
        self.station = station
        self.destinations = destinations
        self.webhooks = webhooks
    }
}

/// One `[[destination]]`: its outbox and its last results.
public struct DestinationStatus: Codable, Sendable, Equatable {
    public var name: String
    /// The rclone remote, with any credential in it masked.
    public var remote: String
    /// Files (audio and sidecar count as one) waiting for a verified upload.
    public var pendingFiles: Int
    public var pendingBytes: Int64
    /// When the oldest pending file closed, seconds since the epoch; nil with nothing pending.
    public var oldestPendingTime: Double?
    /// Files uploaded and verified since the outbox was created.
    public var deliveredFiles: Int64
    public var deliveredBytes: Int64
    /// Failed upload attempts since the daemon started.
    public var failedAttempts: Int64
    /// Files deleted before they were delivered (only the `min_free_bytes` floor does that).
    public var lostFiles: Int64
    /// Files whose remote object differs from the local file: never overwritten, waiting for an operator.
    public var conflicts: Int
    public var lastSuccessTime: Double?
    public var lastError: String?
    public var lastErrorTime: Double?
    /// When the next attempt is due after a failure; nil when not backing off.
    public var nextTryTime: Double?

    public init(
        name: String, remote: String, pendingFiles: Int = 0, pendingBytes: Int64 = 0, oldestPendingTime: Double? = nil,
        deliveredFiles: Int64 = 0, deliveredBytes: Int64 = 0, failedAttempts: Int64 = 0, lostFiles: Int64 = 0,
        conflicts: Int = 0, lastSuccessTime: Double? = nil, lastError: String? = nil, lastErrorTime: Double? = nil,
        nextTryTime: Double? = nil
    ) {
        self.name = name
        self.remote = remote
        self.pendingFiles = pendingFiles
        self.pendingBytes = pendingBytes
        self.oldestPendingTime = oldestPendingTime
        self.deliveredFiles = deliveredFiles
        self.deliveredBytes = deliveredBytes
        self.failedAttempts = failedAttempts
        self.lostFiles = lostFiles
        self.conflicts = conflicts
        self.lastSuccessTime = lastSuccessTime
        self.lastError = lastError
        self.lastErrorTime = lastErrorTime
        self.nextTryTime = nextTryTime
    }
}

/// One `[[webhook]]`: its queue of events and its last results.
public struct WebhookStatus: Codable, Sendable, Equatable {
    public var name: String
    /// The URL, with any credential in it masked.
    public var url: String
    /// Events waiting to be delivered.
    public var pendingEvents: Int
    public var oldestPendingTime: Double?
    public var deliveredEvents: Int64
    public var failedAttempts: Int64
    public var lastSuccessTime: Double?
    public var lastError: String?
    public var lastErrorTime: Double?
    public var nextTryTime: Double?

    public init(
        name: String, url: String, pendingEvents: Int = 0, oldestPendingTime: Double? = nil, deliveredEvents: Int64 = 0,
        failedAttempts: Int64 = 0, lastSuccessTime: Double? = nil, lastError: String? = nil,
        lastErrorTime: Double? = nil, nextTryTime: Double? = nil
    ) {
        self.name = name
        self.url = url
        self.pendingEvents = pendingEvents
        self.oldestPendingTime = oldestPendingTime
        self.deliveredEvents = deliveredEvents
        self.failedAttempts = failedAttempts
        self.lastSuccessTime = lastSuccessTime
        self.lastError = lastError
        self.lastErrorTime = lastErrorTime
        self.nextTryTime = nextTryTime
    }
}
