// Tests of several sources in one configuration: [[source]] tables, their own queue and levels, a recording's
// source, network inputs, and the masking of their URLs in every problem.

import CaptureCore
import Foundation
import Testing

/// The error `ConfigurationLoader` throws for `toml`; records an issue when it loads.
private func loadError(_ toml: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError? {
    #expect(
        throws: ConfigurationError.self, sourceLocation: sourceLocation,
        performing: { try ConfigurationLoader.parse(toml, path: "test.toml") })
}

/// `key: message` of each problem found in `toml` (`key = value: message` when there is a value).
private func problemTexts(_ toml: String, sourceLocation: SourceLocation = #_sourceLocation) -> [String] {
    (loadError(toml, sourceLocation: sourceLocation)?.problems ?? []).map { problem in
        var problem = problem
        problem.line = nil
        problem.table = nil
        return problem.description
    }
}

private let twoSources = """
    [[source]]
    name = "a"
    input_format = "lavfi"
    device = "sine=frequency=440"
    channels = 1

    [[source]]
    name = "b"
    device = "plughw:CARD=USB,DEV=0"
    sample_rate = 44100

    """

@Suite("Several sources")
struct SourcesConfigurationTests {
    // MARK: One source, as before

    @Test func aSingleSourceTableIsTheSourceNamedMain() throws {
        let configuration = try ConfigurationLoader.parse(
            "[source]\nchannels = 1\n[[recording]]\nname = \"r\"\ndirectory = \"/srv/r\"\n", path: "x.toml")
        #expect(configuration.sources.count == 1)
        #expect(configuration.source.name == "main")
        #expect(configuration.source.channels == 1)
        #expect(configuration.source.queue == nil && configuration.source.levels == nil)
        // As before sources had names: the recording takes the only source.
        #expect(configuration.recordings.first?.source == "")
        #expect(configuration.source(named: configuration.recordings[0].source)?.name == "main")
    }

    @Test func noSourceAtAllIsTheDefaultSource() throws {
        let configuration = try ConfigurationLoader.parse("[queue]\nseconds = 5\n", path: "x.toml")
        #expect(configuration.sources == [SourceConfiguration()])
        #expect(configuration.source.name == SourceConfiguration.defaultName)
    }

    @Test func aSingleSourceTableMayBeNamed() throws {
        let toml = """
            [source]
            name = "mic"
            [[recording]]
            name = "r"
            directory = "/srv/r"
            source = "mic"
            """
        let configuration = try ConfigurationLoader.parse(toml, path: "x.toml")
        #expect(configuration.source.name == "mic")
        #expect(configuration.recordings.first?.source == "mic")
        #expect(
            problemTexts("[source]\nname = \"a/b\"") == [
                "source.name = \"a/b\": must be 1 to 64 characters, each a letter, digit, `.`, `_` or `-`"
            ])
    }

    // MARK: [[source]]

    @Test func twoSourcesAreReadInTheOrderOfTheFile() throws {
        let toml =
            twoSources + """
                [[recording]]
                name = "ra"
                source = "a"
                directory = "/srv/a"
                [[recording]]
                name = "rb"
                source = "b"
                directory = "/srv/b"
                """
        let configuration = try ConfigurationLoader.parse(toml, path: "x.toml")
        #expect(configuration.sources.map(\.name) == ["a", "b"])
        #expect(configuration.sources[0].inputFormat == "lavfi")
        #expect(configuration.sources[0].channels == 1)
        #expect(configuration.sources[0].sampleRate == 48_000)
        #expect(configuration.sources[1].inputFormat == "alsa")
        #expect(configuration.sources[1].device == "plughw:CARD=USB,DEV=0")
        #expect(configuration.sources[1].sampleRate == 44_100)
        #expect(configuration.source == configuration.sources[0])
        #expect(configuration.recordings.map(\.source) == ["a", "b"])
        #expect(configuration.source(named: "b") == configuration.sources[1])
    }

    @Test func oneSourceTableOfAnArrayNamesTheRecordingsThatLeaveItOut() throws {
        let toml = """
            [[source]]
            name = "only"
            [[recording]]
            name = "r"
            directory = "/srv/r"
            """
        let configuration = try ConfigurationLoader.parse(toml, path: "x.toml")
        #expect(configuration.sources.map(\.name) == ["only"])
        #expect(configuration.recordings.first?.source == "only")
    }

    @Test func everySourceTableNeedsAValidName() {
        #expect(
            problemTexts("[[source]]\ndevice = \"hw:1\"") == [
                "source[0].name: is required: a name of 1 to 64 characters, each a letter, digit, `.`, `_` or `-`; "
                    + "every [[source]] needs one (a single source may be written as one `[source]` table, "
                    + "which is `main`)"
            ])
        #expect(
            problemTexts("[[source]]\nname = \"a b\"") == [
                "source[0].name = \"a b\": must be 1 to 64 characters, each a letter, digit, `.`, `_` or `-`"
            ])
        #expect(problemTexts("[[source]]\nname = \"..\"").first?.hasSuffix("must not contain `..`") == true)
    }

    @Test func duplicateSourceNamesPointAtTheFirst() throws {
        let toml = """
            [[source]]
            name = "a"
            [[source]]
            name = "b"
            [[source]]
            name = "a"
            """
        #expect(
            problemTexts(toml) == [
                "source[2].name = \"a\": duplicates the name of the 1st [[source]] \"a\"; each source needs its own name"
            ])
        let error = try #require(loadError(toml))
        #expect(error.problems.first?.line == 6)
        #expect(error.problems.first?.table == "[[source]] \"a\"")
        #expect(
            error.description
                == "test.toml: line 6: [[source]] \"a\" name = \"a\": duplicates the name of the 1st [[source]] \"a\"; "
                + "each source needs its own name")
    }

    @Test func anEmptyArrayOfSourcesIsAnError() {
        #expect(
            problemTexts("source = []") == [
                "source: needs at least one [[source]] table with its keys (or leave out `source` for the default, "
                    + "the ALSA device \"default\")"
            ])
        let found = problemTexts("source = [1, \"x\"]")
        #expect(found.count == 3)
        #expect(found.first == "source[0] = 1: must be a table: write each source as `[[source]]` with its keys")
        #expect(found.last?.hasPrefix("source: needs at least one [[source]]") == true)
    }

    @Test func aSourceTableTakesEveryKeyOfTheSingleTable() throws {
        let toml = """
            [[source]]
            name = "x"
            ffmpeg = "/usr/local/bin/ffmpeg"
            input_format = "lavfi"
            device = "sine"
            input_options = ["-re"]
            output_options = ["-flush_packets", "0"]
            sample_rate = 96000
            channels = 4
            sample_format = "f32"
            chunk_ms = 20
            restart_delay_seconds = 2
            stall_seconds = 7.5
            gap_fill = "silence"
            """
        let source = try ConfigurationLoader.parse(toml, path: "x.toml").source
        var expected = SourceConfiguration(name: "x")
        expected.ffmpeg = "/usr/local/bin/ffmpeg"
        expected.inputFormat = "lavfi"
        expected.device = "sine"
        expected.inputOptions = ["-re"]
        expected.outputOptions = ["-flush_packets", "0"]
        expected.sampleRate = 96_000
        expected.channels = 4
        expected.sampleFormat = .f32
        expected.chunkMilliseconds = 20
        expected.restartDelaySeconds = 2
        expected.stallSeconds = 7.5
        expected.gapFill = .silence
        #expect(source == expected)
        // And checks them the same way, keyed by the table's index.
        #expect(
            problemTexts("[[source]]\nname = \"x\"\n[[source]]\nname = \"y\"\nchannels = 0") == [
                "source[1].channels = 0: must be an integer from 1 to 32"
            ])
    }

    // MARK: A recording's source

    @Test func aRecordingWithoutSourceIsAnErrorWithSeveralSources() throws {
        let toml = twoSources + "[[recording]]\nname = \"r\"\ndirectory = \"/srv/r\"\n"
        #expect(
            problemTexts(toml) == [
                "recording[0].source: missing; this configuration has several sources (a, b): "
                    + "name the one this recording takes its audio from"
            ])
        let error = try #require(loadError(toml))
        #expect(error.problems.first?.table == "[[recording]] \"r\"")
        #expect(error.problems.first?.line == 11)
    }

    @Test func aRecordingMustNameAConfiguredSource() {
        #expect(
            problemTexts(twoSources + "[[recording]]\nname = \"r\"\ndirectory = \"/srv/r\"\nsource = \"c\"\n") == [
                "recording[0].source = \"c\": names no configured source; the sources are \"a\", \"b\""
            ])
        #expect(
            problemTexts("[[recording]]\nname = \"r\"\ndirectory = \"/srv/r\"\nsource = \"mic\"\n") == [
                "recording[0].source = \"mic\": names no configured source; the only source is \"main\" "
                    + "(a single [source] table is named `main` unless it sets `name`)"
            ])
        #expect(
            problemTexts("[[recording]]\nname = \"r\"\ndirectory = \"/srv/r\"\nsource = 1\n") == [
                "recording[0].source = 1: must be a non-empty string (found an integer)"
            ])
        // A source whose own name is wrong is blamed once, not again by the recording that names it.
        #expect(
            problemTexts(
                "[[source]]\nname = \"a b\"\n[[recording]]\nname = \"r\"\ndirectory = \"/r\"\nsource = \"a b\""
            )
            .count == 1)
    }

    // MARK: [source.queue] and [source.levels]

    @Test func aSourcesOwnTablesInheritWhatTheyLeaveOutWhereverTheTopLevelTablesAre() throws {
        let toml = """
            [[source]]
            name = "a"
            [source.queue]
            seconds = 5
            [source.levels]
            silence_dbfs = -70
            [[source]]
            name = "b"
            [[source]]
            name = "c"
            levels.log_interval_seconds = 0
            [levels]
            silence_seconds = 12
            log_interval_seconds = 30
            [queue]
            seconds = 20
            """
        let configuration = try ConfigurationLoader.parse(toml, path: "x.toml")
        let (a, b, c) = (configuration.sources[0], configuration.sources[1], configuration.sources[2])
        #expect(a.queue?.seconds == 5)
        #expect(a.levels?.silenceDBFS == -70)
        #expect(a.levels?.silenceSeconds == 12)
        #expect(a.levels?.logIntervalSeconds == 30)
        #expect(b.queue == nil && b.levels == nil)
        #expect(configuration.queue(for: b).seconds == 20)
        #expect(configuration.levels(for: b) == configuration.levels)
        #expect(c.queue == nil)
        #expect(c.levels?.logIntervalSeconds == 0)
        #expect(c.levels?.silenceSeconds == 12)
        #expect(c.levels?.silenceDBFS == -60)
        #expect(configuration.queue(for: a).seconds == 5)
        #expect(configuration.queueChunks(for: a) == 50)
    }

    @Test func aSingleSourceTableMayHaveItsOwnTablesToo() throws {
        let toml = "[source.levels]\nsilence_dbfs = -50\n[source]\nchannels = 1\n[levels]\nsilence_seconds = 3\n"
        let configuration = try ConfigurationLoader.parse(toml, path: "x.toml")
        #expect(configuration.source.channels == 1)
        #expect(configuration.source.levels?.silenceDBFS == -50)
        #expect(configuration.source.levels?.silenceSeconds == 3)
        #expect(configuration.levels.silenceDBFS == -60)
    }

    @Test func aSourcesOwnTablesAreCheckedLikeTheTopLevelOnes() throws {
        let toml = """
            [[source]]
            name = "a"
            [source.queue]
            seconds = 0
            [source.levels]
            silence_dbfs = 3
            volume = 11
            """
        #expect(
            problemTexts(toml) == [
                "source[0].levels.volume = 11: unknown key; the keys of [source.levels] are `log_interval_seconds`, "
                    + "`silence_dbfs`, `silence_seconds`, `flatline_seconds`, `dc_offset_dbfs`, `dc_offset_seconds`, "
                    + "`clipping_rate`, `clipping_seconds`, `alarm_hold_seconds`, `alarm_clear_seconds`",
                "source[0].queue.seconds = 0: must be a number greater than 0 and at most 3600",
                "source[0].levels.silence_dbfs = 3: must be a number from -200 to 0",
            ])
        let error = try #require(loadError(toml))
        #expect(error.problems.map(\.line) == [7, 4, 6])
        #expect(error.problems.map(\.table) == Array(repeating: "[[source]] \"a\"", count: 3))
        #expect(error.description.contains("line 4: [[source]] \"a\" queue.seconds = 0: must be a number"))
        #expect(
            problemTexts("[source]\nqueue = 30") == [
                "source.queue = 30: must be a table: write `[source.queue]` below the source's table and put its "
                    + "keys (e.g. `seconds = 10`) on the lines below"
            ])
        #expect(
            problemTexts("[source.queue]\nsecond = 3") == [
                "source.queue.second = 3: unknown key; did you mean `seconds`?"
            ])
    }

    // MARK: Unknown keys and mixed-up tables

    @Test func unknownKeysOfASourceTableListItsKeys() {
        #expect(
            problemTexts("[[source]]\nname = \"a\"\nvolume = 11") == [
                "source[0].volume = 11: unknown key; the keys of [[source]] are `name`, `queue`, `levels`, `ffmpeg`, "
                    + "`input_format`, `device`, `input_options`, `sample_rate`, `channels`, `sample_format`, "
                    + "`chunk_ms`, `restart_delay_seconds`, `stall_seconds`, `gap_fill`, `output_options`, `look_back_seconds`"
            ])
        #expect(
            problemTexts("[[source]]\nname = \"a\"\nnmae = \"b\"") == [
                "source[0].nmae = \"b\": unknown key; did you mean `name`?"
            ])
        #expect(problemTexts("[source]\nnme = \"b\"") == ["source.nme = \"b\": unknown key; did you mean `name`?"])
    }

    @Test func theTopLevelNamesBothFormsOfSourceTables() {
        #expect(
            problemTexts("[[source]]\nname = \"a\"\n[output]\nx = 1") == [
                "output: unknown table; the tables are [source] or [[source]], [queue], [levels], [[recording]], "
                    + "[log], [control], [storage], [metrics], [station], [[destination]] and [[webhook]]"
            ])
        #expect(problemTexts("[[sources]]\nname = \"a\"") == ["sources: unknown table; did you mean `[[source]]`?"])
        #expect(problemTexts("[sources]\nname = \"a\"") == ["sources: unknown table; did you mean `[source]`?"])
    }

    @Test func mixingOneSourceTableWithSourceTablesIsExplained() {
        for toml in [
            "[source]\nchannels = 1\n[[source]]\nname = \"b\"\n",
            "[[source]]\nname = \"a\"\n[source]\nchannels = 1\n",
            "[source]\nchannels = 1\n[source]\nchannels = 2\n",
        ] {
            guard
                let error = #expect(
                    throws: ConfigurationError.self, performing: { try ConfigurationLoader.parse(toml, path: "x") })
            else { continue }
            #expect(error.code == .syntax)
            #expect(error.description.contains("`[[source]]`"), "\(error)")
        }
    }

    // MARK: Network sources

    @Test func networkSourcesTakeAURLOfTheirProtocol() throws {
        for (format, device) in [
            ("rtsp", "rtsp://cam.local:554/s"), ("rtsp", "rtsps://cam.local/s"), ("http", "https://radio/x.mp3"),
            ("https", "http://radio/x.mp3"), ("srt", "srt://host:9000?mode=caller"), ("rtmp", "rtmp://host/live"),
            ("url", "udp://239.0.0.1:1234"), ("rtsp", "RTSP://cam/s"),
        ] {
            let toml = "[[source]]\nname = \"n\"\ninput_format = \"\(format)\"\ndevice = \"\(device)\"\n"
            let source = try ConfigurationLoader.parse(toml, path: "x.toml").source
            #expect(source.isNetwork)
            #expect(source.device == device)
        }
    }

    @Test func aNetworkSourceWithoutAURLSaysWhatToWrite() {
        #expect(
            problemTexts("[source]\ninput_format = \"rtsp\"") == [
                "source.device: is required with input_format = \"rtsp\": the stream's URL, "
                    + "e.g. \"rtsp://user:password@camera.local:554/stream\""
            ])
        #expect(
            problemTexts("[[source]]\nname = \"cam\"\ninput_format = \"http\"\ndevice = \"radio.example.org/live\"")
                == [
                    "source[0].device = \"radio.example.org/live\": must be the stream's URL with input_format = \"http\", "
                        + "e.g. \"http://radio.example.org:8000/live.mp3\" (for an ALSA device use input_format = \"alsa\")"
                ])
        #expect(
            problemTexts("[source]\ninput_format = \"rtsp\"\ndevice = \"http://cam/audio\"") == [
                "source.device = \"http://cam/audio\": must be a `rtsp://` or `rtsps://` URL with "
                    + "input_format = \"rtsp\"; for this http:// URL set input_format = \"http\""
            ])
        #expect(
            problemTexts("[source]\ninput_format = \"srt\"\ndevice = \"udp://239.0.0.1:1234\"") == [
                "source.device = \"udp://239.0.0.1:1234\": must be a `srt://` URL with input_format = \"srt\"; "
                    + "for this udp:// URL set input_format = \"url\" (any URL ffmpeg can open)"
            ])
        #expect(problemTexts("[source]\ninput_format = \"url\"\ndevice = \"://x\"").count == 1)
    }

    @Test func noProblemShowsTheSecretsOfANetworkURL() throws {
        let secrets = ["s3cr3t-pass", "p%40ss", "p@ss", "topsecretphrase", "tok3n"]
        let toml = """
            [[source]]
            name = "cam"
            input_format = "rtsp"
            device = "http://admin:s3cr3t-pass@cam.local/audio"
            [[source]]
            name = "enc"
            input_format = "rtsp"
            device = "srt://enc.local:9000?mode=caller&passphrase=topsecretphrase"
            [[source]]
            name = "radio"
            input_format = "http"
            device = "rtmp://tok3n@radio.local/live"
            [[source]]
            name = "cam2"
            input_format = "rtsp"
            devise = "rtsp://admin:p%40ss@cam2.local/audio"
            input_options = "rtsp://admin:s3cr3t-pass@cam.local/x"
            [[source]]
            name = "cam"
            device = "rtsp://admin:s3cr3t-pass@cam.local/audio"
            """
        let error = try #require(loadError(toml))
        #expect(error.problems.count >= 6, "\(error)")
        for secret in secrets {
            #expect(!error.description.contains(secret), "\(error)")
            for problem in error.problems {
                #expect(problem.value?.contains(secret) != true, "\(problem)")
            }
        }
        #expect(error.description.contains("\"http://admin:***@cam.local/audio\""), "\(error)")
        #expect(error.description.contains("passphrase=***"), "\(error)")
    }

    @Test func aNetworkDeviceIsMaskedEvenWhenItsValueIsCutShort() throws {
        let long = String(repeating: "p", count: 120)
        let toml = "[source]\ninput_format = \"rtsp\"\ndevice = \"http://user:\(long)@cam/a\"\n"
        let error = try #require(loadError(toml))
        #expect(!error.description.contains("ppppp"), "\(error)")
    }

    // MARK: Memory of the queues

    @Test func theQueueLimitCountsEverySource() {
        let toml = """
            [[source]]
            name = "big"
            sample_rate = 768000
            channels = 32
            [source.queue]
            seconds = 60
            [[source]]
            name = "small"
            [[recording]]
            name = "r"
            source = "small"
            directory = "/srv/r"
            """
        let found = problemTexts(toml)
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("queue.seconds = 30.0: makes the queues of the 2 sources need up to ") == true)
        #expect(found.first?.contains("\"big\": its level monitor and 0 recordings, each with 60.0 s") == true)
        #expect(found.first?.contains("\"small\": its level monitor and 1 recording, each with 30.0 s") == true)
        #expect(found.first?.contains("at most 1024 MiB is allowed") == true)
        // Each source fits alone.
        #expect(
            (try? ConfigurationLoader.parse(
                "[source]\nsample_rate = 768000\nchannels = 32\n[queue]\nseconds = 5\n[control]\nmax_recordings = 0",
                path: "x.toml")) != nil)
    }

    // MARK: Lines

    @Test func keyLinesFindTheTablesOfEachSource() {
        let lines = ConfigurationLoader.keyLines(
            in: """
                [[source]]
                name = "a"
                [source.queue]
                seconds = 1
                [[source]]
                name = "b"
                [source.levels]
                silence_dbfs = -10
                """)
        #expect(lines["source[0]"] == 1)
        #expect(lines["source"] == 1)
        #expect(lines["source.name"] == 2)
        #expect(lines["source[0].queue"] == 3)
        #expect(lines["source[0].queue.seconds"] == 4)
        #expect(lines["source[1].name"] == 6)
        #expect(lines["source[1].levels"] == 7)
        #expect(lines["source[1].levels.silence_dbfs"] == 8)
        #expect(lines["source.levels"] == nil)
    }
}
