// Measures LevelMeter alone on stereo s16 chunks, the way LevelMonitor and SegmentWriter call it.
import CaptureCore
import CaptureProtocol

enum LevelsBenchmark {
    struct Result: Codable {
        var signal: String
        var chunkMilliseconds: Int
        var runs: Int
        /// Audio measured in each run.
        var audioSeconds: Double
        /// Per channel sample, best run by thread CPU time.
        var nanosecondsPerSample: Double
        var samplesPerSecond: Double
        var bytesPerSecond: Double
        /// Audio seconds per thread CPU second (best run).
        var realTime: Double
        /// Audio seconds per wall second (best run by wall time).
        var realTimeWall: Double
        var allocationsPerChunk: Double
        /// What the meter read over a whole run, as a check that it measured something.
        var peakDBFS: [Double]
        var rmsDBFS: [Double]
    }

    /// Measures `passes` passes over `samples` (interleaved stereo) cut into chunks of `chunkMilliseconds`, `runs`
    /// times; each chunk is measured into a snapshot that is then added to a running total.
    static func run(
        signal: TestSignal, samples: [Int16], chunkMilliseconds: Int, passes: Int = 128, runs: Int = 7
    ) -> Result {
        let format = AudioFormat(sampleRate: TestSignal.sampleRate, channels: TestSignal.channels, sampleFormat: .s16)
        let chunkFrames = max(1, format.sampleRate * chunkMilliseconds / 1000)
        let chunkBytes = chunkFrames * format.bytesPerFrame
        let meter = LevelMeter(format: format)
        var chunk = LevelSnapshot(channels: format.channels)
        var total = LevelSnapshot(channels: format.channels)
        var bestCPU = Double.infinity
        var bestWall = Double.infinity
        var measuredFrames: Int64 = 0
        var chunks = 0
        var allocations: UInt64 = 0
        samples.withUnsafeBytes { bytes in
            for _ in 0..<runs {
                total.reset()
                chunks = 0
                let allocationsBefore = AllocationCounter.thread
                let wallStart = Clocks.wall()
                let cpuStart = Clocks.threadCPU()
                for _ in 0..<passes {
                    var offset = 0
                    while offset < bytes.count {
                        let end = min(bytes.count, offset + chunkBytes)
                        meter.measure(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]), into: &chunk)
                        total.accumulate(chunk)
                        chunks += 1
                        offset = end
                    }
                }
                let cpu = Clocks.threadCPU() - cpuStart
                let wall = Clocks.wall() - wallStart
                allocations = AllocationCounter.thread - allocationsBefore
                bestCPU = min(bestCPU, cpu)
                bestWall = min(bestWall, wall)
                measuredFrames = total.frames
            }
        }
        let audioSeconds = format.seconds(frames: measuredFrames)
        let samplesMeasured = Double(measuredFrames) * Double(format.channels)
        return Result(
            signal: signal.rawValue, chunkMilliseconds: chunkMilliseconds, runs: runs, audioSeconds: audioSeconds,
            nanosecondsPerSample: bestCPU * 1e9 / samplesMeasured, samplesPerSecond: samplesMeasured / bestCPU,
            bytesPerSecond: Double(measuredFrames) * Double(format.bytesPerFrame) / bestCPU,
            realTime: audioSeconds / bestCPU, realTimeWall: audioSeconds / bestWall,
            allocationsPerChunk: Double(allocations) / Double(max(chunks, 1)),
            peakDBFS: total.map { WireFormat.dbfs($0.peakDBFS) },
            rmsDBFS: total.map { WireFormat.dbfs($0.rmsDBFS) })
    }
}
