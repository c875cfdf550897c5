// Tests of reading and checking the TOML configuration, including the files shipped in config/.

import CaptureCore
import Foundation
import Testing

private typealias Problem = ConfigurationError.Problem

/// The problems `ConfigurationLoader` reports for `toml`; records an issue when it loads or fails otherwise.
private func problems(
    in toml: String, sourceLocation: SourceLocation = #_sourceLocation
) -> [Problem] {
    guard
        let error = #expect(
            throws: ConfigurationError.self, sourceLocation: sourceLocation,
            performing: { try ConfigurationLoader.parse(toml, path: "test.toml") })
    else { return [] }
    #expect(error.code == .invalid, sourceLocation: sourceLocation)
    #expect(error.path == "test.toml", sourceLocation: sourceLocation)
    // Lines and recording names are checked in their own tests.
    return error.problems.map { problem in
        var problem = problem
        problem.line = nil
        problem.table = nil
        return problem
    }
}

/// The file `name` in the repository's config/ folder.
private func configFile(_ name: String) -> String {
    URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // CaptureCoreTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // the repository
        .appendingPathComponent("config")
        .appendingPathComponent(name)
        .path
}

private let minimalRecording = """
    [[recording]]
    name = "main"
    directory = "/srv/audio"

    """

@Suite("ConfigurationLoader")
struct ConfigurationLoaderTests {
    // MARK: Valid files

    @Test func emptyFileGivesTheDefaults() throws {
        let configuration = try ConfigurationLoader.parse("", path: "empty.toml")
        #expect(configuration == Configuration())
        #expect(configuration.recordings.isEmpty)
    }

    @Test func commentsAndEmptyTablesGiveTheDefaults() throws {
        let toml = """
            # nothing set
            [source]
            [queue]
            [levels]
            [log]
            """
        #expect(try ConfigurationLoader.parse(toml, path: "x.toml") == Configuration())
    }

    @Test func everyKeyIsRead() throws {
        let toml = """
            [source]
            ffmpeg = "/usr/local/bin/ffmpeg"
            input_format = "lavfi"
            device = "sine=frequency=440"
            input_options = ["-re", "-thread_queue_size", "64"]
            sample_rate = 44100
            channels = 6
            sample_format = "s24"
            chunk_ms = 20
            restart_delay_seconds = 2.5
            stall_seconds = 12

            [queue]
            seconds = 12.5

            [levels]
            log_interval_seconds = 0
            silence_dbfs = -72.5
            silence_seconds = 4.25
            flatline_seconds = 2.5
            dc_offset_dbfs = -24
            dc_offset_seconds = 3
            clipping_rate = 0.02
            clipping_seconds = 20
            alarm_hold_seconds = 0
            alarm_clear_seconds = 45.5

            [[recording]]
            name = "studio-1.main_mix"
            directory = "/srv/audio/studio"
            segment_seconds = 3600
            align = "samples"
            filename = "{name}/%Y/%m/%d/%H%M%S-{seq}.wav"
            time_zone = "local"
            sync_seconds = 0.5

            [[recording]]
            name = "b"
            directory = "relative/b"

            [log]
            level = "debug"
            """
        var expected = Configuration()
        expected.source.ffmpeg = "/usr/local/bin/ffmpeg"
        expected.source.inputFormat = "lavfi"
        expected.source.device = "sine=frequency=440"
        expected.source.inputOptions = ["-re", "-thread_queue_size", "64"]
        expected.source.sampleRate = 44_100
        expected.source.channels = 6
        expected.source.sampleFormat = .s24
        expected.source.chunkMilliseconds = 20
        expected.source.restartDelaySeconds = 2.5
        expected.source.stallSeconds = 12
        expected.queue.seconds = 12.5
        expected.levels.logIntervalSeconds = 0
        expected.levels.silenceDBFS = -72.5
        expected.levels.silenceSeconds = 4.25
        expected.levels.flatlineSeconds = 2.5
        expected.levels.dcOffsetDBFS = -24
        expected.levels.dcOffsetSeconds = 3
        expected.levels.clippingRate = 0.02
        expected.levels.clippingSeconds = 20
        expected.levels.alarmHoldSeconds = 0
        expected.levels.alarmClearSeconds = 45.5
        var first = RecordingConfiguration(name: "studio-1.main_mix", directory: "/srv/audio/studio")
        first.segmentSeconds = 3600
        first.align = .samples
        first.filename = "{name}/%Y/%m/%d/%H%M%S-{seq}.wav"
        first.timeZone = .local
        first.syncSeconds = 0.5
        expected.recordings = [first, RecordingConfiguration(name: "b", directory: "relative/b")]
        expected.log.level = .debug

        #expect(try ConfigurationLoader.parse(toml, path: "x.toml") == expected)
    }

    @Test func integersAreAcceptedWhereNumbersAreExpected() throws {
        let toml = """
            [source]
            restart_delay_seconds = 3
            [queue]
            seconds = 5
            [levels]
            log_interval_seconds = 10
            silence_dbfs = -50
            silence_seconds = 7
            \(minimalRecording)
            sync_seconds = 2
            """
        let configuration = try ConfigurationLoader.parse(toml, path: "x.toml")
        #expect(configuration.source.restartDelaySeconds == 3.0)
        #expect(configuration.queue.seconds == 5.0)
        #expect(configuration.levels.logIntervalSeconds == 10.0)
        #expect(configuration.levels.silenceDBFS == -50.0)
        #expect(configuration.levels.silenceSeconds == 7.0)
        #expect(configuration.recordings.first?.syncSeconds == 2.0)
    }

    @Test func boundaryValuesAreAccepted() throws {
        let low = """
            [source]
            sample_rate = 8000
            channels = 1
            chunk_ms = 5
            restart_delay_seconds = 0.001
            [levels]
            log_interval_seconds = 0
            silence_dbfs = -200
            \(minimalRecording)
            segment_seconds = 1
            """
        let high = """
            [source]
            sample_rate = 768000
            channels = 32
            chunk_ms = 1000
            restart_delay_seconds = 300
            [queue]
            seconds = 1
            [levels]
            silence_dbfs = 0
            [control]
            max_recordings = 0
            \(minimalRecording)
            segment_seconds = 86400
            sync_seconds = 3600
            """
        // The longest queue fits in memory only at a low rate (see queueThatNeedsTooMuchMemoryIsRefused).
        let longQueue = """
            [source]
            sample_rate = 8000
            channels = 1
            [queue]
            seconds = 3600
            [control]
            max_recordings = 0
            """
        let lowConfiguration = try ConfigurationLoader.parse(low, path: "low.toml")
        #expect(lowConfiguration.source.sampleRate == 8000)
        #expect(lowConfiguration.source.channels == 1)
        #expect(lowConfiguration.levels.silenceDBFS == -200)
        #expect(lowConfiguration.recordings.first?.segmentSeconds == 1)
        let highConfiguration = try ConfigurationLoader.parse(high, path: "high.toml")
        #expect(highConfiguration.source.sampleRate == 768_000)
        #expect(highConfiguration.source.channels == 32)
        #expect(highConfiguration.control.maxRecordings == 0)
        #expect(try ConfigurationLoader.parse(longQueue, path: "long.toml").queue.seconds == 3600)
        #expect(highConfiguration.recordings.first?.segmentSeconds == 86_400)
    }

    @Test(arguments: [
        ("a", "a.wav"),
        ("%Y/{name}", "%Y/{name}.wav"),
        ("x.wav", "x.wav"),
        ("x.WAV", "x.WAV"),
        ("./x", "./x.wav"),
        ("x.wav.bak", "x.wav.bak.wav"),
    ])
    func filenameGetsWavExtensionWhenMissing(written: String, expected: String) throws {
        let toml = minimalRecording + "filename = \"\(written)\"\n"
        let configuration = try ConfigurationLoader.parse(toml, path: "x.toml")
        #expect(configuration.recordings.first?.filename == expected)
    }

    @Test func recordingsMayShareADirectoryWhenTheirFilesDiffer() throws {
        let toml = """
            [[recording]]
            name = "a"
            directory = "/srv/audio"
            [[recording]]
            name = "b"
            directory = "/srv/audio"
            [[recording]]
            name = "c"
            directory = "/srv/audio"
            filename = "c/%H%M%S"
            """
        let configuration = try ConfigurationLoader.parse(toml, path: "x.toml")
        #expect(configuration.recordings.map(\.name) == ["a", "b", "c"])
    }

    @Test func shippedDefaultsFileLoadsToTheDefaults() throws {
        let configuration = try ConfigurationLoader.load(path: configFile("audiocap.toml"))
        var expected = Configuration()
        expected.recordings = [
            RecordingConfiguration(name: "main", directory: "/var/lib/audiocap/recordings/main")
        ]
        #expect(configuration == expected)
    }

    @Test func shippedDefaultsFileSetsEveryKey() throws {
        // Every key the loader knows appears in the documented file, so its defaults stay documented.
        let text = try String(contentsOfFile: configFile("audiocap.toml"), encoding: .utf8)
        let keys = [
            "ffmpeg", "input_format", "device", "input_options", "sample_rate", "channels", "sample_format",
            "chunk_ms", "restart_delay_seconds", "seconds", "log_interval_seconds", "silence_dbfs",
            "silence_seconds", "name", "directory", "segment_seconds", "align", "filename", "time_zone",
            "sync_seconds", "level", "gap_fill", "delete_oldest_when_low", "min_free_bytes",
            "low_space_warning_hours", "output_options", "flatline_seconds", "dc_offset_dbfs", "dc_offset_seconds",
            "clipping_rate",
            "clipping_seconds", "alarm_hold_seconds", "alarm_clear_seconds",
        ]
        let setKeys = Set(
            text.split(separator: "\n")
                .filter { !$0.hasPrefix("#") && $0.contains("=") }
                .map { $0.split(separator: "=")[0].trimmingCharacters(in: .whitespaces) }
        )
        for key in keys {
            #expect(setKeys.contains(key), "config/audiocap.toml does not set \(key)")
        }
    }

    @Test func shippedDemoFileLoads() throws {
        let configuration = try ConfigurationLoader.load(path: configFile("demo.toml"))
        #expect(configuration.source.inputFormat == "lavfi")
        #expect(configuration.source.device.hasPrefix("aevalsrc="))
        #expect(configuration.source.inputOptions == ["-re"])
        #expect(configuration.source.channels == 2)
        #expect(configuration.source.sampleRate == 48_000)
        #expect(configuration.levels.logIntervalSeconds == 10)
        #expect(configuration.recordings.map(\.name) == ["archive", "short"])
        #expect(configuration.recordings.allSatisfy { $0.directory.hasPrefix("./recordings/") })
        #expect(configuration.recordings.map(\.segmentSeconds) == [60, 10])
        #expect(configuration.recordings.first?.align == .clock)
        // The archive is FLAC, the short files WAV: each gets its format's extension.
        #expect(configuration.recordings.map(\.format) == [.flac, .wav])
        #expect(configuration.recordings.map { $0.filename.hasSuffix("." + $0.format.fileExtension) } == [true, true])
    }

    // MARK: One problem at a time

    struct InvalidCase: Sendable, CustomTestStringConvertible {
        var toml: String
        var key: String
        var value: String?
        var message: String
        var testDescription: String { "\(key) = \(value ?? "(missing)")" }
    }

    static let invalidCases: [InvalidCase] = [
        // [source]
        InvalidCase(
            toml: "[source]\nsample_rate = 0", key: "source.sample_rate", value: "0",
            message: "must be an integer from 8000 to 768000"),
        InvalidCase(
            toml: "[source]\nsample_rate = 768001", key: "source.sample_rate", value: "768001",
            message: "must be an integer from 8000 to 768000"),
        InvalidCase(
            toml: "[source]\nchannels = 0", key: "source.channels", value: "0",
            message: "must be an integer from 1 to 32"),
        InvalidCase(
            toml: "[source]\nchannels = 33", key: "source.channels", value: "33",
            message: "must be an integer from 1 to 32"),
        InvalidCase(
            toml: "[source]\nchannels = \"2\"", key: "source.channels", value: "\"2\"",
            message: "must be an integer from 1 to 32 (found a string)"),
        InvalidCase(
            toml: "[source]\nchunk_ms = 100.0", key: "source.chunk_ms", value: "100.0",
            message: "must be an integer from 5 to 1000 (found a floating-point number)"),
        InvalidCase(
            toml: "[source]\nchunk_ms = 4", key: "source.chunk_ms", value: "4",
            message: "must be an integer from 5 to 1000"),
        InvalidCase(
            toml: "[source]\nsample_format = \"s8\"", key: "source.sample_format", value: "\"s8\"",
            message: "must be one of \"s16\", \"s24\", \"s32\" or \"f32\""),
        InvalidCase(
            toml: "[source]\nsample_format = 16", key: "source.sample_format", value: "16",
            message: "must be one of \"s16\", \"s24\", \"s32\" or \"f32\" (found an integer)"),
        InvalidCase(
            toml: "[source]\nrestart_delay_seconds = -1", key: "source.restart_delay_seconds", value: "-1",
            message: "must be a number greater than 0 and at most 300"),
        InvalidCase(
            toml: "[source]\nrestart_delay_seconds = 0", key: "source.restart_delay_seconds", value: "0",
            message: "must be a number greater than 0 and at most 300"),
        InvalidCase(
            toml: "[source]\nrestart_delay_seconds = inf", key: "source.restart_delay_seconds", value: "inf",
            message: "must be a number greater than 0 and at most 300"),
        InvalidCase(
            toml: "[source]\nrestart_delay_seconds = true", key: "source.restart_delay_seconds", value: "true",
            message: "must be a number greater than 0 and at most 300 (found a boolean)"),
        InvalidCase(
            toml: "[source]\nffmpeg = \"\"", key: "source.ffmpeg", value: "\"\"",
            message: "must be a non-empty string"),
        InvalidCase(
            toml: "[source]\ndevice = 0", key: "source.device", value: "0",
            message: "must be a non-empty string (found an integer)"),
        InvalidCase(
            toml: "[source]\ninput_options = \"-re\"", key: "source.input_options", value: "\"-re\"",
            message: "must be an array of strings (found a string)"),
        InvalidCase(
            toml: "[source]\ninput_options = [\"-re\", 3]", key: "source.input_options[1]", value: "3",
            message: "must be a string (found an integer)"),
        InvalidCase(
            toml: "[source]\nsample_rat = 48000", key: "source.sample_rat", value: "48000",
            message: "unknown key; did you mean `sample_rate`?"),
        InvalidCase(
            toml: "[source]\nsampleRate = 48000", key: "source.sampleRate", value: "48000",
            message: "unknown key; did you mean `sample_rate`?"),
        InvalidCase(
            toml: "[source]\nvolume = 11", key: "source.volume", value: "11",
            message: "unknown key; the keys of [source] are `ffmpeg`, `input_format`, `device`, "
                + "`input_options`, `sample_rate`, `channels`, `sample_format`, `chunk_ms`, "
                + "`restart_delay_seconds`, `stall_seconds`, `gap_fill`, `output_options`, `look_back_seconds`"),
        InvalidCase(
            toml: "[source]\ngap_fill = \"zeros\"", key: "source.gap_fill", value: "\"zeros\"",
            message: "must be one of \"none\" or \"silence\""),
        InvalidCase(
            toml: "[storage]\nmin_free_bytes = -1", key: "storage.min_free_bytes", value: "-1",
            message: "must be an integer from 0 to 9223372036854775807"),
        InvalidCase(
            toml: "[storage]\nlow_space_warning_hours = -2", key: "storage.low_space_warning_hours", value: "-2",
            message: "must be a number of hours from 0 (off) to 87600"),
        InvalidCase(
            toml: "[[recording]]\nname = \"a\"\ndirectory = \"/a\"\ndelete_oldest_when_low = \"yes\"",
            key: "recording[0].delete_oldest_when_low", value: "\"yes\"",
            message: "must be true or false (found a string)"),
        InvalidCase(
            toml: "source = 1", key: "source", value: "1",
            message: "must be a table: write `[source]` and put its keys on the lines below"),
        // [queue]
        InvalidCase(
            toml: "[queue]\nseconds = -5", key: "queue.seconds", value: "-5",
            message: "must be a number greater than 0 and at most 3600"),
        InvalidCase(
            toml: "[queue]\nseconds = 3600.5", key: "queue.seconds", value: "3600.5",
            message: "must be a number greater than 0 and at most 3600"),
        // [levels]
        InvalidCase(
            toml: "[levels]\nlog_interval_seconds = -1", key: "levels.log_interval_seconds", value: "-1",
            message: "must be a number from 0 (off) to 86400"),
        InvalidCase(
            toml: "[levels]\nsilence_dbfs = 1", key: "levels.silence_dbfs", value: "1",
            message: "must be a number from -200 to 0"),
        InvalidCase(
            toml: "[levels]\nsilence_dbfs = -200.5", key: "levels.silence_dbfs", value: "-200.5",
            message: "must be a number from -200 to 0"),
        InvalidCase(
            toml: "[levels]\nsilence_seconds = -1.5", key: "levels.silence_seconds", value: "-1.5",
            message: "must be a number greater than 0 and at most 86400"),
        InvalidCase(
            toml: "[levels]\nsilence_seconds = nan", key: "levels.silence_seconds", value: "nan",
            message: "must be a number greater than 0 and at most 86400"),
        InvalidCase(
            toml: "[levels]\nalarm_hold_seconds = -1", key: "levels.alarm_hold_seconds", value: "-1",
            message: "must be a number from 0 (report at once) to 3600"),
        InvalidCase(
            toml: "[levels]\nalarm_clear_seconds = 3601", key: "levels.alarm_clear_seconds", value: "3601",
            message: "must be a number from 0 (report at once) to 3600"),
        InvalidCase(
            toml: "[levels]\nflatline_seconds = 0", key: "levels.flatline_seconds", value: "0",
            message: "must be a number greater than 0 and at most 3600"),
        InvalidCase(
            toml: "[levels]\nflatline_seconds = 3601", key: "levels.flatline_seconds", value: "3601",
            message: "must be a number greater than 0 and at most 3600"),
        InvalidCase(
            toml: "[levels]\ndc_offset_dbfs = 0.5", key: "levels.dc_offset_dbfs", value: "0.5",
            message: "must be a number from -120 to 0"),
        InvalidCase(
            toml: "[levels]\ndc_offset_dbfs = -121", key: "levels.dc_offset_dbfs", value: "-121",
            message: "must be a number from -120 to 0"),
        InvalidCase(
            toml: "[levels]\ndc_offset_seconds = -1", key: "levels.dc_offset_seconds", value: "-1",
            message: "must be a number greater than 0 and at most 3600"),
        InvalidCase(
            toml: "[levels]\nclipping_rate = 0", key: "levels.clipping_rate", value: "0",
            message:
                "must be a number greater than 0 and at most 1 (a share of the samples: 0.001 is 0.1 %; 1 turns it off)"
        ),
        InvalidCase(
            toml: "[levels]\nclipping_rate = 1.5", key: "levels.clipping_rate", value: "1.5",
            message:
                "must be a number greater than 0 and at most 1 (a share of the samples: 0.001 is 0.1 %; 1 turns it off)"
        ),
        InvalidCase(
            toml: "[levels]\nclipping_seconds = inf", key: "levels.clipping_seconds", value: "inf",
            message: "must be a number greater than 0 and at most 3600"),
        // [[recording]]
        InvalidCase(
            toml: "[[recording]]\nname = \"a/b\"\ndirectory = \"/d\"", key: "recording[0].name",
            value: "\"a/b\"", message: "must be 1 to 64 characters, each a letter, digit, `.`, `_` or `-`"),
        InvalidCase(
            toml: "[[recording]]\nname = \"..\"\ndirectory = \"/d\"", key: "recording[0].name",
            value: "\"..\"", message: "must not contain `..`"),
        InvalidCase(
            toml: "[[recording]]\nname = \"a..b\"\ndirectory = \"/d\"", key: "recording[0].name",
            value: "\"a..b\"", message: "must not contain `..`"),
        InvalidCase(
            toml: "[[recording]]\nname = \".\"\ndirectory = \"/d\"", key: "recording[0].name",
            value: "\".\"", message: "must not be `.`"),
        InvalidCase(
            toml: "[[recording]]\nname = \"\"\ndirectory = \"/d\"", key: "recording[0].name",
            value: "\"\"", message: "must be 1 to 64 characters, each a letter, digit, `.`, `_` or `-`"),
        InvalidCase(
            toml: "[[recording]]\nname = \"\(String(repeating: "x", count: 65))\"\ndirectory = \"/d\"",
            key: "recording[0].name", value: "\"\(String(repeating: "x", count: 65))\"",
            message: "must be 1 to 64 characters, each a letter, digit, `.`, `_` or `-`"),
        InvalidCase(
            toml: "[[recording]]\nname = \"main ü\"\ndirectory = \"/d\"", key: "recording[0].name",
            value: "\"main ü\"", message: "must be 1 to 64 characters, each a letter, digit, `.`, `_` or `-`"),
        InvalidCase(
            toml: "[[recording]]\ndirectory = \"/d\"", key: "recording[0].name", value: nil,
            message: "is required: a name of 1 to 64 characters, each a letter, digit, `.`, `_` or `-`"),
        InvalidCase(
            toml: "[[recording]]\nname = \"a\"", key: "recording[0].directory", value: nil,
            message: "is required: the folder the recording's files go in"),
        InvalidCase(
            toml: "[[recording]]\nname = \"a\"\ndirectory = \"\"", key: "recording[0].directory", value: "\"\"",
            message: "must be a non-empty string"),
        InvalidCase(
            toml: minimalRecording + "segment_seconds = 0", key: "recording[0].segment_seconds", value: "0",
            message: "must be an integer from 1 to 86400"),
        InvalidCase(
            toml: minimalRecording + "segment_seconds = 60.0", key: "recording[0].segment_seconds",
            value: "60.0", message: "must be an integer from 1 to 86400 (found a floating-point number)"),
        InvalidCase(
            toml: minimalRecording + "align = \"wall\"", key: "recording[0].align", value: "\"wall\"",
            message: "must be one of \"clock\" or \"samples\""),
        InvalidCase(
            toml: minimalRecording + "time_zone = \"UTC\"", key: "recording[0].time_zone", value: "\"UTC\"",
            message: "must be one of \"utc\" or \"local\""),
        InvalidCase(
            toml: minimalRecording + "filename = \"/abs/x.wav\"", key: "recording[0].filename",
            value: "\"/abs/x.wav\"", message: "must be relative to `directory`, not start with `/`"),
        InvalidCase(
            toml: minimalRecording + "filename = \"a/../../b\"", key: "recording[0].filename",
            value: "\"a/../../b\"", message: "must not contain `..` path components"),
        InvalidCase(
            toml: minimalRecording + "filename = \"..\"", key: "recording[0].filename",
            value: "\"..\"", message: "must not contain `..` path components"),
        InvalidCase(
            toml: minimalRecording + "filename = \"\"", key: "recording[0].filename", value: "\"\"",
            message: "must not be empty"),
        InvalidCase(
            toml: minimalRecording + "filename = \"day/\"", key: "recording[0].filename", value: "\"day/\"",
            message: "must name a file, not end in `/`"),
        InvalidCase(
            toml: minimalRecording + "sync_seconds = 0", key: "recording[0].sync_seconds", value: "0",
            message: "must be a number greater than 0 and at most 3600"),
        InvalidCase(
            toml: minimalRecording + "segment_second = 60", key: "recording[0].segment_second", value: "60",
            message: "unknown key; did you mean `segment_seconds`?"),
        InvalidCase(
            toml: minimalRecording + "nmae = \"x\"", key: "recording[0].nmae", value: "\"x\"",
            message: "unknown key; did you mean `name`?"),
        InvalidCase(
            toml: "[recording]\nname = \"a\"\ndirectory = \"/d\"", key: "recording", value: nil,
            message: "must be an array of tables (two brackets: `[[recording]]`, not `[recording]`)"),
        InvalidCase(
            toml: "recording = [1]", key: "recording[0]", value: "1",
            message: "must be a table: write each recording as `[[recording]]` with its keys"),
        // [log] and the top level
        InvalidCase(
            toml: "[log]\nlevel = \"verbose\"", key: "log.level", value: "\"verbose\"",
            message: "must be one of \"trace\", \"debug\", \"info\", \"notice\", \"warning\", \"error\" or \"critical\""
        ),
        InvalidCase(
            toml: "[sourc]\nchannels = 2", key: "sourc", value: nil,
            message: "unknown table; did you mean `[source]`?"),
        InvalidCase(
            toml: "[[recordings]]\nname = \"a\"", key: "recordings", value: nil,
            message: "unknown table; did you mean `[[recording]]`?"),
        InvalidCase(
            toml: "[output]\nx = 1", key: "output", value: nil,
            message:
                "unknown table; the tables are [source], [queue], [levels], [[recording]], [log], [control], [storage], [metrics], [station], [[destination]] and [[webhook]]"
        ),
        InvalidCase(
            toml: "verbose = true", key: "verbose", value: "true",
            message:
                "unknown key; the tables are [source], [queue], [levels], [[recording]], [log], [control], [storage], [metrics], [station], [[destination]] and [[webhook]]"
        ),
        InvalidCase(
            toml: "[log]\n\"log level\" = \"x\\\"y\"", key: "log.\"log level\"", value: "\"x\\\"y\"",
            message: "unknown key; the keys of [log] are `level`"),
    ]

    @Test(arguments: invalidCases)
    func invalidValueIsReportedWithKeyValueAndMessage(_ invalid: InvalidCase) {
        let found = problems(in: invalid.toml)
        #expect(found == [Problem(key: invalid.key, value: invalid.value, message: invalid.message)])
    }

    @Test func duplicateRecordingNamesAreReported() {
        let toml = """
            [[recording]]
            name = "main"
            directory = "/a"
            [[recording]]
            name = "other"
            directory = "/b"
            [[recording]]
            name = "main"
            directory = "/a"
            """
        #expect(
            problems(in: toml) == [
                Problem(
                    key: "recording[2].name", value: "\"main\"",
                    message: "duplicates the name of the 1st [[recording]] \"main\"; each recording needs its own name")
            ])
    }

    @Test func recordingsWritingTheSameFilesAreReported() {
        // Same folder (spelled differently) and a template without {name}: both would write the same files.
        let toml = """
            [[recording]]
            name = "a"
            directory = "/srv/audio"
            filename = "%Y/day"
            [[recording]]
            name = "b"
            directory = "/srv/audio/./"
            filename = "%Y/day.wav"
            [[recording]]
            name = "c"
            directory = "/srv"
            filename = "audio/%Y/day"
            [[recording]]
            name = "d"
            directory = "/srv/audio/%Y"
            filename = "day"
            """
        let message =
            "writes the same files as the 1st [[recording]] \"a\"; give each recording its own directory, or put {name} in filename"
        #expect(
            problems(in: toml) == [
                Problem(key: "recording[1].filename", value: "\"%Y/day.wav\"", message: message),
                Problem(key: "recording[2].filename", value: "\"audio/%Y/day\"", message: message),
                Problem(key: "recording[3].filename", value: "\"day\"", message: message),
            ])
    }

    @Test func collisionWithARecordingWhoseNameIsDuplicatedIsStillReported() {
        let toml = """
            [[recording]]
            name = "a"
            directory = "/x"
            filename = "same"
            [[recording]]
            name = "a"
            directory = "/y"
            filename = "same"
            [[recording]]
            name = "b"
            directory = "/y"
            filename = "same"
            """
        #expect(
            problems(in: toml) == [
                Problem(
                    key: "recording[1].name", value: "\"a\"",
                    message: "duplicates the name of the 1st [[recording]] \"a\"; each recording needs its own name"),
                Problem(
                    key: "recording[2].filename", value: "\"same\"",
                    message: "writes the same files as the 2nd [[recording]] \"a\"; "
                        + "give each recording its own directory, or put {name} in filename"),
            ])
    }

    @Test func recordingWithDefaultFilenameCollidingIsBlamedOnItsDirectory() {
        let toml = """
            [[recording]]
            name = "a"
            directory = "/srv"
            filename = "%Y-%m-%d/b-%Y%m%dT%H%M%SZ.wav"
            [[recording]]
            name = "b"
            directory = "/srv"
            """
        #expect(
            problems(in: toml) == [
                Problem(
                    key: "recording[1].directory", value: "\"/srv\"",
                    message: "writes the same files as the 1st [[recording]] \"a\"; "
                        + "give each recording its own directory, or put {name} in filename")
            ])
    }

    // MARK: Many problems at once

    @Test func everyProblemIsReportedAtOnce() {
        let toml = """
            [source]
            sample_rate = 0
            channels = 33
            sample_format = "s8"

            [queue]
            seconds = -1

            [[recording]]
            name = "../etc"
            directory = "/d"

            [[recording]]
            directory = "/e"
            segment_seconds = 1.5

            [log]
            level = "loud"
            """
        let found = problems(in: toml)
        #expect(
            found.map(\.key) == [
                "source.sample_rate", "source.channels", "source.sample_format", "queue.seconds",
                "recording[0].name", "recording[1].name", "recording[1].segment_seconds", "log.level",
            ])
        #expect(found.map(\.value) == ["0", "33", "\"s8\"", "-1", "\"../etc\"", nil, "1.5", "\"loud\""])
    }

    @Test func descriptionHasOneLinePerProblemPrefixedWithThePath() {
        let toml = "[source]\nchannels = 0\nsample_format = \"s8\"\n"
        if let error = #expect(
            throws: ConfigurationError.self,
            performing: { try ConfigurationLoader.parse(toml, path: "/etc/audiocap/audiocap.toml") })
        {
            #expect(
                error.description == """
                    /etc/audiocap/audiocap.toml: line 2: source.channels = 0: must be an integer from 1 to 32
                    /etc/audiocap/audiocap.toml: line 3: source.sample_format = "s8": must be one of "s16", "s24", "s32" or "f32"
                    """)
        }
    }

    @Test func recordingProblemsNameTheRecordingAndTheLine() {
        let toml = """
            [source]
            channels = 2

            [[recording]]
            name = "main"
            directory = "/srv/main"

            [[recording]]
            name = "archive"
            directory = "/srv/archive"
            segment_seconds = 0

            [[recording]]
            directory = "/srv/x"
            """
        if let error = #expect(
            throws: ConfigurationError.self, performing: { try ConfigurationLoader.parse(toml, path: "x.toml") })
        {
            #expect(error.problems.map(\.line) == [11, 13])
            #expect(error.problems.map(\.table) == ["[[recording]] \"archive\"", nil])
            #expect(
                error.description == """
                    x.toml: line 11: [[recording]] "archive" segment_seconds = 0: must be an integer from 1 to 86400
                    x.toml: line 13: recording[2].name: is required: a name of 1 to 64 characters, each a letter, digit, `.`, `_` or `-`
                    """)
        }
    }

    @Test func missingKeyDescriptionHasNoValue() {
        let error = ConfigurationError.invalid(
            path: "x.toml", problems: [Problem(key: "recording[0].directory", message: "is required")])
        #expect(error.description == "x.toml: recording[0].directory: is required")
    }

    @Test func exitCodeIsEXConfig() {
        #expect(ConfigurationError.exitCode == 78)
    }

    // MARK: Syntax errors and unreadable files

    @Test func syntaxErrorGivesLineAndColumn() {
        let toml = """
            [source]
            channels = 2
            device = = "x"
            """
        if let error = #expect(
            throws: ConfigurationError.self, "expected a syntax error",
            performing: { try ConfigurationLoader.parse(toml, path: "bad.toml") })
        {
            #expect(error.code == .syntax)
            #expect(error.problems.count == 1)
            #expect(error.problems.first?.line == 3)
            #expect(error.problems.first?.column != nil)
            #expect(error.description.hasPrefix("bad.toml: TOML syntax error at line 3, column "))
        }
    }

    @Test func duplicateKeyIsASyntaxError() {
        if let error = #expect(
            throws: ConfigurationError.self, "expected a syntax error",
            performing: { try ConfigurationLoader.parse("[queue]\nseconds = 1\nseconds = 2\n", path: "dup.toml") })
        {
            #expect(error.code == .syntax)
            #expect(error.problems.first?.line == 3)
        }
    }

    @Test func nulCharacterIsASyntaxError() {
        if let error = #expect(
            throws: ConfigurationError.self, "expected a syntax error",
            performing: { try ConfigurationLoader.parse("[queue]\n\nseconds = 1\0\n", path: "nul.toml") })
        {
            #expect(error.code == .syntax)
            #expect(error.problems.first?.line == 3)
        }
    }

    @Test func missingFileIsUnreadable() {
        let path = "/nonexistent-audiocap-test/audiocap.toml"
        if let error = #expect(
            throws: ConfigurationError.self, performing: { try ConfigurationLoader.load(path: path) })
        {
            #expect(error.code == .unreadable)
            #expect(error.description == "cannot read \(path): No such file or directory")
        }
    }

    @Test func folderIsUnreadable() {
        let path = NSTemporaryDirectory()
        if let error = #expect(
            throws: ConfigurationError.self, performing: { try ConfigurationLoader.load(path: path) })
        {
            #expect(error.code == .unreadable)
            #expect(error.description == "cannot read \(path): Is a directory")
        }
    }

    @Test func fileOnDiskIsLoadedAndNamedInErrors() throws {
        let path = NSTemporaryDirectory() + "audiocap-loader-\(UUID().uuidString).toml"
        defer { try? FileManager.default.removeItem(atPath: path) }

        try Data("[source]\nchannels = 1\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(try ConfigurationLoader.load(path: path).source.channels == 1)

        try Data("[source]\nchannels = 0\n".utf8).write(to: URL(fileURLWithPath: path))
        if let error = #expect(
            throws: ConfigurationError.self, performing: { try ConfigurationLoader.load(path: path) })
        {
            #expect(error.path == path)
            #expect(error.description == "\(path): line 2: source.channels = 0: must be an integer from 1 to 32")
        }
    }

    @Test func invalidUTF8IsUnreadable() throws {
        let path = NSTemporaryDirectory() + "audiocap-loader-\(UUID().uuidString).toml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data([0x5B, 0xFF, 0xFE, 0x5D]).write(to: URL(fileURLWithPath: path))
        if let error = #expect(
            throws: ConfigurationError.self, performing: { try ConfigurationLoader.load(path: path) })
        {
            #expect(error.code == .unreadable)
            #expect(error.description == "cannot read \(path): not UTF-8 text")
        }
    }

    // MARK: Limits on every input

    @Test func maxRecordingsDefaultsTo16AndIsRangeChecked() throws {
        #expect(try ConfigurationLoader.parse("", path: "x.toml").control.maxRecordings == 16)
        #expect(
            try ConfigurationLoader.parse("[control]\nmax_recordings = 0", path: "x.toml").control.maxRecordings == 0)
        #expect(
            try ConfigurationLoader.parse(
                "[source]\nsample_rate = 8000\nchannels = 1\n[queue]\nseconds = 1\n[control]\nmax_recordings = 1024",
                path: "x.toml"
            ).control.maxRecordings == 1024)
        for (value, found) in [
            ("1025", ""), ("-1", ""), ("\"16\"", " (found a string)"), ("16.5", " (found a floating-point number)"),
        ] {
            #expect(
                problems(in: "[control]\nmax_recordings = \(value)") == [
                    Problem(
                        key: "control.max_recordings", value: value,
                        message: "must be an integer from 0 to 1024" + found)
                ])
        }
    }

    @Test func queuesThatNeedTooMuchMemoryAreRefused() {
        let found = problems(in: "[source]\nsample_rate = 768000\nchannels = 32\n[queue]\nseconds = 3600")
        #expect(found.count == 1)
        #expect(found.first?.key == "queue.seconds")
        #expect(found.first?.message.contains("MiB") == true)
        #expect(found.first?.message.contains("at most 1024 MiB is allowed") == true, "\(found)")
        // Many on-demand recordings count too: 30 s of 48 kHz stereo is 5.5 MiB a consumer.
        #expect(problems(in: "[control]\nmax_recordings = 1024").first?.key == "queue.seconds")
        #expect((try? ConfigurationLoader.parse("[control]\nmax_recordings = 100", path: "x.toml")) != nil)
    }

    @Test func hugeNumbersAreProblemsNotTraps() {
        let cases: [(String, String)] = [
            ("[queue]\nseconds = 1e308", "queue.seconds"),
            ("[queue]\nseconds = inf", "queue.seconds"),
            ("[queue]\nseconds = nan", "queue.seconds"),
            ("[source]\nsample_rate = 9223372036854775807", "source.sample_rate"),
            ("[source]\nchunk_ms = -9223372036854775808", "source.chunk_ms"),
            ("[levels]\nlog_interval_seconds = 1e300", "levels.log_interval_seconds"),
            ("[levels]\nsilence_seconds = 1e300", "levels.silence_seconds"),
            ("[control]\nmax_recordings = 9223372036854775807", "control.max_recordings"),
            ("[storage]\nlow_space_warning_hours = 1e300", "storage.low_space_warning_hours"),
            (minimalRecording + "segment_seconds = 9223372036854775807", "recording[0].segment_seconds"),
            (minimalRecording + "keep_days = inf", "recording[0].keep_days"),
            (minimalRecording + "sync_seconds = -0.0", "recording[0].sync_seconds"),
        ]
        for (toml, key) in cases {
            #expect(problems(in: toml).map(\.key) == [key], "\(toml)")
        }
    }

    @Test func namesDirectoriesAndTemplatesFollowTheInputRules() {
        let long = String(repeating: "x", count: 300)
        let cases: [(String, String, String)] = [
            ("name = \"a\\u001b[31m\"\ndirectory = \"/srv\"", "recording[0].name", "must be 1 to 64 characters"),
            ("name = \"\(long)\"\ndirectory = \"/srv\"", "recording[0].name", "must be 1 to 64 characters"),
            ("name = \"x/\"\ndirectory = \"/srv\"", "recording[0].name", "must be 1 to 64 characters"),
            (
                "name = \"a\"\ndirectory = \"/srv/\\u001b]0;x\\u0007\"", "recording[0].directory",
                "must not contain control characters (found escape U+001B)"
            ),
            (
                "name = \"a\"\ndirectory = \"/srv/\(long)\"", "recording[0].directory",
                "has a name of 300 bytes between slashes"
            ),
            (
                "name = \"a\"\ndirectory = \"/srv\"\nfilename = \"\\u001b[2J{seq}\"", "recording[0].filename",
                "must not contain control characters"
            ),
            (
                "name = \"a\"\ndirectory = \"/srv\"\nfilename = \"%n{seq}\"", "recording[0].filename",
                "expands to the control character U+000A"
            ),
            (
                "name = \"a\"\ndirectory = \"/srv\"\nfilename = \"\(long)/{seq}\"", "recording[0].filename",
                "has a name of 300 bytes"
            ),
            (
                "name = \"a\"\ndirectory = \"/srv\"\nfilename = \"\(long.prefix(240))\"", "recording[0].filename",
                "expands to a file name of up to 244 bytes"
            ),
            (
                "name = \"a\"\ndirectory = \"/srv\"\nfilename = \"x/\"", "recording[0].filename",
                "must name a file, not end in `/`"
            ),
        ]
        for (recording, key, message) in cases {
            let found = problems(in: "[[recording]]\n" + recording)
            #expect(found.map(\.key) == [key], "\(recording): \(found)")
            #expect(found.first?.message.contains(message) == true, "\(recording): \(found)")
            #expect(found.first.map { !$0.description.contains("\u{1b}") && !$0.description.contains("\u{0}") } == true)
        }
        #expect(problems(in: "[storage]\nroot = \"/srv/\\u001b[0m\"").map(\.key) == ["storage.root"])
        // An escaped NUL would be cut off by the TOML library: the file is refused as a whole.
        for toml in ["[[recording]]\nname = \"a\\u0000b\"", "[storage]\n\nroot = \"/srv/a\\U00000000\""] {
            if let error = #expect(
                throws: ConfigurationError.self, "loaded \(toml)",
                performing: { try ConfigurationLoader.parse(toml, path: "x.toml") })
            {
                #expect(error.code == .syntax)
                #expect(error.description.contains("NUL characters (\\u0000) are not allowed"), "\(error)")
            }
        }
        // An escaped backslash followed by u0000 is text, not a NUL.
        #expect(
            (try? ConfigurationLoader.parse("[storage]\nroot = \"/srv/a\\\\u0000\"", path: "x.toml"))?.storage.root
                == "/srv/a\\u0000")
        #expect(problems(in: "[storage]\nstate = \"/srv/\(long)\"").map(\.key) == ["storage.state"])
        // `.wav` is added when missing, whatever its case: one rule with the control API.
        #expect(
            (try? ConfigurationLoader.parse(
                "[[recording]]\nname = \"a\"\ndirectory = \"/srv\"\nfilename = \"x.WAV\"", path: "x.toml"))?
                .recordings.first?.filename == "x.WAV")
    }
}
