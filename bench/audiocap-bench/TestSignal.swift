// The audio the benchmark feeds through the meter and the pipeline: stereo s16 at 48 kHz.
#if canImport(Glibc)
    import Glibc
#endif

/// A prepared stretch of interleaved stereo s16le audio that the benchmark plays in a loop.
enum TestSignal: String, CaseIterable {
    /// Program-like material: a few tones under a slow envelope plus noise, peaks near -8 dBFS,
    /// different on each channel, never clipping.
    case music
    /// The end-to-end tests' pattern: a -20 dBFS 999.76 Hz sine on the left, a frame counter modulo
    /// 65536 on the right (which touches both rails once per period).
    case pattern
    /// Uniform white noise at full scale (rails included), the worst case for the meter's clip counting.
    case noise

    static let sampleRate = 48_000
    static let channels = 2

    /// `frames` frames of the signal as interleaved little-endian Int16.
    func samples(frames: Int) -> [Int16] {
        var out = [Int16](repeating: 0, count: frames * Self.channels)
        var random = SplitMix(seed: 0x6175_6469_6f63_6170)
        let rate = Double(Self.sampleRate)
        switch self {
        case .music:
            for frame in 0..<frames {
                let t = Double(frame) / rate
                let envelope = 0.55 + 0.45 * sin(2 * .pi * 0.37 * t)
                let left =
                    envelope
                    * (0.20 * sin(2 * .pi * 220 * t) + 0.12 * sin(2 * .pi * 331.3 * t)
                        + 0.06 * sin(2 * .pi * 1_742 * t)) + 0.03 * random.nextSigned()
                let right =
                    envelope
                    * (0.18 * sin(2 * .pi * 164.8 * t + 0.5) + 0.10 * sin(2 * .pi * 659.2 * t)
                        + 0.05 * sin(2 * .pi * 2_489 * t)) + 0.03 * random.nextSigned()
                out[2 * frame] = Int16((left * 32767).rounded())
                out[2 * frame + 1] = Int16((right * 32767).rounded())
            }
        case .pattern:
            for frame in 0..<frames {
                let position = frame & 0xFFFF
                out[2 * frame] = Int16((3277 * sin(2 * .pi * 1365 * Double(position) / 65536)).rounded())
                out[2 * frame + 1] = Int16(truncatingIfNeeded: position)
            }
        case .noise:
            for index in out.indices { out[index] = Int16(truncatingIfNeeded: random.next()) }
        }
        #if _endian(big)
            for index in out.indices { out[index] = out[index].littleEndian }
        #endif
        return out
    }
}

/// A small deterministic generator, so every run measures the same bytes.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in -1..<1.
    mutating func nextSigned() -> Double { Double(next() >> 11) / Double(1 << 52) - 1 }
}
