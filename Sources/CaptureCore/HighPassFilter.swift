// A 4th-order Butterworth high-pass filter with one state per channel, for the level triggers.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A 4th-order Butterworth high-pass filter: two cascaded biquads (Q = 0.5412 and 1.3066), designed with
/// the bilinear transform pre-warped at the cut-off, so its magnitude at frequency `f` is exactly
/// `1 / sqrt(1 + (tan(π·fc/fs) / tan(π·f/fs))^8)`: -3.01 dB at the cut-off, 24 dB per octave below it,
/// flat (within 0.01 dB) an octave above it.
///
/// Each channel has its own state, kept in storage allocated once in `init`; `process` and `reset`
/// allocate nothing. Samples are fractions of full scale in `Double`.
public struct HighPassFilter: Sendable {
    public let cutoffHz: Double
    public let sampleRate: Int
    public let channels: Int

    /// One biquad's normalized coefficients (`a0` = 1).
    struct Section: Sendable {
        var b0, b1, b2, a1, a2: Double
    }

    let first: Section
    let second: Section
    /// Per channel: the transposed direct form II state of both sections, `s1, s2` of the first then of
    /// the second.
    private var state: [Double]

    /// A filter for `channels` channels (at least 1) at `sampleRate`, cutting off at `cutoffHz`, which must
    /// be greater than 0 and below half the sample rate.
    public init(cutoffHz: Double, sampleRate: Int, channels: Int) {
        precondition(channels >= 1, "a high-pass filter needs at least one channel, got \(channels)")
        precondition(
            cutoffHz > 0 && cutoffHz < Double(sampleRate) / 2,
            "a high-pass cut-off must lie between 0 and half the sample rate (\(sampleRate / 2) Hz), got \(cutoffHz)")
        self.cutoffHz = cutoffHz
        self.sampleRate = sampleRate
        self.channels = channels
        // The poles of a 4th-order Butterworth lie at angles π/8 and 3π/8 from the negative real axis.
        first = Self.section(cutoffHz: cutoffHz, sampleRate: sampleRate, q: 1 / (2 * cos(Double.pi / 8)))
        second = Self.section(cutoffHz: cutoffHz, sampleRate: sampleRate, q: 1 / (2 * cos(3 * Double.pi / 8)))
        state = Array(repeating: 0, count: channels * 4)
    }

    /// A high-pass biquad (the Audio EQ Cookbook's): bilinear transform pre-warped at `cutoffHz`.
    static func section(cutoffHz: Double, sampleRate: Int, q: Double) -> Section {
        let omega = 2 * Double.pi * cutoffHz / Double(sampleRate)
        let cosine = cos(omega)
        let alpha = sin(omega) / (2 * q)
        let a0 = 1 + alpha
        return Section(
            b0: (1 + cosine) / 2 / a0, b1: -(1 + cosine) / a0, b2: (1 + cosine) / 2 / a0,
            a1: -2 * cosine / a0, a2: (1 - alpha) / a0)
    }

    /// Frames the filter takes to settle after a jump in its input: 4 / `cutoffHz` seconds, by when the
    /// slowest part of its response has decayed by more than 80 dB.
    public var settlingFrames: Int {
        Int((4 / cutoffHz * Double(sampleRate)).rounded(.up))
    }

    /// The filtered value of `sample`, the next sample of `channel` (0-based, below `channels`).
    @inline(__always)
    public mutating func process(_ sample: Double, channel: Int) -> Double {
        let (first, second) = (self.first, self.second)
        return state.withUnsafeMutableBufferPointer { state in
            let base = channel * 4
            let middle = first.b0 * sample + state[base]
            state[base] = first.b1 * sample - first.a1 * middle + state[base + 1]
            state[base + 1] = first.b2 * sample - first.a2 * middle
            let output = second.b0 * middle + state[base + 2]
            state[base + 2] = second.b1 * middle - second.a1 * output + state[base + 3]
            state[base + 3] = second.b2 * middle - second.a2 * output
            return output
        }
    }

    /// Sets `channel`'s state as if its input had been `sample` forever (its output is then 0), so a
    /// stream that starts, or starts again after a hole, away from 0 does not begin with a step.
    public mutating func reset(channel: Int, to sample: Double) {
        let first = self.first
        state.withUnsafeMutableBufferPointer { state in
            let base = channel * 4
            // A constant input x gives output 0 (b0 + b1 + b2 = 0): s2 = b2·x, s1 = (b1 + b2)·x; the second
            // section sees only zeros.
            state[base + 1] = first.b2 * sample
            state[base] = (first.b1 + first.b2) * sample
            state[base + 2] = 0
            state[base + 3] = 0
        }
    }

    /// Sets every channel's state to that of a silent input.
    public mutating func reset() {
        state.withUnsafeMutableBufferPointer { state in
            for index in state.indices { state[index] = 0 }
        }
    }
}
