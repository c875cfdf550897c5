// What the control API and the metrics endpoint need from the daemon: the narrow seams their harnesses use.
import CaptureCore
import CaptureProtocol

/// The daemon as the control API's routes (``ControlRoutes``) see it: a few reads and state changes, in
/// the API's value types and domain requests and errors, and nothing of HTTP. ``AudioCapDaemon`` conforms;
/// tests use a fake.
protocol ControlService: Sendable {
    /// Everything `GET /v1/status` reports, read now.
    func statusResponse() async -> StatusResponse

    /// Every `[[destination]]` and `[[webhook]]` with what waits and what last happened (`GET /v1/uploads`);
    /// empty lists when none is configured.
    func uploadsResponse() async -> UploadsResponse

    /// The sources' names, in the configuration's order.
    func sourceNames() -> [String]

    /// The newest level reading of source `source` (nil: the first); nil before its first audio arrives.
    func levelsResponse(source: String?) -> LevelsResponse?

    /// A client started (`true`) or stopped following the levels of source `source` (nil: every source)
    /// live: while one does, that source meters every chunk as it arrives.
    func followLevels(source: String?, _ started: Bool)

    /// The daemon's events: the recent window and listeners for later ones.
    var events: EventLog { get }

    /// The running recordings, in the order they started.
    func runningRecordings() async -> [RecordingResponse]

    /// Starts an on-demand recording, or a stopped configured one again.
    /// Throws what ``RecordingController/start(_:)`` throws.
    func startRecording(_ request: OnDemandRequest) async throws(RecordingError) -> RecordingResponse

    /// Stops a running recording; returns its last state and the files it wrote.
    /// Throws `.notFound` when none of that name runs.
    func stopRecording(named name: String) async throws(RecordingError) -> StopRecordingResponse

    /// Closed segments of a running or recently stopped recording, from `since` on when given.
    /// Throws `.notFound` for a name the daemon does not know.
    func segments(of name: String, since: Double?) async throws(RecordingError) -> [SegmentResponse]

    /// Reads the configuration file again and applies its recordings; nil when the daemon runs without one.
    func reload() async -> AudioCapDaemon.ReloadResult?

    /// Writes one file of audio from a source's look-back buffer (`POST /v1/clips`).
    /// Throws what ``RecordingController/clip(_:format:)`` throws.
    func clip(_ request: ClipRequest, format: RecordingFormat?) async throws(RecordingError) -> ClipResponse

    /// Every `[[trigger]]` with its state and clips (`GET /v1/triggers`).
    func triggersResponse() async -> TriggersResponse
}

/// The daemon as the metrics endpoint (``MetricsServer``) sees it.
protocol MetricsSource: Sendable {
    /// The status the metrics are read from at each scrape.
    func statusResponse() async -> StatusResponse

    /// Where the endpoint reports that it listens or cannot.
    var events: EventLog { get }
}

extension ControlService {
    func followLevels(source: String?, _ started: Bool) {}
}
