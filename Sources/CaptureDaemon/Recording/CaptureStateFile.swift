// `capture.json` under `[storage] state`: when the audio last flowed, so the next start can record the gap.
import CaptureProtocol
import Foundation

/// What the daemon remembers across a restart, crash or power cut: the wall time up to which audio had
/// arrived and the continuous recordings that were writing it. Rewritten (atomically) every few seconds
/// while audio flows and once more at shutdown, so after a power cut it is at most that old; the last
/// write time of a repaired `.partial` file refines it.
public struct CaptureStateFile: Sendable, Codable, Equatable {
    /// Wall time (seconds since the epoch) of the end of the last audio captured.
    public var lastAudioEnd: Double
    /// Continuous recordings running when it was written.
    public var recordings: [String]
    /// True when written by an orderly shutdown.
    public var clean: Bool
    /// The `{seq}` number each recording's newest file had, so numbering goes on after a restart.
    public var sequences: [String: Int]?

    public init(lastAudioEnd: Double, recordings: [String], clean: Bool, sequences: [String: Int]? = nil) {
        self.lastAudioEnd = lastAudioEnd
        self.recordings = recordings
        self.clean = clean
        self.sequences = sequences
    }

    public static func path(inStateDirectory directory: String) -> String { directory + "/capture.json" }

    /// Why the file could not be used.
    public struct Damaged: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String {
            "\(path) is damaged (\(reason)); it is ignored, so no restart gap is recorded this time"
        }
    }

    /// The file's contents, or nil when there is none. Throws ``Damaged`` when it cannot be read or
    /// holds values no daemon writes (a time that is not finite or far outside this era, a negative or
    /// huge file number): such a file is ignored, never trusted.
    public static func read(stateDirectory: String) throws(Damaged) -> CaptureStateFile? {
        let path = path(inStateDirectory: stateDirectory)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let state: CaptureStateFile
        do {
            state = try decoder.decode(CaptureStateFile.self, from: data)
        } catch {
            throw Damaged(path: path, reason: "not the JSON audiocapd writes")
        }
        // 2000-01-01 to 2200-01-01: anything else is not a time this daemon wrote.
        guard state.lastAudioEnd.isFinite, state.lastAudioEnd > 946_684_800, state.lastAudioEnd < 7_258_118_400 else {
            throw Damaged(path: path, reason: "last_audio_end \(state.lastAudioEnd) is not a plausible time")
        }
        if let bad = state.sequences?.first(where: { $0.value < 0 || $0.value > 999_999_999 }) {
            throw Damaged(path: path, reason: "sequence \(bad.value) of \(bad.key) is out of range")
        }
        return state
    }

    /// Replaces the file atomically and durably (temporary name, fsync, rename, folder fsync). Blocking
    /// file I/O; returns whether it was written.
    @discardableResult
    public func write(stateDirectory: String) -> Bool {
        guard let data = try? Self.encoder.encode(self) else { return false }
        try? FileManager.default.createDirectory(
            atPath: stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        return DurableFile.write(data + [0x0A], to: Self.path(inStateDirectory: stateDirectory)) == nil
    }

    // capture.json is written and read with the control API's JSON rules (``ControlAPI/encoder(pretty:)``).
    private static var encoder: JSONEncoder { ControlAPI.encoder() }
    private static var decoder: JSONDecoder { ControlAPI.decoder() }
}
