// Every configuration file shipped in config/ loads, and the example with two sources says what it shows.

import CaptureCore
import Foundation
import Testing

@Suite struct ShippedConfigurationFilesTests {
    /// The repository's config/ folder.
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // CaptureCoreTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // the repository
        .appendingPathComponent("config")

    static func files() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".toml") }.sorted()
    }

    @Test func everyFileInConfigLoads() throws {
        let files = try Self.files()
        #expect(files.contains("audiocap.toml") && files.contains("demo.toml") && files.contains("two-sources.toml"))
        for file in files {
            #expect(throws: Never.self, "config/\(file)") {
                try ConfigurationLoader.load(path: Self.folder.appendingPathComponent(file).path)
            }
        }
    }

    @Test func theTwoSourcesExampleHasARecordingOnEachSource() throws {
        let configuration = try ConfigurationLoader.load(
            path: Self.folder.appendingPathComponent("two-sources.toml").path)
        #expect(configuration.sources.map(\.name) == ["stereo", "hydrophone"])
        #expect(configuration.sources.allSatisfy { $0.inputFormat == "lavfi" && $0.inputOptions == ["-re"] })
        #expect(configuration.sources.map(\.channels) == [2, 1])
        #expect(configuration.sources.map(\.sampleRate) == [48_000, 16_000])
        #expect(configuration.recordings.map(\.source) == ["stereo", "hydrophone"])
        // Each source's own tables take what they leave out from the top-level ones.
        #expect(configuration.sources[0].levels?.silenceDBFS == -70)
        #expect(configuration.sources[0].levels?.logIntervalSeconds == 10)
        #expect(configuration.sources[0].queue == nil)
        #expect(configuration.sources[1].queue?.seconds == 60)
        #expect(configuration.sources[1].levels == nil)
        #expect(configuration.levels(for: configuration.sources[1]).logIntervalSeconds == 10)
    }
}
