// The daemon as the control API's and the metrics endpoint's service: its recordings in the API's value types.
import CaptureCore
import CaptureProtocol

extension AudioCapDaemon: ControlService {
    func uploadsResponse() async -> UploadsResponse {
        await delivery.status()
    }

    func runningRecordings() async -> [RecordingResponse] {
        await recordings.snapshots.map(Self.recordingResponse)
    }

    func startRecording(_ request: OnDemandRequest) async throws(RecordingError) -> RecordingResponse {
        Self.recordingResponse(try await recordings.start(request))
    }

    func stopRecording(named name: String) async throws(RecordingError) -> StopRecordingResponse {
        let (snapshot, segments) = try await recordings.stop(name: name)
        return StopRecordingResponse(
            recording: Self.recordingResponse(snapshot), files: segments.map(Self.segmentResponse))
    }

    func segments(of name: String, since: Double?) async throws(RecordingError) -> [SegmentResponse] {
        try await recordings.segments(name: name, since: since).map(Self.segmentResponse)
    }
}

extension AudioCapDaemon {
    func clip(_ request: ClipRequest, format: RecordingFormat?) async throws(RecordingError) -> ClipResponse {
        try await recordings.clip(request, format: format)
    }

    func triggersResponse() async -> TriggersResponse {
        TriggersResponse(triggers: await triggers.statuses)
    }
}

extension AudioCapDaemon: MetricsSource {}
