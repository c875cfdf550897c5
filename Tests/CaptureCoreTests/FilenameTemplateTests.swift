import Foundation
import Testing
@testable import CaptureCore

@Suite struct FilenameTemplateTests {
    // 2026-11-22T00:30:00Z
    let t = 1_795_307_400.0

    @Test func defaultTemplateIsUTCWithNestedDay() {
        let template = FilenameTemplate(RecordingConfiguration.defaultFilename)
        #expect(template.expand(name: "main", sequence: 1, time: t) == "2026-11-22/main-20261122T003000Z.wav")
    }

    @Test func nameAndSequencePlaceholders() {
        let template = FilenameTemplate("{name}/{seq}_%H%M%S.wav")
        #expect(template.expand(name: "bats.north", sequence: 42, time: t + 0.999) == "bats.north/000042_003000.wav")
    }

    @Test func percentInANameIsNotAField() {
        let template = FilenameTemplate("{name}.wav")
        #expect(template.expand(name: "a%Yb", sequence: 1, time: t) == "a%Yb.wav")
    }

    @Test func localTimeZoneUsesTZ() {
        setenv("TZ", "UTC", 1)
        tzset()
        let template = FilenameTemplate("%H.wav", timeZone: .local)
        #expect(template.expand(name: "x", sequence: 1, time: t) == "00.wav")
    }
}

@Suite struct FFmpegCommandTests {
    @Test func alsaTakesChannelsAndRateBeforeInput() {
        var source = SourceConfiguration()
        source.device = "hw:CARD=USB"
        source.channels = 1
        source.sampleRate = 44_100
        source.sampleFormat = .s24
        let args = FFmpegCommand(source: source).arguments()
        let input = args.firstIndex(of: "-i")!
        #expect(args[input + 1] == "hw:CARD=USB")
        #expect(args.contains("-nostdin"))
        let channels = args.firstIndex(of: "-channels")!
        #expect(channels < input && args[channels + 1] == "1")
        let rate = args.firstIndex(of: "-sample_rate")!
        #expect(rate < input && args[rate + 1] == "44100")
        #expect(Array(args.suffix(3)) == ["-f", "s24le", "pipe:1"])
        // Captured at 32 bits (before -i), written as packed 24-bit.
        let captureCodec = args.firstIndex(of: "-c:a")!
        #expect(captureCodec < input && args[captureCodec + 1] == "pcm_s32le")
        #expect(args[args.lastIndex(of: "-c:a")! + 1] == "pcm_s24le")
    }

    @Test func lavfiHasNoCaptureOptionsAndKeepsInputOptionsFirst() {
        var source = SourceConfiguration()
        source.inputFormat = "lavfi"
        source.device = "sine=frequency=1000"
        source.inputOptions = ["-re", "-t", "5"]
        let args = FFmpegCommand(source: source).arguments()
        #expect(!args.contains("-channels"))
        let input = args.firstIndex(of: "-i")!
        let re = args.firstIndex(of: "-re")!
        #expect(re < input)
        #expect(args[args.firstIndex(of: "-f")! + 1] == "lavfi")
    }

    @Test func outputOptionsGoJustBeforeTheOutput() {
        var source = SourceConfiguration()
        source.outputOptions = ["-flush_packets", "0"]
        let command = FFmpegCommand(source: source)
        // Output options may hold a filter: ffmpeg converts.
        #expect(!command.copiesStream)
        let args = command.arguments()
        // The user's options come after the daemon's own output options (the timestamp filter), so they win.
        #expect(Array(args.suffix(7)) == ["-bsf:a", "setts=ts=N", "-flush_packets", "0", "-f", "s16le", "pipe:1"])
        #expect(args[args.count - 8] == "pcm_s16le")
    }

    @Test func alsaInTheConfiguredFormatIsCopiedAndDescribed() {
        for format in [SampleFormat.s16, .s32, .f32] {
            var source = SourceConfiguration()
            source.sampleFormat = format
            let command = FFmpegCommand(source: source)
            #expect(command.copiesStream)
            let args = command.arguments()
            let input = args.firstIndex(of: "-i")!
            #expect(
                Array(args[(input + 2)...]) == [
                    "-map", "0:a:0", "-c:a", "copy", "-bsf:a", "setts=ts=N", "-f", format.ffmpegMuxer, "pipe:1",
                ])
            // The input dump (info level) is what the daemon checks the copied stream against.
            #expect(args[args.firstIndex(of: "-loglevel")! + 1] == "level+info")
        }
    }

    @Test func s24OtherInputsAndARefusedCopyConvert() {
        var s24 = SourceConfiguration()
        s24.sampleFormat = .s24
        var lavfi = SourceConfiguration()
        lavfi.inputFormat = "lavfi"
        lavfi.device = "sine"
        for source in [s24, lavfi] {
            #expect(!FFmpegCommand(source: source).copiesStream)
            #expect(!FFmpegCommand(source: source).arguments().contains("copy"))
        }
        let refused = FFmpegCommand(source: SourceConfiguration()).arguments(convert: true, renumber: false)
        #expect(!refused.contains("copy") && !refused.contains("-bsf:a"))
        #expect(
            Array(refused.suffix(11)) == [
                "-map", "0:a:0", "-ac", "2", "-ar", "48000", "-c:a", "pcm_s16le", "-f", "s16le", "pipe:1",
            ])
        #expect(refused[refused.firstIndex(of: "-loglevel")! + 1] == "level+warning")
        // Only a capture device's timestamps are renumbered.
        #expect(!FFmpegCommand(source: lavfi).arguments().contains("-bsf:a"))
        #expect(
            FFmpegCommand.isMissingFilterLine(
                "[error] Error parsing bitstream filter sequence 'setts=ts=N': Bitstream filter not found"))
        #expect(FFmpegCommand.isMissingFilterLine("Unknown bit stream filter 'setts'"))
        #expect(
            !FFmpegCommand.isMissingFilterLine("[error] Application provided invalid, non monotonically increasing dts")
        )
    }
}

@Suite struct RetentionScopeTests {
    @Test func retentionMayNotReachIntoAnotherRecordingOrTheOnDemandRoot() {
        let nested = """
            [[recording]]
            name = "all"
            directory = "/srv/audio"
            keep_days = 7
            [[recording]]
            name = "birds"
            directory = "/srv/audio/birds"
            """
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.parse(nested, path: "x.toml") }
        let root = """
            [storage]
            root = "/var/lib/audiocap/recordings/main/ondemand"
            [[recording]]
            name = "main"
            directory = "/var/lib/audiocap/recordings/main"
            max_bytes = 1000000
            """
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.parse(root, path: "x.toml") }
        let fine = """
            [[recording]]
            name = "a"
            directory = "/srv/audio/a"
            keep_days = 7
            [[recording]]
            name = "b"
            directory = "/srv/audio/b"
            """
        #expect((try? ConfigurationLoader.parse(fine, path: "x.toml"))?.recordings.count == 2)
    }

    @Test func deletingForFreeSpaceMayNotReachIntoAnotherRecordingEither() throws {
        let nested = """
            [storage]
            root = "/var/lib/audiocap/ondemand"
            [[recording]]
            name = "all"
            directory = "/var/lib/audiocap"
            delete_oldest_when_low = true
            [[recording]]
            name = "birds"
            directory = "/var/lib/audiocap/birds"
            """
        do {
            _ = try ConfigurationLoader.parse(nested, path: "x.toml")
            Issue.record("a deletable directory holding another recording's was accepted")
        } catch {
            let text = "\(error)"
            #expect(
                text.contains("holds the files of recording `birds`, which its delete_oldest_when_low would delete"),
                "\(text)")
            #expect(text.contains("holds [storage] root"), "\(text)")
        }
    }
}
