// What the tests of recording on cue share: requests with a body, the files' sidecars, and a recording's
// audio read back against a continuous recording of the same source.
import CaptureProtocol
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// One closed file's sidecar (`PATH.json`), the fields these tests read.
struct Sidecar: CustomStringConvertible {
    var path: String
    var firstFrame: Int
    var frames: Int
    var startTime: Double
    var gaps: Int
    /// The clip's `trigger` object (top level of the sidecar, or inside `segment`), when it has one.
    var trigger: [String: Any]?

    /// Reads `path + ".json"`.
    init(of path: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        self.path = path
        let data = try #require(
            FileManager.default.contents(atPath: path + ".json"), "no sidecar beside \(path)",
            sourceLocation: sourceLocation)
        let json = try #require(
            try JSONSerialization.jsonObject(with: data) as? [String: Any], sourceLocation: sourceLocation)
        let segment = try #require(
            json["segment"] as? [String: Any], "no segment in \(path).json", sourceLocation: sourceLocation)
        firstFrame = try #require(
            segment["first_frame"] as? Int, "no first_frame in \(path).json", sourceLocation: sourceLocation)
        frames = try #require(segment["frames"] as? Int, sourceLocation: sourceLocation)
        startTime = try #require(segment["start_time"] as? Double, sourceLocation: sourceLocation)
        gaps = (segment["gaps"] as? [Any])?.count ?? -1
        trigger = (json["trigger"] as? [String: Any]) ?? (segment["trigger"] as? [String: Any])
    }

    /// The frame after the file's last.
    var endFrame: Int { firstFrame + frames }
    /// Wall time just after the file's last frame, at 48 kHz.
    var endTime: Double { startTime + Double(frames) / 48_000 }

    var description: String {
        "\((path as NSString).lastPathComponent): frames \(firstFrame)..<\(endFrame) start \(String(format: "%.3f", startTime)) gaps \(gaps)"
    }

    /// The sidecars of the closed WAV files under `directory`, in capture order (by first frame).
    static func all(under directory: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [Sidecar] {
        try wavFiles(under: directory).map { try Sidecar(of: $0, sourceLocation: sourceLocation) }
            .sorted { $0.firstFrame < $1.firstFrame }
    }
}

/// A continuous recording's closed files, joined: the reference other files of the same source are compared
/// with, frame for frame.
struct ContinuousAudio {
    /// Capture frame of the first frame of `audio`.
    let firstFrame: Int
    let audio: Data
    let frameBytes: Int

    /// Reads the closed files under `directory`, which must follow each other without a hole.
    init(directory: String, channels: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let sidecars = try Sidecar.all(under: directory, sourceLocation: sourceLocation)
        let first = try #require(sidecars.first, "no closed file under \(directory)", sourceLocation: sourceLocation)
        for (a, b) in zip(sidecars, sidecars.dropFirst()) {
            #expect(a.endFrame == b.firstFrame, "a hole between \(a) and \(b)", sourceLocation: sourceLocation)
        }
        firstFrame = first.firstFrame
        frameBytes = 2 * channels
        audio = try WAVAudio.joined(sidecars.map(\.path), channels: channels)
    }

    /// Capture frames the reference covers.
    var frames: Range<Int> { firstFrame..<(firstFrame + audio.count / frameBytes) }

    /// Nil when `bytes`, audio starting at capture frame `frame`, are the reference's frames there; else
    /// what differs.
    func difference(_ bytes: Data, atCaptureFrame frame: Int) -> String? {
        WAVAudio.difference(bytes, in: audio, atFrame: frame - firstFrame, frameBytes: frameBytes)
    }
}

extension DaemonFixture {
    /// `method target` with a JSON body on the control socket: the reply's status and body.
    func send(_ method: String, _ target: String, json: String = "", timeout: Double = 10) -> (
        status: Int, body: String
    ) {
        let reply = RawSocket.request(socket, method: method, target: target, body: Array(json.utf8), timeout: timeout)
        return (RawSocket.status(of: reply), RawSocket.body(of: reply))
    }

    /// Decodes a reply's body as `T`, or records an issue naming the reply.
    func decode<T: Decodable>(
        _ type: T.Type, _ reply: (status: Int, body: String), sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> T {
        do {
            return try ControlAPI.decoder().decode(T.self, from: Data(reply.body.utf8))
        } catch {
            Issue.record(
                "cannot decode \(T.self) from \(reply.status) \(reply.body): \(error)", sourceLocation: sourceLocation)
            throw error
        }
    }
}

/// Seconds since the epoch, now.
func now() -> Double { Date().timeIntervalSince1970 }

/// The resident set of process `pid`, in bytes (`VmRSS` of /proc/PID/status), or nil.
func residentBytes(of pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return nil }
    let kilobytes = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
    return kilobytes.map { $0 * 1024 }
}

/// `value` with three decimals.
func format3(_ value: Double) -> String { String(format: "%.3f", value) }
