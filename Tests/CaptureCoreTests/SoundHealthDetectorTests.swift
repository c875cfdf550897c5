// Tests of the sound-health detector: synthetic s16 and f32 audio through LevelMeter, 100 ms chunks at 48 kHz.

import Foundation
import Testing

@testable import CaptureCore

private let rate = 48_000
private let chunkFrames = 4800

/// A 1 kHz sine (48 samples a period, so whole periods fill a chunk and sum to 0) of `amplitude`, in raw
/// units of `format` (integers for s16).
private func sine(_ frame: Int, amplitude: Double) -> Double {
    amplitude * sin(2 * Double.pi * Double(frame % 48) / 48)
}

/// Feeds `chunks` chunks of 2-channel audio whose raw sample (s16 integer or f32 fraction) at frame `f`,
/// channel `c` is `sample(f, c)`, and returns every transition with the index of the chunk that caused it.
private func run(
    _ detector: inout SoundHealthDetector, format: SampleFormat, chunks: Range<Int>,
    sample: (Int, Int) -> Double
) -> [(chunk: Int, transition: SoundHealthTransition)] {
    let audio = AudioFormat(sampleRate: rate, channels: 2, sampleFormat: format)
    let meter = LevelMeter(format: audio)
    var levels = LevelSnapshot(channels: 2)
    var result: [(Int, SoundHealthTransition)] = []
    var bytes = [UInt8](repeating: 0, count: chunkFrames * audio.bytesPerFrame)
    for chunk in chunks {
        for index in 0..<chunkFrames {
            for channel in 0..<2 {
                let value = sample(chunk * chunkFrames + index, channel)
                let bits: UInt32 =
                    format == .f32
                    ? Float(value).bitPattern
                    : UInt32(truncatingIfNeeded: Int64(min(32767, max(-32768, value.rounded()))))
                let offset = (index * 2 + channel) * format.bytesPerSample
                for byte in 0..<format.bytesPerSample {
                    bytes[offset + byte] = UInt8(truncatingIfNeeded: bits >> (8 * byte))
                }
            }
        }
        bytes.withUnsafeBytes { meter.measure($0, into: &levels) }
        detector.update(levels, atFrame: Int64(chunk * chunkFrames)) { result.append((chunk, $0)) }
    }
    return result
}

private func detector(
    flatlineSeconds: Double = 5, dcOffsetDBFS: Double = -30, dcOffsetSeconds: Double = 5,
    clippingRate: Double = 0.001, clippingSeconds: Double = 10, sampleRate: Int = rate
) -> SoundHealthDetector {
    SoundHealthDetector(
        channels: 2, sampleRate: sampleRate, flatlineSeconds: flatlineSeconds, dcOffsetDBFS: dcOffsetDBFS,
        dcOffsetSeconds: dcOffsetSeconds, clippingRate: clippingRate, clippingSeconds: clippingSeconds)
}

/// Full scale in raw units.
private func scale(_ format: SampleFormat) -> Double { format == .f32 ? 1 : 32768 }

@Suite struct SoundHealthDetectorTests {
    // MARK: Flatline

    @Test(arguments: [SampleFormat.s16, .f32])
    func stuckValueForSixSecondsIsAFlatlineUntilAudioVaries(format: SampleFormat) {
        var health = detector()
        let stuck = 0.25 * scale(format)
        // Channel 0: a sine, stuck at 0.25 in chunks 10..<70 (frames 48000..<336000), a sine again.
        // Channel 1: a sine throughout.
        let events = run(&health, format: format, chunks: 0..<80) { frame, channel in
            channel == 0 && (48_000..<336_000).contains(frame) ? stuck : sine(frame, amplitude: 0.3 * scale(format))
        }
        let flatline = events.filter { $0.transition.problem == .flatline }
        #expect(flatline.map(\.chunk) == [59, 70])
        #expect(
            flatline.map(\.transition) == [
                SoundHealthTransition(
                    problem: .flatline, edge: .began, channel: 0, atFrame: 48_000, frames: 240_000, value: 0.25),
                SoundHealthTransition(
                    problem: .flatline, edge: .ended, channel: 0, atFrame: 336_000, frames: 288_000, value: 0.25),
            ])
        #expect(health.health[0].flatlineSince == nil)
        #expect(health.health[1].flatlineSince == nil)
    }

    @Test func flagIsSetWhileTheFlatlineLasts() {
        var health = detector()
        _ = run(&health, format: .s16, chunks: 0..<55) { frame, channel in
            channel == 1 ? -100 : sine(frame, amplitude: 1000)
        }
        #expect(health.health[1].flatlineSince == 0)
        #expect(health.health[1].isActive(.flatline))
        #expect(!health.health[0].isActive(.flatline))
    }

    @Test(arguments: [SampleFormat.s16, .f32])
    func exactZerosOnEveryChannelAreDigitalZeroNotAFlatline(format: SampleFormat) {
        var health = detector()
        let events = run(&health, format: format, chunks: 0..<80) { frame, channel in
            frame >= 48_000 ? 0 : sine(frame, amplitude: 0.3 * scale(format))
        }
        #expect(events.isEmpty)
        #expect(health.health[0].flatlineSince == nil)
    }

    @Test(arguments: [SampleFormat.s16, .f32])
    func oneChannelOfExactZerosWhileAnotherHasSoundIsAFlatline(format: SampleFormat) {
        // A dead capsule or cable: channel 0 goes to exact zeros at 1 s, channel 1 goes on.
        var health = detector()
        let events = run(&health, format: format, chunks: 0..<80) { frame, channel in
            channel == 0 && frame >= 48_000 ? 0 : sine(frame, amplitude: 0.3 * scale(format))
        }
        #expect(events.map(\.chunk) == [59])
        #expect(
            events.first?.transition
                == SoundHealthTransition(
                    problem: .flatline, edge: .began, channel: 0, atFrame: 48_000, frames: 240_000, value: 0))
        #expect(health.health[0].flatlineSince == 48_000)
        #expect(health.health[1].flatlineSince == nil)
    }

    @Test func aStuckValueEndsWhenItGoesToZero() {
        var health = detector()
        // Stuck at 1000 for chunks 0..<60, then exact zeros while channel 1 has sound: the flatline ends,
        // and the zeros are a new one (at 0) 5 s later.
        let events = run(&health, format: .s16, chunks: 0..<130) { frame, channel in
            channel == 0 ? (frame < 288_000 ? 1000 : 0) : sine(frame, amplitude: 3000)
        }
        let flatline = events.filter { $0.transition.problem == .flatline }
        #expect(flatline.map(\.chunk) == [49, 60, 109])
        #expect(flatline.map(\.transition.edge) == [.began, .ended, .began])
        let stuck: Double = 1000.0 / 32768
        let values: [Double] = flatline.map(\.transition.value)
        #expect(values == [stuck, stuck, 0])
        #expect(flatline.last?.transition.atFrame == 288_000)
    }

    @Test func aValueThatChangesIsNotOneRun() {
        var health = detector()
        // Constant within each 3 s, a different value each time: never 5 s of one value.
        let events = run(&health, format: .s16, chunks: 0..<150) { frame, channel in
            channel == 0 ? Double(500 + frame / 144_000) : sine(frame, amplitude: 3000)
        }
        #expect(events.filter { $0.transition.problem == .flatline }.isEmpty)
    }

    @Test func flatlineBeginsAtExactlyFlatlineSeconds() {
        // 49 chunks (4.9 s) stuck: nothing. 50 chunks (5.0 s): begins with the 50th.
        var short = detector()
        let none = run(&short, format: .s16, chunks: 0..<60) { frame, channel in
            channel == 0 && frame < 49 * chunkFrames ? 700 : sine(frame, amplitude: 3000)
        }
        #expect(none.filter { $0.transition.problem == .flatline }.isEmpty)
        var exact = detector()
        let one = run(&exact, format: .s16, chunks: 0..<60) { frame, channel in
            channel == 0 && frame < 50 * chunkFrames ? 700 : sine(frame, amplitude: 3000)
        }
        let flatline = one.filter { $0.transition.problem == .flatline }
        #expect(flatline.map(\.chunk) == [49, 50])
        #expect(flatline.first?.transition.frames == 240_000)
        #expect(flatline.first?.transition.value == 700.0 / 32768)
    }

    // MARK: DC offset

    @Test(arguments: [SampleFormat.s16, .f32])
    func dcOffsetOfMinus20DBFSUnderASineBeginsAndEnds(format: SampleFormat) {
        var health = detector()
        // Channel 0: a sine at -10 dBFS on a DC offset of -20 dBFS for 10 s, then the sine alone.
        let offset = format == .f32 ? 0.1 : 3277
        let events = run(&health, format: format, chunks: 0..<200) { frame, channel in
            let tone = sine(frame, amplitude: 0.3 * scale(format))
            return channel == 0 && frame < 480_000 ? offset + tone : tone
        }
        let dc = events.filter { $0.transition.problem == .dcOffset }
        // The 5 s window (10 buckets of 5 chunks) is first full after chunk 49; 3 dB below -30 dBFS
        // (0.0224) is first reached when only 10 of its 50 chunks have the offset: chunk 139.
        #expect(dc.map(\.chunk) == [49, 139])
        #expect(dc.map(\.transition.edge) == [.began, .ended])
        #expect(dc.map(\.transition.channel) == [0, 0])
        #expect(dc.map(\.transition.atFrame) == [0, 667_200])
        #expect(dc.map(\.transition.frames) == [240_000, 667_200])
        let expectedMean = format == .f32 ? Double(Float(0.1)) : 3277.0 / 32768
        if format == .s16 {
            // The sine's samples sum to exactly 0: the means are exact.
            #expect(dc.first?.transition.value == expectedMean)
            #expect(dc.last?.transition.value == (3277.0 * 48_000 / 32768) / 240_000)
        } else {
            #expect(abs((dc.first?.transition.value ?? 0) - 0.1) < 1e-6)
            #expect(abs((dc.last?.transition.value ?? 0) - 0.02) < 1e-6)
        }
        #expect(health.health[0].dcOffsetSince == nil)
        #expect(events.filter { $0.transition.channel == 1 }.isEmpty)
    }

    @Test func negativeOffsetCountsByItsMagnitude() {
        var health = detector()
        let events = run(&health, format: .s16, chunks: 0..<50) { frame, channel in
            channel == 1 ? -2000 + sine(frame, amplitude: 5000).rounded() : sine(frame, amplitude: 5000)
        }
        #expect(
            events.map(\.transition) == [
                SoundHealthTransition(
                    problem: .dcOffset, edge: .began, channel: 1, atFrame: 0, frames: 240_000, value: -2000.0 / 32768)
            ])
        #expect(health.health[1].dcOffsetSince == 0)
        #expect(health.health[1].dcOffset == -2000.0 / 32768)
        #expect(health.health[0].dcOffset == 0)
    }

    @Test func dcOffsetThresholdEdgesAndHysteresis() {
        var health = detector(dcOffsetDBFS: -20, dcOffsetSeconds: 1, sampleRate: 40_960)
        let threshold = health.dcOffsetThreshold
        #expect(abs(threshold - 0.1) < 1e-15)
        var frame: Int64 = 0
        var reported: [SoundHealthTransition] = []
        /// One 4096-frame chunk (one bucket) with channel 0's mean at `mean`.
        func feed(_ mean: Double) {
            var levels = LevelSnapshot(channels: 2)
            levels.replace(frames: 4096) { channels in
                channels[0] = ChannelLevels(
                    minimum: -1, maximum: 1, sum: mean * 4096, sumOfSquares: 1, clipped: 0, samples: 4096)
                channels[1] = ChannelLevels(minimum: -1, maximum: 1, sum: 0, sumOfSquares: 1, clipped: 0, samples: 4096)
            }
            health.update(levels, atFrame: frame) { reported.append($0) }
            frame += 4096
        }
        // Chunks 0..<30 just below the threshold: nothing. 30..<40 at 0 empty the window; 40..<50 just
        // above: the offset begins with the first window made of them only.
        for _ in 0..<30 { feed(threshold * (1 - 1e-9)) }
        #expect(reported.isEmpty)
        #expect(abs((health.health[0].dcOffset ?? 0) - threshold * (1 - 1e-9)) < 1e-15)
        for _ in 0..<10 { feed(0) }
        for _ in 0..<10 { feed(threshold * (1 + 1e-9)) }
        #expect(reported.map(\.edge) == [.began])
        #expect(reported.first?.atFrame == Int64(40 * 4096))
        #expect(reported.first?.frames == Int64(10 * 4096))
        // Just above 3 dB below the threshold, for three windows: still reported.
        let end = threshold * SoundHealthDetector.dcOffsetEndRatio
        for _ in 0..<30 { feed(end * (1 + 1e-9)) }
        #expect(reported.count == 1)
        #expect(health.health[0].dcOffsetSince == Int64(40 * 4096))
        // Just below it: ends once (about) half the window or more is below (chunks 84..<90).
        for _ in 0..<10 { feed(end * (1 - 1e-9)) }
        #expect(reported.map(\.edge) == [.began, .ended])
        #expect((Int64(84 * 4096)...Int64(89 * 4096)).contains(reported.last?.atFrame ?? 0))
        #expect((reported.last?.value ?? 1) < end)
        #expect(health.health[0].dcOffsetSince == nil)
    }

    // MARK: Clipping rate

    @Test(arguments: [SampleFormat.s16, .f32])
    func clippingRateBeginsAboveAndEndsBelowHalf(format: SampleFormat) {
        var health = detector()
        let (top, bottom) = format == .f32 ? (1.0, -1.0) : (32767.0, -32768.0)
        // Channel 0 (a sine at -10 dBFS): 10 rail samples per chunk (0.21 %) for chunks 0..<100, 3 per
        // chunk (0.0625 %: below the threshold, above half of it) for 100..<200, none after.
        let events = run(&health, format: format, chunks: 0..<260) { frame, channel in
            let chunk = frame / chunkFrames
            let rails = chunk < 100 ? 10 : (chunk < 200 ? 3 : 0)
            if channel == 0 && frame % chunkFrames < rails { return frame % 2 == 0 ? top : bottom }
            return sine(frame, amplitude: 0.3 * scale(format))
        }
        #expect(events.map(\.chunk) == [99, 229])
        #expect(
            events.map(\.transition) == [
                SoundHealthTransition(
                    problem: .clipping, edge: .began, channel: 0, atFrame: 0, frames: 480_000, value: 1000.0 / 480_000),
                // At chunk 219 the window holds 240 rail samples, exactly half the threshold: still clipping.
                SoundHealthTransition(
                    problem: .clipping, edge: .ended, channel: 0, atFrame: 1_099_200, frames: 1_099_200,
                    value: 210.0 / 480_000),
            ])
        // The last window (chunks 160..<260) still holds 40 chunks of 3.
        #expect(health.health[0].clippingRate == 120.0 / 480_000)
        #expect(health.health[1].clippingRate == 0)
    }

    @Test func clippingStaysOnBetweenHalfAndTheThreshold() {
        var health = detector()
        _ = run(&health, format: .s16, chunks: 0..<200) { frame, channel in
            let rails = frame / chunkFrames < 100 ? 10 : 3
            return channel == 0 && frame % chunkFrames < rails ? 32767 : sine(frame, amplitude: 9000)
        }
        #expect(health.health[0].clippingSince == 0)
        #expect(health.health[0].clippingRate == 300.0 / 480_000)
    }

    @Test func clippingRateExactlyAtTheThresholdIsNotClipping() {
        // 480 rail samples in 480000: exactly 0.001.
        var atThreshold = detector()
        let none = run(&atThreshold, format: .s16, chunks: 0..<100) { frame, channel in
            channel == 0 && frame % 48_000 < 48 ? -32768 : sine(frame, amplitude: 9000)
        }
        #expect(none.isEmpty)
        #expect(atThreshold.health[0].clippingRate == 0.001)
        var above = detector()
        let one = run(&above, format: .s16, chunks: 0..<100) { frame, channel in
            channel == 0 && (frame % 48_000 < 48 || frame == 100) ? -32768 : sine(frame, amplitude: 9000)
        }
        #expect(one.map(\.transition.problem) == [.clipping])
        #expect(one.first?.transition.value == 481.0 / 480_000)
    }

    // MARK: Meter figures behind it

    @Test(arguments: [SampleFormat.s16, .s24, .s32, .f32])
    func meterGivesMeanAndConstancy(format: SampleFormat) {
        let audio = AudioFormat(sampleRate: rate, channels: 2, sampleFormat: format)
        let meter = LevelMeter(format: audio)
        var levels = LevelSnapshot(channels: 2)
        // Channel 0 constant at -0.5, channel 1 alternating 0.25 and 0.5: 1001 frames (SIMD and scalar paths).
        let frames = 1001
        var bytes: [UInt8] = []
        let full: Double = format == .f32 ? 1 : (format == .s16 ? 32768 : (format == .s24 ? 8_388_608 : 2_147_483_648))
        for frame in 0..<frames {
            for value in [-0.5, frame % 2 == 0 ? 0.25 : 0.5] {
                let bits: UInt32 =
                    format == .f32 ? Float(value).bitPattern : UInt32(truncatingIfNeeded: Int64(value * full))
                for byte in 0..<format.bytesPerSample { bytes.append(UInt8(truncatingIfNeeded: bits >> (8 * byte))) }
            }
        }
        bytes.withUnsafeBytes { meter.measure($0, into: &levels) }
        #expect(levels[0].isConstant)
        #expect(levels[0].mean == -0.5)
        #expect(!levels[1].isConstant)
        #expect(levels[1].sum == 501 * 0.25 + 500 * 0.5)
        #expect(!ChannelLevels.empty.isConstant)
        #expect(ChannelLevels.empty.mean == 0)
    }
}
