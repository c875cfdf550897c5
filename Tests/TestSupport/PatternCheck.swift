// Checks captured audio against the test pattern: the Swift counterpart of the shared check.py, without numpy.

import Foundation

/// What a pattern check found.
///
/// Frame numbers count from the first frame of the joined input (leading silence included).
public struct PatternReport: Sendable, Hashable, CustomStringConvertible {
    /// A place where the frame counter (channel 1) did not advance by exactly one.
    public struct Discontinuity: Sendable, Hashable, CustomStringConvertible {
        /// The first frame after the break.
        public var frame: Int
        /// Pattern frames skipped at the break, in -32768...32767: positive when frames are missing,
        /// negative when frames are played again (-n: the last n frames repeat).
        public var jump: Int

        public init(frame: Int, jump: Int) {
            self.frame = frame
            self.jump = jump
        }

        public var description: String { "\(frame):\(jump >= 0 ? "+" : "")\(jump)" }
    }

    /// How many discontinuities `firstDiscontinuities` keeps.
    public static let keptDiscontinuities = 10

    public var channels: Int
    /// Whole frames in the input, leading silence included.
    public var frames: Int
    /// All-zero frames before the first frame with sound.
    public var leadingSilence: Int
    /// Breaks in the frame counter after the leading silence (always 0 in mono, where a break shows as
    /// mismatching frames). Silence inserted in the middle counts once per silent frame, plus one.
    public var discontinuities: Int
    /// The first few discontinuities, in order.
    public var firstDiscontinuities: [Discontinuity]
    /// Frames after the leading silence whose channel 0 is not the sine at the expected phase (stereo:
    /// the phase channel 1 says; mono: the phase locked from the first 32 samples).
    public var mismatchingFrames: Int
    /// The first frame that breaks the pattern (a discontinuity or a mismatch), or nil when none does.
    public var firstBadFrame: Int?
    /// Whether the input has no frame with sound (an empty input included).
    public var allSilent: Bool
    /// Mono: whether the first 32 samples after the leading silence fit exactly one phase of the sine.
    /// Always true in stereo, where channel 1 gives the phase.
    public var phaseLocked: Bool

    /// Whether the input is the pattern, bit for bit, after its leading silence: sound, a locked phase,
    /// no discontinuity and no mismatching frame.
    public var bitExact: Bool {
        !allSilent && phaseLocked && discontinuities == 0 && mismatchingFrames == 0
    }

    /// The input's length at the pattern's 48 kHz.
    public var seconds: Double { Double(frames) / Double(TestPattern.sampleRate) }

    /// One line in the style of check.py, e.g. `frames=144000 seconds=3.000 leading_silence=0
    /// discontinuities=0 mismatching_frames=0 first_bad_frame=none bit_exact=yes`.
    public var description: String {
        var line = "frames=\(frames) seconds=\(String(format: "%.3f", seconds))"
        if allSilent { return line + " all_silent=yes bit_exact=NO" }
        line += " leading_silence=\(leadingSilence)"
        if !phaseLocked { line += " cannot_lock_phase=yes" }
        line += " discontinuities=\(discontinuities)"
        if !firstDiscontinuities.isEmpty {
            let more = discontinuities > firstDiscontinuities.count ? ",..." : ""
            line += " at=[\(firstDiscontinuities.map(\.description).joined(separator: ","))\(more)]"
        }
        line += " mismatching_frames=\(mismatchingFrames)"
        line += " first_bad_frame=\(firstBadFrame.map(String.init) ?? "none")"
        return line + " bit_exact=\(bitExact ? "yes" : "NO")"
    }
}

/// A failure to read the input of a pattern check: which file, and why.
public struct PatternCheckError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "cannot check \(path) against the test pattern: \(reason)" }
}

/// A running check of s16le audio against the test pattern (see `TestPattern`).
///
/// Feed it the audio in order, in pieces of any size, then read `report`. Leading all-zero frames are
/// skipped; after them, in stereo, channel 1 must count up by one (mod 65536) on every frame and channel
/// 0 must be the sine at the counter's phase; in mono, the phase is locked from the first 32 samples and
/// every later sample must follow it. Allocates nothing per sample.
public struct PatternCheck: Sendable {
    public let channels: Int
    /// The pattern's variant checked against (see `TestPattern`): channel 0 at counter c must be the sine
    /// at c + `sineOffset`. 0 is the pattern itself.
    public let sineOffset: Int

    private var frames = 0
    private var leadingSilence = 0
    private var started = false
    private var discontinuities = 0
    private var firstDiscontinuities: [PatternReport.Discontinuity] = []
    private var mismatchingFrames = 0
    private var firstMismatch: Int?
    /// Stereo: the previous frame's counter, -1 before the first frame with sound.
    private var previousCounter = -1
    /// Mono: the first samples after the leading silence, until the phase is locked.
    private var lockWindow: [Int16] = []
    /// Mono: the expected phase of the next sample, -1 until locked.
    private var nextPhase = -1
    /// Mono: how many phases fit the lock window (1 once locked).
    private var phaseCandidates = 0
    /// Bytes of a frame split across two `feed` calls.
    private var pending: [UInt8] = []

    /// Samples the mono phase is locked from.
    public static let lockWindowLength = 32

    /// - Parameters:
    ///   - channels: 1 or 2.
    ///   - sineOffset: the variant of the pattern to expect (see `TestPattern`); only stereo tells the
    ///     variants apart, so it is ignored in mono.
    /// - Precondition: `channels` is 1 or 2.
    public init(channels: Int, sineOffset: Int = 0) {
        precondition(channels == 1 || channels == 2, "the test pattern has 1 or 2 channels")
        self.channels = channels
        self.sineOffset = sineOffset & 0xFFFF
        lockWindow.reserveCapacity(Self.lockWindowLength)
    }

    /// Checks the next bytes of the stream. A frame may be split across calls.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        let frameBytes = 2 * channels
        var rest = bytes
        if !pending.isEmpty {
            let take = min(frameBytes - pending.count, rest.count)
            pending.append(contentsOf: rest.prefix(take))
            rest = UnsafeRawBufferPointer(rebasing: rest.dropFirst(take))
            guard pending.count == frameBytes else { return }
            let frame = pending
            pending.removeAll(keepingCapacity: true)
            frame.withUnsafeBytes { feedWholeFrames($0) }
        }
        let whole = rest.count - rest.count % frameBytes
        feedWholeFrames(UnsafeRawBufferPointer(rebasing: rest.prefix(whole)))
        pending.append(contentsOf: rest.dropFirst(whole))
    }

    /// Checks the next bytes of the stream. A frame may be split across calls.
    public mutating func feed(_ data: Data) {
        data.withUnsafeBytes { feed($0) }
    }

    /// What the check found so far. Bytes of an unfinished frame are not counted.
    public var report: PatternReport {
        // In mono the phase is locked once 32 samples are in, and only when exactly one phase fits them.
        let phaseLocked = channels == 2 || !started || phaseCandidates == 1
        let firstBreak = firstDiscontinuities.first?.frame
        let firstBad =
            phaseLocked ? [firstBreak, firstMismatch].compactMap { $0 }.min() : leadingSilence
        return PatternReport(
            channels: channels, frames: frames, leadingSilence: leadingSilence,
            discontinuities: discontinuities, firstDiscontinuities: firstDiscontinuities,
            mismatchingFrames: mismatchingFrames, firstBadFrame: firstBad, allSilent: !started,
            phaseLocked: phaseLocked)
    }

    private mutating func feedWholeFrames(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        if let base = bytes.baseAddress, Int(bitPattern: base) % 2 == 0 {
            let samples = UnsafeBufferPointer(
                start: base.assumingMemoryBound(to: UInt16.self), count: bytes.count / 2)
            feedSamples(samples)
        } else {
            // Misaligned (a WAV data chunk at an odd offset): copy once to aligned memory.
            let copy = [UInt8](bytes)
            copy.withUnsafeBytes { feedWholeFrames($0) }
        }
    }

    /// The hot loop: plain integers and pointers only, so it stays fast in debug builds.
    private mutating func feedSamples(_ samples: UnsafeBufferPointer<UInt16>) {
        guard let base = samples.baseAddress else { return }
        let count = samples.count
        var index = 0
        if !started {
            // Skip leading silence.
            while index < count {
                var silent = true
                for channel in 0..<channels where base[index + channel] != 0 { silent = false }
                if !silent { break }
                index += channels
                leadingSilence += 1
                frames += 1
            }
            guard index < count else { return }
            started = true
        }
        TestPattern.sine.withUnsafeBufferPointer { table in
            let sine = table.baseAddress!
            if channels == 2 {
                checkStereo(base, from: index, count: count, sine: sine)
            } else {
                checkMono(base, from: index, count: count, sine: sine)
            }
        }
    }

    private mutating func checkStereo(
        _ base: UnsafePointer<UInt16>, from start: Int, count: Int, sine: UnsafePointer<Int16>
    ) {
        var frame = frames
        var previous = previousCounter
        var mismatches = 0
        var index = start
        let offset = sineOffset
        while index < count {
            let value = Int16(bitPattern: UInt16(littleEndian: base[index]))
            let counter = Int(UInt16(littleEndian: base[index + 1]))
            if previous >= 0 && counter != (previous + 1) & 0xFFFF {
                noteDiscontinuity(frame: frame, jump: (counter - previous - 1) & 0xFFFF)
            }
            if sine[(counter + offset) & 0xFFFF] != value {
                mismatches += 1
                if firstMismatch == nil { firstMismatch = frame }
            }
            previous = counter
            frame += 1
            index += 2
        }
        previousCounter = previous
        mismatchingFrames += mismatches
        frames = frame
    }

    private mutating func checkMono(
        _ base: UnsafePointer<UInt16>, from start: Int, count: Int, sine: UnsafePointer<Int16>
    ) {
        var index = start
        while nextPhase < 0 && index < count {
            lockWindow.append(Int16(bitPattern: UInt16(littleEndian: base[index])))
            index += 1
            frames += 1
            if lockWindow.count == Self.lockWindowLength { lockPhase(sine: sine) }
        }
        var frame = frames
        var phase = nextPhase
        var mismatches = 0
        while index < count {
            if sine[phase] != Int16(bitPattern: UInt16(littleEndian: base[index])) {
                mismatches += 1
                if firstMismatch == nil { firstMismatch = frame }
            }
            phase = (phase + 1) & 0xFFFF
            frame += 1
            index += 1
        }
        if nextPhase >= 0 { nextPhase = phase }
        mismatchingFrames += mismatches
        frames = frame
    }

    private mutating func lockPhase(sine: UnsafePointer<Int16>) {
        var found = -1
        phaseCandidates = 0
        for phase in 0..<TestPattern.period {
            var fits = true
            for (offset, value) in lockWindow.enumerated() where sine[(phase + offset) & 0xFFFF] != value {
                fits = false
                break
            }
            if fits {
                phaseCandidates += 1
                if found < 0 { found = phase }
            }
        }
        // Without a unique phase, check against the first candidate (or 0); the report says unlocked.
        nextPhase = (max(found, 0) + Self.lockWindowLength) & 0xFFFF
    }

    private mutating func noteDiscontinuity(frame: Int, jump: Int) {
        discontinuities += 1
        if firstDiscontinuities.count < PatternReport.keptDiscontinuities {
            firstDiscontinuities.append(.init(frame: frame, jump: jump >= 0x8000 ? jump - 0x10000 : jump))
        }
    }
}

extension PatternCheck {
    /// Joins `files` in order and checks them against the pattern.
    ///
    /// Each file is raw s16le or a WAV file (RIFF, RF64 or BW64, recognised by its first bytes whatever
    /// its name, so `.partial` files work too). A WAV's chunks are walked to its `data` chunk, which is
    /// read to the end of the file whatever sizes the header declares, so a file left by a crash can be
    /// checked. A trailing partial frame of each file is ignored, as check.py does.
    ///
    /// - Throws: `PatternCheckError` when a file cannot be read, a WAV file has no `data` chunk, or its
    ///   format is not 16-bit PCM with `channels` channels.
    public static func check(channels: Int, files: [String]) throws -> PatternReport {
        try check(channels: channels, sineOffset: 0, files: files)
    }

    /// `check(channels:files:)` against the pattern's variant with `sineOffset` (see `TestPattern`).
    public static func check(channels: Int, sineOffset: Int, files: [String]) throws -> PatternReport {
        var check = PatternCheck(channels: channels, sineOffset: sineOffset)
        for path in files {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw PatternCheckError(path: path, reason: "\(error.localizedDescription)")
            }
            try data.withUnsafeBytes { bytes in
                let audio = try audioBytes(of: bytes, path: path, channels: channels)
                let whole = audio.count - audio.count % (2 * channels)
                check.feed(UnsafeRawBufferPointer(rebasing: audio.prefix(whole)))
            }
        }
        return check.report
    }

    /// `check(channels:sineOffset:files:)` on only the frames in `frames` of the joined input, e.g. the
    /// stretch of a recording between two gaps of its ledger. Frame numbers count from the first frame of
    /// the joined input (for a recording in one file, its ledger's `file_frame`s); the report's count
    /// from the range's first frame. A range beyond the end is cut at the end.
    ///
    /// - Throws: what `check(channels:sineOffset:files:)` throws.
    public static func check(
        channels: Int, sineOffset: Int = 0, files: [String], frames range: Range<Int>
    ) throws -> PatternReport {
        var check = PatternCheck(channels: channels, sineOffset: sineOffset)
        let frameBytes = 2 * channels
        var position = 0
        for path in files where position < range.upperBound {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw PatternCheckError(path: path, reason: "\(error.localizedDescription)")
            }
            try data.withUnsafeBytes { bytes in
                let audio = try audioBytes(of: bytes, path: path, channels: channels)
                let count = audio.count / frameBytes
                let from = min(max(range.lowerBound - position, 0), count)
                let to = max(min(range.upperBound - position, count), from)
                let start = audio.startIndex + from * frameBytes
                check.feed(UnsafeRawBufferPointer(rebasing: audio[start..<(start + (to - from) * frameBytes)]))
                position += count
            }
        }
        return check.report
    }

    /// Checks `data`, raw s16le, against the pattern.
    public static func check(channels: Int, data: Data, sineOffset: Int = 0) -> PatternReport {
        var check = PatternCheck(channels: channels, sineOffset: sineOffset)
        check.feed(data)
        return check.report
    }

    /// The audio bytes of a file's contents: all of it for raw audio, from the `data` chunk's payload to
    /// the end for WAV.
    static func audioBytes(
        of bytes: UnsafeRawBufferPointer, path: String, channels: Int
    ) throws -> UnsafeRawBufferPointer.SubSequence {
        func fourCC(at offset: Int) -> String {
            String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
        }
        func uint16(at offset: Int) -> Int { Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 }
        func uint32(at offset: Int) -> Int { uint16(at: offset) | uint16(at: offset + 2) << 16 }

        guard bytes.count >= 12, ["RIFF", "RF64", "BW64"].contains(fourCC(at: 0)), fourCC(at: 8) == "WAVE"
        else { return bytes[...] }
        var offset = 12
        while offset + 8 <= bytes.count {
            let id = fourCC(at: offset)
            let size = uint32(at: offset + 4)
            let payload = offset + 8
            if id == "data" { return bytes[payload...] }
            if id == "fmt " && size >= 16 && payload + 16 <= bytes.count {
                let tag = uint16(at: payload)
                let fileChannels = uint16(at: payload + 2)
                let bits = uint16(at: payload + 14)
                guard tag == 1 || tag == 0xFFFE, fileChannels == channels, bits == 16 else {
                    throw PatternCheckError(
                        path: path,
                        reason: "its format is tag \(tag), \(fileChannels) channels, \(bits) bits; "
                            + "the pattern is PCM, \(channels) channels, 16 bits")
                }
            }
            offset = payload + size + (size & 1)
        }
        throw PatternCheckError(path: path, reason: "it is a WAV file without a data chunk")
    }
}
