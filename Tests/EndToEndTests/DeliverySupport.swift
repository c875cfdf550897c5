// What the delivery end-to-end tests share: a daemon configuration with destinations, reading upload events
// from the daemon's log, the closed files of a recording with their sidecars, and hashing.
import CaptureCore
import Foundation
import TestSupport
import Testing

/// The station id every delivery test configures, so object keys are predictable.
let deliveryStation = "st-e2e"

/// A `[[recording]]` for the delivery tests: the pattern generator's audio in `segmentSeconds` files named
/// `{seq}.wav`, cut on samples, with the given extra lines (`upload = […]`, hooks, …).
struct DeliveryRecording {
    var name: String
    var directory: String
    var segmentSeconds: Int = 2
    var extra: String = ""

    var toml: String {
        """
        [[recording]]
        name = "\(name)"
        directory = "\(directory)"
        segment_seconds = \(segmentSeconds)
        align = "samples"
        filename = "{seq}.wav"
        \(extra)

        """
    }
}

/// A daemon configuration on the test pattern at real time (ffmpeg's lavfi generator, `-re`), station
/// `deliveryStation`, the control API on the fixture's socket, and the given `[[destination]]` tables and
/// recordings. `storage` adds lines to `[storage]`.
func deliveryConfig(
    _ fixture: DaemonFixture, destinations: [String], recordings: [DeliveryRecording], storage: String = "",
    seconds: Int = 3600
) -> String {
    """
    [source]
    input_format = "lavfi"
    device = '\(patternGenerator(seconds: seconds))'
    input_options = ["-re"]
    [levels]
    log_interval_seconds = 0
    [control]
    socket = "\(fixture.socket)"
    [storage]
    root = "\(fixture.root)"
    state = "\(fixture.state)"
    \(storage)
    [station]
    id = "\(deliveryStation)"

    """ + destinations.joined(separator: "\n") + "\n" + recordings.map(\.toml).joined()
}

/// A `[[destination]]` table.
func destinationTOML(
    name: String, remote: String, rcloneConfig: String, path: String? = nil, transfers: Int = 2,
    timeoutSeconds: Double = 10, extra: String = ""
) -> String {
    """
    [[destination]]
    name = "\(name)"
    remote = "\(remote)"
    rclone_config = "\(rcloneConfig)"
    \(path.map { "path = \"\($0)\"" } ?? "")
    transfers = \(transfers)
    timeout_seconds = \(timeoutSeconds)
    \(extra)

    """
}

/// The environment audiocapd needs to run rclone against the test S3 server: `AWS_CA_BUNDLE` empty (rclone
/// 1.60's S3 backend fails every request when it names a file; empty counts as unset).
let deliveryEnvironment = ["AWS_CA_BUNDLE": ""]

/// One closed file of a recording as the test sees it on disk: the audio, its sidecar, their hashes.
struct ClosedFile: CustomStringConvertible {
    var path: String
    var name: String { (path as NSString).lastPathComponent }
    var sidecar: String { path + ".json" }
    /// `YYYY/MM/DD` of the file's start (UTC), from the sidecar.
    var datePath: String
    var sequence: Int

    var description: String { path }

    /// Reads `path` and its sidecar; nil when the sidecar is missing (the file is not closed yet).
    init?(path: String) {
        guard let data = FileManager.default.contents(atPath: path + ".json"),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let segment = json["segment"] as? [String: Any],
            let utc = segment["start_time_utc"] as? String, utc.count >= 10
        else { return nil }
        self.path = path
        let day = utc.prefix(10).split(separator: "-")
        datePath = day.joined(separator: "/")
        sequence = segment["sequence"] as? Int ?? -1
    }

    /// The object key under the destination's remote for the default template
    /// `{station}/{recording}/%Y/%m/%d/{file}`, for the audio (`sidecar` false) or its sidecar.
    func defaultKey(recording: String, sidecar: Bool = false) -> String {
        "\(deliveryStation)/\(recording)/\(datePath)/\(name)\(sidecar ? ".json" : "")"
    }
}

/// The closed files (with a sidecar) under `directory`, in recording order.
func closedFiles(under directory: String) -> [ClosedFile] {
    wavFiles(under: directory).compactMap(ClosedFile.init(path:))
}

/// The SHA-256 of a file as lowercase hex, by coreutils' sha256sum (an independent reader).
func sha256sum(_ path: String) throws -> String {
    let result = try ProcessRunner.run("sha256sum", [path])
    try #require(result.status == 0, "sha256sum \(path): \(String(decoding: result.stderr, as: UTF8.self))")
    return String(String(decoding: result.stdout, as: UTF8.self).prefix(64))
}

/// The MD5 of a file as lowercase hex, by coreutils' md5sum.
func md5sum(_ path: String) throws -> String {
    let result = try ProcessRunner.run("md5sum", [path])
    try #require(result.status == 0, "md5sum \(path): \(String(decoding: result.stderr, as: UTF8.self))")
    return String(String(decoding: result.stdout, as: UTF8.self).prefix(32))
}

/// The SHA-256 of `data` as lowercase hex.
func sha256(_ data: Data) -> String { SHA256.hash([UInt8](data)).hexString }

extension DaemonProcess {
    /// The fields of every logged event of `kind` (`upload.done`, …), in log order.
    func events(_ kind: String) -> [[String: String]] {
        lines(containing: "event=\(kind)").map(eventFields).filter { $0["event"] == kind }
    }
}

/// `key=value` fields of a log line (values may be quoted), keys with digits too (`upload.sha256`).
func eventFields(of line: String) -> [String: String] {
    var result: [String: String] = [:]
    let pattern = /([a-z0-9_.]+)=("(?:[^"\\]|\\.)*"|\S+)/
    for match in line.matches(of: pattern) {
        var value = String(match.output.2)
        if value.hasPrefix("\"") { value = String(value.dropFirst().dropLast()) }
        result[String(match.output.1)] = value
    }
    return result
}

/// The frames an `upload.lost` event says were lost with its file.
func lostFrames(_ event: [String: String]) -> Int? {
    for key in ["segment.frames", "upload.frames", "lost.frames", "frames"] {
        if let value = event[key].flatMap({ Int($0) }) { return value }
    }
    return nil
}

/// The files (relative paths) under `directory`, sorted.
func regularFiles(under directory: String) -> [String] {
    let all = (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String]) ?? []
    return all.filter { path in
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: directory + "/" + path, isDirectory: &isDirectory)
            && !isDirectory.boolValue
    }.sorted()
}
