// Tests of LevelMeter against levels worked out independently: by formula, by a naive reference and by sox.

import Foundation
import Testing

@testable import CaptureCore

// MARK: Fixtures

/// Full scale of `format` in raw sample units (f32 samples are already fractions).
private func fullScale(_ format: SampleFormat) -> Double {
    switch format {
    case .s16: 32768
    case .s24: 8_388_608
    case .s32: 2_147_483_648
    case .f32: 1
    }
}

/// The rails of an integer format, in raw sample units.
private func rails(_ format: SampleFormat) -> (low: Double, high: Double) {
    (-fullScale(format), fullScale(format) - 1)
}

/// Interleaved samples in raw units (integers for the integer formats) as little-endian PCM bytes.
private func encode(_ samples: [Double], as format: SampleFormat) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(samples.count * format.bytesPerSample)
    for sample in samples {
        let bits: UInt32 = format == .f32 ? Float(sample).bitPattern : UInt32(truncatingIfNeeded: Int64(sample))
        for byte in 0..<format.bytesPerSample { bytes.append(UInt8(truncatingIfNeeded: bits >> (8 * byte))) }
    }
    return bytes
}

/// Levels worked out the slow, obvious way from raw interleaved samples.
private func referenceLevels(_ samples: [Double], channels: Int, format: SampleFormat) -> [ChannelLevels] {
    let scale = fullScale(format)
    let frames = samples.count / channels
    return (0..<channels).map { channel in
        let values = (0..<frames).map { samples[$0 * channels + channel] }
        guard !values.isEmpty else { return .empty }
        let clipped = values.filter { value in
            format == .f32 ? abs(value) >= 1 : (value == rails(format).low || value == rails(format).high)
        }
        // Exact integer sum for s16, so that the SIMD path must match it exactly.
        let squares =
            format == .s16
            ? Double(values.reduce(Int64(0)) { $0 + Int64($1) * Int64($1) }) / (scale * scale)
            : values.reduce(0.0) { $0 + $1 * $1 } / (scale * scale)
        // Integer samples sum exactly in Int64; f32 samples in Double, in order, as the meter does.
        let sum =
            format == .f32
            ? values.reduce(0.0, +) : Double(values.reduce(Int64(0)) { $0 + Int64($1) }) / scale
        return ChannelLevels(
            minimum: values.min()! / scale,
            maximum: values.max()! / scale,
            sum: sum,
            sumOfSquares: squares,
            clipped: clipped.count,
            samples: values.count
        )
    }
}

/// The meter's levels of `samples`, measured from a buffer that starts one byte into an array so that
/// nothing is aligned.
private func measure(_ samples: [Double], channels: Int, format: SampleFormat) -> LevelSnapshot {
    measure(bytes: encode(samples, as: format), channels: channels, format: format)
}

private func measure(bytes: [UInt8], channels: Int, format: SampleFormat) -> LevelSnapshot {
    let meter = LevelMeter(format: AudioFormat(sampleRate: 48000, channels: channels, sampleFormat: format))
    var levels = LevelSnapshot(channels: channels)
    let shifted = [0xA5] + bytes
    shifted.withUnsafeBytes { raw in
        meter.measure(UnsafeRawBufferPointer(rebasing: raw[1...]), into: &levels)
    }
    return levels
}

/// Records an issue unless `actual` matches `expected`: exactly for the integer-valued fields and for
/// s16's integer-summed squares, within 1e-12 relative for the other formats' squares.
private func expectMatch(
    _ actual: LevelSnapshot,
    _ expected: [ChannelLevels],
    exact: Bool,
    _ comment: Comment,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.channels == expected.count, comment, sourceLocation: sourceLocation)
    for (channel, (got, want)) in zip(actual, expected).enumerated() {
        let context: Comment = "\(comment), channel \(channel)"
        #expect(got.minimum == want.minimum, context, sourceLocation: sourceLocation)
        #expect(got.maximum == want.maximum, context, sourceLocation: sourceLocation)
        #expect(got.clipped == want.clipped, context, sourceLocation: sourceLocation)
        #expect(got.samples == want.samples, context, sourceLocation: sourceLocation)
        #expect(got.sum == want.sum, context, sourceLocation: sourceLocation)
        if exact {
            #expect(got.sumOfSquares == want.sumOfSquares, context, sourceLocation: sourceLocation)
        } else {
            let tolerance = 1e-12 * max(want.sumOfSquares, 1e-300)
            #expect(abs(got.sumOfSquares - want.sumOfSquares) <= tolerance, context, sourceLocation: sourceLocation)
        }
    }
}

/// A deterministic generator (SplitMix64), so a failure can be replayed.
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Interleaved content in which every channel differs: its own frequency, amplitude, DC offset and
/// number of rail samples, so that a sample credited to the wrong channel changes the results.
private func distinctChannels(frames: Int, channels: Int, format: SampleFormat) -> [Double] {
    let scale = fullScale(format)
    var samples: [Double] = []
    samples.reserveCapacity(frames * channels)
    for frame in 0..<frames {
        for channel in 0..<channels {
            let amplitude = 0.8 / Double(channel + 1)
            let offset = 0.01 * Double(channel)
            let phase = 2 * Double.pi * Double((channel + 1) * 37 * frame) / 4096
            var value = (offset + amplitude * sin(phase)) * scale
            value = format == .f32 ? Double(Float(value)) : value.rounded()
            // Channel c sits on a rail every (c + 5)th frame, alternating top and bottom.
            if frame % (channel + 5) == 0 {
                if format == .f32 {
                    value = frame % 2 == 0 ? 1 : -1.25
                } else {
                    value = frame % 2 == 0 ? rails(format).high : rails(format).low
                }
            }
            samples.append(value)
        }
    }
    return samples
}

// MARK: Tests

@Suite struct LevelMeterTests {
    @Test func sineAtMinus20DBFS() {
        // round(3277·sin(2π·1365·i/65536)): 3277/32768 is -20.00 dBFS; the RMS of a sine is 3.01 dB lower.
        let samples = (0..<65536).map { (3277 * sin(2 * Double.pi * 1365 * Double($0) / 65536)).rounded() }
        let levels = measure(samples, channels: 1, format: .s16)
        #expect(levels.frames == 65536)
        #expect(abs(levels[0].peakDBFS - -20.00) <= 0.01)
        #expect(abs(levels[0].rmsDBFS - -23.01) <= 0.01)
        #expect(levels[0].clipped == 0)
        #expect(levels.loudestRMSDBFS == levels[0].rmsDBFS)
        #expect(levels.loudestPeakDBFS == levels[0].peakDBFS)
    }

    @Test(arguments: SampleFormat.allCases)
    func sineAtMinus20DBFSInEveryFormat(format: SampleFormat) {
        let scale = fullScale(format)
        let amplitude = scale * 0.1
        let samples = (0..<65536).flatMap { index -> [Double] in
            let value = amplitude * sin(2 * Double.pi * 1365 * Double(index) / 65536)
            // Left at -20 dBFS, right at -40 dBFS.
            return format == .f32 ? [value, value / 10] : [value.rounded(), (value / 10).rounded()]
        }
        let levels = measure(samples, channels: 2, format: format)
        #expect(abs(levels[0].peakDBFS - -20) <= 0.01)
        #expect(abs(levels[0].rmsDBFS - -23.01) <= 0.01)
        #expect(abs(levels[1].peakDBFS - -40) <= 0.01)
        #expect(abs(levels[1].rmsDBFS - -43.01) <= 0.01)
        #expect(levels.loudestRMSDBFS == levels[0].rmsDBFS)
    }

    @Test(arguments: SampleFormat.allCases)
    func fullScaleSquareWave(format: SampleFormat) {
        // Channel 0: a full-scale square wave, all on the rails. Channel 1: the same at half scale,
        // never on a rail. Channel 2: a full-scale square wave with every third sample at 0.
        let high = format == .f32 ? 1 : rails(format).high
        let low = format == .f32 ? -1 : rails(format).low
        let frames = 4801
        var samples: [Double] = []
        for frame in 0..<frames {
            let rail = (frame / 24) % 2 == 0 ? high : low
            let half = format == .f32 ? rail / 2 : (rail / 2).rounded(.towardZero)
            samples += [rail, half, frame % 3 == 0 ? 0 : rail]
        }
        let levels = measure(samples, channels: 3, format: format)
        #expect(levels[0].peakDBFS == 0)
        #expect(levels[0].peak == 1)
        #expect(levels[0].clipped == frames)
        #expect(levels[1].clipped == 0)
        #expect(abs(levels[1].peakDBFS - -6.02) <= 0.01)
        #expect(levels[2].clipped == frames - (frames + 2) / 3)
        #expect(levels.clipped == 2 * frames - (frames + 2) / 3)
        // A full-scale square wave's RMS is full scale, less the tiny difference of the top rail.
        #expect(abs(levels[0].rmsDBFS) <= 0.001)
    }

    @Test(arguments: SampleFormat.allCases)
    func digitalSilenceIsMinusInfinity(format: SampleFormat) {
        let levels = measure([Double](repeating: 0, count: 2 * 1000 + 2), channels: 2, format: format)
        #expect(levels.frames == 1001)
        for channel in levels {
            #expect(channel.peakDBFS == -.infinity)
            #expect(channel.rmsDBFS == -.infinity)
            #expect(channel.clipped == 0)
            #expect(channel.samples == 1001)
        }
        #expect(levels.loudestRMSDBFS == -.infinity)
        #expect(levels.loudestPeakDBFS == -.infinity)
    }

    @Test func nothingMeasuredIsSilence() {
        let levels = measure([], channels: 2, format: .s16)
        #expect(levels.frames == 0)
        #expect(levels.allSatisfy { $0 == .empty })
        #expect(levels.loudestRMSDBFS == -.infinity)
        #expect(levels[0].rms == 0)
    }

    @Test(arguments: SampleFormat.allCases, [1, 2, 3, 4, 5, 6, 8, 16, 24])
    func channelsStayApart(format: SampleFormat, channels: Int) {
        for frames in [1, 2, 7, 33, 1001, 4813] {
            let samples = distinctChannels(frames: frames, channels: channels, format: format)
            expectMatch(
                measure(samples, channels: channels, format: format),
                referenceLevels(samples, channels: channels, format: format),
                exact: format == .s16,
                "\(format) × \(channels), \(frames) frames"
            )
        }
    }

    @Test(arguments: SampleFormat.allCases)
    func randomDataMatchesTheReference(format: SampleFormat) {
        var random = SeededGenerator(state: 0x5EED + UInt64(format.bytesPerSample))
        let (low, high) = format == .f32 ? (-1.5, 1.5) : rails(format)
        let layouts = Array(1...17) + [24, 32]
        for channels in layouts {
            for _ in 0..<4 {
                let frames = Int.random(in: 0...3000, using: &random)
                let samples = (0..<frames * channels).map { _ -> Double in
                    switch Int.random(in: 0..<20, using: &random) {
                    case 0: return low
                    case 1: return high
                    default:
                        return format == .f32
                            ? Double(Float.random(in: Float(low)...Float(high), using: &random))
                            : Double(Int64.random(in: Int64(low)...Int64(high), using: &random))
                    }
                }
                expectMatch(
                    measure(samples, channels: channels, format: format),
                    referenceLevels(samples, channels: channels, format: format),
                    exact: format == .s16,
                    "\(format) × \(channels), \(frames) random frames"
                )
            }
        }
    }

    @Test(arguments: [1, 2, 3, 4, 6, 8, 16])
    func vectorPathMatchesScalarPath(channels: Int) {
        // The whole buffer through the production scalar path against the meter (SIMD plus tail).
        var random = SeededGenerator(state: UInt64(channels))
        let frames = 10_007
        let samples = (0..<frames * channels).map { _ in Double(Int16.random(in: .min ... .max, using: &random)) }
        let bytes = encode(samples, as: .s16)
        let levels = measure(bytes: bytes, channels: channels, format: .s16)
        bytes.withUnsafeBytes { raw in
            for channel in 0..<channels {
                let scalar = LevelMeter.scanS16(
                    raw.baseAddress!, channels: channels, channel: channel, frames: 0..<frames)
                #expect(levels[channel] == scalar, "channel \(channel) of \(channels)")
            }
        }
    }

    @Test func extremeS16ValuesDoNotOverflow() {
        // Every sample -32768: the largest square, 2^30, in every lane of every step.
        let frames = 100_003
        let samples = [Double](repeating: -32768, count: frames * 2)
        let levels = measure(samples, channels: 2, format: .s16)
        for channel in levels {
            #expect(channel.sumOfSquares == Double(frames))
            #expect(channel.rmsDBFS == 0)
            #expect(channel.clipped == frames)
            #expect(channel.minimum == -1)
        }
    }

    @Test func trailingPartialFrameIsIgnored() {
        let samples = distinctChannels(frames: 101, channels: 2, format: .s16)
        let whole = encode(samples, as: .s16)
        let levels = measure(bytes: whole + [0x12, 0x34, 0x56], channels: 2, format: .s16)
        #expect(levels.frames == 101)
        expectMatch(levels, referenceLevels(samples, channels: 2, format: .s16), exact: true, "partial frame")
    }

    @Test func accumulatedChunksEqualTheWhole() {
        let format = AudioFormat(sampleRate: 48000, channels: 6, sampleFormat: .s16)
        let samples = distinctChannels(frames: 9000, channels: 6, format: .s16)
        let bytes = encode(samples, as: .s16)
        let meter = LevelMeter(format: format)
        var chunk = LevelSnapshot(channels: 6)
        var total = LevelSnapshot(channels: 6)
        var whole = LevelSnapshot(channels: 6)
        bytes.withUnsafeBytes { raw in
            meter.measure(raw, into: &whole)
            var offset = 0
            for frames in [1, 4799, 3, 0, 4197] {
                let size = frames * format.bytesPerFrame
                meter.measure(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + size]), into: &chunk)
                #expect(chunk.frames == Int64(frames))
                total.accumulate(chunk)
                offset += size
            }
        }
        #expect(total == whole)
        total.reset()
        #expect(total == LevelSnapshot(channels: 6))
    }

    @Test func loudestChannelDecides() {
        var samples: [Double] = []
        for frame in 0..<4800 {
            let tone = sin(2 * Double.pi * 1000 * Double(frame) / 48000)
            samples += [(tone * 328).rounded(), (tone * 3277).rounded(), 0, 0]
        }
        let levels = measure(samples, channels: 4, format: .s16)
        #expect(levels.loudestRMSDBFS == levels[1].rmsDBFS)
        #expect(abs(levels.loudestPeakDBFS - -20) <= 0.01)
        #expect(levels[2].rmsDBFS == -.infinity)
    }
}

// MARK: Cross-check with sox

/// sox on the PATH, if there is one.
private let soxPath: String? = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/sox" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}()

/// Runs sox with `arguments` and returns what it wrote on standard error (where `stats` reports).
private func sox(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: soxPath!)
    process.arguments = arguments
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let output = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: output, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        throw SoxFailure(description: "sox \(arguments.joined(separator: " ")) failed: \(text)")
    }
    return text
}

private struct SoxFailure: Error, CustomStringConvertible {
    var description: String
}

/// The per-channel figures of the `stats` line starting with `label` (the Overall column dropped).
private func statsRow(_ label: String, in stats: String, channels: Int) -> [Double] {
    guard let line = stats.split(separator: "\n").first(where: { $0.hasPrefix(label) }) else { return [] }
    let numbers = line.dropFirst(label.count).split(separator: " ").compactMap { Double($0) }
    // With one channel sox prints only the channel's own column.
    return channels == 1 ? numbers : Array(numbers.dropFirst())
}

@Suite(.enabled(if: soxPath != nil, "sox is not installed"))
struct LevelMeterSoxTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var format: SampleFormat
        var channels: Int
        var testDescription: String { "\(format) × \(channels)" }
    }

    @Test(arguments: [
        Case(format: .s16, channels: 2), Case(format: .s16, channels: 1), Case(format: .s24, channels: 6),
        Case(format: .s32, channels: 3), Case(format: .f32, channels: 8), Case(format: .s16, channels: 5),
    ])
    func matchesSoxStats(_ test: Case) throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("levelmeter-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let raw = directory.appendingPathComponent("tones.raw").path

        // One tone per channel at its own frequency and gain (the last channels nearly silent).
        let tones = (0..<test.channels).flatMap { ["sine", "\(97 * ($0 + 1) + 3)"] }
        let gains = (0..<test.channels).map { "\($0 + 1)v\(0.9 / Double(1 << $0))" }
        let encoding = [
            "-r", "48000", "-c", "\(test.channels)", "-b", "\(test.format.bitsPerSample)",
            "-e", test.format == .f32 ? "floating-point" : "signed-integer", "-L", "-t", "raw",
        ]
        _ = try sox(["-n"] + encoding + [raw, "synth", "1.3"] + tones + ["remix"] + gains)
        let stats = try sox(encoding + [raw, "-n", "stats"])

        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: raw)))
        let levels = measure(bytes: bytes, channels: test.channels, format: test.format)
        #expect(levels.frames == 62400)
        let peaks = statsRow("Pk lev dB", in: stats, channels: test.channels)
        let rmss = statsRow("RMS lev dB", in: stats, channels: test.channels)
        try #require(peaks.count == test.channels && rmss.count == test.channels, "sox said:\n\(stats)")
        for channel in 0..<test.channels {
            #expect(abs(levels[channel].peakDBFS - peaks[channel]) <= 0.01, "channel \(channel), sox said:\n\(stats)")
            #expect(abs(levels[channel].rmsDBFS - rmss[channel]) <= 0.01, "channel \(channel), sox said:\n\(stats)")
        }
    }
}
