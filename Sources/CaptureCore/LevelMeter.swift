// Per-channel peak, RMS, mean, clipping and extremes of chunks of interleaved PCM, fast enough to run on every chunk.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The levels of one channel over a stretch of audio. Sample values are fractions of full scale
/// (the integer formats' negative rail is -1.0), so figures from different formats compare directly.
public struct ChannelLevels: Sendable, Equatable {
    /// Smallest sample as a fraction of full scale; 0 when nothing was measured.
    public var minimum: Double
    /// Largest sample as a fraction of full scale; 0 when nothing was measured.
    public var maximum: Double
    /// Sum of the samples, each as a fraction of full scale (the mean is the DC offset).
    public var sum: Double
    /// Sum of the squared samples, each as a fraction of full scale.
    public var sumOfSquares: Double
    /// Samples on a rail: the integer formats' largest or smallest value, or |x| ≥ 1 for f32.
    public var clipped: Int
    /// Samples measured.
    public var samples: Int

    /// Levels of no samples at all.
    public static let empty = ChannelLevels(minimum: 0, maximum: 0, sum: 0, sumOfSquares: 0, clipped: 0, samples: 0)

    public init(minimum: Double, maximum: Double, sum: Double = 0, sumOfSquares: Double, clipped: Int, samples: Int) {
        self.minimum = minimum
        self.maximum = maximum
        self.sum = sum
        self.sumOfSquares = sumOfSquares
        self.clipped = clipped
        self.samples = samples
    }

    /// Largest |sample| as a fraction of full scale (1.0 is 0 dBFS; f32 may exceed it).
    public var peak: Double { Swift.max(-minimum, maximum) }

    /// Mean sample (the DC offset) as a fraction of full scale; 0 when nothing was measured.
    public var mean: Double { samples == 0 ? 0 : sum / Double(samples) }

    /// Whether every sample measured had the same value (`minimum == maximum`); false when nothing was measured.
    public var isConstant: Bool { samples > 0 && minimum == maximum }

    /// Root mean square as a fraction of full scale; 0 when nothing was measured.
    public var rms: Double { samples == 0 ? 0 : (sumOfSquares / Double(samples)).squareRoot() }

    /// `peak` in dBFS; `-infinity` for digital silence.
    public var peakDBFS: Double { Self.dbfs(amplitude: peak) }

    /// `rms` in dBFS (a full-scale sine reads -3.01); `-infinity` for digital silence.
    public var rmsDBFS: Double {
        samples == 0 ? -.infinity : Self.dbfs(power: sumOfSquares / Double(samples))
    }

    /// `20·log10(amplitude)`; `-infinity` for 0.
    public static func dbfs(amplitude: Double) -> Double {
        amplitude > 0 ? 20 * log10(amplitude) : -.infinity
    }

    /// `10·log10(power)` for a mean square; `-infinity` for 0.
    public static func dbfs(power: Double) -> Double {
        power > 0 ? 10 * log10(power) : -.infinity
    }

    /// Adds `other`, measured over a different stretch of the same channel.
    public mutating func accumulate(_ other: ChannelLevels) {
        guard other.samples > 0 else { return }
        guard samples > 0 else {
            self = other
            return
        }
        minimum = Swift.min(minimum, other.minimum)
        maximum = Swift.max(maximum, other.maximum)
        sum += other.sum
        sumOfSquares += other.sumOfSquares
        clipped += other.clipped
        samples += other.samples
    }
}

/// Per-channel levels of one chunk or of several accumulated chunks.
///
/// Storage for the channels is allocated once, in `init`; `LevelMeter.measure`, `accumulate` and
/// `reset` reuse it, so a snapshot kept across chunks allocates nothing in the steady state (as long
/// as no copy of it is alive while it is mutated).
public struct LevelSnapshot: Sendable, Equatable, RandomAccessCollection {
    /// Frames measured (each channel has this many samples).
    public private(set) var frames: Int64
    private var storage: [ChannelLevels]

    /// A snapshot of `channels` channels with nothing measured. `channels` must be at least 1.
    public init(channels: Int) {
        precondition(channels >= 1, "a level snapshot needs at least one channel, got \(channels)")
        frames = 0
        storage = Array(repeating: .empty, count: channels)
    }

    public var channels: Int { storage.count }
    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.count }
    public subscript(channel: Int) -> ChannelLevels { storage[channel] }

    /// The largest channel RMS in dBFS (`-infinity` for silence): what the silence detector watches.
    public var loudestRMSDBFS: Double {
        var loudest = 0.0
        for channel in storage { loudest = Swift.max(loudest, channel.sumOfSquares) }
        return frames == 0 ? -.infinity : ChannelLevels.dbfs(power: loudest / Double(frames))
    }

    /// The largest channel peak in dBFS (`-infinity` for silence).
    public var loudestPeakDBFS: Double {
        var loudest = 0.0
        for channel in storage { loudest = Swift.max(loudest, channel.peak) }
        return ChannelLevels.dbfs(amplitude: loudest)
    }

    /// Clipped samples over all channels.
    public var clipped: Int {
        var total = 0
        for channel in storage { total += channel.clipped }
        return total
    }

    /// Forgets everything measured, keeping the storage.
    public mutating func reset() {
        frames = 0
        storage.withUnsafeMutableBufferPointer { channels in
            for index in channels.indices { channels[index] = .empty }
        }
    }

    /// Adds `other`, the levels of a later (or earlier) stretch with the same channel count.
    public mutating func accumulate(_ other: LevelSnapshot) {
        precondition(other.channels == channels, "cannot add \(other.channels) channels to \(channels)")
        frames += other.frames
        storage.withUnsafeMutableBufferPointer { channels in
            for index in channels.indices { channels[index].accumulate(other.storage[index]) }
        }
    }

    /// Overwrites the snapshot with `frames` frames whose levels `fill` writes into its argument
    /// (one element per channel, initially `.empty`).
    mutating func replace(frames: Int64, _ fill: (UnsafeMutableBufferPointer<ChannelLevels>) -> Void) {
        reset()
        self.frames = frames
        storage.withUnsafeMutableBufferPointer { fill($0) }
    }
}

/// Measures the levels of chunks of interleaved little-endian PCM in one format.
///
/// s16 with up to 16 channels runs on 16-lane SIMD vectors (baseline SSE2 is enough); other formats
/// and channel counts, and the last few frames of each chunk, take a scalar path that gives the same
/// results. Measuring allocates nothing and needs no particular alignment of `bytes`.
public struct LevelMeter: Sendable {
    public let format: AudioFormat

    /// A meter for `format`, which must have at least one channel.
    public init(format: AudioFormat) {
        precondition(format.channels >= 1, "a level meter needs at least one channel, got \(format.channels)")
        self.format = format
    }

    /// Replaces `levels` with the levels of the whole frames in `bytes` (a trailing partial frame is
    /// ignored). `levels` must have `format.channels` channels.
    public func measure(_ bytes: UnsafeRawBufferPointer, into levels: inout LevelSnapshot) {
        precondition(
            levels.channels == format.channels,
            "a \(levels.channels)-channel snapshot cannot hold \(format.channels)-channel levels"
        )
        let channels = format.channels
        let frames = bytes.count / format.bytesPerFrame
        levels.replace(frames: Int64(frames)) { output in
            guard frames > 0, let base = bytes.baseAddress else { return }
            switch format.sampleFormat {
            case .s16:
                var first = 0
                #if _endian(little)
                    if channels <= S16Vectors.lanes {
                        first = S16Vectors.measure(base, frames: frames, channels: channels, into: output)
                    }
                #endif
                for channel in 0..<channels {
                    output[channel].accumulate(
                        Self.scanS16(base, channels: channels, channel: channel, frames: first..<frames)
                    )
                }
            case .s24:
                for channel in 0..<channels {
                    output[channel] = Self.scanWide(
                        S24.self, base, channels: channels, channel: channel, frames: frames
                    )
                }
            case .s32:
                for channel in 0..<channels {
                    output[channel] = Self.scanWide(
                        S32.self, base, channels: channels, channel: channel, frames: frames
                    )
                }
            case .f32:
                for channel in 0..<channels {
                    output[channel] = Self.scanF32(base, channels: channels, channel: channel, frames: frames)
                }
            }
        }
    }

    // MARK: Scalar paths (one channel at a time, so the running figures stay in registers)

    /// s16 levels of `channel` over `frames`, with the sum of squares exact in integers.
    static func scanS16(
        _ base: UnsafeRawPointer, channels: Int, channel: Int, frames: Range<Int>
    ) -> ChannelLevels {
        guard !frames.isEmpty else { return .empty }
        let stride = channels * 2
        var pointer = base + frames.lowerBound * stride + channel * 2
        var low = Int32.max
        var high = Int32.min
        var total: Int64 = 0
        var squares: UInt64 = 0
        var clipped = 0
        for _ in frames {
            let sample = Int32(Int16(littleEndian: pointer.loadUnaligned(as: Int16.self)))
            low = min(low, sample)
            high = max(high, sample)
            total &+= Int64(sample)
            squares &+= UInt64(sample &* sample)
            if sample == Int32(Int16.max) || sample == Int32(Int16.min) { clipped += 1 }
            pointer += stride
        }
        return S16Vectors.levels(
            low: low, high: high, sum: total, squares: squares, clipped: clipped, samples: frames.count)
    }

    /// s24 or s32 levels of `channel` over the first `frames` frames; squares are summed in Double.
    static func scanWide<Sample: WideIntegerSample>(
        _: Sample.Type, _ base: UnsafeRawPointer, channels: Int, channel: Int, frames: Int
    ) -> ChannelLevels {
        let stride = channels * Sample.bytes
        var pointer = base + channel * Sample.bytes
        var low = Int32.max
        var high = Int32.min
        var total: Int64 = 0
        var squares = 0.0
        var clipped = 0
        for _ in 0..<frames {
            let sample = Sample.load(pointer)
            low = min(low, sample)
            high = max(high, sample)
            total &+= Int64(sample)
            let value = Double(sample)
            squares += value * value
            if sample == Sample.highest || sample == Sample.lowest { clipped += 1 }
            pointer += stride
        }
        let scale = 1 / Sample.fullScale
        return ChannelLevels(
            minimum: Double(low) * scale,
            maximum: Double(high) * scale,
            sum: Double(total) * scale,
            sumOfSquares: squares * scale * scale,
            clipped: clipped,
            samples: frames
        )
    }

    /// f32 levels of `channel` over the first `frames` frames. NaN samples count as 0.
    static func scanF32(_ base: UnsafeRawPointer, channels: Int, channel: Int, frames: Int) -> ChannelLevels {
        let stride = channels * 4
        var pointer = base + channel * 4
        var low = Float.infinity
        var high = -Float.infinity
        var total = 0.0
        var squares = 0.0
        var clipped = 0
        for _ in 0..<frames {
            var sample = Float(bitPattern: UInt32(littleEndian: pointer.loadUnaligned(as: UInt32.self)))
            if sample.isNaN { sample = 0 }
            low = min(low, sample)
            high = max(high, sample)
            let value = Double(sample)
            total += value
            squares += value * value
            if abs(sample) >= 1 { clipped += 1 }
            pointer += stride
        }
        return ChannelLevels(
            minimum: Double(low), maximum: Double(high), sum: total, sumOfSquares: squares, clipped: clipped,
            samples: frames
        )
    }
}

/// How the scalar path reads one s24 or s32 sample.
protocol WideIntegerSample {
    static var bytes: Int { get }
    static var highest: Int32 { get }
    static var lowest: Int32 { get }
    static var fullScale: Double { get }
    static func load(_ pointer: UnsafeRawPointer) -> Int32
}

enum S24: WideIntegerSample {
    static var bytes: Int { 3 }
    static var highest: Int32 { (1 << 23) - 1 }
    static var lowest: Int32 { -(1 << 23) }
    static var fullScale: Double { 8_388_608 }

    @inline(__always)
    static func load(_ pointer: UnsafeRawPointer) -> Int32 {
        let low = UInt32(UInt16(littleEndian: pointer.loadUnaligned(as: UInt16.self)))
        let high = UInt32(pointer.load(fromByteOffset: 2, as: UInt8.self))
        // Shift the 24 bits to the top and back down to extend the sign.
        return Int32(bitPattern: (low | high << 16) << 8) >> 8
    }
}

enum S32: WideIntegerSample {
    static var bytes: Int { 4 }
    static var highest: Int32 { .max }
    static var lowest: Int32 { .min }
    static var fullScale: Double { 2_147_483_648 }

    @inline(__always)
    static func load(_ pointer: UnsafeRawPointer) -> Int32 {
        Int32(littleEndian: pointer.loadUnaligned(as: Int32.self))
    }
}

/// The SIMD path for s16 with 1 to 16 channels.
///
/// Each step loads two 16-lane vectors, each starting on a frame and holding the same whole number of
/// frames (16 / channels of them), so lane `i` of both carries channel `i % channels`; lanes past the
/// last whole frame are ignored. Per lane it keeps the extremes in Int16, the sum (in a second pass over
/// each block, in Int32: at most 2 × 64 × 32768 = 2^22) in Int64, and the sum of squares in UInt64, exactly: the two
/// squares of a step are added first in UInt32, where they always fit (at most 2 · 32768² = 2^31). Rail samples are counted only in blocks whose extremes reach a rail,
/// so clean audio pays nothing for clip counting.
enum S16Vectors {
    static let lanes = 16
    /// Steps per block; a lane sees at most 2 × 64 rail samples per block, well within Int16, and
    /// sums at most 2 × 64 samples, well within Int32.
    static let blockSteps = 64

    typealias Lanes = SIMD16<Int16>

    /// Per-lane running figures.
    struct Totals {
        var high = Lanes(repeating: .min)
        var low = Lanes(repeating: .max)
        var sums = SIMD16<Int64>.zero
        var squares = SIMD16<UInt64>.zero
        var clipped = SIMD16<Int64>.zero
    }

    /// Measures the leading frames that fill whole steps, adding them into `output`, and returns how
    /// many frames that was (the rest is left to the scalar path).
    static func measure(
        _ base: UnsafeRawPointer, frames: Int, channels: Int, into output: UnsafeMutableBufferPointer<ChannelLevels>
    ) -> Int {
        let framesPerVector = lanes / channels
        let usedLanes = framesPerVector * channels
        let secondOffset = usedLanes * 2
        let stepBytes = usedLanes * 4
        // The second vector of the last step must end inside the buffer.
        let bytes = frames * channels * 2
        let reach = secondOffset + lanes * 2
        guard bytes >= reach else { return 0 }
        let steps = (bytes - reach) / stepBytes + 1

        var totals = Totals()
        var step = 0
        while step < steps {
            let blockSteps = min(steps - step, Self.blockSteps)
            accumulate(base + step * stepBytes, steps: blockSteps, secondOffset: secondOffset, into: &totals)
            step += blockSteps
        }

        let measuredFrames = steps * 2 * framesPerVector
        for channel in 0..<channels {
            var low = Int32.max
            var high = Int32.min
            var sum: Int64 = 0
            var squares: UInt64 = 0
            var clipped = 0
            for lane in Swift.stride(from: channel, to: usedLanes, by: channels) {
                low = min(low, Int32(totals.low[lane]))
                high = max(high, Int32(totals.high[lane]))
                sum &+= totals.sums[lane]
                squares &+= totals.squares[lane]
                clipped += Int(totals.clipped[lane])
            }
            output[channel].accumulate(
                levels(low: low, high: high, sum: sum, squares: squares, clipped: clipped, samples: measuredFrames)
            )
        }
        return measuredFrames
    }

    /// Adds `steps` steps from `start` (one block) into `totals`.
    @inline(__always)
    static func accumulate(_ start: UnsafeRawPointer, steps: Int, secondOffset: Int, into totals: inout Totals) {
        var high = Lanes(repeating: .min)
        var low = Lanes(repeating: .max)
        var squares = totals.squares
        var pointer = start
        for _ in 0..<steps {
            let first = pointer.loadUnaligned(as: Lanes.self)
            let second = pointer.loadUnaligned(fromByteOffset: secondOffset, as: Lanes.self)
            high = maximum(high, maximum(first, second))
            low = minimum(low, minimum(first, second))
            let pair = sumOfSquares(first, second)
            for lane in 0..<lanes { squares[lane] &+= UInt64(pair[lane]) }
            pointer += secondOffset * 2
        }
        totals.squares = squares
        // A second pass over the block (still in L1): summing in the loop above runs out of registers.
        let sums = sumBlock(start, vectors: steps * 2, vectorBytes: secondOffset)
        for lane in 0..<lanes { totals.sums[lane] &+= Int64(sums[lane]) }
        var reachedRail = false
        for lane in 0..<lanes where high[lane] == .max || low[lane] == .min { reachedRail = true }
        if reachedRail {
            totals.clipped &+= countRails(start, vectors: steps * 2, vectorBytes: secondOffset)
        }
        totals.high = maximum(totals.high, high)
        totals.low = minimum(totals.low, low)
    }

    /// Per-lane sums of `vectors` vectors from `start`, in Int32 (at most 128 vectors: 2^22 fits).
    @inline(__always)
    static func sumBlock(_ start: UnsafeRawPointer, vectors: Int, vectorBytes: Int) -> SIMD16<Int32> {
        var sums = SIMD16<Int32>.zero
        var pointer = start
        var remaining = vectors
        while remaining >= 2 {
            sums &+= sum(
                pointer.loadUnaligned(as: Lanes.self),
                pointer.loadUnaligned(fromByteOffset: vectorBytes, as: Lanes.self))
            pointer += vectorBytes * 2
            remaining -= 2
        }
        return sums
    }

    /// Per-lane counts of rail samples (Int16.max or Int16.min) in `vectors` vectors from `start`.
    static func countRails(_ start: UnsafeRawPointer, vectors: Int, vectorBytes: Int) -> SIMD16<Int64> {
        let one = Lanes(repeating: 1)
        var counts = Lanes.zero
        var pointer = start
        for _ in 0..<vectors {
            let samples = pointer.loadUnaligned(as: Lanes.self)
            counts &+= Lanes.zero.replacing(with: one, where: samples .== Lanes(repeating: .max))
            counts &+= Lanes.zero.replacing(with: one, where: samples .== Lanes(repeating: .min))
            pointer += vectorBytes
        }
        var result = SIMD16<Int64>.zero
        for lane in 0..<lanes { result[lane] = Int64(counts[lane]) }
        return result
    }

    // Lane-by-lane loops rather than the standard library's generic SIMD functions (pointwiseMax and
    // the converting initializers), which do not inline: LLVM turns these into pmaxsw, pminsw and
    // punpcklwd + pmaddwd on baseline x86_64.

    @inline(__always)
    static func maximum(_ a: Lanes, _ b: Lanes) -> Lanes {
        var result = a
        for lane in 0..<lanes { result[lane] = Swift.max(a[lane], b[lane]) }
        return result
    }

    @inline(__always)
    static func minimum(_ a: Lanes, _ b: Lanes) -> Lanes {
        var result = a
        for lane in 0..<lanes { result[lane] = Swift.min(a[lane], b[lane]) }
        return result
    }

    /// `a + b` per lane, in Int32.
    @inline(__always)
    static func sum(_ a: Lanes, _ b: Lanes) -> SIMD16<Int32> {
        var result = SIMD16<Int32>()
        for lane in 0..<lanes { result[lane] = Int32(a[lane]) &+ Int32(b[lane]) }
        return result
    }

    /// `a² + b²` per lane: at most 2 · 32768² = 2^31, which fits UInt32 (not Int32).
    @inline(__always)
    static func sumOfSquares(_ a: Lanes, _ b: Lanes) -> SIMD16<UInt32> {
        var result = SIMD16<UInt32>()
        for lane in 0..<lanes {
            let x = Int32(a[lane])
            let y = Int32(b[lane])
            result[lane] = UInt32(bitPattern: x &* x &+ y &* y)
        }
        return result
    }

    /// Levels from raw s16 figures.
    static func levels(
        low: Int32, high: Int32, sum: Int64, squares: UInt64, clipped: Int, samples: Int
    ) -> ChannelLevels {
        let scale = 1.0 / 32768
        return ChannelLevels(
            minimum: Double(low) * scale,
            maximum: Double(high) * scale,
            sum: Double(sum) * scale,
            sumOfSquares: Double(squares) * (scale * scale),
            clipped: clipped,
            samples: samples
        )
    }
}
