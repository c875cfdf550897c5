// End to end: sound-health problems from ffmpeg's generator reach the events, status and the CLI.
import CaptureProtocol
import Foundation
import TestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized) struct SoundHealthEndToEndTests {

        /// A number field as a Double (JSON gives 5.0 back as the integer 5).
        func number(_ value: EventResponse.Value?) -> Double? {
            switch value {
            case .int(let i): Double(i)
            case .double(let d): d
            default: nil
            }
        }

        @Test func stuckAndClippingChannelsAreEventsStatusFlagsAndAHealthLine() throws {
            try DaemonFixture.with { dir in
                // 12 s unpaced: channel 1 stuck at 0.25 (a flatline and a DC offset of -12 dBFS), channel 2 a
                // sine at 1.2 × full scale (clipped by the conversion to s16). ffmpeg then exits and is not
                // started again for a minute, so the last reading stays.
                try dir.writeConfig(
                    """
                    [source]
                    input_format = "lavfi"
                    device = "aevalsrc=exprs=0.25|1.2*sin(2*PI*1000*t):s=48000:c=stereo:d=12"
                    restart_delay_seconds = 60
                    [levels]
                    log_interval_seconds = 0
                    [control]
                    socket = "\(dir.socket)"
                    [storage]
                    root = "\(dir.path)/ondemand"
                    state = "\(dir.path)/state"
                    """)
                let daemon = try dir.launch()
                #expect(daemon.waitForLog("ffmpeg exited on its own"), "\(daemon.log)")
                #expect(daemon.waitForLog("event=levels.clipping_rate"), "\(daemon.log)")

                let logs = try dir.cli(["logs", "--json"])
                #expect(logs.status == 0)
                let events = try logs.out.split(separator: "\n").map {
                    try ControlAPI.decoder().decode(EventResponse.self, from: Data($0.utf8))
                }
                let health = events.filter { $0.kind.hasPrefix("levels.") }
                #expect(Set(health.map(\.kind)) == ["levels.flatline", "levels.dc_offset", "levels.clipping_rate"])
                let flatline = health.first { $0.kind == "levels.flatline" }
                #expect(flatline?.fields["flatline.channel"] == .int(1))
                #expect(flatline?.fields["flatline.first_frame"] == .int(0))
                #expect(number(flatline?.fields["flatline.value"]) == 0.25)
                #expect(number(flatline?.fields["flatline.seconds"]) == 5)
                let dc = health.first { $0.kind == "levels.dc_offset" }
                #expect(dc?.fields["dc_offset.channel"] == .int(1))
                #expect(number(dc?.fields["dc_offset.dbfs"]) == -12.04)
                #expect(number(dc?.fields["dc_offset.threshold_dbfs"]) == -30)
                let clipping = health.first { $0.kind == "levels.clipping_rate" }
                #expect(clipping?.fields["clipping.channel"] == .int(2))
                #expect((number(clipping?.fields["clipping.rate"]) ?? 0) > 0.1)

                let status = try dir.cli(["status", "--json"])
                #expect(status.status == 0)
                let levels = try ControlAPI.decoder().decode(StatusResponse.self, from: Data(status.out.utf8)).levels
                #expect(levels?.channels.map(\.flatline) == [true, false])
                #expect(levels?.channels.map(\.dcOffset) == [true, false])
                #expect(levels?.channels.map(\.clipping) == [false, true])
                #expect(
                    levels?.problems.map { "\($0.kind) \($0.channel)" } == ["flatline 1", "dc_offset 1", "clipping 2"])
                #expect(abs((levels?.channels.first?.dcOffsetDBFS ?? 0) - -12.04) < 0.01)

                let text = try dir.cli(["levels"])
                #expect(
                    text.out.contains(
                        "health: flatline (stuck samples) on ch 1; DC offset on ch 1; frequent clipping on ch 2"),
                    "\(text.out)")
            }
        }

        @Test func threeMinutesOfTheTestPatternMakeAtMostAFewAlarms() throws {
            try DaemonFixture.with { dir in
                // The test mic's default pattern (channel 2 a ramp whose 5 s mean wanders around the DC-offset
                // threshold) made hundreds of begin/end pairs. Three minutes of it, read from a file at ten times
                // real time (the test mic itself is paced, 1×), must now make at most a few alarm events.
                let raw = dir.file("pattern.raw")
                try TestPattern.data(channels: 2, frames: 180 * TestPattern.sampleRate).write(
                    to: URL(fileURLWithPath: raw))
                try dir.writeConfig(
                    """
                    [source]
                    input_format = "s16le"
                    input_options = ["-readrate", "10", "-ar", "48000", "-ac", "2"]
                    device = "\(raw)"
                    restart_delay_seconds = 60
                    [levels]
                    log_interval_seconds = 0
                    [control]
                    socket = "\(dir.socket)"
                    [storage]
                    root = "\(dir.path)/ondemand"
                    state = "\(dir.path)/state"
                    """)
                let daemon = try dir.launch()
                #expect(daemon.waitForLog("ffmpeg exited on its own", timeout: 45), "\(daemon.log)")

                let logs = try dir.cli(["logs", "--json"])
                #expect(logs.status == 0)
                let events = try logs.out.split(separator: "\n").map {
                    try ControlAPI.decoder().decode(EventResponse.self, from: Data($0.utf8))
                }
                #expect(!events.contains { $0.kind == "levels.dropped" }, "the level monitor must see every chunk")
                let alarms = events.filter {
                    ($0.kind.hasPrefix("levels.") || $0.kind.hasPrefix("silence.")) && $0.kind != "levels.dropped"
                }
                #expect(alarms.count <= 3, "\(alarms.map(\.kind))")
            }
        }
    }
}
