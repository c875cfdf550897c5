// `capture.json` under `[storage] state`: when the audio last flowed, so the next start can record the gap.
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

    /// The file's contents, or nil when it is missing or unreadable (then no gap is recorded).
    public static func read(stateDirectory: String) -> CaptureStateFile? {
        guard let data = FileManager.default.contents(atPath: path(inStateDirectory: stateDirectory)) else { return nil }
        return try? decoder.decode(CaptureStateFile.self, from: data)
    }

    /// Writes the file through a temporary name and a rename. Blocking file I/O; failures are returned.
    @discardableResult
    public func write(stateDirectory: String) -> Bool {
        guard let data = try? Self.encoder.encode(self) else { return false }
        let final = Self.path(inStateDirectory: stateDirectory)
        let temporary = final + ".tmp"
        try? FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: temporary, contents: data + [0x0A]) else { return false }
        return rename(temporary, final) == 0
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}
