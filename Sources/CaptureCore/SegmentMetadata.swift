// The facts every segment file carries about itself, computed once for all encoders (bext, GUANO, …).
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a segment file says about itself: which station and recording made it, when its first frame was
/// captured (to the sample), how long it is and what is missing from it.
///
/// One value feeds every encoder (``BextChunk``, ``GuanoChunk``); each renders the same facts in its own
/// format. `frames`, `gaps` and `gapFrames` grow while the file is written; the rest is fixed when it opens.
/// See docs/metadata.md for where each field goes.
public struct SegmentMetadata: Sendable, Equatable {
    /// The station as configured (`[station]`).
    public var station: StationConfiguration
    /// The station's id as written: `station.id`, or the host name when that is empty.
    public var stationID: String
    /// The recording's name.
    public var recording: String
    /// The source the recording takes its audio from.
    public var source: String
    public var format: AudioFormat
    /// The capture frame number of the file's first frame (counted from the start of the capture).
    public var firstFrame: Int64
    /// Wall time of the file's first frame, seconds since the epoch (UTC).
    public var startTime: Double
    /// The offset from UTC of the time zone the GUANO `Timestamp` is written in, in seconds.
    public var utcOffsetSeconds: Int
    /// The file's name (no folder), as the writer named it when it opened the file.
    public var filename: String
    /// Whole frames in the file.
    public var frames: Int64 = 0
    /// Gaps recorded in the file so far, and their frames (the sidecar lists them).
    public var gaps: Int = 0
    public var gapFrames: Int64 = 0

    /// - Parameters:
    ///   - hostName: the station id used when `station.id` is empty.
    ///   - timeZone: `.local` writes the GUANO `Timestamp` in local time with its offset, `.utc` in UTC.
    public init(
        station: StationConfiguration, hostName: String, recording: String, source: String, format: AudioFormat,
        firstFrame: Int64, startTime: Double, timeZone: FilenameTimeZone, filename: String
    ) {
        self.station = station
        self.stationID = station.id.isEmpty ? hostName : station.id
        self.recording = recording
        self.source = source
        self.format = format
        self.firstFrame = firstFrame
        self.startTime = startTime.isFinite ? startTime : 0
        self.utcOffsetSeconds = timeZone == .local ? Self.localUTCOffset(at: self.startTime) : 0
        self.filename = filename
    }

    // MARK: - Derived facts

    /// The file's length in seconds.
    public var lengthSeconds: Double { Double(frames) / Double(format.sampleRate) }

    /// Samples (frames) from midnight UTC of the first frame's day to the first frame, rounded to the
    /// nearest: the `bext` `TimeReference`.
    public var timeReference: UInt64 {
        let day = (startTime / 86_400).rounded(.down) * 86_400
        let seconds = max(0, startTime - day)
        return UInt64((seconds * Double(format.sampleRate)).rounded())
    }

    /// The first frame's UTC date, `yyyy-mm-dd`.
    public var originationDate: String {
        let t = Self.brokenDown(startTime, offset: 0)
        return
            "\(Self.digits(Int(t.tm_year) + 1900, 4))-\(Self.digits(Int(t.tm_mon) + 1, 2))-\(Self.digits(Int(t.tm_mday), 2))"
    }

    /// The first frame's UTC time of day, `hh:mm:ss` (rounded down to the second).
    public var originationTime: String {
        let t = Self.brokenDown(startTime, offset: 0)
        return "\(Self.digits(Int(t.tm_hour), 2)):\(Self.digits(Int(t.tm_min), 2)):\(Self.digits(Int(t.tm_sec), 2))"
    }

    /// The first frame's time in ISO 8601 with microseconds and the UTC offset,
    /// e.g. `2026-12-01T20:00:06.123456+00:00`.
    public var timestamp: String {
        let shifted = startTime + Double(utcOffsetSeconds)
        var whole = shifted.rounded(.down)
        var micros = Int(((shifted - whole) * 1_000_000).rounded())
        if micros >= 1_000_000 {
            whole += 1
            micros -= 1_000_000
        }
        let t = Self.brokenDown(whole, offset: 0)
        let offset = abs(utcOffsetSeconds) / 60
        return "\(Self.digits(Int(t.tm_year) + 1900, 4))-\(Self.digits(Int(t.tm_mon) + 1, 2))-"
            + "\(Self.digits(Int(t.tm_mday), 2))T\(Self.digits(Int(t.tm_hour), 2)):\(Self.digits(Int(t.tm_min), 2)):"
            + "\(Self.digits(Int(t.tm_sec), 2)).\(Self.digits(micros, 6))"
            + "\(utcOffsetSeconds < 0 ? "-" : "+")\(Self.digits(offset / 60, 2)):\(Self.digits(offset % 60, 2))"
    }

    /// One line naming the station and the recording, e.g. `audiocap station garden, recording birds (source main)`.
    public var summary: String {
        "audiocap station \(stationID), recording \(recording) (source \(source))"
    }

    /// A 32-character reference unique to this file: the first frame's UTC time (`yyyymmddThhmmss`), `-`, and
    /// 16 hex digits of a hash of the station, recording, source, first frame and start time.
    public var reference: String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in "\(stationID)|\(recording)|\(source)|\(firstFrame)|\(startTime)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        let date = originationDate.replacing("-", with: "")
        let time = originationTime.replacing(":", with: "")
        return "\(date)T\(time)-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The encoding as EBU R98 writes it in a `bext` CodingHistory.
    public var codingHistory: String {
        let mode =
            switch format.channels {
            case 1: "mono"
            case 2: "stereo"
            default: "multichannel"
            }
        return "A=PCM,F=\(format.sampleRate),W=\(format.sampleFormat.bitsPerSample),M=\(mode),"
            + "T=audiocap \(AudioCapVersion.string) \(format.sampleFormat.rawValue) \(format.channels) ch\r\n"
    }

    /// `frames` as seconds with six decimals, e.g. `60.000000`: how `Length` is written.
    public static func lengthText(frames: Int64, sampleRate: Int) -> String {
        let micros = UInt64(max(0, frames)) * 1_000_000 / UInt64(max(1, sampleRate))
        return "\(micros / 1_000_000).\(digits(Int(micros % 1_000_000), 6))"
    }

    // MARK: - GUANO

    /// The GUANO fields whose values grow while the file is written: `Length` and the gap counts. A
    /// format that writes its metadata once, before the audio (FLAC's Vorbis comments), leaves them out.
    public static let guanoKeysKnownAtClose: Set<String> = ["Length", "audiocap|Gaps", "audiocap|Gap Frames"]

    /// ``guanoFields`` without ``guanoKeysKnownAtClose``: what is known when the file opens, in order.
    public var guanoFieldsKnownAtOpen: [(key: String, value: String)] {
        guanoFields.filter { !Self.guanoKeysKnownAtClose.contains($0.key) }
    }

    /// The GUANO fields in the order they are written, `GUANO|Version` first; empty and unset station
    /// fields left out. `Note` has its newlines written as `\n`, as GUANO asks.
    public var guanoFields: [(key: String, value: String)] {
        var fields: [(key: String, value: String)] = [
            ("GUANO|Version", "1.0"),
            ("Timestamp", timestamp),
            ("Samplerate", String(format.sampleRate)),
            ("Length", Self.lengthText(frames: frames, sampleRate: format.sampleRate)),
        ]
        if !station.make.isEmpty { fields.append(("Make", station.make)) }
        if !station.model.isEmpty { fields.append(("Model", station.model)) }
        if !station.serial.isEmpty { fields.append(("Serial", station.serial)) }
        if let latitude = station.latitude, let longitude = station.longitude {
            fields.append(("Loc Position", "\(latitude) \(longitude)"))
        }
        if let elevation = station.elevation { fields.append(("Loc Elevation", "\(elevation)")) }
        fields.append(("Original Filename", filename))
        if !station.note.isEmpty { fields.append(("Note", station.note.replacing("\n", with: "\\n"))) }
        fields += [
            ("audiocap|Version", AudioCapVersion.string),
            ("audiocap|Station", stationID),
            ("audiocap|Recording", recording),
            ("audiocap|Source", source),
            ("audiocap|First Frame", String(firstFrame)),
            ("audiocap|Gaps", String(gaps)),
            ("audiocap|Gap Frames", String(gapFrames)),
        ]
        return fields
    }

    // MARK: - Private

    private static func brokenDown(_ time: Double, offset: Int) -> tm {
        var seconds = time_t(time.isFinite ? min(max(time.rounded(.down), -1e15), 1e15) : 0) + time_t(offset)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return parts
    }

    private static func localUTCOffset(at time: Double) -> Int {
        var seconds = time_t(time.isFinite ? min(max(time.rounded(.down), -1e15), 1e15) : 0)
        var parts = tm()
        localtime_r(&seconds, &parts)
        return Int(parts.tm_gmtoff)
    }

    static func digits(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
