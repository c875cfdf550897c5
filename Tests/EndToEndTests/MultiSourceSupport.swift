// What the tests of several sources share: the pattern's variants from ffmpeg's generator, `[[source]]`
// configurations, and reading the daemon's status, events and sidecars per source.
import CaptureProtocol
import Foundation
import TestSupport
import Testing

/// ffmpeg's lavfi generator producing the test pattern's variant with `sineOffset` (see `TestPattern`) for
/// `seconds` seconds: channel 0 the sine at counter + `sineOffset`, channel 1 the frame counter.
func patternGenerator(seconds: Int, sineOffset: Int) -> String {
    let offset = sineOffset & 0xFFFF
    return "aevalsrc=exprs=round(3277*sin(2*PI*1365*mod(n+\(offset)\\,65536)/65536))/32768"
        + "|(mod(n\\,65536)-65536*gte(mod(n\\,65536)\\,32768))/32768:s=48000:c=stereo:d=\(seconds)"
}

/// The lines of one `[[source]]` table.
enum SourceTable {
    /// An ALSA device (a test microphone), stereo 48 kHz.
    static func alsa(_ name: String, device: String, extra: String = "") -> String {
        """
        [[source]]
        name = "\(name)"
        input_format = "alsa"
        device = "\(device)"
        sample_rate = 48000
        channels = 2
        \(extra)

        """
    }

    /// ffmpeg's generator of the pattern's variant `sineOffset`, paced in real time (`-re`) for an hour.
    static func generator(_ name: String, sineOffset: Int, extra: String = "") -> String {
        """
        [[source]]
        name = "\(name)"
        input_format = "lavfi"
        device = '\(patternGenerator(seconds: 3600, sineOffset: sineOffset))'
        input_options = ["-re"]
        \(extra)

        """
    }

    /// A network stream (`input_format = "http"`: no `-f`, ffmpeg probes the URL), stereo 48 kHz.
    static func http(_ name: String, url: String, extra: String = "") -> String {
        """
        [[source]]
        name = "\(name)"
        input_format = "http"
        device = "\(url)"
        sample_rate = 48000
        channels = 2
        \(extra)

        """
    }
}

/// A daemon configuration with the given `[[source]]` tables and one continuous recording per
/// `(name, source)`: `DIR/NAME/{seq}.wav`, one file an hour, cut on samples. The control API listens on
/// the fixture's socket; level lines are off.
func multiSourceConfig(
    _ fixture: DaemonFixture, sources: [String], recordings: [(name: String, source: String)], extra: String = ""
) -> String {
    var text = sources.joined()
    text += """
        [levels]
        log_interval_seconds = 0
        [control]
        socket = "\(fixture.socket)"
        [storage]
        root = "\(fixture.path)/ondemand"
        state = "\(fixture.state)"
        \(extra)

        """
    for (name, source) in recordings {
        text += """
            [[recording]]
            name = "\(name)"
            source = "\(source)"
            directory = "\(fixture.path)/\(name)"
            segment_seconds = 3600
            align = "samples"
            filename = "{seq}.wav"

            """
    }
    return text
}

extension DaemonFixture {
    /// `GET target` on the control socket: the reply's status and body.
    func get(_ target: String, timeout: Double = 5) -> (status: Int, body: String) {
        let reply = RawSocket.request(socket, method: "GET", target: target, timeout: timeout)
        return (RawSocket.status(of: reply), RawSocket.body(of: reply))
    }

    /// `GET /v1/status`, decoded, or nil when it does not answer 200 or cannot be decoded.
    func status() -> StatusResponse? {
        let (code, body) = get("/v1/status")
        guard code == 200 else { return nil }
        return try? ControlAPI.decoder().decode(StatusResponse.self, from: Data(body.utf8))
    }

    /// The source named `name` in `GET /v1/status`, or nil.
    func sourceStatus(_ name: String) -> SourceStatus? {
        status()?.sources.first { $0.name == name }
    }

    /// The recording named `name` in `GET /v1/status`, or nil.
    func recordingStatus(_ name: String) -> RecordingResponse? {
        status()?.recordings.first { $0.name == name }
    }

    /// The events in `[storage] state/events.jsonl`, each a JSON object (lines that are not are left out).
    func eventLog() -> [[String: Any]] {
        let text = (try? String(contentsOfFile: state + "/events.jsonl", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Waits until the source `name` has a running ffmpeg other than `previous`; returns its pid.
    func waitForFFmpeg(of name: String, other previous: Int32? = nil, timeout: Double = 20) -> Int32? {
        var pid: Int32?
        waitUntil(timeout: timeout) {
            pid = sourceStatus(name)?.ffmpegPID
            return pid != nil && pid != previous
        }
        return pid != previous ? pid : nil
    }
}

/// The `source` of each sidecar (`NAME.wav.json`) of the closed files under `directory`, in file order;
/// nil where a sidecar is missing or names no source.
func sidecarSources(under directory: String) -> [String?] {
    wavFiles(under: directory).map { file in
        guard let data = FileManager.default.contents(atPath: file + ".json"),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return json["source"] as? String
    }
}

/// Whether the process `pid` is alive (not a zombie).
func isAlive(_ pid: Int32) -> Bool {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
    return !status.contains("State:\tZ")
}
