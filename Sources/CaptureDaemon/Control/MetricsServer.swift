// The optional Prometheus endpoint: GET /metrics on [metrics] listen, built from the daemon's status.
import CaptureCore
import CaptureProtocol
import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus
import Synchronization

/// Serves `/metrics` in Prometheus text format. Values are read from the daemon at each scrape; counters
/// advance by what changed since the previous scrape. Every series carries `station="ID"` (the status's
/// station id). Connections are limited (`ConnectionLimits.metrics`).
final class MetricsServer: Sendable {
    private let daemon: any MetricsSource
    private let host: String
    private let port: Int
    private let logger: Logger
    private let registry = PrometheusCollectorRegistry()
    private let previous = Mutex<[String: Double]>([:])
    /// The station label of every series: the status's station id, read at each scrape (it changes only
    /// with a restart, so concurrent scrapes agree on it).
    private let station = Mutex("")

    init(daemon: any MetricsSource, host: String, port: Int, logger: Logger) {
        self.daemon = daemon
        self.host = host
        self.port = port
        self.logger = logger
    }

    func run() async throws {
        let router = Router()
        router.get("/metrics") { _, _ in
            let text = await self.scrape()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
        var serverLogger = logger
        serverLogger.logLevel = .warning
        let events = daemon.events
        let listen = "\(host):\(port)"
        let limits = ConnectionLimits.metrics
        let app = Application(
            router: router, server: limits.serverBuilder(counter: ConnectionCounter()),
            configuration: limits.applicationConfiguration(
                address: .hostname(host, port: port), serverName: "audiocapd"),
            onServerRunning: { _ in
                events.emit(
                    .info, "metrics.listening", "metrics endpoint listening", ["metrics.listen": .string(listen)])
            },
            logger: serverLogger)
        do {
            try await QuietApplicationRunner.run(
                app,
                configuration: limits.serverConfiguration(address: .hostname(host, port: port), serverName: "audiocapd")
            )
        } catch {
            events.emit(
                .error, "metrics.unavailable", "the metrics endpoint cannot listen; the daemon records without it",
                [
                    "metrics.listen": .string(listen), "error": .string("\(error)"),
                ])
        }
    }

    /// The current metrics in Prometheus text format.
    func scrape() async -> [UInt8] {
        let status = await daemon.statusResponse()
        station.withLock { $0 = status.station ?? StationConfiguration.machineHostName() }
        counter(
            "audiocap_events_dropped_total", "Events not written to events.jsonl because its writer fell behind",
            Double(daemon.events.droppedFromStore))
        for source in status.sources {
            sourceMetrics(source)
        }
        if let disk = status.disk {
            gauge("audiocap_disk_free_bytes", "Free bytes where recordings go", Double(disk.freeBytes))
            gauge(
                "audiocap_disk_low_space", "1 while the disk would fill within low_space_warning_hours",
                disk.lowSpace ? 1 : 0)
            if let left = disk.estimatedSecondsLeft {
                gauge("audiocap_disk_seconds_left", "Recording time left at the current rate", left)
            }
        }
        for recording in status.recordings {
            let labels = [("recording", recording.name)] + (recording.source.map { [("source", $0)] } ?? [])
            counter(
                "audiocap_recording_bytes_written_total", "Audio bytes written", Double(recording.bytesWritten), labels)
            counter(
                "audiocap_recording_segments_closed_total", "Segments closed", Double(recording.segmentsClosed), labels)
            counter(
                "audiocap_recording_dropped_frames_total", "Frames this recording lost",
                Double(recording.droppedFrames), labels)
            counter(
                "audiocap_recording_gaps_total", "Discontinuities in the recording's gap ledger",
                Double(recording.gaps), labels)
            counter(
                "audiocap_recording_gap_frames_total", "Frames missing at those discontinuities (some estimated)",
                Double(recording.gapFrames), labels)
            gauge(
                "audiocap_recording_blocked", "1 while writing fails (disk full, I/O error)",
                recording.state == "blocked" ? 1 : 0, labels)
            if recording.schedule != nil {
                gauge(
                    "audiocap_recording_scheduled_off", "1 while the recording is outside its schedule's windows",
                    recording.state == "scheduled_off" ? 1 : 0, labels)
            }
            if let ratio = recording.compressionRatio {
                gauge(
                    "audiocap_recording_compression_ratio",
                    "PCM bytes of the audio written per byte of file (FLAC recordings)", ratio, labels)
            }
        }
        for trigger in status.triggers ?? [] {
            let labels = [("trigger", trigger.name), ("source", trigger.source)]
            counter("audiocap_trigger_firings_total", "Times the trigger fired", Double(trigger.firings), labels)
            counter("audiocap_trigger_clips_total", "Clips the trigger closed", Double(trigger.clipsTotal), labels)
            gauge(
                "audiocap_trigger_recording", "1 while the trigger writes a clip",
                trigger.state == "recording" ? 1 : 0, labels)
        }
        if let uploads = status.uploads {
            uploadMetrics(uploads, now: Date().timeIntervalSince1970)
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    /// One source's metrics, labelled `source="NAME"`.
    private func sourceMetrics(_ source: SourceStatus) {
        let labels = [("source", source.name)]
        gauge("audiocap_source_up", "1 while ffmpeg runs and delivers audio", source.state == "running" ? 1 : 0, labels)
        counter(
            "audiocap_frames_captured_total", "Frames read from ffmpeg", Double(source.framesCaptured), labels)
        counter(
            "audiocap_dropped_frames_total", "Frames lost: queue overflows and audio that could not be written",
            Double(source.droppedFrames), labels)
        counter(
            "audiocap_ffmpeg_restarts_total", "ffmpeg runs that ended and were started again",
            Double(source.restarts), labels)
        counter("audiocap_xruns_total", "xruns ffmpeg reported", Double(source.xruns), labels)
        gauge(
            "audiocap_seconds_since_last_audio", "Seconds since the last audio arrived",
            source.secondsSinceLastAudio ?? -1, labels)
        if let lookBack = source.lookBack {
            gauge(
                "audiocap_look_back_seconds", "Seconds of audio the look-back buffer holds", lookBack.heldSeconds,
                labels)
            gauge(
                "audiocap_look_back_bytes", "Memory the look-back buffer's audio takes", Double(lookBack.bytes), labels)
        }
        if let queue = source.queue {
            gauge("audiocap_queue_depth_chunks", "Deepest consumer queue now", Double(queue.depthChunks), labels)
            gauge(
                "audiocap_queue_high_water_chunks", "Deepest any consumer queue has been",
                Double(queue.highWaterChunks), labels)
        }
        guard let levels = source.levels else { return }
        gauge(
            "audiocap_silence", "1 while the input is silent (below silence_dbfs for silence_seconds)",
            levels.silent ? 1 : 0, labels)
        for (index, channel) in levels.channels.enumerated() {
            let labels = labels + [("channel", String(index))]
            gauge("audiocap_peak_dbfs", "Peak level of the newest chunk", channel.peakDBFS, labels)
            gauge("audiocap_rms_dbfs", "RMS level of the newest chunk", channel.rmsDBFS, labels)
            counter("audiocap_clipped_samples_total", "Samples at full scale", Double(channel.clippedTotal), labels)
            let problems: [(kind: String, active: Bool)] = [
                (SoundProblem.flatline.rawValue, channel.flatline),
                (SoundProblem.dcOffset.rawValue, channel.dcOffset),
                (SoundProblem.clipping.rawValue, channel.clipping),
            ]
            for problem in problems {
                gauge(
                    "audiocap_sound_problem",
                    "1 while a channel has a sound problem: kind flatline (stuck samples), dc_offset or clipping (rate)",
                    problem.active ? 1 : 0, [("kind", problem.kind)] + labels)
            }
        }
    }

    /// Per destination (`destination="NAME"`) and per webhook (`webhook="NAME"`): what waits and what happened.
    private func uploadMetrics(_ uploads: UploadsResponse, now: Double) {
        for destination in uploads.destinations {
            let labels = [("destination", destination.name)]
            gauge(
                "audiocap_upload_pending_files", "Files waiting for a verified upload",
                Double(destination.pendingFiles),
                labels)
            gauge(
                "audiocap_upload_pending_bytes", "Bytes of the files waiting for a verified upload",
                Double(destination.pendingBytes), labels)
            gauge(
                "audiocap_upload_oldest_pending_age_seconds",
                "Seconds since the oldest waiting file closed; 0 with nothing waiting",
                destination.oldestPendingTime.map { max(0, now - $0) } ?? 0, labels)
            counter(
                "audiocap_uploads_delivered_total", "Files uploaded and verified", Double(destination.deliveredFiles),
                labels)
            counter(
                "audiocap_upload_delivered_bytes_total", "Bytes uploaded and verified",
                Double(destination.deliveredBytes), labels)
            counter(
                "audiocap_upload_failures_total", "Failed upload attempts", Double(destination.failedAttempts), labels)
            counter(
                "audiocap_uploads_lost_total", "Files deleted by the min_free_bytes floor before they were delivered",
                Double(destination.lostFiles), labels)
            gauge(
                "audiocap_upload_conflicts",
                "Files whose remote object differs from the local file, waiting for an operator",
                Double(destination.conflicts), labels)
        }
        for webhook in uploads.webhooks {
            let labels = [("webhook", webhook.name)]
            gauge(
                "audiocap_webhook_pending_events", "Events waiting to be delivered", Double(webhook.pendingEvents),
                labels)
            counter(
                "audiocap_webhook_delivered_total", "Events delivered", Double(webhook.deliveredEvents), labels)
            counter(
                "audiocap_webhook_failures_total", "Failed delivery attempts", Double(webhook.failedAttempts), labels)
        }
    }

    /// `labels` and the station's label.
    private func labelled(_ labels: [(String, String)]) -> [(String, String)] {
        labels + [("station", station.withLock { $0 })]
    }

    private func gauge(_ name: String, _ help: String, _ value: Double, _ labels: [(String, String)] = []) {
        registry.makeGauge(name: name, labels: labelled(labels), help: help).set(value)
    }

    /// Advances a counter to `total` (counters only go up; a smaller total, e.g. a recording started
    /// again, restarts the count from there).
    private func counter(_ name: String, _ help: String, _ total: Double, _ labels: [(String, String)] = []) {
        let labels = labelled(labels)
        let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        let delta = previous.withLock { previous -> Double in
            let last = previous[key] ?? 0
            previous[key] = total
            return total >= last ? total - last : total
        }
        if delta > 0 {
            registry.makeCounter(name: name, labels: labels, help: help).increment(by: delta)
        } else {
            _ = registry.makeCounter(name: name, labels: labels, help: help)
        }
    }
}
