// End to end: the segments a daemon writes carry bext and GUANO metadata that independent readers read:
// guano-py (the GUANO reference implementation) and ffprobe; the audio stays bit-exact.
import Foundation
import TestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized)
    struct MetadataEndToEndTests {
        /// The venv's python, when it can import guano (`scripts/install-test-python.sh` installs it).
        static let guanoPython: String? = {
            let python = SchemaCheck.venv + "/bin/python3"
            guard FileManager.default.isExecutableFile(atPath: python),
                (try? ProcessRunner.run(python, ["-c", "import guano"], timeout: 30).status) == 0
            else { return nil }
            return python
        }()

        /// Prints a file's GUANO fields as JSON, as guano-py reads and coerces them; `Timestamp` as seconds
        /// since the epoch and its UTC offset in seconds.
        static let readGuano = """
            import json, sys
            from guano import GuanoFile
            g = GuanoFile(sys.argv[1], strict=True)
            fields = {k: v for k, v in g.items()}
            fields["Timestamp"] = [g["Timestamp"].timestamp(), g["Timestamp"].utcoffset().total_seconds()]
            print(json.dumps(fields))
            """

        @Test(
            .enabled(
                if: guanoPython != nil,
                "guano is not installed: run `sh scripts/install-test-python.sh` (or set AUDIOCAP_TEST_VENV)"))
        func everySegmentCarriesMetadataThatGuanoAndFFprobeRead() throws {
            try DaemonFixture.with { dir in
                try dir.writeConfig(
                    """
                    [source]
                    input_format = "lavfi"
                    device = '\(patternGenerator(seconds: 3))'
                    restart_delay_seconds = 60
                    [levels]
                    log_interval_seconds = 0
                    [control]
                    socket = ""
                    [storage]
                    root = "\(dir.root)"
                    state = "\(dir.state)"
                    [station]
                    id = "garden-01"
                    latitude = 52.5163
                    longitude = -13.3777
                    elevation = 34.5
                    make = "Acme"
                    model = "Mic 2"
                    serial = "SN-42"
                    note = "line one\\nline two"
                    [[recording]]
                    name = "gen"
                    directory = "\(dir.path)/out"
                    segment_seconds = 1
                    align = "samples"
                    filename = "{seq}.wav"
                    """)
                let daemon = try dir.launch()
                #expect(daemon.waitForLog("ffmpeg exited on its own"), "\(daemon.log)")
                #expect(daemon.terminate().status == 0)
                let files = wavFiles(under: dir.path + "/out")
                #expect(files.count == 3)
                let report = try PatternCheck.check(channels: 2, files: files)
                #expect(report.bitExact && report.frames == 144_000, "\(report)")

                var firstFrame = 0
                for file in files {
                    let sidecar =
                        try JSONSerialization.jsonObject(
                            with: Data(contentsOf: URL(fileURLWithPath: file + ".json"))) as? [String: Any]
                    let segment = try #require(sidecar?["segment"] as? [String: Any])
                    let start = try #require((segment["start_time"] as? NSNumber)?.doubleValue)
                    let frames = try #require((segment["frames"] as? NSNumber)?.intValue)

                    // guano-py, strict: every well-known value must coerce.
                    let run = try ProcessRunner.run(try #require(Self.guanoPython), ["-c", Self.readGuano, file])
                    #expect(run.status == 0, "\(String(decoding: run.stderr, as: UTF8.self))")
                    let guano = try #require(try JSONSerialization.jsonObject(with: run.stdout) as? [String: Any])
                    #expect(guano["GUANO|Version"] as? String == "1.0")
                    #expect(guano["Samplerate"] as? Int == 48_000)
                    #expect(guano["Length"] as? Double == Double(frames) / 48_000)
                    #expect(guano["Make"] as? String == "Acme")
                    #expect(guano["Model"] as? String == "Mic 2")
                    #expect(guano["Serial"] as? String == "SN-42")
                    #expect(guano["Loc Position"] as? [Double] == [52.5163, -13.3777])
                    #expect(guano["Loc Elevation"] as? Double == 34.5)
                    #expect(guano["Note"] as? String == "line one\nline two")
                    #expect(guano["Original Filename"] as? String == URL(fileURLWithPath: file).lastPathComponent)
                    #expect(guano["audiocap|Station"] as? String == "garden-01")
                    #expect(guano["audiocap|Recording"] as? String == "gen")
                    #expect(guano["audiocap|Source"] as? String == "main")
                    #expect(guano["audiocap|First Frame"] as? String == String(firstFrame))
                    #expect(guano["audiocap|Gaps"] as? String == "0")
                    // The timestamp, parsed by guano-py, is the sidecar's start time to the microsecond.
                    let timestamp = try #require(guano["Timestamp"] as? [Double])
                    #expect(abs(timestamp[0] - start) < 0.000_002, "\(timestamp) vs \(start)")
                    #expect(timestamp[1] == 0, "UTC offset")

                    // ffprobe reads the bext: its time reference is the first frame's UTC time of day.
                    let probe = try ProcessRunner.run("ffprobe", ["-v", "error", "-show_format", "-of", "json", file])
                    #expect(probe.status == 0)
                    let format = try JSONSerialization.jsonObject(with: probe.stdout) as? [String: Any]
                    let tags = try #require((format?["format"] as? [String: Any])?["tags"] as? [String: String])
                    let reference = try #require(tags["time_reference"].flatMap { Double($0) })
                    let timeOfDay = start - (start / 86_400).rounded(.down) * 86_400
                    #expect(abs(reference / 48_000 - timeOfDay) <= 1.0 / 48_000, "\(reference) vs \(timeOfDay)")
                    #expect(tags["encoded_by"] == "audiocap")  // ffmpeg's name for Originator
                    #expect(tags["comment"]?.contains("station garden-01, recording gen") == true)  // Description
                    firstFrame += frames
                }
            }
        }
    }
}
