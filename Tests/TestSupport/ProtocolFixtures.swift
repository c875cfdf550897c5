// Replies as audiocapd sends them, for the formatting and client tests.

import CaptureProtocol

/// Sample API values shared by the protocol, client and CLI tests.
public enum Fixtures {
    public static let night = RecordingResponse(
        name: "night", kind: "continuous", state: "recording", directory: "/srv/audio/night", segmentSeconds: 60,
        align: "clock", filename: "%Y-%m-%d/%H%M%S.wav", currentFile: "2026-11-22/010200.wav",
        currentFileSeconds: 3.2, segmentsClosed: 143, framesWritten: 412_953_600, bytesWritten: 1_651_814_400,
        droppedFrames: 0, lastError: nil, startedAt: 1_795_300_000, stopsAt: nil)

    public static let interview = RecordingResponse(
        name: "interview", kind: "on-demand", state: "blocked", directory: "/srv/audio/interview",
        segmentSeconds: 600, align: "samples", filename: "{name}-{seq}.wav", currentFile: nil,
        currentFileSeconds: 0, segmentsClosed: 2, framesWritten: 57_600_000, bytesWritten: 230_400_000,
        droppedFrames: 4_800, lastError: "no space left on device", startedAt: 1_795_308_000,
        stopsAt: 1_795_315_200)

    public static let status = StatusResponse(
        version: "0.1.0", pid: 812, uptimeSeconds: 273_600,
        source: SourceStatus(
            state: "running", inputFormat: "alsa", device: "hw:CARD=USB,DEV=0", sampleRate: 48_000, channels: 2,
            sampleFormat: "s16le", ffmpegPID: 815, restarts: 2, framesCaptured: 13_132_800_000,
            secondsSinceLastAudio: 0.1, xruns: 0, lastExit: "exited(1)", lastErrorLines: [],
            nextStartInSeconds: nil),
        queue: QueueStatus(
            chunkMilliseconds: 100, depthChunks: 1, highWaterChunks: 7,
            consumers: [
                .init(name: "levels", depthChunks: 0, highWaterChunks: 2, capacityChunks: 50, droppedFrames: 0),
                .init(name: "night", depthChunks: 1, highWaterChunks: 7, capacityChunks: 50, droppedFrames: 0),
            ]),
        droppedFrames: 0,
        levels: LevelsResponse(
            time: 1_795_309_323.4, frame: 13_132_795_200, silent: false,
            channels: [
                .init(peakDBFS: -12.34, rmsDBFS: -18.4, clipped: 0, clippedTotal: 0),
                .init(peakDBFS: -0.01, rmsDBFS: -9.5, clipped: 2, clippedTotal: 17),
            ]),
        disk: DiskStatus(
            path: "/srv/audio", freeBytes: 1_234_000_000_000, totalBytes: 2_000_000_000_000,
            estimatedSecondsLeft: 273_600 + 600),
        recordings: [night])

    public static let segment = SegmentResponse(
        recording: "night", path: "/srv/audio/night/2026-11-22/010000.wav", sequence: 141, firstFrame: 0,
        frames: 2_880_000, durationSeconds: 60, startTime: 1_795_309_200, peakDBFS: [-3.2, -1.5],
        rmsDBFS: [-20, -19], droppedFrames: 0, restarts: 0, bytes: 11_520_044)

    public static let event = EventResponse(
        time: 1_795_309_323.9, level: "warning", kind: "silence.began", message: "Silence began",
        recording: "night", fields: ["channel": .int(1), "dbfs": .double(-71.2), "note": .string("left mic")])
}
