// GET /v1/levels (and each line of ?follow=1)

/// The newest levels of every channel (over the last chunk, typically 100 ms), and the sound problems
/// in progress.
public struct LevelsResponse: Codable, Sendable, Equatable {
    public struct Channel: Codable, Sendable, Equatable {
        /// dBFS; -200 stands for digital silence (JSON has no -infinity).
        public var peakDBFS: Double
        public var rmsDBFS: Double
        /// Samples at full scale in the last chunk, and since the daemon started.
        public var clipped: Int
        public var clippedTotal: Int64
        /// Sound problems in progress on this channel: stuck at one non-zero sample value, a DC offset
        /// at or above `dc_offset_dbfs`, more clipped samples than `clipping_rate`. False when the daemon
        /// does not report them (older daemons).
        public var flatline: Bool
        public var dcOffset: Bool
        public var clipping: Bool
        /// |mean sample| over the DC-offset window in dBFS (-200 for none); absent until the window is full.
        public var dcOffsetDBFS: Double?
        /// Share of clipped samples over the clipping window (0.001 is 0.1 %); absent until the window is full.
        public var clippingRate: Double?

        // "DBFS" would round-trip through snake_case as "Dbfs"; name the keys so the wire says `peak_dbfs`.
        enum CodingKeys: String, CodingKey {
            case peakDBFS = "peakDbfs", rmsDBFS = "rmsDbfs", clipped, clippedTotal
            case flatline, dcOffset, clipping, dcOffsetDBFS = "dcOffsetDbfs", clippingRate
        }

        public init(
            peakDBFS: Double, rmsDBFS: Double, clipped: Int, clippedTotal: Int64, flatline: Bool = false,
            dcOffset: Bool = false, clipping: Bool = false, dcOffsetDBFS: Double? = nil, clippingRate: Double? = nil
        ) {
            self.peakDBFS = WireFormat.dbfs(peakDBFS)
            self.rmsDBFS = WireFormat.dbfs(rmsDBFS)
            self.clipped = clipped
            self.clippedTotal = clippedTotal
            self.flatline = flatline
            self.dcOffset = dcOffset
            self.clipping = clipping
            self.dcOffsetDBFS = dcOffsetDBFS.map { WireFormat.dbfs($0) }
            self.clippingRate = clippingRate
        }

        /// Decodes a channel; the sound-health keys may be missing (an older daemon).
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            peakDBFS = try container.decode(Double.self, forKey: .peakDBFS)
            rmsDBFS = try container.decode(Double.self, forKey: .rmsDBFS)
            clipped = try container.decode(Int.self, forKey: .clipped)
            clippedTotal = try container.decode(Int64.self, forKey: .clippedTotal)
            flatline = try container.decodeIfPresent(Bool.self, forKey: .flatline) ?? false
            dcOffset = try container.decodeIfPresent(Bool.self, forKey: .dcOffset) ?? false
            clipping = try container.decodeIfPresent(Bool.self, forKey: .clipping) ?? false
            dcOffsetDBFS = try container.decodeIfPresent(Double.self, forKey: .dcOffsetDBFS)
            clippingRate = try container.decodeIfPresent(Double.self, forKey: .clippingRate)
        }
    }

    /// A sound problem in progress on one channel.
    public struct Problem: Codable, Sendable, Equatable {
        /// `flatline`, `dc_offset` or `clipping`.
        public var kind: String
        /// The channel, from 1 (as `audiocap levels` numbers them).
        public var channel: Int
        /// The frame where the problem began.
        public var sinceFrame: Int64

        public init(kind: String, channel: Int, sinceFrame: Int64) {
            self.kind = kind
            self.channel = channel
            self.sinceFrame = sinceFrame
        }
    }

    /// The source the reading is of; nil only from daemons before several sources.
    public var source: String?
    /// Wall time of the chunk, seconds since the epoch.
    public var time: Double
    /// `time` as RFC 3339 UTC; nil only from daemons before it was added.
    public var timeUTC: String?
    public var frame: Int64
    public var silent: Bool
    public var channels: [Channel]
    /// Every sound problem in progress, by channel then kind; empty when all is well (or the daemon
    /// does not report them).
    public var problems: [Problem]

    public init(
        source: String? = nil, time: Double, frame: Int64, silent: Bool, channels: [Channel], problems: [Problem] = []
    ) {
        self.source = source
        self.time = WireFormat.epoch(time)
        self.timeUTC = WireFormat.utc(time)
        self.frame = frame
        self.silent = silent
        self.channels = channels
        self.problems = problems
    }

    enum CodingKeys: String, CodingKey {
        case source, time, timeUTC = "timeUtc", frame, silent, channels, problems
    }

    /// Decodes a reading; `problems` may be missing (an older daemon).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        source = try container.decodeIfPresent(String.self, forKey: .source)
        time = try container.decode(Double.self, forKey: .time)
        timeUTC = try container.decodeIfPresent(String.self, forKey: .timeUTC)
        frame = try container.decode(Int64.self, forKey: .frame)
        silent = try container.decode(Bool.self, forKey: .silent)
        channels = try container.decode([Channel].self, forKey: .channels)
        problems = try container.decodeIfPresent([Problem].self, forKey: .problems) ?? []
    }
}
