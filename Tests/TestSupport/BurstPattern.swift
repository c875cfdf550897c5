// A test signal for level triggers: digital silence with tones at known frames, as raw s16le or a WAV file.

import Foundation

/// Mono 48 kHz s16 audio that is digital silence except for `tones`, each a sine of a given frequency
/// and peak level starting at a known frame. Every sample is a pure function of the description, so a test
/// knows, independently of the code under test, where each sound starts and ends and what every frame
/// holds.
///
/// A tone starts at phase 0 (its first sample is 0, its second already at a quarter of its peak for 2 kHz)
/// and, without a fade, stops dead after its last frame. A fade shapes both ends with a raised cosine, so a
/// high-pass filter sees no step (a hum that fades in stays a hum).
public struct BurstPattern: Sendable, Equatable {
    /// One tone: `frames` frames of a sine from frame `start`.
    public struct Tone: Sendable, Equatable {
        public var frequency: Double
        /// Peak level in dBFS (0 dBFS is a peak of 32767).
        public var dBFS: Double
        public var start: Int
        public var frames: Int
        /// Frames of the raised-cosine fade at each end; 0: none.
        public var fadeFrames: Int

        public init(frequency: Double, dBFS: Double, start: Int, frames: Int, fadeFrames: Int = 0) {
            self.frequency = frequency
            self.dBFS = dBFS
            self.start = start
            self.frames = frames
            self.fadeFrames = fadeFrames
        }

        /// The frame after the tone's last.
        public var end: Int { start + frames }
    }

    public static let sampleRate = 48_000
    /// Frames in the whole signal.
    public var frames: Int
    /// The tones, which must not overlap.
    public var tones: [Tone]

    /// - Precondition: the tones lie within `frames` and do not overlap.
    public init(frames: Int, tones: [Tone]) {
        let sorted = tones.sorted { $0.start < $1.start }
        precondition(sorted.allSatisfy { $0.start >= 0 && $0.end <= frames }, "tones lie within the signal")
        precondition(zip(sorted, sorted.dropFirst()).allSatisfy { $0.end <= $1.start }, "tones do not overlap")
        self.frames = frames
        self.tones = sorted
    }

    /// The peak sample value of a level in dBFS: 32767 · 10^(dBFS/20).
    public static func amplitude(dBFS: Double) -> Double {
        32767 * pow(10, dBFS / 20)
    }

    /// Frames in `seconds` at 48 kHz, rounded.
    public static func frames(_ seconds: Double) -> Int {
        Int((seconds * Double(sampleRate)).rounded())
    }

    /// Every sample, frame 0 first.
    public func samples() -> [Int16] {
        var samples = [Int16](repeating: 0, count: frames)
        for tone in tones {
            let amplitude = Self.amplitude(dBFS: tone.dBFS)
            let step = 2 * Double.pi * tone.frequency / Double(Self.sampleRate)
            for i in 0..<tone.frames {
                var gain = 1.0
                if tone.fadeFrames > 0 {
                    let edge = min(i, tone.frames - 1 - i)
                    if edge < tone.fadeFrames {
                        gain = 0.5 - 0.5 * cos(Double.pi * Double(edge) / Double(tone.fadeFrames))
                    }
                }
                samples[tone.start + i] = Int16((amplitude * gain * sin(step * Double(i))).rounded())
            }
        }
        return samples
    }

    /// The signal as raw s16le bytes.
    public func data() -> Data {
        Self.littleEndianBytes(samples())
    }

    /// The signal as a canonical 44-byte-header WAV file (PCM, mono, 48 kHz, 16 bits), written here and
    /// not by the code under test.
    public func wav() -> Data {
        let audio = data()
        func le32(_ value: Int) -> Data { withUnsafeBytes(of: UInt32(value).littleEndian) { Data($0) } }
        func le16(_ value: Int) -> Data { withUnsafeBytes(of: UInt16(value).littleEndian) { Data($0) } }
        var header = Data("RIFF".utf8) + le32(36 + audio.count) + Data("WAVEfmt ".utf8) + le32(16)
        header += le16(1) + le16(1) + le32(Self.sampleRate) + le32(Self.sampleRate * 2) + le16(2) + le16(16)
        header += Data("data".utf8) + le32(audio.count)
        return header + audio
    }

    /// Writes `wav()` to `path`.
    public func writeWAV(to path: String) throws {
        try wav().write(to: URL(fileURLWithPath: path))
    }

    /// The first frame at or after `from` whose sample's magnitude exceeds `amplitude`, or nil.
    public static func firstFrame(over amplitude: Double, in samples: [Int16], from: Int = 0) -> Int? {
        guard from < samples.count else { return nil }
        return samples[max(0, from)...].firstIndex { abs(Double($0)) > amplitude }
    }

    /// The last frame before `before` whose sample's magnitude exceeds `amplitude`, or nil.
    public static func lastFrame(over amplitude: Double, in samples: [Int16], before: Int? = nil) -> Int? {
        let end = min(before ?? samples.count, samples.count)
        guard end > 0 else { return nil }
        return samples[..<end].lastIndex { abs(Double($0)) > amplitude }
    }

    /// The peak, in dBFS (relative to 32767), of `samples` after a first-order high-pass filter (one
    /// pole, the gentlest filter a `high_pass_hz` could mean) at `cutoff` Hz; -inf for silence. For
    /// checking that a signal is designed with margin, whatever filter order the code under test uses.
    public static func peakDBFS(of samples: [Int16], highPassHz cutoff: Double?) -> Double {
        var peak = 0.0
        if let cutoff {
            let rc = 1 / (2 * Double.pi * cutoff)
            let dt = 1 / Double(sampleRate)
            let alpha = rc / (rc + dt)
            var previousInput = 0.0
            var previousOutput = 0.0
            for sample in samples {
                let input = Double(sample)
                let output = alpha * (previousOutput + input - previousInput)
                peak = max(peak, abs(output))
                previousInput = input
                previousOutput = output
            }
        } else {
            peak = samples.map { abs(Double($0)) }.max() ?? 0
        }
        return 20 * log10(peak / 32767)
    }

    static func littleEndianBytes(_ samples: [Int16]) -> Data {
        var data = Data(count: samples.count * 2)
        data.withUnsafeMutableBytes { raw in
            for (index, sample) in samples.enumerated() {
                raw.storeBytes(of: sample.littleEndian, toByteOffset: 2 * index, as: Int16.self)
            }
        }
        return data
    }
}

extension BurstPattern {
    /// The sounds of the triggers' end-to-end test, at known frames of a 20 s signal (times in seconds):
    ///
    /// - `single`: 2 kHz at -12 dBFS, 2.0 to 2.5.
    /// - `hum`: 50 Hz at -10 dBFS, 4.5 to 6.5, with 50 ms fades: loud, but far under -30 dBFS after a
    ///   1500 Hz high-pass filter of any order.
    /// - `pairFirst`, `pairSecond`: 2 kHz at -12 dBFS, 9.0 to 9.2 and 9.6 to 9.8: 0.4 s apart, closer
    ///   than a 1 s `post_seconds`, and their clip (2.8 s) shorter than a 3 s `max_seconds`.
    /// - `long`: 2 kHz at -12 dBFS, 13.0 to 16.5: 3.5 s, longer than a 3 s `max_seconds`.
    ///
    /// With `pre_seconds = 1`, `post_seconds = 1`, `max_seconds = 3` the expected clips are 1.0–3.5,
    /// 8.0–10.8, 12.0–15.0 (cut) and 15.0–17.5 (its continuation); nothing around the hum.
    public enum Trigger {
        public static let single = Tone(frequency: 2000, dBFS: -12, start: frames(2.0), frames: frames(0.5))
        public static let hum = Tone(
            frequency: 50, dBFS: -10, start: frames(4.5), frames: frames(2.0), fadeFrames: frames(0.05))
        public static let pairFirst = Tone(frequency: 2000, dBFS: -12, start: frames(9.0), frames: frames(0.2))
        public static let pairSecond = Tone(frequency: 2000, dBFS: -12, start: frames(9.6), frames: frames(0.2))
        public static let long = Tone(frequency: 2000, dBFS: -12, start: frames(13.0), frames: frames(3.5))

        /// The whole 20 s signal.
        public static let pattern = BurstPattern(
            frames: frames(20.0), tones: [single, hum, pairFirst, pairSecond, long])
    }
}
