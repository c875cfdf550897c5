// The level meter's lines, peak hold and plain output.

import CaptureProtocol
import Testing

@testable import CaptureCommands

@Suite struct MeterLineTests {
    let meter = MeterLine(width: 12)  // 5 dB per cell

    @Test func barShowsRMSPeakAndHold() {
        // RMS -30 fills 6 cells, peak -20 reaches 8, the hold at -10 sits in cell 10.
        #expect(
            meter.render(label: "1", peak: -20, rms: -30, hold: -10, clip: false)
                == "1 [██████▒▒·|··] -20.0 peak -30.0 rms dBFS")
    }

    @Test func holdAtThePeakReplacesItsLastCell() {
        #expect(
            meter.render(label: "2", peak: -20, rms: -30, hold: -20)
                == "2 [██████▒|····] -20.0 peak -30.0 rms dBFS")
    }

    @Test func silenceIsEmptyAndMinusInfinity() {
        #expect(
            meter.render(label: "1", peak: -200, rms: -200, hold: -200)
                == "1 [············]  -inf peak  -inf rms dBFS")
    }

    @Test func fullScaleFillsTheBarAndClips() {
        #expect(
            meter.render(label: "1", peak: 0, rms: -3, hold: 0, clip: true)
                == "1 [███████████|]   0.0 peak  -3.0 rms dBFS  CLIP")
    }

    @Test func cellsAreClampedToTheScale() {
        #expect(meter.cells(-90) == 0)
        #expect(meter.cells(-60) == 0)
        #expect(meter.cells(-59.9) == 0)
        #expect(meter.cells(-55) == 1)
        #expect(meter.cells(3) == 12)
        #expect(meter.cells(.nan) == 0)
        #expect(meter.cells(-.infinity) == 0)
    }

    @Test func colorsOnlyWhenStyled() {
        let styled = MeterLine(width: 12, style: Style(enabled: true))
        let line = styled.render(label: "1", peak: -3, rms: -10, hold: -3, clip: true)
        #expect(line.contains("\u{1B}[31m"))
        #expect(
            TextFormat.visibleWidth(line)
                == TextFormat.visibleWidth(
                    meter.render(
                        label: "1", peak: -3, rms: -10, hold: -3, clip: true)))
        #expect(!meter.render(label: "1", peak: -3, rms: -10, hold: -3, clip: true).contains("\u{1B}"))
    }

    @Test func scaleLinesUpWithTheBar() {
        let meter = MeterLine(width: 48)
        // Each label starts at its level's edge: -60 under the first cell, 0 under the closing bracket.
        #expect(meter.scale(labelWidth: 1) == "   -60     -50     -40     -30     -20     -10     0 dBFS")
        #expect(meter.render(label: "1", peak: 0, rms: 0).hasPrefix("1 [" + String(repeating: "█", count: 48) + "]"))
    }

    @Test func peakHoldKeepsTheHighestPeakForTwoSeconds() {
        var hold = PeakHold(seconds: 2)
        func reading(_ time: Double, _ peak: Double, clipped: Int = 0) -> LevelsResponse {
            LevelsResponse(
                time: time, frame: 0, silent: false,
                channels: [.init(peakDBFS: peak, rmsDBFS: peak - 6, clipped: clipped, clippedTotal: 0)])
        }
        #expect(hold.update(reading(100.0, -10, clipped: 1))[0] == (hold: -10, clip: true))
        #expect(hold.update(reading(100.5, -30))[0] == (hold: -10, clip: true))
        #expect(hold.update(reading(101.9, -30))[0] == (hold: -10, clip: true))
        #expect(hold.update(reading(102.0, -30))[0] == (hold: -30, clip: false))
        #expect(hold.update(reading(102.1, -5))[0] == (hold: -5, clip: false))
    }

    @Test func plainLineForPipes() {
        let reading = LevelsResponse(
            time: 1_795_309_323.45, frame: 4_800, silent: false,
            channels: [
                .init(peakDBFS: -12.34, rmsDBFS: -18.4, clipped: 0, clippedTotal: 0),
                .init(peakDBFS: 0, rmsDBFS: -200, clipped: 3, clippedTotal: 3),
            ])
        #expect(
            MeterScreen.plainLine(reading)
                == "2026-11-22T01:02:03.4Z  1: peak -12.3 rms -18.4  2: peak 0.0 rms -inf CLIP")
    }

    @Test func soundProblemsAreNamedWithTheirChannels() {
        var reading = LevelsResponse(
            time: 1_795_309_323.45, frame: 4_800, silent: false,
            channels: [
                .init(peakDBFS: -12.34, rmsDBFS: -18.4, clipped: 0, clippedTotal: 0, dcOffset: true),
                .init(peakDBFS: -12, rmsDBFS: -12, clipped: 0, clippedTotal: 0, flatline: true, dcOffset: true),
            ])
        #expect(SoundHealthText.problems(reading) == nil)
        reading.problems = [
            .init(kind: "dc_offset", channel: 1, sinceFrame: 0), .init(kind: "flatline", channel: 2, sinceFrame: 0),
            .init(kind: "dc_offset", channel: 2, sinceFrame: 0), .init(kind: "hum", channel: 1, sinceFrame: 0),
        ]
        #expect(
            SoundHealthText.problems(reading) == "DC offset on ch 1, 2; flatline (stuck samples) on ch 2; hum on ch 1")
        #expect(
            MeterScreen.plainLine(reading)
                == "2026-11-22T01:02:03.4Z  1: peak -12.3 rms -18.4  2: peak -12.0 rms -12.0  "
                + "health: DC offset on ch 1, 2; flatline (stuck samples) on ch 2; hum on ch 1")
        reading.problems = [.init(kind: "clipping", channel: 1, sinceFrame: 0)]
        #expect(LevelsCommand.render(reading).hasSuffix("\nhealth: frequent clipping on ch 1"))
        var screen = MeterScreen(meter: MeterLine(width: 12))
        #expect(screen.frame(reading).contains("health: frequent clipping on ch 1\n"))
    }

    @Test func screenRedrawsInPlace() {
        var screen = MeterScreen(meter: MeterLine(width: 12))
        let reading = LevelsResponse(
            time: 1_795_309_323.0, frame: 48_000, silent: true,
            channels: [.init(peakDBFS: -30, rmsDBFS: -40, clipped: 0, clippedTotal: 0)])
        let first = screen.frame(reading)
        #expect(!first.contains("\u{1B}[3F"))
        #expect(first.contains("1 [████▒|······] -30.0 peak -40.0 rms dBFS"))
        #expect(first.contains("   -60 -40 -20 0 dBFS"))
        #expect(first.contains("01:02:03.0 UTC  frame 48000  silent"))
        let second = screen.frame(reading)
        #expect(second.hasPrefix("\u{1B}[3F"))  // header, one channel, scale
    }
}
