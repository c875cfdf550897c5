// The trigger detector on synthesized PCM: clips' frames against the frames of the signal that was built.
import Foundation
import Testing

@testable import CaptureCore

@Suite struct TriggerDetectorTests {
    static let rate = 48_000

    /// PCM built in the test: per channel, samples as fractions of full scale.
    struct Signal {
        var samples: [[Double]]
        var frames: Int { samples[0].count }

        init(seconds: Double, channels: Int = 1) {
            samples = Array(
                repeating: Array(repeating: 0, count: Int(seconds * Double(TriggerDetectorTests.rate))),
                count: channels)
        }

        /// Adds a sine of `hz` at a peak of `dbfs` on `channel`, over frames `start..<start + count`, starting
        /// at phase `phase` (0: a zero crossing, rising).
        mutating func addSine(
            from start: Int, count: Int, hz: Double, dbfs: Double, channel: Int = 0, phase: Double = 0
        ) {
            let amplitude = pow(10, dbfs / 20)
            for index in 0..<count where start + index < frames {
                let time = Double(index) / Double(TriggerDetectorTests.rate)
                samples[channel][start + index] += amplitude * sin(2 * Double.pi * hz * time + phase)
            }
        }

        /// A tone burst of 2 kHz at -20 dBFS, from second `at` for `seconds`.
        mutating func addBurst(at: Double, seconds: Double, channel: Int = 0) {
            addSine(
                from: TriggerDetectorTests.frame(at), count: TriggerDetectorTests.frame(seconds), hz: 2000,
                dbfs: -20, channel: channel)
        }

        /// The interleaved little-endian bytes of `format`, and per channel the value the detector reads
        /// back from them (the sample quantized as the format holds it).
        func encoded(_ format: SampleFormat) -> (bytes: [UInt8], values: [[Double]]) {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(frames * samples.count * format.bytesPerSample)
            var values = samples.map { _ in [Double]() }
            for frame in 0..<frames {
                for channel in samples.indices {
                    let sample = samples[channel][frame]
                    switch format {
                    case .s16:
                        let integer = Int16(clamping: Int((sample * 32768).rounded()))
                        withUnsafeBytes(of: integer.littleEndian) { bytes.append(contentsOf: $0) }
                        values[channel].append(Double(integer) / 32768)
                    case .s24:
                        let integer = Int32(clamping: Int((sample * 8_388_608).rounded()))
                        let clamped = min(max(integer, -8_388_608), 8_388_607)
                        withUnsafeBytes(of: clamped.littleEndian) { bytes.append(contentsOf: $0.prefix(3)) }
                        values[channel].append(Double(clamped) / 8_388_608)
                    case .s32:
                        let integer = Int32(clamping: Int((sample * 2_147_483_648).rounded()))
                        withUnsafeBytes(of: integer.littleEndian) { bytes.append(contentsOf: $0) }
                        values[channel].append(Double(integer) / 2_147_483_648)
                    case .f32:
                        let float = Float(sample)
                        withUnsafeBytes(of: float.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
                        values[channel].append(Double(float))
                    }
                }
            }
            return (bytes, values)
        }
    }

    static func frame(_ seconds: Double) -> Int { Int((seconds * Double(rate)).rounded()) }

    static func amplitude(_ dbfs: Double) -> Double { pow(10, dbfs / 20) }

    /// The first frame at or after `from` whose value is over `threshold` on any of `channels`.
    static func firstOver(_ values: [[Double]], _ threshold: Double, from: Int = 0, channels: [Int]? = nil) -> Int? {
        let listened = channels ?? Array(values.indices)
        return (from..<values[0].count).first { frame in listened.contains { abs(values[$0][frame]) > threshold } }
    }

    /// The last frame before `before` whose value is over `threshold` on any channel.
    static func lastOver(_ values: [[Double]], _ threshold: Double, before: Int) -> Int? {
        (0..<before).last { frame in values.indices.contains { abs(values[$0][frame]) > threshold } }
    }

    static func configuration(
        pre: Double = 1, post: Double = 0.5, max: Double = 60, holdMilliseconds: Double = 0,
        threshold: Double = -30, highPassHz: Double? = nil, channels: [Int] = []
    ) -> TriggerConfiguration {
        var configuration = TriggerConfiguration(name: "birds", directory: "/srv/clips/birds")
        configuration.preSeconds = pre
        configuration.postSeconds = post
        configuration.maxSeconds = max
        configuration.holdMilliseconds = holdMilliseconds
        configuration.thresholdDBFS = threshold
        configuration.highPassHz = highPassHz
        configuration.channels = channels
        return configuration
    }

    /// A decision with the frame of the last frame fed when it was made.
    struct Made: Equatable, CustomStringConvertible {
        var atFrame: Int64
        var decision: TriggerDetector.Decision
        var description: String { "\(decision) at \(atFrame)" }
    }

    /// Feeds `bytes` to a fresh detector in chunks of `chunkFrames` (chunk `index` is left out when
    /// `dropped` holds it), starting at capture frame `start`, then ends the capture after the last frame.
    static func run(
        _ configuration: TriggerConfiguration, _ bytes: [UInt8], format: AudioFormat, chunkFrames: Int,
        start: Int64 = 0, dropped: Set<Int> = [], end: Bool = true
    ) -> [Made] {
        var detector = TriggerDetector(configuration: configuration, format: format)
        var made: [Made] = []
        let frames = bytes.count / format.bytesPerFrame
        bytes.withUnsafeBytes { all in
            var offset = 0
            var index = 0
            while offset < frames {
                let count = min(chunkFrames, frames - offset)
                if !dropped.contains(index) {
                    let chunk = UnsafeRawBufferPointer(
                        rebasing: all[(offset * format.bytesPerFrame)..<((offset + count) * format.bytesPerFrame)])
                    let last = start + Int64(offset + count - 1)
                    detector.process(chunk, firstFrame: start + Int64(offset)) {
                        made.append(Made(atFrame: last, decision: $0))
                    }
                }
                offset += count
                index += 1
            }
            if end {
                detector.end(at: start + Int64(frames)) {
                    made.append(Made(atFrame: start + Int64(frames), decision: $0))
                }
            }
        }
        return made
    }

    static func open(_ clipStart: Int, trigger: Int? = nil, continues: Bool = false) -> String {
        "open \(clipStart) trigger \(trigger ?? clipStart)\(continues ? " continues" : "")"
    }

    static func close(_ clipEnd: Int, cut: Bool = false) -> String { "close \(clipEnd)\(cut ? " cut" : "")" }

    /// The decisions without their peaks, as `open`/`close` write them.
    static func frames(_ made: [Made]) -> [String] {
        made.map { made in
            switch made.decision {
            case .open(let clipStart, let triggerFrame, _, let continues):
                open(Int(clipStart), trigger: Int(triggerFrame), continues: continues)
            case .close(let clipEnd, let cut):
                close(Int(clipEnd), cut: cut)
            }
        }
    }

    static func peaks(_ made: [Made]) -> [Double] {
        made.compactMap { made in
            if case .open(_, _, let peak, _) = made.decision { peak } else { nil }
        }
    }

    // MARK: One burst

    @Test(arguments: [SampleFormat.s16, .s24, .f32], [1, 333, 4800, 4801])
    func aBurstMakesOneClipFromPreBeforeItsFirstFrameToPostAfterItsLast(format: SampleFormat, chunkFrames: Int) {
        var signal = Signal(seconds: 3)
        signal.addBurst(at: 1.25, seconds: 0.5)
        let (bytes, values) = signal.encoded(format)
        let threshold = Self.amplitude(-30)
        let first = Self.firstOver(values, threshold)!
        let last = Self.lastOver(values, threshold, before: signal.frames)!
        // The burst's first frame is 0 (a zero crossing); sin(2π·2000·2/48000)·0.1 = 0.05 is the first over.
        #expect(first == Self.frame(1.25) + 2)

        let made = Self.run(
            Self.configuration(pre: 1, post: 0.5), bytes,
            format: AudioFormat(sampleRate: Self.rate, channels: 1, sampleFormat: format), chunkFrames: chunkFrames)
        #expect(Self.frames(made) == [Self.open(first - 48_000, trigger: first), Self.close(last + 1 + 24_000)])
        #expect(Self.peaks(made) == [20 * log10(abs(values[0][first]))])
        if chunkFrames == 1 {
            // Decided on the first frame over, and on the last frame of the clip.
            #expect(made.map(\.atFrame) == [Int64(first), Int64(last + 24_000)])
        }
    }

    @Test func aClipStartsNoEarlierThanTheStream() {
        var signal = Signal(seconds: 2)
        signal.addBurst(at: 0.2, seconds: 0.1)
        let (bytes, values) = signal.encoded(.s16)
        let first = Self.firstOver(values, Self.amplitude(-30))!
        let format = AudioFormat(sampleRate: Self.rate, channels: 1, sampleFormat: .s16)
        let fromZero = Self.run(Self.configuration(pre: 1), bytes, format: format, chunkFrames: 4800)
        #expect(Self.frames(fromZero).first == Self.open(0, trigger: first))
        // A stream that starts at capture frame 1_000_000: the clip starts there, and frames shift with it.
        let later = Self.run(Self.configuration(pre: 1), bytes, format: format, chunkFrames: 4800, start: 1_000_000)
        #expect(Self.frames(later).first == Self.open(1_000_000, trigger: 1_000_000 + first))
    }

    @Test func theS32AndStereoPathsReadTheSameFrames() {
        var signal = Signal(seconds: 2, channels: 2)
        signal.addBurst(at: 1.0, seconds: 0.2, channel: 1)
        let (bytes, values) = signal.encoded(.s32)
        let threshold = Self.amplitude(-30)
        let first = Self.firstOver(values, threshold)!
        let last = Self.lastOver(values, threshold, before: signal.frames)!
        let made = Self.run(
            Self.configuration(pre: 0.5, post: 0.25), bytes,
            format: AudioFormat(sampleRate: Self.rate, channels: 2, sampleFormat: .s32), chunkFrames: 1000)
        #expect(Self.frames(made) == [Self.open(first - 24_000, trigger: first), Self.close(last + 1 + 12_000)])
    }

    // MARK: Hold

    @Test(arguments: [1, 4800, 1001])
    func holdFiresOnlyOnASoundThatLastsAndKeepsItsFirstFrame(chunkFrames: Int) {
        var signal = Signal(seconds: 4)
        signal.addBurst(at: 0.5, seconds: 0.03)  // shorter than the hold: never fires
        signal.addBurst(at: 1.5, seconds: 0.2)
        let (bytes, values) = signal.encoded(.s16)
        let threshold = Self.amplitude(-30)
        let first = Self.firstOver(values, threshold, from: Self.frame(1.0))!
        let firing = Self.firstOver(values, threshold, from: first + 2400)!
        let last = Self.lastOver(values, threshold, before: signal.frames)!
        let made = Self.run(
            Self.configuration(pre: 1, post: 0.5, holdMilliseconds: 50), bytes,
            format: AudioFormat(sampleRate: Self.rate, channels: 1, sampleFormat: .s16), chunkFrames: chunkFrames)
        #expect(Self.frames(made) == [Self.open(first - 48_000, trigger: first), Self.close(last + 1 + 24_000)])
        if chunkFrames == 1 {
            #expect(made.first?.atFrame == Int64(firing))
        }
        // The peak is that of the held stretch: the tone's (-20 dBFS, within the sampling of its crests).
        #expect(abs(Self.peaks(made)[0] - -20) < 0.1)
    }

    @Test func aDipOf10MillisecondsStartsTheHoldAgain() {
        // 30 ms on, a gap, 100 ms on; hold 50 ms. A 5 ms gap is the same sound (it fires on the first part's
        // first frame); a 20 ms gap is a silence (it fires on the second part's).
        for (gap, fromSecond) in [(0.005, false), (0.020, true)] {
            var signal = Signal(seconds: 2)
            signal.addBurst(at: 0.5, seconds: 0.03)
            signal.addBurst(at: 0.53 + gap, seconds: 0.1)
            let (bytes, values) = signal.encoded(.s16)
            let threshold = Self.amplitude(-30)
            let expected = Self.firstOver(values, threshold, from: fromSecond ? Self.frame(0.53 + gap) : 0)!
            let made = Self.run(
                Self.configuration(pre: 0.25, holdMilliseconds: 50), bytes,
                format: AudioFormat(sampleRate: Self.rate, channels: 1, sampleFormat: .s16), chunkFrames: 480)
            #expect(Self.frames(made).first == Self.open(expected - 12_000, trigger: expected), "gap \(gap)")
        }
    }

    // MARK: Several sounds

    @Test(arguments: [1, 4800, 777])
    func burstsCloserThanPostMakeOneClipAndLaterOnesAnother(chunkFrames: Int) {
        var signal = Signal(seconds: 5)
        signal.addBurst(at: 1.2, seconds: 0.2)
        signal.addBurst(at: 1.7, seconds: 0.2)  // 0.3 s after the first: the same clip
        signal.addBurst(at: 2.9, seconds: 0.1)  // 1 s after the second: a new clip, whose pre reaches back
        let (bytes, values) = signal.encoded(.f32)
        let threshold = Self.amplitude(-30)
        let first = Self.firstOver(values, threshold)!
        let endOfSecond = Self.lastOver(values, threshold, before: Self.frame(2.4))!
        let third = Self.firstOver(values, threshold, from: Self.frame(2.4))!
        let last = Self.lastOver(values, threshold, before: signal.frames)!
        let made = Self.run(
            Self.configuration(pre: 1, post: 0.5), bytes,
            format: AudioFormat(sampleRate: Self.rate, channels: 1, sampleFormat: .f32), chunkFrames: chunkFrames)
        #expect(
            Self.frames(made) == [
                Self.open(first - 48_000, trigger: first), Self.close(endOfSecond + 1 + 24_000),
                Self.open(third - 48_000, trigger: third), Self.close(last + 1 + 24_000),
            ])
        // The second clip's pre overlaps the first clip: allowed.
        #expect(third - 48_000 < endOfSecond + 1 + 24_000)
    }

    @Test(arguments: [1, 4800, 12_345])
    func aLongSoundIsCutAtMaxAndContinued(chunkFrames: Int) {
        var signal = Signal(seconds: 8)
        signal.addBurst(at: 1.0, seconds: 5.2)
        let (bytes, values) = signal.encoded(.s16)
        let threshold = Self.amplitude(-30)
        let first = Self.firstOver(values, threshold)!
        let last = Self.lastOver(values, threshold, before: signal.frames)!
        let (pre, post, max) = (24_000, 24_000, 96_000)
        var expected = [Self.open(first - pre, trigger: first)]
        var clipStart = first - pre
        while last + 1 + post > clipStart + max {
            clipStart += max
            expected += [Self.close(clipStart, cut: true), Self.open(clipStart, continues: true)]
        }
        expected.append(Self.close(last + 1 + post))
        // 0.5 + 5.2 + 0.5 s in clips of 2 s: three cut, the fourth ends on its own.
        #expect(expected.count == 8)
        let made = Self.run(
            Self.configuration(pre: 0.5, post: 0.5, max: 2), bytes,
            format: AudioFormat(sampleRate: Self.rate, channels: 1, sampleFormat: .s16), chunkFrames: chunkFrames)
        #expect(Self.frames(made) == expected)
        // A continuation carries the peak of the clip that was cut: the tone's crests, -20 dBFS.
        for peak in Self.peaks(made).dropFirst() { #expect(abs(peak - -20) < 0.1) }
        if chunkFrames == 1 {
            // A cut is decided on the clip's last frame.
            #expect(made[1].atFrame == Int64(first - pre + max - 1))
        }
    }

    @Test(arguments: [1, 4800])
    func aPreLongerThanMaxIsCutAsSoonAsTheTriggerFires(chunkFrames: Int) {
        var signal = Signal(seconds: 6)
        signal.addBurst(at: 4.0, seconds: 0.5)
        let (bytes, values) = signal.encoded(.s16)
        let threshold = Self.amplitude(-30)
        let first = Self.firstOver(values, threshold)!
        let last = Self.lastOver(values, threshold, before: signal.frames)!
        let (pre, post, max) = (144_000, 24_000, 48_000)
        var expected = [Self.open(first - pre, trigger: first)]
        var clipStart = first - pre
        while last + 1 + post > clipStart + max {
            clipStart += max
            expected += [Self.close(clipStart, cut: true), Self.open(clipStart, continues: true)]
        }
        expected.append(Self.close(last + 1 + post))
        // 3 + 0.5 + 0.5 s in clips of 1 s.
        #expect(expected.count == 8)
        let made = Self.run(
            Self.configuration(pre: 3, post: 0.5, max: 1), bytes,
            format: AudioFormat(sampleRate: Self.rate, channels: 1, sampleFormat: .s16), chunkFrames: chunkFrames)
        #expect(Self.frames(made) == expected)
    }

    @Test func aSoundThatEndsBeforeTheCutDoesNotContinue() {
        // The sound stops 0.2 s before max, post is 0.2 s: the clip ends exactly at max, not cut.
        var signal = Signal(seconds: 4)
        signal.addBurst(at: 1.0, seconds: 1.0)
        let (bytes, values) = signal.encoded(.s16)
        let threshold = Self.amplitude(-30)
        let first = Self.firstOver(values, threshold)!
        let last = Self.lastOver(values, threshold, before: signal.frames)!
        let post = 9_600
        // max chosen so that the clip's natural end is its last allowed frame.
        let maxFrames = last + 1 + post - first
        let made = Self.run(
            Self.configuration(pre: 0, post: 0.2, max: Double(maxFrames) / Double(Self.rate)), bytes,
            format: AudioFormat(sampleRate: Self.rate, channels: 1, sampleFormat: .s16), chunkFrames: 4800)
        #expect(Self.frames(made) == [Self.open(first), Self.close(last + 1 + post)])
    }

    // MARK: High-pass

    @Test func humUnderTheHighPassNeverFiresAndABirdStillDoes() {
        var signal = Signal(seconds: 4)
        // 50 Hz at -10 dBFS all along (from the first frame), and a hum burst that starts and stops on zero
        // crossings in the middle.
        signal.addSine(from: 0, count: signal.frames, hz: 50, dbfs: -10)
        let format = AudioFormat(sampleRate: Self.rate, channels: 1, sampleFormat: .s16)
        let threshold = Self.amplitude(-30)
        let (humBytes, humValues) = signal.encoded(.s16)
        let filtered = Self.configuration(threshold: -30, highPassHz: 300)
        for chunkFrames in [1, 4800, 999] {
            #expect(Self.run(filtered, humBytes, format: format, chunkFrames: chunkFrames).isEmpty)
        }
        // Without the filter the hum is over the threshold: it fires at once (this test can tell).
        let unfiltered = Self.run(Self.configuration(threshold: -30), humBytes, format: format, chunkFrames: 4800)
        #expect(Self.frames(unfiltered).first == Self.open(0, trigger: Self.firstOver(humValues, threshold)!))

        var bursts = Signal(seconds: 4)
        bursts.addSine(from: Self.frame(0.5), count: Self.frame(1.0), hz: 50, dbfs: -10)
        #expect(Self.run(filtered, bursts.encoded(.s16).bytes, format: format, chunkFrames: 4800).isEmpty)

        // A 2 kHz call at -20 dBFS over the hum fires within 1 ms of its onset.
        signal.addBurst(at: 2.0, seconds: 0.3)
        let made = Self.run(filtered, signal.encoded(.s16).bytes, format: format, chunkFrames: 4800)
        let onset = Self.frame(2.0)
        guard case .open(_, let trigger, let peak, false) = made.first?.decision else {
            Issue.record("no clip: \(made)")
            return
        }
        #expect(trigger >= onset && trigger <= onset + 48, "fired at \(trigger - Int64(onset)) frames after onset")
        #expect(peak > -30 && peak <= -20)
        #expect(made.count == 2)
    }

    @Test func holesDoNotFireThroughTheFilterAndCountAsTime() {
        var signal = Signal(seconds: 4)
        signal.addSine(from: 0, count: signal.frames, hz: 50, dbfs: -10)
        let format = AudioFormat(sampleRate: Self.rate, channels: 1, sampleFormat: .s16)
        // Chunks of 4801 frames (0.1 s), some lost: each resumes at another phase of the hum.
        let dropped: Set<Int> = [3, 7, 8, 15, 22]
        let made = Self.run(
            Self.configuration(highPassHz: 300), signal.encoded(.s16).bytes, format: format, chunkFrames: 4801,
            dropped: dropped)
        #expect(made.isEmpty, "\(made)")
    }

    @Test func aClipClosesInsideAHole() {
        var signal = Signal(seconds: 4)
        signal.addBurst(at: 1.0, seconds: 0.5)
        let (bytes, values) = signal.encoded(.s16)
        let threshold = Self.amplitude(-30)
        let first = Self.firstOver(values, threshold)!
        // Chunks of 4800: chunks 11 to 24 (1.1 s to 2.5 s) are lost, the burst's end with them.
        let lastSeen = Self.lastOver(values, threshold, before: 11 * 4800)!
        let made = Self.run(
            Self.configuration(pre: 0.5, post: 0.5), bytes,
            format: AudioFormat(sampleRate: Self.rate, channels: 1, sampleFormat: .s16), chunkFrames: 4800,
            dropped: Set(11...24))
        #expect(Self.frames(made) == [Self.open(first - 24_000, trigger: first), Self.close(lastSeen + 1 + 24_000)])
        // Decided with the first chunk after the hole.
        #expect(made.last?.atFrame == Int64(25 * 4800 + 4799))
    }

    // MARK: Channels and the end

    @Test func onlyTheListenedChannelsCount() {
        var signal = Signal(seconds: 3, channels: 2)
        signal.addBurst(at: 0.5, seconds: 0.2, channel: 0)
        signal.addBurst(at: 1.5, seconds: 0.2, channel: 1)
        let (bytes, values) = signal.encoded(.s16)
        let threshold = Self.amplitude(-30)
        let format = AudioFormat(sampleRate: Self.rate, channels: 2, sampleFormat: .s16)
        let second = Self.firstOver(values, threshold, channels: [1])!
        let secondLast = Self.lastOver([values[1]], threshold, before: signal.frames)!
        let made = Self.run(
            Self.configuration(pre: 0.25, post: 0.25, channels: [2]), bytes, format: format, chunkFrames: 4800)
        #expect(
            Self.frames(made) == [Self.open(second - 12_000, trigger: second), Self.close(secondLast + 1 + 12_000)])
        // All channels: the first burst, on channel 1, opens a clip too.
        let all = Self.run(Self.configuration(pre: 0.25, post: 0.25), bytes, format: format, chunkFrames: 4800)
        #expect(Self.frames(all).count == 4)
        #expect(
            Self.frames(all).first
                == Self.open(Self.firstOver(values, threshold)! - 12_000, trigger: Self.firstOver(values, threshold)!))
    }

    @Test func theEndOfTheCaptureClosesAnOpenClip() {
        var signal = Signal(seconds: 2)
        signal.addBurst(at: 1.5, seconds: 0.5)
        let (bytes, values) = signal.encoded(.s16)
        let first = Self.firstOver(values, Self.amplitude(-30))!
        let made = Self.run(
            Self.configuration(pre: 0.5, post: 2), bytes,
            format: AudioFormat(sampleRate: Self.rate, channels: 1, sampleFormat: .s16), chunkFrames: 4800)
        #expect(Self.frames(made) == [Self.open(first - 24_000, trigger: first), Self.close(signal.frames)])
    }

    @Test func silenceAndSoundsUnderTheThresholdNeverFire() {
        var signal = Signal(seconds: 2)
        signal.addSine(from: 0, count: signal.frames, hz: 2000, dbfs: -31)
        let made = Self.run(
            Self.configuration(threshold: -30), signal.encoded(.s16).bytes,
            format: AudioFormat(sampleRate: Self.rate, channels: 1, sampleFormat: .s16), chunkFrames: 4800)
        #expect(made.isEmpty)
    }
}
