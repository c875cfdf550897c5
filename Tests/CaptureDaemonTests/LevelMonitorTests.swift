import CaptureCore
import Foundation
import Logging
import TestSupport
import Testing
@testable import CaptureDaemon

@Suite struct LevelMonitorTests {
    @Test func silenceAndDigitalZeroBeginAndEndWithTheirPositions() {
        let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16)
        var levels = LevelsConfiguration()
        levels.silenceSeconds = 2
        levels.logIntervalSeconds = 0
        let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let monitor = LevelMonitor(format: format, configuration: levels, events: events, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let pool = ChunkPool(chunkBytes: 4800 * 4, initialCount: 1)
        let pattern = TestPattern.data(channels: 2, frames: 4800)
        // 1 s of the pattern, 6 s of exact zeros, 1 s of the pattern.
        for i in 0..<80 {
            let chunk = pool.acquire()!
            let zero = (10..<70).contains(i)
            pattern.withUnsafeBytes { bytes in
                if zero { chunk.bytes.initializeMemory(as: UInt8.self, repeating: 0, count: 4800 * 4) }
                else { chunk.bytes.copyMemory(from: bytes.baseAddress!, byteCount: 4800 * 4) }
            }
            chunk.byteCount = 4800 * 4
            chunk.frameCount = 4800
            chunk.firstFrame = Int64(i * 4800)
            monitor.consume(chunk)
            chunk.release()
        }
        let kinds = events.recent.map(\.kind)
        #expect(kinds == ["silence.began", "levels.digital_zero", "silence.ended", "levels.digital_zero_ended"])
        #expect(events.recent[0].fields["silence.first_frame"] == .int(48_000))
        #expect(events.recent[1].fields["zero.first_frame"] == .int(48_000))
        #expect(events.recent[3].fields["zero.seconds"] == .double(6))
        #expect(monitor.current?.peakDBFS.first.map { abs($0 - -20) < 0.01 } == true)
    }
}
