// `[[trigger]]` tables: defaults, every key, and the problems the loader reports.

import CaptureCore
import Testing

@Suite struct TriggerConfigurationTests {
    /// One recording `night` in /srv/audio/night, then `extra`.
    static func file(_ extra: String) -> String {
        """
        [[recording]]
        name = "night"
        directory = "/srv/audio/night"

        \(extra)
        """
    }

    static let birds = """
        [[trigger]]
        name = "birds"
        directory = "/srv/clips/birds"
        """

    static func triggers(_ text: String) throws -> [TriggerConfiguration] {
        try ConfigurationLoader.parse(text, path: "test.toml").triggers
    }

    /// The problems of `text` as `key: message` lines; records an issue when it loads.
    static func problems(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> [String] {
        do {
            _ = try ConfigurationLoader.parse(text, path: "test.toml")
            Issue.record("loaded", sourceLocation: sourceLocation)
            return []
        } catch {
            #expect(error.code == .invalid, "\(error)", sourceLocation: sourceLocation)
            return error.problems.map { "\($0.key): \($0.message)" }
        }
    }

    /// The one problem of `birds` with `keys` added.
    static func problem(_ keys: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let found = problems(file(birds + "\n" + keys), sourceLocation: sourceLocation)
        #expect(found.count == 1, "\(found)", sourceLocation: sourceLocation)
        return found.first ?? ""
    }

    @Test func aTriggerTakesItsDefaults() throws {
        let triggers = try Self.triggers(Self.file(Self.birds))
        var expected = TriggerConfiguration(name: "birds", directory: "/srv/clips/birds")
        expected.source = ""
        expected.thresholdDBFS = -30
        expected.channels = []
        expected.holdMilliseconds = 50
        expected.preSeconds = 3
        expected.postSeconds = 3
        expected.maxSeconds = 60
        expected.highPassHz = nil
        expected.format = .wav
        expected.filename = "%Y-%m-%d/{name}-%Y%m%dT%H%M%SZ.wav"
        expected.timeZone = .utc
        #expect(triggers == [expected])
    }

    @Test func everyKeyIsRead() throws {
        let text = """
            [source]
            channels = 2
            sample_rate = 44100

            [[trigger]]
            name = "owls"
            source = "main"
            threshold_dbfs = -42.5
            channels = [2]
            hold_ms = 0
            pre_seconds = 5
            post_seconds = 1.5
            max_seconds = 120
            high_pass_hz = 1000
            directory = "/srv/clips/owls"
            filename = "{name}/%Y%m%dT%H%M%S"
            format = "flac"
            flac_level = 8
            time_zone = "local"
            """
        let trigger = try #require(try Self.triggers(text).first)
        #expect(trigger.name == "owls")
        #expect(trigger.source == "main")
        #expect(trigger.thresholdDBFS == -42.5)
        #expect(trigger.channels == [2])
        #expect(trigger.holdMilliseconds == 0)
        #expect(trigger.preSeconds == 5)
        #expect(trigger.postSeconds == 1.5)
        #expect(trigger.maxSeconds == 120)
        #expect(trigger.highPassHz == 1000)
        #expect(trigger.directory == "/srv/clips/owls")
        #expect(trigger.filename == "{name}/%Y%m%dT%H%M%S.flac")
        #expect(trigger.format == .flac)
        #expect(trigger.flacLevel == 8)
        #expect(trigger.timeZone == .local)
        // The clip writer's recording carries what it needs.
        #expect(trigger.clipRecording.name == "owls")
        #expect(trigger.clipRecording.format == .flac)
        #expect(trigger.clipRecording.directory == "/srv/clips/owls")
    }

    @Test func theOnlySourceIsTakenAndSeveralMustBeNamed() throws {
        let two = """
            [[source]]
            name = "north"
            device = "hw:1"

            [[source]]
            name = "south"
            device = "hw:2"
            channels = 1

            [[recording]]
            name = "night"
            source = "north"
            directory = "/srv/audio/night"

            """
        #expect(try Self.triggers(two + Self.birds + "\nsource = \"south\"").first?.source == "south")
        let missing = Self.problems(two + Self.birds)
        #expect(
            missing == [
                "trigger[0].source: missing; this configuration has several sources (north, south): name the one this trigger listens to"
            ])
        let wrong = Self.problems(two + Self.birds + "\nsource = \"east\"")
        #expect(wrong == ["trigger[0].source: names no configured source; the sources are \"north\", \"south\""])
        // Channels are checked against the source named: south has one.
        let channel = Self.problems(two + Self.birds + "\nsource = \"south\"\nchannels = [2]")
        #expect(channel.count == 1)
        #expect(channel.first?.contains("lists channel 2, but the source captures 1 channel;") == true)
        // One [[source]]: its name.
        let one = "[[source]]\nname = \"yard\"\ndevice = \"hw:1\"\n\n" + Self.birds
        #expect(try Self.triggers(one).first?.source == "yard")
    }

    @Test func namesAreRequiredUniqueAndNotARecordingsName() {
        let unnamed = Self.problems(Self.file("[[trigger]]\ndirectory = \"/srv/clips/x\""))
        #expect(unnamed.count == 1)
        #expect(unnamed.first?.hasPrefix("trigger[0].name: is required: a name of 1 to 64 characters") == true)
        let twice = Self.problems(
            Self.file(Self.birds + "\n\n[[trigger]]\nname = \"birds\"\ndirectory = \"/srv/clips/other\""))
        #expect(
            twice == [
                "trigger[1].name: duplicates the name of the 1st [[trigger]] \"birds\"; each trigger needs its own name"
            ])
        let recording = Self.problems(Self.file("[[trigger]]\nname = \"night\"\ndirectory = \"/srv/clips/night\""))
        #expect(recording.count == 1)
        #expect(recording.first?.hasPrefix("trigger[0].name: is the name of a [[recording]];") == true)
        #expect(recording.first?.contains("\"night-clips\"") == true)
        let slash = Self.problems(Self.file("[[trigger]]\nname = \"a/b\"\ndirectory = \"/srv/clips/x\""))
        #expect(slash.count == 1)
        #expect(slash.first?.hasPrefix("trigger[0].name: ") == true)
    }

    @Test func channelsMustBeDistinctAndWithinTheSource() throws {
        let stereo = "[source]\nchannels = 2\n\n"
        #expect(try Self.triggers(stereo + Self.birds + "\nchannels = [2, 1]").first?.channels == [2, 1])
        for (channels, says) in [
            ("[3]", "lists channel 3, but the source captures 2 channels;"),
            ("[1, 1]", "lists channel 1 twice;"),
            ("[0]", "must be an array of channel numbers counted from 1 to 2"),
            ("[]", "must be an array of channel numbers counted from 1 to 2"),
            ("2", "(found an integer)"),
            ("[\"1\"]", "must be an array"),
        ] {
            let found = Self.problems(stereo + Self.birds + "\nchannels = \(channels)")
            #expect(found.count == 1, "\(channels): \(found)")
            #expect(found.first?.hasPrefix("trigger[0].channels: ") == true, "\(found)")
            #expect(found.first?.contains(says) == true, "\(channels): \(found)")
        }
    }

    @Test func numbersOutsideTheirRangesAreProblems() {
        let cases: [(String, String)] = [
            ("threshold_dbfs = 1", "trigger[0].threshold_dbfs: must be a peak level in dBFS from -120 to 0, e.g. -30"),
            (
                "threshold_dbfs = -121",
                "trigger[0].threshold_dbfs: must be a peak level in dBFS from -120 to 0, e.g. -30"
            ),
            (
                "hold_ms = -1",
                "trigger[0].hold_ms: must be a number of milliseconds from 0 (fire on the first frame over) to 60000, e.g. 50"
            ),
            (
                "hold_ms = 60001",
                "trigger[0].hold_ms: must be a number of milliseconds from 0 (fire on the first frame over) to 60000, e.g. 50"
            ),
            ("pre_seconds = 601", "trigger[0].pre_seconds: must be a number of seconds from 0 to 600, e.g. 3"),
            ("post_seconds = -0.5", "trigger[0].post_seconds: must be a number of seconds from 0 to 600, e.g. 3"),
            ("max_seconds = 0.5", "trigger[0].max_seconds: must be a number of seconds from 1 to 3600, e.g. 60"),
            ("max_seconds = 3601", "trigger[0].max_seconds: must be a number of seconds from 1 to 3600, e.g. 60"),
            (
                "high_pass_hz = 0",
                "trigger[0].high_pass_hz: must be a frequency in Hz greater than 0 and below half the source's sample rate (24000), e.g. 1000 for birds over wind and hum"
            ),
            (
                "high_pass_hz = 24000",
                "trigger[0].high_pass_hz: must be a frequency in Hz greater than 0 and below half the source's sample rate (24000), e.g. 1000 for birds over wind and hum"
            ),
            (
                "threshold_dbfs = \"loud\"",
                "trigger[0].threshold_dbfs: must be a peak level in dBFS from -120 to 0, e.g. -30 (found a string)"
            ),
            ("format = \"mp3\"", "trigger[0].format: must be one of \"wav\" or \"flac\""),
            ("time_zone = \"mars\"", "trigger[0].time_zone: must be one of \"utc\" or \"local\""),
            ("flac_level = 9", "trigger[0].flac_level: must be an integer from 0 to 8"),
            (
                "colour = 1",
                "trigger[0].colour: unknown key; the keys of [[trigger]] are `name`, `source`, `threshold_dbfs`, `channels`, `hold_ms`, `pre_seconds`, `post_seconds`, `max_seconds`, `high_pass_hz`, `directory`, `filename`, `format`, `flac_level`, `time_zone`"
            ),
            ("holdms = 5", "trigger[0].holdms: unknown key; did you mean `hold_ms`?"),
        ]
        for (keys, expected) in cases {
            #expect(Self.problem(keys) == expected)
        }
        // pre + post may exceed max, and the edges of the ranges are allowed.
        #expect(throws: Never.self) {
            try Self.triggers(
                Self.file(
                    Self.birds
                        + "\npre_seconds = 600\npost_seconds = 600\nmax_seconds = 1\nthreshold_dbfs = -120\nhold_ms = 60000\nhigh_pass_hz = 23999.5"
                ))
        }
    }

    @Test func theHighPassLimitFollowsTheSourcesRate() {
        let slow = "[source]\nsample_rate = 16000\n\n"
        #expect(throws: Never.self) { try Self.triggers(slow + Self.birds + "\nhigh_pass_hz = 7999") }
        let found = Self.problems(slow + Self.birds + "\nhigh_pass_hz = 8000")
        #expect(found.count == 1)
        #expect(found.first?.contains("below half the source's sample rate (8000)") == true)
    }

    @Test func directoriesMustNotOverlapRecordingsOrOtherTriggers() {
        #expect(
            Self.problem("", directory: "/srv/audio/night/clips")
                == "trigger[0].directory: overlaps the directory of recording `night` (/srv/audio/night); retention and uploads work by directory, so give the trigger's clips a folder of their own, e.g. \"/srv/audio/night-clips/birds\""
        )
        #expect(
            Self.problem("", directory: "/srv/audio").hasPrefix(
                "trigger[0].directory: overlaps the directory of recording `night`"))
        #expect(Self.problem("", directory: "/srv/audio/night/.").hasPrefix("trigger[0].directory: overlaps"))
        // A sibling is fine.
        #expect(throws: Never.self) { try Self.triggers(Self.file(Self.trigger(directory: "/srv/audio/nightly"))) }
        let two = Self.problems(
            Self.file(Self.birds + "\n\n[[trigger]]\nname = \"owls\"\ndirectory = \"/srv/clips/birds/owls\""))
        #expect(
            two == [
                "trigger[1].directory: overlaps the directory of trigger `birds` (/srv/clips/birds); give each trigger its own folder"
            ])
        let root = Self.problems(Self.file(Self.trigger(directory: "/var/lib/audiocap")))
        #expect(root.count == 1)
        #expect(
            root.first?.hasPrefix("trigger[0].directory: holds [storage] root (/var/lib/audiocap/recordings") == true)
        let missing = Self.problems(Self.file("[[trigger]]\nname = \"birds\""))
        #expect(missing.count == 1)
        #expect(
            missing.first?.hasPrefix("trigger[0].directory: is required: the folder the trigger's clips go in") == true)
    }

    @Test func flacIsRefusedForAFloatSource() {
        let found = Self.problems("[source]\nsample_format = \"f32\"\n\n" + Self.birds + "\nformat = \"flac\"")
        #expect(found.count == 1)
        #expect(
            found.first?.hasPrefix("trigger[0].format: is \"flac\", but the source captures sample_format = \"f32\"")
                == true)
        #expect(throws: Never.self) {
            try Self.triggers("[source]\nsample_format = \"f32\"\n\n" + Self.birds + "\nformat = \"wav\"")
        }
    }

    @Test func aFilenameIsCheckedAsARecordingsIs() throws {
        #expect(
            try Self.triggers(Self.file(Self.birds + "\nfilename = \"{name}-{seq}\"")).first?.filename
                == "{name}-{seq}.wav")
        #expect(Self.problem("filename = \"../x\"").hasPrefix("trigger[0].filename:"))
        #expect(Self.problem("format = \"flac\"\nfilename = \"a.wav\"").contains("`.flac`"))
    }

    @Test func aTriggerTableMustBeAnArrayOfTables() {
        let found = Self.problems("[trigger]\nname = \"birds\"\ndirectory = \"/srv/clips\"")
        #expect(found == ["trigger: must be an array of tables (two brackets: `[[trigger]]`, not `[trigger]`)"])
        let misspelt = Self.problems("[[triger]]\nname = \"birds\"")
        #expect(misspelt.first?.contains("did you mean `[[trigger]]`?") == true)
    }

    /// A `[[trigger]]` named birds in `directory`.
    static func trigger(directory: String) -> String {
        "[[trigger]]\nname = \"birds\"\ndirectory = \"\(directory)\""
    }

    /// The one problem of a trigger in `directory` with `keys`.
    static func problem(_ keys: String, directory: String) -> String {
        let found = problems(file(trigger(directory: directory) + "\n" + keys))
        #expect(found.count == 1, "\(found)")
        return found.first ?? ""
    }
}
