// `[[recording]] format` and `flac_level`: defaults, file extensions, and the f32 + FLAC refusal.

import CaptureCore
import Testing

@Suite("recording format")
struct RecordingFormatConfigurationTests {
    private static func recording(_ keys: String, source: String = "") throws -> RecordingConfiguration {
        let toml = source + "\n[[recording]]\nname = \"main\"\ndirectory = \"/srv/audio\"\n" + keys
        return try #require(try ConfigurationLoader.parse(toml, path: "test.toml").recordings.first)
    }

    /// The messages of the problems in `toml`, by key.
    private static func problems(_ toml: String) -> [String: String] {
        do {
            _ = try ConfigurationLoader.parse(toml, path: "test.toml")
            Issue.record("the file loaded")
            return [:]
        } catch {
            return Dictionary(error.problems.map { ($0.key, $0.message) }, uniquingKeysWith: { $1 })
        }
    }

    @Test func wavIsTheDefault() throws {
        let recording = try Self.recording("")
        #expect(recording.format == .wav)
        #expect(recording.flacLevel == 5)
        #expect(recording.filename.hasSuffix(".wav"))
    }

    @Test func flacFilesEndInFlac() throws {
        let recording = try Self.recording("format = \"flac\"\nflac_level = 8\n")
        #expect(recording.format == .flac)
        #expect(recording.flacLevel == 8)
        #expect(recording.filename == "%Y-%m-%d/{name}-%Y%m%dT%H%M%SZ.flac")
        #expect(try Self.recording("format = \"flac\"\nfilename = \"{name}-{seq}\"\n").filename == "{name}-{seq}.flac")
        #expect(try Self.recording("filename = \"{name}-{seq}\"\nformat = \"flac\"\n").filename == "{name}-{seq}.flac")
        #expect(try Self.recording("format = \"flac\"\nfilename = \"x.FLAC\"\n").filename == "x.FLAC")
    }

    @Test func wrongValuesAreProblems() {
        let base = "[[recording]]\nname = \"main\"\ndirectory = \"/srv/audio\"\n"
        #expect(Self.problems(base + "format = \"mp3\"\n")["recording[0].format"]?.contains("\"flac\"") == true)
        #expect(Self.problems(base + "flac_level = 9\n")["recording[0].flac_level"] != nil)
        let wavName = Self.problems(base + "format = \"flac\"\nfilename = \"a.wav\"\n")["recording[0].filename"]
        #expect(wavName?.contains("`.flac`") == true)
    }

    @Test func flacOfAFloatSourceIsRefusedSayingWhy() {
        let toml = """
            [source]
            sample_format = "f32"

            [[recording]]
            name = "main"
            directory = "/srv/audio"
            format = "flac"
            """
        let message = Self.problems(toml)["recording[0].format"]
        #expect(message?.contains("integer samples only") == true)
        #expect(message?.contains("f32") == true)
        // f32 as WAV is fine.
        #expect(throws: Never.self) { try ConfigurationLoader.parse(toml.replacing("flac", with: "wav"), path: "t") }
    }
}
