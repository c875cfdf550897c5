// Per-channel sums over a sliding window of recent audio, kept in a ring of buckets.

/// Per-channel totals of some figure (a sum of samples, a count of clipped samples) over the last
/// `bucketCount` buckets of audio, each bucket holding whole chunks and at least `bucketFrames` frames.
///
/// Chunks go in with `add`; a bucket closes with the chunk that brings it to `bucketFrames` frames, and
/// the window is then the newest `bucketCount` closed buckets: at least `bucketCount × bucketFrames`
/// frames, more when chunks do not divide a bucket. Storage is allocated in `init`; `add` and the
/// readings allocate nothing.
struct WindowedSums: Sendable {
    let channels: Int
    let bucketCount: Int
    let bucketFrames: Int64

    /// Closed buckets, `channels` figures each, bucket `b` at `b * channels`.
    private var values: [Double]
    private var frames: [Int64]
    private var firstFrames: [Int64]
    /// The bucket being filled.
    private var open: [Double]
    private var openFrames: Int64 = 0
    private var openFirstFrame: Int64 = 0
    /// Where the next closed bucket goes, and how many closed buckets there are (at most `bucketCount`).
    private var next = 0
    private(set) var closed = 0

    /// A window of `bucketCount` (≥ 1) buckets of at least `bucketFrames` (≥ 1) frames, for `channels` (≥ 1).
    init(channels: Int, bucketCount: Int, bucketFrames: Int64) {
        precondition(
            channels >= 1 && bucketCount >= 1 && bucketFrames >= 1, "a window needs channels, buckets and frames")
        self.channels = channels
        self.bucketCount = bucketCount
        self.bucketFrames = bucketFrames
        values = Array(repeating: 0, count: channels * bucketCount)
        frames = Array(repeating: 0, count: bucketCount)
        firstFrames = Array(repeating: 0, count: bucketCount)
        open = Array(repeating: 0, count: channels)
    }

    /// A window of about `seconds` of audio at `sampleRate`, in ten buckets.
    init(channels: Int, seconds: Double, sampleRate: Int) {
        let windowFrames = max(1, (seconds * Double(sampleRate)).rounded(.up))
        self.init(channels: channels, bucketCount: 10, bucketFrames: Int64(max(1, (windowFrames / 10).rounded(.up))))
    }

    /// Whether the window holds `bucketCount` closed buckets.
    var isFull: Bool { closed == bucketCount }

    /// Adds a chunk of `chunkFrames` frames starting at `atFrame`, whose figure for channel `c` is
    /// `figure(c)`. Returns true when this chunk closed a bucket (the window moved).
    mutating func add(frames chunkFrames: Int64, atFrame: Int64, figure: (Int) -> Double) -> Bool {
        if openFrames == 0 { openFirstFrame = atFrame }
        for channel in 0..<channels { open[channel] += figure(channel) }
        openFrames += chunkFrames
        guard openFrames >= bucketFrames else { return false }
        let base = next * channels
        for channel in 0..<channels {
            values[base + channel] = open[channel]
            open[channel] = 0
        }
        frames[next] = openFrames
        firstFrames[next] = openFirstFrame
        openFrames = 0
        next = (next + 1) % bucketCount
        closed = min(closed + 1, bucketCount)
        return true
    }

    /// Frames in the closed buckets.
    var windowFrames: Int64 {
        var total: Int64 = 0
        for bucket in 0..<closed { total += frames[bucket] }
        return total
    }

    /// The first frame of the oldest closed bucket (0 before any bucket closed).
    var windowFirstFrame: Int64 {
        guard closed > 0 else { return 0 }
        return firstFrames[closed == bucketCount ? next : 0]
    }

    /// The total of channel `channel`'s figure over the closed buckets.
    func total(channel: Int) -> Double {
        var total = 0.0
        for bucket in 0..<closed { total += values[bucket * channels + channel] }
        return total
    }
}
