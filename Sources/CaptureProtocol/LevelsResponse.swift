// GET /v1/levels (and each line of ?follow=1)

/// The newest levels of every channel (over the last chunk, typically 100 ms).
public struct LevelsResponse: Codable, Sendable, Equatable {
    public struct Channel: Codable, Sendable, Equatable {
        /// dBFS; -200 stands for digital silence (JSON has no -infinity).
        public var peakDBFS: Double
        public var rmsDBFS: Double
        /// Samples at full scale in the last chunk, and since the daemon started.
        public var clipped: Int
        public var clippedTotal: Int64

        // "DBFS" would round-trip through snake_case as "Dbfs"; name the keys so the wire says `peak_dbfs`.
        enum CodingKeys: String, CodingKey {
            case peakDBFS = "peakDbfs", rmsDBFS = "rmsDbfs", clipped, clippedTotal
        }

        public init(peakDBFS: Double, rmsDBFS: Double, clipped: Int, clippedTotal: Int64) {
            self.peakDBFS = peakDBFS
            self.rmsDBFS = rmsDBFS
            self.clipped = clipped
            self.clippedTotal = clippedTotal
        }
    }
    /// Wall time of the chunk, seconds since the epoch.
    public var time: Double
    public var frame: Int64
    public var silent: Bool
    public var channels: [Channel]

    public init(time: Double, frame: Int64, silent: Bool, channels: [Channel]) {
        self.time = time
        self.frame = frame
        self.silent = silent
        self.channels = channels
    }
}
