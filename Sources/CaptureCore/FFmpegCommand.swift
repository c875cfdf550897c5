// Builds ffmpeg's argument vector from one source's configuration ([source] or one [[source]]).

/// The argument vector (never a shell string) that makes ffmpeg capture from the configured input and
/// write raw little-endian PCM in the configured format to its stdout.
public struct FFmpegCommand: Sendable, Equatable {
    public let source: SourceConfiguration

    public init(source: SourceConfiguration) {
        self.source = source
    }

    /// Input formats whose demuxer takes `-channels`/`-sample_rate` before `-i` (ffmpeg 5.1's alsa
    /// input ignores `-ac`).
    static let devicesWithCaptureOptions: Set<String> = ["alsa", "pulse", "oss", "sndio"]

    /// The sample format ALSA should deliver for `format`, when it is not ffmpeg's default s16.
    static func alsaCaptureCodec(_ format: SampleFormat) -> String? {
        switch format {
        case .s16: nil
        case .s24, .s32: "pcm_s32le"
        case .f32: "pcm_f32le"
        }
    }

    /// Options before `-i` for a network stream: probe 32 kB or half a second, not 5 MB or 5 s.
    public static let networkProbeOptions = ["-probesize", "32768", "-analyzeduration", "500000"]

    static func isNetwork(_ inputFormat: String) -> Bool {
        SourceConfiguration.networkInputFormats.contains(inputFormat)
    }

    /// Whether ffmpeg passes the captured packets through (`-c:a copy`) instead of decoding and encoding
    /// them again: an ALSA input already delivers the configured format unless it is s24 (captured at 32
    /// bits, packed to 24), and no `output_options` may need a filter. Copying costs ffmpeg about a fifth
    /// less CPU and loses nothing, but nothing converts either: ALSA may give a rate near the one asked
    /// for, so the daemon checks the stream ffmpeg reports (``FFmpegStreamInfo``, from the input dump that
    /// `-loglevel level+info` prints) before it records a byte, and converts when it differs.
    public var copiesStream: Bool {
        source.inputFormat == "alsa" && source.sampleFormat != .s24 && source.outputOptions.isEmpty
    }

    /// The bitstream filter that renumbers a capture device's packets (`setts=ts=N`): ALSA's timestamps
    /// jitter, and the raw muxer prints an error for every packet whose timestamp does not increase, a few
    /// lines a second that wake the daemon to read them. Only the timestamps change, never the audio.
    /// ffmpeg before 4.4 has no `setts`: it fails at once, and the daemon starts it again without.
    public static let timestampFilter = ["-bsf:a", "setts=ts=N"]

    /// What ffmpeg prints when it has no such bitstream filter (before 4.4).
    public static func isMissingFilterLine(_ line: String) -> Bool {
        let lower = line.lowercased()
        return lower.contains("bitstream filter") && lower.contains("not found")
            || lower.contains("unknown bitstream filter") || lower.contains("unknown bit stream filter")
    }

    /// Arguments after the executable name. `device` overrides the configured device (a resolved name).
    /// `convert` turns the stream copy off (after the device delivered another format than asked for);
    /// `renumber` false leaves out ``timestampFilter`` (an ffmpeg that has none).
    public func arguments(device: String? = nil, convert: Bool = false, renumber: Bool = true) -> [String] {
        let copy = copiesStream && !convert
        // With a copy, ffmpeg's input dump (at info level) says what the device really delivers.
        var args = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", copy ? "level+info" : "level+warning"]
        if Self.isNetwork(source.inputFormat) {
            // ffmpeg probes a stream for up to 5 MB or 5 s before the first byte of audio: at 96 kB/s
            // that is longer than stall_seconds, so every run would be killed as stalled. Probe little
            // (a user's input_options come after these and win).
            args += Self.networkProbeOptions
        }
        args += source.inputOptions
        if source.inputFormat == "alsa", let codec = Self.alsaCaptureCodec(source.sampleFormat) {
            // Without a codec before -i ffmpeg's alsa input opens the device as s16 and the extra
            // resolution is lost before the conversion: capture at 32 bits (or float) instead.
            args += ["-c:a", codec]
        }
        // A network stream: ffmpeg picks the protocol from the URL and probes the stream's format.
        if !Self.isNetwork(source.inputFormat) {
            args += ["-f", source.inputFormat]
        }
        if Self.devicesWithCaptureOptions.contains(source.inputFormat) {
            args += ["-channels", String(source.channels), "-sample_rate", String(source.sampleRate)]
        }
        args += ["-i", device ?? source.device]
        if copy {
            args += ["-map", "0:a:0", "-c:a", "copy"]
        } else {
            args += [
                "-map", "0:a:0",
                "-ac", String(source.channels),
                "-ar", String(source.sampleRate),
                "-c:a", source.sampleFormat.ffmpegCodec,
            ]
        }
        if renumber, Self.devicesWithCaptureOptions.contains(source.inputFormat) {
            args += Self.timestampFilter
        }
        args += source.outputOptions
        args += ["-f", source.sampleFormat.ffmpegMuxer, "pipe:1"]
        return args
    }

    /// ``arguments(device:)`` as they may be logged or shown: a network URL's credentials masked
    /// (see ``CredentialMask``). Never pass these to ffmpeg.
    public func displayedArguments(device: String? = nil) -> [String] {
        let mask = CredentialMask(device: device ?? source.device)
        let arguments = arguments(device: device)
        return mask.isEmpty ? arguments : arguments.map(mask.mask)
    }
}
