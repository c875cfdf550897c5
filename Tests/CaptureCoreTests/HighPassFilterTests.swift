// The trigger's high-pass filter against the analytic magnitude of a 4th-order Butterworth high-pass.
import Foundation
import Testing

@testable import CaptureCore

@Suite struct HighPassFilterTests {
    /// The magnitude, in dB, of an analog 4th-order Butterworth high-pass at `hz`, with its cut-off
    /// pre-warped as the bilinear transform maps it (`tan(π·f/fs)` in place of `f`).
    static func butterworthDB(hz: Double, cutoffHz: Double, sampleRate: Double) -> Double {
        let ratio = tan(Double.pi * cutoffHz / sampleRate) / tan(Double.pi * hz / sampleRate)
        return -10 * log10(1 + pow(ratio, 8))
    }

    /// The gain, in dB, the filter applies to a sine of `hz` on `channel`: the RMS of the output over the
    /// second half of one second (a whole number of periods, after the onset has died away) against the
    /// input's.
    static func measuredDB(
        _ filter: inout HighPassFilter, hz: Double, channel: Int = 0, amplitude: Double = 0.5
    ) -> Double {
        let rate = filter.sampleRate
        var squares = 0.0
        for index in 0..<rate {
            let input = amplitude * sin(2 * Double.pi * hz * Double(index) / Double(rate))
            let output = filter.process(input, channel: channel)
            if index >= rate / 2 { squares += output * output }
        }
        let rms = (squares / Double(rate - rate / 2)).squareRoot()
        return 20 * log10(rms * 2.0.squareRoot() / amplitude)
    }

    @Test(arguments: [50.0, 150.0, 300.0, 600.0, 2000.0])
    func attenuationMatchesButterworthAt48k(hz: Double) {
        var filter = HighPassFilter(cutoffHz: 300, sampleRate: 48_000, channels: 1)
        let measured = Self.measuredDB(&filter, hz: hz)
        let expected = Self.butterworthDB(hz: hz, cutoffHz: 300, sampleRate: 48_000)
        #expect(abs(measured - expected) < 0.05, "at \(hz) Hz: measured \(measured) dB, expected \(expected) dB")
    }

    @Test func theFiguresThatMatterForTriggers() {
        // Independently of the formula above: 4th order is 24 dB per octave, -3 dB at the cut-off.
        var filter = HighPassFilter(cutoffHz: 300, sampleRate: 48_000, channels: 1)
        let hum = Self.measuredDB(&filter, hz: 50)
        filter.reset()
        let cutoff = Self.measuredDB(&filter, hz: 300)
        filter.reset()
        let bird = Self.measuredDB(&filter, hz: 2000)
        // (50/300)^4 is -62.25 dB; the bilinear warp changes it by less than 0.1 dB.
        #expect(abs(hum - -62.25) < 0.15, "50 Hz: \(hum) dB")
        #expect(abs(cutoff - -3.01) < 0.02, "300 Hz: \(cutoff) dB")
        #expect(abs(bird) < 0.01, "2 kHz: \(bird) dB")
    }

    @Test func attenuationAt44100AndALowCutoff() {
        for (hz, cutoff) in [(100.0, 100.0), (25.0, 100.0), (1000.0, 100.0), (5000.0, 8000.0)] {
            var filter = HighPassFilter(cutoffHz: cutoff, sampleRate: 44_100, channels: 1)
            // 44100 samples of each of these frequencies hold a whole number of periods in their second half.
            let measured = Self.measuredDB(&filter, hz: hz)
            let expected = Self.butterworthDB(hz: hz, cutoffHz: cutoff, sampleRate: 44_100)
            #expect(abs(measured - expected) < 0.05, "\(hz) Hz through \(cutoff) Hz: \(measured) vs \(expected) dB")
        }
    }

    @Test func channelsKeepTheirOwnState() {
        var filter = HighPassFilter(cutoffHz: 300, sampleRate: 48_000, channels: 2)
        // Channel 0 carries 50 Hz and channel 1 2 kHz, interleaved through the same filter.
        var squares = [0.0, 0.0]
        for index in 0..<48_000 {
            let time = Double(index) / 48_000
            let low = filter.process(0.5 * sin(2 * Double.pi * 50 * time), channel: 0)
            let high = filter.process(0.5 * sin(2 * Double.pi * 2000 * time), channel: 1)
            if index >= 24_000 {
                squares[0] += low * low
                squares[1] += high * high
            }
        }
        let gains = squares.map { 20 * log10(($0 / 24_000).squareRoot() * 2.0.squareRoot() / 0.5) }
        #expect(abs(gains[0] - Self.butterworthDB(hz: 50, cutoffHz: 300, sampleRate: 48_000)) < 0.05)
        #expect(abs(gains[1] - Self.butterworthDB(hz: 2000, cutoffHz: 300, sampleRate: 48_000)) < 0.05)
    }

    @Test func aResetToTheInputLeavesNoStep() {
        var filter = HighPassFilter(cutoffHz: 300, sampleRate: 48_000, channels: 1)
        filter.reset(channel: 0, to: 0.7)
        var largest = 0.0
        for _ in 0..<4800 { largest = max(largest, abs(filter.process(0.7, channel: 0))) }
        #expect(largest < 1e-12)
        // Without the reset the same constant is a step: the output starts near the step's height.
        var cold = HighPassFilter(cutoffHz: 300, sampleRate: 48_000, channels: 1)
        #expect(abs(cold.process(0.7, channel: 0)) > 0.6)
    }

    @Test func aStepDiesAwayWithinTheSettlingTime() {
        var filter = HighPassFilter(cutoffHz: 300, sampleRate: 48_000, channels: 1)
        var tail = 0.0
        for index in 0..<(2 * filter.settlingFrames) {
            let output = filter.process(1, channel: 0)
            if index >= filter.settlingFrames { tail = max(tail, abs(output)) }
        }
        // 80 dB below the step.
        #expect(tail < 1e-4, "\(tail)")
    }
}
