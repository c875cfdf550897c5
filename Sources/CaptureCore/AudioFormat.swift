// The shape of the PCM stream: sample encoding, rate and channel count.

/// How one sample is encoded on the wire from ffmpeg and in the WAV files (always little-endian).
public enum SampleFormat: String, Sendable, Hashable, CaseIterable, Codable {
    case s16
    case s24
    case s32
    case f32

    /// Bytes per sample of one channel (s24 is packed: 3 bytes).
    public var bytesPerSample: Int {
        switch self {
        case .s16: 2
        case .s24: 3
        case .s32, .f32: 4
        }
    }

    public var bitsPerSample: Int { bytesPerSample * 8 }

    public var isFloat: Bool { self == .f32 }

    /// ffmpeg's raw muxer name (`-f`).
    public var ffmpegMuxer: String {
        switch self {
        case .s16: "s16le"
        case .s24: "s24le"
        case .s32: "s32le"
        case .f32: "f32le"
        }
    }

    /// ffmpeg's codec name (`-c:a`).
    public var ffmpegCodec: String { "pcm_" + ffmpegMuxer }
}

/// Sample rate, channel count and sample format of a capture.
public struct AudioFormat: Sendable, Hashable, Codable {
    public var sampleRate: Int
    public var channels: Int
    public var sampleFormat: SampleFormat

    public init(sampleRate: Int, channels: Int, sampleFormat: SampleFormat) {
        self.sampleRate = sampleRate
        self.channels = channels
        self.sampleFormat = sampleFormat
    }

    public var bytesPerFrame: Int { channels * sampleFormat.bytesPerSample }
    public var bytesPerSecond: Int { bytesPerFrame * sampleRate }

    /// Frames in `seconds` of audio, rounded to the nearest frame.
    public func frames(seconds: Double) -> Int64 {
        Int64((seconds * Double(sampleRate)).rounded())
    }

    /// Seconds that `frames` frames last.
    public func seconds(frames: Int64) -> Double {
        Double(frames) / Double(sampleRate)
    }
}
