// What ffmpeg says about the audio stream it opened: codec, sample rate and channels, from its input dump.

/// The audio stream of ffmpeg's input as its `-loglevel info` dump describes it, e.g.
/// `[info]   Stream #0:0: Audio: pcm_s16le, 48000 Hz, 2 channels, s16, 1536 kb/s`.
///
/// When the daemon lets ffmpeg copy the stream (``FFmpegCommand/copiesStream``) nothing converts the audio
/// to the configured format, so this is how the daemon learns what the device really delivers (ALSA may
/// give a rate near the one asked for) before it records a byte.
public struct FFmpegStreamInfo: Sendable, Equatable {
    public var codec: String
    public var sampleRate: Int
    /// Nil when the layout is one this parser does not know by name.
    public var channels: Int?

    public init(codec: String, sampleRate: Int, channels: Int?) {
        self.codec = codec
        self.sampleRate = sampleRate
        self.channels = channels
    }

    /// Channels of ffmpeg's named layouts (`av_channel_layout_describe`).
    static let namedLayouts: [String: Int] = [
        "mono": 1, "stereo": 2, "2.1": 3, "3.0": 3, "3.0(back)": 3, "4.0": 4, "quad": 4, "quad(side)": 4,
        "3.1": 4, "5.0": 5, "5.0(side)": 5, "4.1": 5, "5.1": 6, "5.1(side)": 6, "6.0": 6, "6.0(front)": 6,
        "hexagonal": 6, "6.1": 7, "6.1(back)": 7, "6.1(front)": 7, "7.0": 7, "7.0(front)": 7, "7.1": 8,
        "7.1(wide)": 8, "7.1(wide-side)": 8, "octagonal": 8, "downmix": 2,
    ]

    /// Parses one line of ffmpeg's stream dump (with or without the `[info]` prefix); nil when it is not
    /// an audio stream line.
    public init?(line: String) {
        guard let stream = line.range(of: "Stream #"), let audio = line.range(of: ": Audio: "),
            stream.upperBound <= audio.lowerBound
        else { return nil }
        let fields = line[audio.upperBound...].split(separator: ",").map {
            $0.trimmingCharacters(in: " ")
        }
        guard fields.count >= 3 else { return nil }
        // "pcm_s16le" or "pcm_s16le ([1][0][0][0] / 0x0001)": the codec is the first word.
        guard let codec = fields[0].split(separator: " ").first.map(String.init), !codec.isEmpty else { return nil }
        let rateWords = fields[1].split(separator: " ")
        guard rateWords.count == 2, rateWords[1] == "Hz", let rate = Int(rateWords[0]), rate > 0 else { return nil }
        let layout = fields[2]
        var channels: Int? = Self.namedLayouts[layout]
        if channels == nil {
            // "2 channels", "10 channels (FL+FR+...)"
            let words = layout.split(separator: " ")
            if words.count >= 2, words[1].hasPrefix("channels"), let n = Int(words[0]), n > 0 { channels = n }
        }
        self.init(codec: codec, sampleRate: rate, channels: channels)
    }

    /// Why this stream is not `format` delivered as `codec`, or nil when it is exactly that.
    public func mismatch(with format: AudioFormat, codec expectedCodec: String) -> String? {
        var differences: [String] = []
        if codec != expectedCodec { differences.append("codec \(codec), not \(expectedCodec)") }
        if sampleRate != format.sampleRate { differences.append("\(sampleRate) Hz, not \(format.sampleRate) Hz") }
        if let channels {
            if channels != format.channels {
                differences.append("\(channels) channel\(channels == 1 ? "" : "s"), not \(format.channels)")
            }
        } else {
            differences.append("a channel layout not known by name, not \(format.channels) channels")
        }
        return differences.isEmpty ? nil : differences.joined(separator: ", ")
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var text = self
        while text.first == set { text.removeFirst() }
        while text.last == set { text.removeLast() }
        return String(text)
    }
}
