// Builds ffmpeg's argument vector from the [source] configuration.

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

    /// Arguments after the executable name. `device` overrides the configured device (a resolved name).
    public func arguments(device: String? = nil) -> [String] {
        var args = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+warning"]
        args += source.inputOptions
        args += ["-f", source.inputFormat]
        if Self.devicesWithCaptureOptions.contains(source.inputFormat) {
            args += ["-channels", String(source.channels), "-sample_rate", String(source.sampleRate)]
        }
        args += ["-i", device ?? source.device]
        args += [
            "-map", "0:a:0",
            "-ac", String(source.channels),
            "-ar", String(source.sampleRate),
            "-c:a", source.sampleFormat.ffmpegCodec,
            "-f", source.sampleFormat.ffmpegMuxer,
            "pipe:1",
        ]
        return args
    }
}
