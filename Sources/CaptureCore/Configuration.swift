// The daemon's configuration model, with the documented defaults. Loading and validation: ConfigurationLoader.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Everything `audiocapd` reads from its TOML file. Defaults here are the documented defaults
/// (see `config/audiocap.toml`).
public struct Configuration: Sendable, Equatable {
    /// The captures, in the order of the file: one `[source]` table (named `main`) or several
    /// `[[source]]` tables. Never empty.
    public var sources = [SourceConfiguration()]
    public var queue = QueueConfiguration()
    public var levels = LevelsConfiguration()
    public var recordings: [RecordingConfiguration] = []
    public var log = LogConfiguration()
    public var control = ControlConfiguration()
    public var storage = StorageConfiguration()
    public var metrics = MetricsConfiguration()
    public var station = StationConfiguration()
    /// `[[destination]]`: where closed files are uploaded (docs/fleet.md).
    public var destinations: [DestinationConfiguration] = []
    /// `[[webhook]]`: where events are POSTed.
    public var webhooks: [WebhookConfiguration] = []
    /// `[[trigger]]`: clips written around sounds over a level.
    public var triggers: [TriggerConfiguration] = []

    public init() {}

    /// The first source: the only one of a configuration with a single `[source]` table.
    public var source: SourceConfiguration {
        get { sources[0] }
        set { sources[0] = newValue }
    }

    /// The source named `name`; the first one for `""` (a recording that names none, with one source).
    public func source(named name: String) -> SourceConfiguration? {
        name.isEmpty ? sources.first : sources.first { $0.name == name }
    }

    /// `[queue]` as it applies to `source`: its own `[source.queue]` when it has one.
    public func queue(for source: SourceConfiguration) -> QueueConfiguration { source.queue ?? queue }

    /// `[levels]` as it applies to `source`: its own `[source.levels]` when it has one.
    public func levels(for source: SourceConfiguration) -> LevelsConfiguration { source.levels ?? levels }

    /// Chunks in each consumer's queue of `source`: `[queue] seconds` of its chunks, at least 2.
    public func queueChunks(for source: SourceConfiguration) -> Int {
        Self.queueChunks(seconds: queue(for: source).seconds, chunkMilliseconds: source.chunkMilliseconds)
    }

    /// Chunks in a queue of `seconds` of `chunkMilliseconds` chunks, at least 2.
    public static func queueChunks(seconds: Double, chunkMilliseconds: Int) -> Int {
        let chunks = (seconds * 1000 / Double(max(1, chunkMilliseconds))).rounded(.up)
        return chunks >= 1_000_000 ? 1_000_000 : max(2, Int(chunks))
    }

    /// The sources with their `[queue]` and `[levels]` resolved: what each capture runs with, and what a
    /// reload compares to decide which captures to restart.
    public var effectiveSources: [SourceConfiguration] {
        sources.map { source in
            var source = source
            source.queue = queue(for: source)
            source.levels = levels(for: source)
            return source
        }
    }

    /// Most memory the chunk queues may take, in bytes: every consumer of every source (its level
    /// monitor, each configured recording it feeds, and `max_recordings` on-demand ones on any source)
    /// holding a full queue plus the chunk it is working on. Computed in floating point, so absurd values
    /// give a large number rather than a trap.
    public var worstCaseQueueBytes: Double {
        var bytes = 0.0
        var largestRecordingBytes = 0.0
        for source in sources {
            let chunkBytes = Double(source.chunkFrames) * Double(source.audioFormat.bytesPerFrame)
            let queueChunks = max(
                2, (queue(for: source).seconds * 1000 / Double(max(1, source.chunkMilliseconds))).rounded(.up))
            let perConsumer = (queueChunks + 1) * chunkBytes
            let fed = recordings.filter { $0.source == source.name || ($0.source.isEmpty && source == sources[0]) }
            bytes += perConsumer * Double(1 + fed.count) + 2 * chunkBytes
            largestRecordingBytes = max(largestRecordingBytes, perConsumer)
        }
        return bytes + largestRecordingBytes * Double(max(0, control.maxRecordings))
    }

    /// The most ``worstCaseQueueBytes`` may be (1 GiB).
    public static let maximumQueueBytes: Double = 1_073_741_824
}

/// `[metrics]`: an optional Prometheus endpoint.
public struct MetricsConfiguration: Sendable, Equatable {
    /// `HOST:PORT` to serve `/metrics` on, e.g. `127.0.0.1:9750`; empty (the default) turns it off.
    public var listen = ""
    public init() {}

    /// The host and port of `listen`, or nil when it is empty or malformed.
    public var address: (host: String, port: Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (1...65_535).contains(port)
        else { return nil }
        let host = String(listen[..<colon])
        return host.isEmpty ? nil : (host, port)
    }
}

/// `[station]`: who recorded and where; written into every file's `bext` and GUANO metadata
/// (docs/metadata.md). Empty strings and unset numbers are left out of the files.
public struct StationConfiguration: Sendable, Equatable {
    /// The station's name in the files; empty (the default): the machine's host name.
    public var id = ""
    /// WGS84 latitude in degrees, -90 to 90; set together with `longitude`.
    public var latitude: Double?
    /// WGS84 longitude in degrees, -180 to 180; set together with `latitude`.
    public var longitude: Double?
    /// Metres above mean sea level.
    public var elevation: Double?
    /// Manufacturer of the recording hardware (GUANO `Make`).
    public var make = ""
    /// Model of the recording hardware (GUANO `Model`).
    public var model = ""
    /// Serial number of the recording hardware (GUANO `Serial`).
    public var serial = ""
    /// Free text for every file (GUANO `Note`); may hold newlines.
    public var note = ""

    /// Longest `make`, `model` and `serial`, in bytes (UTF-8).
    public static let maximumFieldBytes = 64
    /// Longest `note`, in bytes (UTF-8).
    public static let maximumNoteBytes = 256
    /// The range `elevation` may take, in metres.
    public static let elevationRange = -12_000.0...10_000.0

    public init() {}
}

/// `[control]`: the control socket that `audiocap` and scripts talk to.
public struct ControlConfiguration: Sendable, Equatable {
    /// Unix domain socket path (its folder is created if needed). Empty turns the control API off.
    public var socket = "/run/audiocap/control.sock"
    /// Group that may use the socket (mode 0660); when the group does not exist the daemon's own group is kept.
    public var group = "audiocap"
    /// Most on-demand recordings running at once (each is a thread, an open file and a sync a second);
    /// 0 turns on-demand recordings off.
    public var maxRecordings = 16
    /// The range `max_recordings` may take.
    public static let maxRecordingsRange = 0...1024
    public init() {}
}

/// `[storage]`: where on-demand recordings and the daemon's state go.
public struct StorageConfiguration: Sendable, Equatable {
    /// On-demand recordings go to `root/NAME` by default, and any directory asked for through the API
    /// must lie under it.
    public var root = "/var/lib/audiocap/recordings"
    /// The event log (`events.jsonl`, rotated by size) lives here.
    public var state = "/var/lib/audiocap"
    /// Free space (bytes) each recording's file system keeps: below it the oldest closed files of recordings
    /// with `delete_oldest_when_low` are deleted, and when that is not enough recording pauses. 0: no floor.
    public var minFreeBytes: Int64 = 0
    /// A warning is raised when the recordings' file system would reach `min_free_bytes` within this many
    /// hours at the current rate. 0 turns the warning off.
    public var lowSpaceWarningHours = 24.0
    public init() {}
}

/// `[source]` or one `[[source]]`: what one ffmpeg captures and how it is cut into chunks.
public struct SourceConfiguration: Sendable, Equatable {
    /// `[A-Za-z0-9._-]{1,64}`; a single `[source]` table is `main`.
    public var name = SourceConfiguration.defaultName
    public static let defaultName = "main"
    /// ffmpeg executable: a name looked up in PATH, or a path.
    public var ffmpeg = "ffmpeg"
    /// ffmpeg input format (`-f` before `-i`): `alsa`, or `lavfi` for a generated signal.
    public var inputFormat = "alsa"
    /// Input device or URL (`-i`).
    public var device = "default"
    /// Extra ffmpeg options placed before `-i` (for example `["-re"]`).
    public var inputOptions: [String] = []
    /// Extra ffmpeg output options placed before `-f FORMAT pipe:1`, e.g. `["-flush_packets", "0"]`.
    public var outputOptions: [String] = []
    public var sampleRate = 48_000
    public var channels = 2
    public var sampleFormat = SampleFormat.s16
    /// Length of one chunk read off ffmpeg's pipe, in milliseconds.
    public var chunkMilliseconds = 100
    /// First pause before ffmpeg is started again after it exits on its own, in seconds; it doubles at
    /// each failed start up to 30 s and resets after 30 s of audio.
    public var restartDelaySeconds = 0.5
    /// Seconds without any audio from a running ffmpeg after which it is killed and started again.
    public var stallSeconds = 5.0
    /// What goes into a file where audio is missing (ffmpeg restarted, an xrun, a queue overflow).
    public var gapFill = GapFill.none
    /// Seconds of the newest audio kept in memory (as the pool's chunks), so a recording can start in the
    /// past (`audiocap start --from -30s`, `audiocap clip`); 0 keeps none.
    public var lookBackSeconds = 30.0
    public static let lookBackRange = 0.0...3600.0

    /// The default `look_back_seconds`: 30, or less for a format so fast that 30 s would take more than
    /// 256 MiB (whole seconds, at least 1).
    public static func defaultLookBackSeconds(for format: AudioFormat) -> Double {
        let fits = (256 * 1_048_576 / Double(max(1, format.bytesPerSecond))).rounded(.down)
        return max(1, min(30, fits))
    }
    /// This source's own `[queue]` and `[levels]` (`[source.queue]`, `[source.levels]`); nil: the
    /// top-level tables apply.
    public var queue: QueueConfiguration? = nil
    public var levels: LevelsConfiguration? = nil

    public init() {}

    public init(name: String) {
        self.name = name
    }

    /// Input formats that name a network stream: ffmpeg picks the protocol from the URL in `device`, so
    /// no `-f` is passed. `url` is any URL ffmpeg can open.
    public static let networkInputFormats = ["rtsp", "http", "https", "srt", "rtmp", "url"]

    /// Whether `device` is a network stream (its credentials are never shown).
    public var isNetwork: Bool {
        Self.networkInputFormats.contains(inputFormat) || device.contains("://")
    }

    public var audioFormat: AudioFormat {
        AudioFormat(sampleRate: sampleRate, channels: channels, sampleFormat: sampleFormat)
    }

    /// Frames in one chunk (at least 1).
    public var chunkFrames: Int { max(1, sampleRate * chunkMilliseconds / 1000) }

    /// Length of one chunk in seconds.
    public var chunkSeconds: Double { Double(chunkFrames) / Double(sampleRate) }

    /// Chunks the look-back buffer holds (0 when it is off).
    public var lookBackChunks: Int {
        lookBackSeconds > 0 ? Int((lookBackSeconds * 1000 / Double(chunkMilliseconds)).rounded(.up)) : 0
    }
}

/// What a segment holds in place of audio that is missing.
public enum GapFill: String, Sendable, Equatable, CaseIterable {
    /// Nothing: the audio on either side is joined; the gap is only recorded in the ledger.
    case none
    /// Silence for the gap's length (up to the end of the segment), so the file's timeline stays true to
    /// the wall clock. The gap is recorded too.
    case silence
}

/// `[queue]`: how much audio each consumer may fall behind before its chunks are dropped.
public struct QueueConfiguration: Sendable, Equatable {
    public var seconds = 30.0
    public init() {}
}

/// `[levels]`: level logging, the silence detector and the sound-health detectors.
public struct LevelsConfiguration: Sendable, Equatable {
    public var logIntervalSeconds = 60.0
    public var silenceDBFS = -60.0
    public var silenceSeconds = 30.0
    /// A channel stuck at one non-zero sample value this long, in seconds, is a flatline.
    public var flatlineSeconds = 5.0
    /// A channel whose mean sample over `dcOffsetSeconds` reaches this, in dBFS, has a DC offset.
    public var dcOffsetDBFS = -30.0
    public var dcOffsetSeconds = 5.0
    /// A channel with more than this share of its samples clipped over `clippingSeconds` clips too often.
    public var clippingRate = 0.001
    public var clippingSeconds = 10.0
    /// A sound-health alarm (silence, digital zero, flatline, DC offset, clipping rate) begins only once
    /// its condition has lasted this long, in seconds (counted from where the condition started).
    public var alarmHoldSeconds = 10.0
    /// An alarm in progress ends only once its condition has been clear this long, in seconds.
    public var alarmClearSeconds = 30.0
    /// An alarm that begins this many times within ``alarmFlapWindowSeconds`` is then reported once per
    /// window, with a count, instead of by each begin and end.
    public static let alarmFlapLimit = 3
    public static let alarmFlapWindowSeconds = 600.0
    public init() {}
}

/// Where segment boundaries fall.
public enum SegmentAlignment: String, Sendable, Equatable, CaseIterable {
    /// Boundaries on the wall clock (UTC): with 60 s segments files start at :00 of each minute.
    case clock
    /// Every `segment_seconds × rate` frames exactly; boundaries drift with the sound card's clock.
    case samples
}

/// Time zone used to expand a filename template.
public enum FilenameTimeZone: String, Sendable, Equatable, CaseIterable {
    case utc
    case local
}

/// The file format of a recording's segments.
public enum RecordingFormat: String, Sendable, Equatable, CaseIterable, Codable {
    /// WAV (RF64 past 4 GiB): the samples as captured.
    case wav
    /// FLAC (libFLAC): lossless, about half the size; integer samples only (s16, s24, s32).
    case flac

    /// The extension of the files, without the dot.
    public var fileExtension: String { rawValue }
}

/// `[[recording]]`: one continuous segmented recording fed by the capture.
public struct RecordingConfiguration: Sendable, Equatable {
    /// `[A-Za-z0-9._-]{1,64}`, not `.` or `..`.
    public var name: String
    /// Folder the files go in (created as needed).
    public var directory: String
    public var segmentSeconds = 60
    public var align = SegmentAlignment.clock
    /// The segments' file format.
    public var format = RecordingFormat.wav
    /// libFLAC's compression level, 0 (fastest) to 8 (smallest), for `format = "flac"`.
    public var flacLevel = 5
    /// strftime template relative to `directory`, with `{name}` and `{seq}`; the format's extension
    /// (`.wav`, `.flac`) is added when missing.
    public var filename = RecordingConfiguration.defaultFilename
    public var timeZone = FilenameTimeZone.utc
    /// Header refresh and fdatasync interval of the open file, in seconds.
    public var syncSeconds = 1.0
    /// Closed files older than this many days are deleted (nil keeps them).
    public var keepDays: Double? = nil
    /// When the closed files take more than this many bytes, the oldest are deleted (nil: no limit).
    public var maxBytes: Int64? = nil
    /// Whether this recording's oldest closed files may be deleted to keep `[storage] min_free_bytes` free.
    public var deleteOldestWhenLow = false
    /// The `[[source]]` this recording takes its audio from; `""`: the first (the only one).
    public var source = ""
    /// Names of the `[[destination]]`s every closed file (and its sidecar) is uploaded to.
    public var upload: [String] = []
    /// What happens to a file once every destination in `upload` holds a verified copy.
    public var afterUpload = AfterUpload.keep
    /// argv template run after each file closes (`{path}`, `{sidecar}`, …); empty: none.
    public var onClose: [String] = []
    /// argv template run after each file's verified upload (adds `{destination}`, `{key}`); empty: none.
    public var onUpload: [String] = []
    /// A hook still running after this many seconds is killed.
    public var hookTimeoutSeconds = 60.0
    /// At most this many of this recording's hooks run at once; more wait their turn.
    public var hookConcurrency = 2
    /// When the recording records: outside its windows no file is open and the time is not a gap. Nil:
    /// always.
    public var schedule: Schedule? = nil

    public static let defaultFilename = "%Y-%m-%d/{name}-%Y%m%dT%H%M%SZ.wav"

    /// The default `filename` for files of `format`.
    public static func defaultFilename(for format: RecordingFormat) -> String {
        "%Y-%m-%d/{name}-%Y%m%dT%H%M%SZ." + format.fileExtension
    }

    public init(name: String, directory: String) {
        self.name = name
        self.directory = directory
    }
}

/// `after_upload`: what becomes of a file once it is delivered.
public enum AfterUpload: String, Sendable, Equatable, CaseIterable {
    /// The file stays; retention deletes it later as usual.
    case keep
    /// The file and its sidecar are deleted once every destination holds a verified copy.
    case delete
}

/// `[[destination]]`: an rclone remote that closed files are uploaded to.
public struct DestinationConfiguration: Sendable, Equatable {
    /// `[A-Za-z0-9._-]{1,64}`: what recordings name in `upload`.
    public var name: String
    /// An rclone remote path (`archive:bucket/stations`) or a local folder.
    public var remote: String
    /// rclone's configuration file.
    public var rcloneConfig = "/etc/audiocap/rclone.conf"
    /// The object key under `remote`: `{station}`, `{recording}`, `{source}`, `{file}` (the file's name),
    /// `{relpath}` (its path under the recording's directory) and strftime fields of the file's start (UTC).
    public var path = DestinationConfiguration.defaultPath
    /// rclone `--bwlimit` (e.g. `"1M"`, `"08:00,512k 20:00,off"`); empty: no limit.
    public var bwlimit = ""
    /// Uploads that run at once for this destination.
    public var transfers = 2
    /// One rclone run (upload or check) is killed after this many seconds.
    public var timeoutSeconds = 600.0
    /// `upload.backlog` warns when the oldest pending file is older than this.
    public var backlogWarningHours = 6.0
    /// The rclone binary.
    public var rclone = "rclone"
    /// After a failure the destination waits 5 s, doubling at each further failure up to this (±20 %).
    public var retryMaxSeconds = 300.0

    public static let defaultPath = "{station}/{recording}/%Y/%m/%d/{file}"

    public init(name: String, remote: String) {
        self.name = name
        self.remote = remote
    }
}

/// `[[webhook]]`: an HTTP(S) endpoint that events are POSTed to, in order, at least once.
public struct WebhookConfiguration: Sendable, Equatable {
    /// Names it in status and events; defaults to `webhook-N` (its position, from 1).
    public var name: String
    public var url: String
    /// Event kinds to send: exact (`segment.closed`), a prefix pattern (`levels.*`) or `*` (all).
    public var events = ["*"]
    /// Key for the `X-Audiocap-Signature: sha256=HEX` header (HMAC-SHA256 of the body); empty: unsigned.
    public var secret = ""
    public var timeoutSeconds = 10.0

    public init(name: String, url: String) {
        self.name = name
        self.url = url
    }

    /// Whether `kind` matches one of `events`.
    public func wants(_ kind: String) -> Bool {
        events.contains { pattern in
            if pattern == "*" { return true }
            if pattern.hasSuffix(".*") { return kind.hasPrefix(pattern.dropLast(1)) }
            return pattern == kind
        }
    }
}

/// Log verbosity, named as swift-log names its levels.
public enum LogLevelName: String, Sendable, Equatable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}

/// `[log]`
public struct LogConfiguration: Sendable, Equatable {
    public var level = LogLevelName.info
    public init() {}
}

extension StationConfiguration {
    /// The station's id as events, object keys and metrics carry it: `id`, or the machine's host name.
    public var resolvedID: String { id.isEmpty ? Self.machineHostName() : id }

    /// The machine's host name, or `localhost` when it cannot be read.
    public static func machineHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }
}
