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
        // Reported as the detectors see them (the alarm hold and clear times are tested below).
        levels.alarmHoldSeconds = 0
        levels.alarmClearSeconds = 0
        let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let monitor = LevelMonitor(
            format: format, configuration: levels, events: events,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let pool = ChunkPool(chunkBytes: 4800 * 4, initialCount: 1)
        let pattern = TestPattern.data(channels: 2, frames: 4800)
        // 1 s of the pattern, 6 s of exact zeros, 1 s of the pattern.
        for i in 0..<80 {
            let chunk = pool.acquire()!
            let zero = (10..<70).contains(i)
            pattern.withUnsafeBytes { bytes in
                if zero {
                    chunk.bytes.initializeMemory(as: UInt8.self, repeating: 0, count: 4800 * 4)
                } else {
                    chunk.bytes.copyMemory(from: bytes.baseAddress!, byteCount: 4800 * 4)
                }
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

@Suite struct LevelMonitorSoundHealthTests {
    /// Feeds chunks `range` of 100 ms stereo s16 at 48 kHz: a 1 kHz sine at -10 dBFS on both channels,
    /// with channel 2 stuck at 0.25 (8192) in chunks 10..<70 and 10 rail samples per chunk on channel 1 in
    /// chunks 0..<100.
    private func feed(_ monitor: LevelMonitor, _ range: Range<Int>, pool: ChunkPool) {
        for i in range {
            let chunk = pool.acquire()!
            let samples = chunk.bytes.bindMemory(to: Int16.self, capacity: 9600)
            for f in 0..<4800 {
                let frame = i * 4800 + f
                let tone = Int16((9830 * sin(2 * Double.pi * Double(frame % 48) / 48)).rounded())
                var left = tone
                if i < 100 && f < 10 { left = f % 2 == 0 ? .max : .min }
                samples[2 * f] = Int16(littleEndian: left)
                samples[2 * f + 1] = Int16(littleEndian: (10..<70).contains(i) ? 8192 : tone)
            }
            chunk.byteCount = 4800 * 4
            chunk.frameCount = 4800
            chunk.firstFrame = Int64(i * 4800)
            monitor.consume(chunk)
            chunk.release()
        }
    }

    @Test func flatlineDCOffsetAndClippingRateAreEventsAndFlags() {
        let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16)
        var levels = LevelsConfiguration()
        levels.logIntervalSeconds = 0
        levels.alarmHoldSeconds = 0
        levels.alarmClearSeconds = 0
        let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let events = EventLog(logger: quiet)
        let monitor = LevelMonitor(format: format, configuration: levels, events: events, logger: quiet)
        let pool = ChunkPool(chunkBytes: 4800 * 4, initialCount: 1)

        feed(monitor, 0..<65, pool: pool)
        var health = monitor.current?.health ?? []
        #expect(health.count == 2)
        #expect(health.first?.flatlineSince == nil)
        #expect(health.last?.flatlineSince == 48_000)
        #expect(health.last?.dcOffsetSince == 0)
        #expect(health.first?.clippingSince == nil)

        feed(monitor, 65..<100, pool: pool)
        health = monitor.current?.health ?? []
        #expect(health.first?.clippingSince == 0)
        #expect(health.first?.clippingRate == 1000.0 / 480_000)
        #expect(health.last?.flatlineSince == nil)
        #expect(health.last?.dcOffsetSince == 0)

        feed(monitor, 100..<180, pool: pool)
        health = monitor.current?.health ?? []
        #expect(health.allSatisfy { channel in SoundProblem.allCases.allSatisfy { !channel.isActive($0) } })

        let recent = events.recent
        #expect(
            recent.map(\.kind) == [
                "levels.dc_offset", "levels.flatline", "levels.flatline_ended", "levels.clipping_rate",
                "levels.dc_offset_ended", "levels.clipping_rate_ended",
            ])
        guard recent.count == 6 else { return }
        #expect(recent.map(\.level) == [.warning, .warning, .notice, .warning, .notice, .notice])
        #expect(
            recent[0].fields == [
                "dc_offset.channel": .int(2), "dc_offset.first_frame": .int(0), "dc_offset.seconds": .double(5),
                "dc_offset.value": .double(0.2), "dc_offset.dbfs": .double(-13.98),
                "dc_offset.threshold_dbfs": .double(-30),
            ])
        #expect(
            recent[1].fields == [
                "flatline.channel": .int(2), "flatline.first_frame": .int(48_000), "flatline.seconds": .double(5),
                "flatline.value": .double(0.25), "flatline.threshold_seconds": .double(5),
            ])
        #expect(
            recent[2].fields == [
                "flatline.channel": .int(2), "flatline.end_frame": .int(336_000), "flatline.seconds": .double(6),
                "flatline.value": .double(0.25), "flatline.threshold_seconds": .double(5),
            ])
        #expect(
            recent[3].fields == [
                "clipping.channel": .int(1), "clipping.first_frame": .int(0), "clipping.seconds": .double(10),
                "clipping.rate": .double(1000.0 / 480_000), "clipping.threshold_rate": .double(0.001),
            ])
        // The window (chunks 70..<120) has no stuck chunk left at chunk 119; at 114 it still had 5 (0.025).
        #expect(recent[4].fields["dc_offset.end_frame"] == .int(119 * 4800))
        #expect(recent[4].fields["dc_offset.value"] == .double(0))
        // 200 rail samples in the window of chunks 80..<180: below half of 0.1 %.
        #expect(recent[5].fields["clipping.end_frame"] == .int(179 * 4800))
        #expect(recent[5].fields["clipping.rate"] == .double(200.0 / 480_000))
        #expect(recent[5].fields["clipping.seconds"] == .double(17.9))
    }
}

@Suite struct LevelMonitorAlarmTests {
    /// Feeds `seconds` of 100 ms stereo s16 chunks at 8 kHz (cheap enough for ten minutes in a debug build):
    /// a 1 kHz sine at -10 dBFS on both channels in even seconds, exact zeros in odd ones.
    private func feedFlapping(_ monitor: LevelMonitor, seconds: Int) {
        let pool = ChunkPool(chunkBytes: 800 * 4, initialCount: 1)
        // 100 whole cycles: the chunk's mean is 0, so no DC offset.
        let tone: [Int16] = (0..<1600).map { index in
            Int16(littleEndian: Int16((9830 * sin(2 * Double.pi * Double((index / 2) % 8) / 8)).rounded()))
        }
        for i in 0..<(seconds * 10) {
            let chunk = pool.acquire()!
            if (i / 10) % 2 == 1 {
                chunk.bytes.initializeMemory(as: UInt8.self, repeating: 0, count: 800 * 4)
            } else {
                tone.withUnsafeBytes { chunk.bytes.copyMemory(from: $0.baseAddress!, byteCount: 800 * 4) }
            }
            chunk.byteCount = 800 * 4
            chunk.frameCount = 800
            chunk.firstFrame = Int64(i * 800)
            monitor.consume(chunk)
            chunk.release()
        }
    }

    private func monitor(hold: Double?, clear: Double?) -> (LevelMonitor, EventLog) {
        let format = AudioFormat(sampleRate: 8000, channels: 2, sampleFormat: .s16)
        var levels = LevelsConfiguration()
        levels.logIntervalSeconds = 0
        levels.silenceSeconds = 0.5
        if let hold { levels.alarmHoldSeconds = hold }
        if let clear { levels.alarmClearSeconds = clear }
        let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let events = EventLog(logger: quiet)
        return (LevelMonitor(format: format, configuration: levels, events: events, logger: quiet), events)
    }

    @Test func silenceCrossingEverySecondForTenMinutesMakesNoAlarmWithTheDefaultHold() {
        let (monitor, events) = monitor(hold: nil, clear: nil)
        feedFlapping(monitor, seconds: 600)
        #expect(events.recent.isEmpty, "\(events.recent.map(\.kind))")
    }

    @Test func silenceCrossingEverySecondForTenMinutesWithoutHoldIsCountedNotRepeated() {
        let (monitor, events) = monitor(hold: 0, clear: 0)
        feedFlapping(monitor, seconds: 620)
        let kinds = events.recent.map(\.kind)
        #expect(kinds.count <= 8, "\(kinds)")
        #expect(
            Array(kinds.prefix(6)) == [
                "silence.began", "silence.ended", "silence.began", "silence.ended", "silence.began", "silence.ended",
            ])
        let summary = events.recent.first { $0.kind == "silence.repeated" }
        #expect(summary?.message.contains("repeated ") == true)
        #expect(summary?.message.contains(" times in the last 10 min") == true, "\(summary?.message ?? "")")
        #expect(summary?.fields["silence.window_seconds"] == .double(600))
    }
}
