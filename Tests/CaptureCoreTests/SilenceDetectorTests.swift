// Tests of the silence detector's state machine, fed 100 ms chunks at 48 kHz.

import CaptureCore
import Testing

/// Feeds `levels` (dBFS, one per 4800-frame chunk, starting at frame `start`) and returns the
/// transitions with the index of the chunk that caused each.
private func transitions(
    _ detector: inout SilenceDetector, _ levels: [Double], start: Int64 = 0
) -> [(chunk: Int, transition: SilenceTransition)] {
    var result: [(Int, SilenceTransition)] = []
    for (index, level) in levels.enumerated() {
        let atFrame = start + Int64(index) * 4800
        if let transition = detector.update(levelDBFS: level, frames: 4800, sampleRate: 48000, atFrame: atFrame) {
            result.append((index, transition))
        }
    }
    return result
}

private let loud = -20.0
private let quiet = -70.0

@Suite struct SilenceDetectorTests {
    @Test func beginsOnlyOnceMinimumSecondsHavePassed() {
        var detector = SilenceDetector(thresholdDBFS: -60, minimumSeconds: 1)
        // 5 loud chunks, then 15 quiet ones: the silence starts at chunk 5 (frame 24000) and has
        // lasted 1 s at the end of chunk 14.
        let events = transitions(&detector, Array(repeating: loud, count: 5) + Array(repeating: quiet, count: 15))
        #expect(events.count == 1)
        #expect(events.first?.chunk == 14)
        #expect(events.first?.transition == .began(atFrame: 24000))
        #expect(detector.isSilent)
        #expect(detector.silenceStart == Int64(24000))
    }

    @Test func endsWhenSoundComesBack() {
        var detector = SilenceDetector(thresholdDBFS: -60, minimumSeconds: 1)
        let levels = Array(repeating: quiet, count: 25) + [loud, loud, quiet]
        let events = transitions(&detector, levels, start: 1_000_000)
        #expect(events.map(\.chunk) == [9, 25])
        #expect(events.first?.transition == .began(atFrame: 1_000_000))
        #expect(events.last?.transition == .ended(atFrame: 1_000_000 + 25 * 4800, silentFrames: 25 * 4800))
        #expect(!detector.isSilent)
        #expect(detector.silenceStart == Int64(1_000_000 + 27 * 4800))
    }

    @Test func thresholdIsStrictlyBelow() {
        var detector = SilenceDetector(thresholdDBFS: -60, minimumSeconds: 0.5)
        #expect(transitions(&detector, Array(repeating: -60, count: 20)).isEmpty)
        #expect(detector.silenceStart == nil)
        let events = transitions(&detector, Array(repeating: -60.000_001, count: 5))
        #expect(events.map(\.transition) == [.began(atFrame: 0)])
    }

    @Test func beganIsNotRepeated() {
        var detector = SilenceDetector(thresholdDBFS: -60, minimumSeconds: 0.2)
        let events = transitions(&detector, Array(repeating: -.infinity, count: 100))
        #expect(events.map(\.chunk) == [1])
        #expect(events.map(\.transition) == [.began(atFrame: 0)])
    }

    @Test func shortSilenceIsForgotten() {
        var detector = SilenceDetector(thresholdDBFS: -60, minimumSeconds: 1)
        // 9 quiet chunks (0.9 s), a loud one, then 10 quiet ones: only the second silence counts.
        let levels = Array(repeating: quiet, count: 9) + [loud] + Array(repeating: quiet, count: 10)
        let events = transitions(&detector, levels)
        #expect(events.map(\.chunk) == [19])
        #expect(events.map(\.transition) == [.began(atFrame: 10 * 4800)])
    }

    @Test func everySilenceIsReportedAgain() {
        var detector = SilenceDetector(thresholdDBFS: -60, minimumSeconds: 0.3)
        let levels = [quiet, quiet, quiet, loud, quiet, quiet, quiet, quiet, loud]
        let expected: [SilenceTransition] = [
            .began(atFrame: 0), .ended(atFrame: 14400, silentFrames: 14400),
            .began(atFrame: 19200), .ended(atFrame: 38400, silentFrames: 19200),
        ]
        #expect(transitions(&detector, levels).map(\.transition) == expected)
    }

    @Test func zeroMinimumBeginsOnTheFirstSilentChunk() {
        var detector = SilenceDetector(thresholdDBFS: -60, minimumSeconds: 0)
        let events = transitions(&detector, [loud, quiet, loud])
        #expect(
            events.map(\.transition) == [.began(atFrame: 4800), .ended(atFrame: 9600, silentFrames: 4800)]
        )
    }

    @Test func notANumberCountsAsSound() {
        var detector = SilenceDetector(thresholdDBFS: -60, minimumSeconds: 0.1)
        let events = transitions(&detector, [quiet, .nan])
        #expect(events.map(\.transition) == [.began(atFrame: 0), .ended(atFrame: 4800, silentFrames: 4800)])
    }

    @Test func resetForgetsSilenceWithoutEnding() {
        var detector = SilenceDetector(thresholdDBFS: -60, minimumSeconds: 0.1)
        #expect(transitions(&detector, [quiet]).map(\.transition) == [.began(atFrame: 0)])
        detector.reset()
        #expect(!detector.isSilent)
        #expect(transitions(&detector, [loud]).isEmpty)
    }

    @Test func unevenChunksCountFrames() {
        // 44.1 kHz, 2 s minimum: 88200 frames of silence, reached partway through the third chunk.
        var detector = SilenceDetector(thresholdDBFS: -50, minimumSeconds: 2)
        #expect(detector.update(levelDBFS: -80, frames: 40000, sampleRate: 44100, atFrame: 7) == nil)
        #expect(detector.update(levelDBFS: -80, frames: 48000, sampleRate: 44100, atFrame: 40007) == nil)
        #expect(detector.update(levelDBFS: -80, frames: 200, sampleRate: 44100, atFrame: 88007) == .began(atFrame: 7))
        #expect(detector.update(levelDBFS: -80, frames: 200, sampleRate: 44100, atFrame: 88207) == nil)
        #expect(
            detector.update(levelDBFS: -10, frames: 200, sampleRate: 44100, atFrame: 88407)
                == .ended(atFrame: 88407, silentFrames: 88400)
        )
    }
}
