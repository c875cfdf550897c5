import Testing
@testable import CaptureCore

@Suite struct SegmentClockTests {
    let clock = SegmentClock(segmentSeconds: 60, sampleRate: 48_000, alignment: .clock)

    @Test func boundariesFallOnTheMinute() {
        // 2026-11-22T00:30:11.5Z
        let t = 1_795_307_411.5
        #expect(clock.boundary(atOrBefore: t) == 1_795_307_400)
        #expect(clock.boundary(after: t) == 1_795_307_460)
        #expect(Int(clock.boundary(after: t)) % 60 == 0)
    }

    @Test func startExactlyOnABoundaryGivesAFullFirstSegment() {
        let t = 1_795_307_460.0
        #expect(clock.isOnBoundary(t))
        #expect(clock.boundary(after: t) == t + 60)
        // A few nanoseconds early still counts as on the boundary (floating point).
        #expect(clock.boundary(after: t - 1e-6) == t + 60)
        #expect(clock.framesBefore(boundary: t + 60, firstFrameTime: t) == 60 * 48_000)
    }

    @Test func cutFallsOnTheFirstFrameAtOrPastTheBoundary() {
        // Frame k has time 99.99 + k/48000; boundary 100 → first frame with t >= 100 is k = 480.
        #expect(clock.framesBefore(boundary: 100, firstFrameTime: 99.99) == 480)
        // 99.995 + k/48000 >= 100 → k >= 240
        #expect(clock.framesBefore(boundary: 100, firstFrameTime: 99.995) == 240)
        // Not an exact frame: 99.99999 → k >= 0.48 → 1
        #expect(clock.framesBefore(boundary: 100, firstFrameTime: 99.99999) == 1)
        #expect(clock.framesBefore(boundary: 100, firstFrameTime: 100) == 0)
        #expect(clock.framesBefore(boundary: 100, firstFrameTime: 105) == 0)
    }

    @Test func samplesAlignmentCountsFrames() {
        let samples = SegmentClock(segmentSeconds: 10, sampleRate: 44_100, alignment: .samples)
        #expect(samples.framesPerSegment == 441_000)
    }
}

@Suite struct FrameClockTests {
    @Test func followsArrivalsAndSmoothsJitter() {
        var clock = FrameClock(sampleRate: 48_000)
        let start = 1_000_000.0
        // Chunks of 4800 frames arriving with ±20 ms jitter around a 50 ms latency.
        var generator = SplitMix(seed: 7)
        for i in 1...600 {
            let frame = Int64(i * 4800)
            let jitter = (Double(generator.next() % 4001) / 100_000) - 0.02
            clock.observe(frame: frame, at: start + Double(frame) / 48_000 + 0.05 + jitter)
        }
        let estimate = clock.time(ofFrame: 0)!
        #expect(abs(estimate - (start + 0.05)) < 0.01)
    }

    @Test func tracksACardThatRunsFast() {
        // The card delivers 48,014.4 frames per wall second (0.03 % fast). After a day of audio the
        // mapping must still put frames within a few ms of their arrival.
        var clock = FrameClock(sampleRate: 48_000)
        let actualRate = 48_000 * 1.0003
        var frame: Int64 = 0
        var lastArrival = 0.0
        for _ in 0..<(864_000) {  // one day of 100 ms chunks
            frame += 4800
            lastArrival = 1_000_000 + Double(frame) / actualRate
            clock.observe(frame: frame, at: lastArrival)
        }
        #expect(abs(clock.time(ofFrame: frame)! - lastArrival) < 0.005)
        // The nominal rate alone would be 26 s off after a day.
        #expect(abs((1_000_000 + Double(frame) / 48_000) - lastArrival) > 25)
    }

    @Test func resetsOnAJump() {
        var clock = FrameClock(sampleRate: 48_000)
        clock.observe(frame: 4800, at: 100.1)
        clock.observe(frame: 9600, at: 100.2)
        clock.observe(frame: 14400, at: 130.3)  // restart after an outage: time jumps 30 s
        #expect(abs(clock.time(ofFrame: 14400)! - 130.3) < 1e-9)
    }
}

/// A small deterministic generator for tests.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
