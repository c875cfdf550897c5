// The level meter of `audiocap levels`: one line per channel, a peak hold, and in-place redrawing on a terminal.

import CaptureProtocol
import Foundation

/// Renders one channel's meter line:
/// `1 [████████████████▒▒▒▒▒·······|·······] -12.3 peak -18.4 rms dBFS  CLIP`.
///
/// The bar spans `floor` (-60 dBFS) to 0 dBFS: `█` up to the RMS level, `▒` from there to the peak, `·` above,
/// and `|` at the held peak. With a style enabled the bar is green below -18 dBFS, yellow to -6 and red above.
struct MeterLine: Sendable {
    static let floor = -60.0
    /// Cells in the bar.
    var width = 48
    var style = Style.plain

    func render(label: String, peak: Double, rms: Double, hold: Double? = nil, clip: Bool = false) -> String {
        let rmsCells = cells(rms)
        let peakCells = max(cells(peak), rmsCells)
        let holdCell: Int? = hold.flatMap { value in
            let count = cells(value)
            return count > 0 ? count - 1 : nil
        }
        var runs: [(text: String, zone: Int)] = []
        for index in 0..<width {
            let character: Character
            if index == holdCell, index >= peakCells - 1 {
                character = "|"
            } else if index < rmsCells {
                character = "█"
            } else if index < peakCells {
                character = "▒"
            } else {
                character = "·"
            }
            let zone = character == "·" ? 0 : zoneOf(cell: index)
            if let last = runs.last, last.zone == zone {
                runs[runs.count - 1].text.append(character)
            } else {
                runs.append((String(character), zone))
            }
        }
        let bar = runs.map { run in
            switch run.zone {
            case 1: style.green(run.text)
            case 2: style.yellow(run.text)
            case 3: style.red(run.text)
            default: style.dim(run.text)
            }
        }.joined()
        var line = "\(label) [\(bar)] \(Self.number(peak)) peak \(Self.number(rms)) rms dBFS"
        if clip { line += "  " + style.red(style.bold("CLIP")) }
        return line
    }

    /// The scale under the bars, aligned with them for a label of `labelWidth` characters:
    /// `-60     -50     -40 ...      0`.
    func scale(labelWidth: Int) -> String {
        var cells = [Character](repeating: " ", count: width + 2)
        let step = 10.0
        var level = Self.floor
        var free = 0  // first cell a label may use: labels keep one space between them
        while level <= 0 {
            let text = level == 0 ? "0" : String(Int(level))
            let position = Int(((level - Self.floor) / -Self.floor * Double(width)).rounded())
            let start = min(position, cells.count - text.count)
            if start >= free {
                for (offset, character) in text.enumerated() { cells[start + offset] = character }
                free = start + text.count + 1
            }
            level += step
        }
        return String(repeating: " ", count: labelWidth + 2) + String(cells).trimmingTrailingSpaces() + " dBFS"
    }

    /// The number of bar cells that let a meter line fit in `columns` (its last column left free, so no
    /// terminal wraps it): the line around the bar takes the label and 35 characters
    /// (` [`, `] `, ` -12.3 peak -18.4 rms dBFS`, `  CLIP`). At least 8 cells, at most 48.
    static func width(columns: Int, labelWidth: Int) -> Int {
        min(48, max(8, columns - 1 - labelWidth - 35))
    }

    /// How many cells a level fills: 0 at or below the floor, `width` at 0 dBFS and above.
    func cells(_ dBFS: Double) -> Int {
        if dBFS.isNaN || dBFS <= Self.floor { return 0 }
        if dBFS >= 0 { return width }
        let fraction = (dBFS - Self.floor) / -Self.floor
        return min(width, max(0, Int((fraction * Double(width)).rounded(.down))))
    }

    /// 1 green, 2 yellow, 3 red, by the level at the cell's upper edge.
    private func zoneOf(cell: Int) -> Int {
        let level = Self.floor + Double(cell + 1) / Double(width) * -Self.floor
        return level > -6 ? 3 : (level > -18 ? 2 : 1)
    }

    /// A dBFS value right-aligned in 5 characters: `-12.3`, ` -inf`, `  0.0`.
    static func number(_ value: Double) -> String {
        let text = TextFormat.dBFS(value)
        return String(repeating: " ", count: max(0, 5 - text.count)) + text
    }
}

/// Holds each channel's highest peak for `seconds`, and remembers clipping for as long, by the readings' own
/// times (so the display is the same for the same readings).
struct PeakHold: Sendable {
    var seconds = 2.0
    private var held: [(level: Double, time: Double)] = []
    private var lastClip: [Double?] = []

    init(seconds: Double = 2.0) {
        self.seconds = seconds
    }

    /// Takes in a reading; returns, per channel, the held peak and whether it clipped within the hold time.
    mutating func update(_ reading: LevelsResponse) -> [(hold: Double, clip: Bool)] {
        let now = reading.time
        if held.count != reading.channels.count {
            held = reading.channels.map { ($0.peakDBFS, now) }
            lastClip = reading.channels.map { $0.clipped > 0 ? now : nil }
        }
        return reading.channels.enumerated().map { index, channel in
            if channel.peakDBFS >= held[index].level || now - held[index].time >= seconds {
                held[index] = (channel.peakDBFS, now)
            }
            if channel.clipped > 0 { lastClip[index] = now }
            let clip = lastClip[index].map { now - $0 < seconds } ?? false
            return (held[index].level, clip)
        }
    }
}

/// The live meter on a terminal: a header, one meter line per channel per source and the scale, redrawn in
/// place.
///
/// Each source keeps its own group of lines (in the order of ``sources``, then in the order its first reading
/// came), with its own peak hold; a reading redraws every group, the others with their last reading. With
/// more than one source each line is labelled with its source's name.
///
/// Given the terminal's width (`columns`), the bars shrink to fit and every line is cut short of the last
/// column, so no line wraps and the redraw never lands in the wrong place; ``resize(columns:)`` (on SIGWINCH)
/// clears the screen and draws afresh at the new width.
struct MeterScreen: Sendable {
    var meter: MeterLine
    /// The terminal's width; nil draws at `meter.width` without cutting lines.
    var columns: Int?
    var times = TimeStyle.utc
    /// The sources' names in the order their groups are drawn; a reading of another source adds its group
    /// below.
    var sources: [String] = []
    private var readings: [String: LevelsResponse] = [:]
    private var holds: [String: PeakHold] = [:]
    private var held: [String: [(hold: Double, clip: Bool)]] = [:]
    private var linesDrawn = 0
    private var clearFirst = false

    init(meter: MeterLine, columns: Int? = nil, times: TimeStyle = .utc, sources: [String] = []) {
        self.meter = meter
        self.columns = columns
        self.times = times
        self.sources = sources
    }

    /// The terminal changed size: the next frame clears the screen and is drawn for `columns`.
    mutating func resize(columns: Int?) {
        self.columns = columns
        clearFirst = true
    }

    /// Something else was written below the meter (a notice on standard error): the next frame is drawn
    /// below it instead of over the old one.
    mutating func startBelow() {
        linesDrawn = 0
    }

    /// Hides the cursor; write before the first frame.
    static let begin = "\u{1B}[?25l"
    /// Shows the cursor again; write after the last frame.
    static let end = "\u{1B}[?25h"

    /// Whether lines carry their source's name: when there is more than one source.
    var labelled: Bool { sources.count > 1 }

    /// The text that replaces the previous frame with one for `reading`, escape sequences included.
    mutating func frame(_ reading: LevelsResponse) -> String {
        let name = reading.source ?? ""
        if !sources.contains(name) {
            // A reading without a name (a daemon before several sources) is the first source's.
            if name.isEmpty, let first = sources.first {
                return frame(Self.named(reading, first))
            }
            sources.append(name)
        }
        readings[name] = reading
        var hold = holds[name] ?? PeakHold()
        held[name] = hold.update(reading)
        holds[name] = hold
        let groups = sources.compactMap { source in readings[source].map { (source, $0) } }
        // Labels as wide as the longest known name, so rows do not move when another source's first reading comes.
        let labelWidth = LevelsCommand.labelWidth(groups.map(\.1), names: sources, labelled: labelled)
        if let columns { meter.width = MeterLine.width(columns: columns, labelWidth: labelWidth) }
        let zone = times.label(at: Date(timeIntervalSince1970: reading.time))
        var lines = [header(reading, zone: zone)]
        for (source, shown) in groups {
            lines += LevelsCommand.meterLines(
                shown, source: labelled ? source : nil, labelWidth: labelWidth, meter: meter, holds: held[source])
        }
        // The scale goes under the meter lines, before the notes (silent, health) of a labelled screen.
        let meterCount = lines.count
        var notes: [String] = []
        if labelled {
            notes = groups.flatMap { source, shown in LevelsCommand.notes(shown, source: source, style: meter.style) }
        } else if let only = groups.first?.1, let problems = SoundHealthText.problems(only) {
            notes = [meter.style.red("health: " + problems)]
        }
        lines = Array(lines[..<meterCount]) + [meter.scale(labelWidth: labelWidth)] + notes
        var text = linesDrawn > 0 ? "\u{1B}[\(linesDrawn)F" : ""
        if clearFirst {
            text = "\u{1B}[H\u{1B}[2J"
            clearFirst = false
        }
        if let columns { lines = lines.map { Self.cut($0, toWidth: max(1, columns - 1)) } }
        for line in lines { text += "\u{1B}[2K" + line + "\n" }
        text += "\u{1B}[J"
        linesDrawn = lines.count
        return text
    }

    static func named(_ reading: LevelsResponse, _ source: String) -> LevelsResponse {
        var reading = reading
        reading.source = source
        return reading
    }

    /// `line` cut to `width` visible characters; ANSI escapes are kept and do not count, and a cut line ends
    /// with a reset so no color runs on.
    static func cut(_ line: String, toWidth width: Int) -> String {
        guard TextFormat.visibleWidth(line) > width else { return line }
        var result = ""
        var visible = 0
        var inEscape = false
        for scalar in line.unicodeScalars {
            if inEscape {
                result.unicodeScalars.append(scalar)
                if scalar.properties.isAlphabetic { inEscape = false }
            } else if scalar == "\u{1B}" {
                inEscape = true
                result.unicodeScalars.append(scalar)
            } else if visible < width {
                result.unicodeScalars.append(scalar)
                visible += 1
            }
        }
        return line.contains("\u{1B}") ? result + "\u{1B}[0m" : result
    }

    /// `audiocapd levels  01:02:03.4 UTC  frame 4800  silent  (Ctrl-C to quit)` (without frame and silence
    /// when there are several sources); in a narrow terminal without the Ctrl-C hint, then without the frame
    /// number, rather than cut in the middle of them.
    private func header(_ reading: LevelsResponse, zone: String) -> String {
        let start = meter.style.bold("audiocapd levels") + "  \(TextFormat.timeOfDay(reading.time, times)) \(zone)"
        let hint = "  (Ctrl-C to quit)"
        if labelled {
            // Frame numbers and silence are each source's own: the notes under the scale say which is silent.
            guard let columns else { return start + hint }
            return TextFormat.visibleWidth(start + hint) < columns ? start + hint : start
        }
        let frame = "  frame \(reading.frame)"
        let silent = reading.silent ? "  " + meter.style.yellow("silent") : ""
        let candidates = [start + frame + silent + hint, start + frame + silent, start + silent]
        guard let columns else { return candidates[0] }
        return candidates.first { TextFormat.visibleWidth($0) < columns } ?? candidates[2]
    }

    /// One reading as one plain line, for output that is not a terminal:
    /// `2026-11-22T01:02:03.4Z 1: peak -12.3 rms -18.4 2: peak -40.1 rms -45.0 CLIP  health: DC offset on ch 2`.
    ///
    /// With `source` (several sources), the source's name follows the time.
    static func plainLine(_ reading: LevelsResponse, times: TimeStyle = .utc, source: String? = nil) -> String {
        var parts = [TextFormat.timeWithTenths(reading.time, times)]
        if let source { parts.append(source) }
        for (index, channel) in reading.channels.enumerated() {
            var part =
                "\(index + 1): peak \(TextFormat.dBFS(channel.peakDBFS)) rms \(TextFormat.dBFS(channel.rmsDBFS))"
            if channel.clipped > 0 { part += " CLIP" }
            parts.append(part)
        }
        if reading.silent { parts.append("silent") }
        if let problems = SoundHealthText.problems(reading) { parts.append("health: " + problems) }
        return parts.joined(separator: "  ")
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
