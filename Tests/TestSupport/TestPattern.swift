// The test microphone's content, generated in Swift: the same bytes as Tests/Fixtures/testmic/pattern.py.

import Foundation

/// The test pattern: 48 kHz signed 16-bit little-endian PCM, repeating every 65536 frames.
///
/// Channel 0 is a 999.76 Hz sine at -20 dBFS (1365 cycles per period, amplitude 3277). Channel 1, in
/// stereo, is a frame counter modulo 65536 (its 16 bits read as `Int16`), so any gap, repeat or inserted
/// silence in a capture is visible. Frame 0 of every period is all zeros.
///
/// Variants for telling several sources apart: with a `sineOffset` d, channel 0 at counter c is the sine
/// at c + d (mod 65536) instead of at c. The levels are the same; a capture of one variant checked
/// against another (`PatternCheck(channels: 2, sineOffset:)`) mismatches on almost every frame. Only
/// stereo shows the variant: in mono, where there is no counter, an offset is just another phase.
public enum TestPattern {
    /// Frames in one period of the pattern.
    public static let period = 65536
    /// The pattern's sample rate.
    public static let sampleRate = 48000
    /// The sine's peak value.
    public static let amplitude = 3277.0
    /// Sine cycles per period.
    public static let cyclesPerPeriod = 1365

    /// Channel 0 for frames 0..<65536 of a period.
    ///
    /// `round(3277 · sin(2π · 1365 · i / 65536))`, computed in the same order as pattern.py. No value
    /// lies within 1e-6 of a half, so Swift's `.rounded()` (half away from zero) and Python's `round`
    /// (half to even) agree.
    public static let sine: [Int16] = (0..<65536).map { i in
        Int16((amplitude * sin(2 * Double.pi * Double(cyclesPerPeriod) * Double(i) / 65536)).rounded())
    }

    /// The sample of `channel` (0 or 1) at pattern frame `frame` (any frame number, taken modulo 65536),
    /// in the variant with `sineOffset` (see the type's notes; 0 is the pattern itself).
    public static func sample(channel: Int, frame: Int, sineOffset: Int = 0) -> Int16 {
        let position = frame & 0xFFFF
        return channel == 0 ? sine[(position + sineOffset) & 0xFFFF] : Int16(truncatingIfNeeded: position)
    }

    /// `frames` frames of the pattern with `channels` channels (1 or 2), starting at pattern frame
    /// `startFrame`, as raw s16le bytes, in the variant with `sineOffset` (see the type's notes). With the
    /// defaults, the bytes `pattern.py OUT CHANNELS` writes. One period (65536 frames) loops seamlessly
    /// whatever the offset.
    ///
    /// - Precondition: `channels` is 1 or 2; `frames` and `startFrame` are not negative.
    public static func data(channels: Int, frames: Int = 65536, startFrame: Int = 0, sineOffset: Int = 0) -> Data {
        precondition(channels == 1 || channels == 2, "the test pattern has 1 or 2 channels")
        precondition(frames >= 0 && startFrame >= 0, "frame counts are not negative")
        var result = Data(count: frames * channels * 2)
        result.withUnsafeMutableBytes { raw in
            sine.withUnsafeBufferPointer { table in
                var offset = 0
                for frame in startFrame..<(startFrame + frames) {
                    let position = frame & 0xFFFF
                    raw.storeBytes(
                        of: table[(position + sineOffset) & 0xFFFF].littleEndian, toByteOffset: offset,
                        as: Int16.self)
                    offset += 2
                    if channels == 2 {
                        raw.storeBytes(
                            of: UInt16(position).littleEndian, toByteOffset: offset, as: UInt16.self)
                        offset += 2
                    }
                }
            }
        }
        return result
    }
}
