// The loader's rules for `[[trigger]]` tables: level triggers that write clips.
import TOMLKit

extension ConfigurationWalker {
    static let triggerKeys = [
        "name", "source", "threshold_dbfs", "channels", "hold_ms", "pre_seconds", "post_seconds", "max_seconds",
        "high_pass_hz", "directory", "filename", "format", "flac_level", "time_zone", "keep_days", "max_bytes",
    ]

    /// The `[[trigger]]` tables; `sources` are the configured sources a trigger's `source` names. Runs
    /// after the recordings are read: a trigger's name must differ from every recording's.
    mutating func readTriggers(in root: TOMLTable, sources: [SourceConfiguration]) -> [TriggerConfiguration] {
        guard let value = root["trigger"] else { return [] }
        guard let array = value.array else {
            let hint =
                value.type == .table
                ? " (two brackets: `[[trigger]]`, not `[trigger]`)" : ": one `[[trigger]]` table per trigger"
            report("trigger", value: value.type == .table ? nil : value, "must be an array of tables" + hint)
            return []
        }
        var triggers: [TriggerConfiguration] = []
        var indexOfName: [String: Int] = [:]
        var names: [Int: String] = [:]
        let recordings = Set(recordingNames.values)
        for (index, element) in array.enumerated() {
            let at = "trigger[\(index)]"
            guard let table = element.table else {
                report(at, value: element, "must be a table: write each trigger as `[[trigger]]` with its keys")
                continue
            }
            reportUnknownKeys(in: table, at: at, known: Self.triggerKeys)

            let name = checkedName(
                in: table, at: at,
                required: "a name of 1 to 64 characters, each a letter, digit, `.`, `_` or `-` (it names the clips)")
            if let name {
                if let first = indexOfName[name] {
                    report(
                        at + ".name", value: table["name"],
                        "duplicates the name of \(Self.label(first, names, table: "trigger")); "
                            + "each trigger needs its own name")
                } else if recordings.contains(name) {
                    report(
                        at + ".name", value: table["name"],
                        "is the name of a [[recording]]; clips and their events carry the trigger's name as their "
                            + "recording's, so give the trigger another name, e.g. \(Self.quote(name + "-clips"))")
                } else {
                    indexOfName[name] = index
                    names[index] = name
                }
            }
            let directory = self.directory(
                "directory", in: table, at: at,
                required: "the folder the trigger's clips go in, e.g. \"/var/lib/audiocap/clips/birds\"")
            var trigger = TriggerConfiguration(name: name ?? "", directory: directory ?? "")

            let source = triggerSource(in: table, at: at, sources: sources)
            if let source { trigger.source = source }
            // The source the trigger listens to, when it is known (for channels, the filter and FLAC).
            let fed =
                source.flatMap { name in sources.first { $0.name == name } }
                ?? (sources.count == 1 && table["source"] == nil ? sources.first : nil)

            if let value = number(
                "threshold_dbfs", in: table, at: at,
                allowed: "a peak level in dBFS from -120 to 0, e.g. -30", where: { (-120...0).contains($0) })
            {
                trigger.thresholdDBFS = value
            }
            readTriggerChannels(table, into: &trigger, at: at, source: fed)
            if let value = number(
                "hold_ms", in: table, at: at,
                allowed: "a number of milliseconds from 0 (fire on the first frame over) to 60000, e.g. 50",
                where: { (0...60_000).contains($0) })
            {
                trigger.holdMilliseconds = value
            }
            for (key, range, path, what) in [
                ("pre_seconds", TriggerConfiguration.preSecondsRange, \TriggerConfiguration.preSeconds, "e.g. 3"),
                ("post_seconds", TriggerConfiguration.postSecondsRange, \TriggerConfiguration.postSeconds, "e.g. 3"),
                ("max_seconds", TriggerConfiguration.maxSecondsRange, \TriggerConfiguration.maxSeconds, "e.g. 60"),
            ] {
                if let value = number(
                    key, in: table, at: at,
                    allowed: "a number of seconds from \(Self.shown(range.lowerBound)) to "
                        + "\(Self.shown(range.upperBound)), \(what)",
                    where: { range.contains($0) })
                {
                    trigger[keyPath: path] = value
                }
            }
            let nyquist = Double(fed?.sampleRate ?? SourceConfiguration().sampleRate) / 2
            if let value = number(
                "high_pass_hz", in: table, at: at,
                allowed: "a frequency in Hz greater than 0 and below half the source's sample rate "
                    + "(\(Self.shown(nyquist))), e.g. 1000 for birds over wind and hum",
                where: { $0 > 0 && $0 < nyquist })
            {
                trigger.highPassHz = value
            }
            if let value: RecordingFormat = choice("format", in: table, at: at) {
                trigger.format = value
                trigger.filename = TriggerConfiguration.defaultFilename(for: value)
            }
            if let value = integer("flac_level", in: table, at: at, range: 0...8) { trigger.flacLevel = value }
            let filename = filenameTemplate(in: table, at: at, format: trigger.format)
            if let filename { trigger.filename = filename }
            if let value: FilenameTimeZone = choice("time_zone", in: table, at: at) { trigger.timeZone = value }
            if let value = number(
                "keep_days", in: table, at: at,
                allowed: "a number of days greater than 0", where: { $0 > 0 && $0 <= 36_500 })
            {
                trigger.keepDays = value
            }
            if let value = integer("max_bytes", in: table, at: at, range: 1...Int.max) {
                trigger.maxBytes = Int64(value)
            }
            checkFiles(
                format: trigger.format, fed: fed, sourceCount: sources.count, name: name, directory: directory,
                template: FilenameTemplate(trigger.filename, timeZone: trigger.timeZone), filename: filename,
                in: table, at: at)
            triggers.append(trigger)
        }
        return triggers
    }

    /// `channels`: a non-empty array of distinct channel numbers, each from 1 to the source's channels.
    private mutating func readTriggerChannels(
        _ table: TOMLTable, into trigger: inout TriggerConfiguration, at prefix: String,
        source: SourceConfiguration?
    ) {
        guard let value = table["channels"] else { return }
        let count = source?.channels
        let allowed =
            "must be an array of channel numbers counted from 1"
            + (count.map { " to \($0)" } ?? "") + ", each once, e.g. [1] or [1, 2]; leave it out to listen to all"
        guard let array = value.array, !array.isEmpty else {
            report(Self.path(prefix, "channels"), value: value, allowed + (value.array == nil ? Self.found(value) : ""))
            return
        }
        var channels: [Int] = []
        for element in array {
            guard element.type == .int, let channel = element.int, channel >= 1, channel <= (count ?? Int.max),
                !channels.contains(channel)
            else {
                let problem =
                    if let channel = element.int, channels.contains(channel) {
                        "lists channel \(channel) twice; "
                    } else if let channel = element.int, let count, channel > count {
                        "lists channel \(channel), but the source captures \(count) channel\(count == 1 ? "" : "s"); "
                    } else {
                        ""
                    }
                report(Self.path(prefix, "channels"), value: value, problem + allowed)
                return
            }
            channels.append(channel)
        }
        trigger.channels = channels
    }

    /// The source a trigger names, checked against `sources`; with one source and no `source` key, `""`
    /// for a single `[source]` table and its name for one `[[source]]` (as for recordings); nil when it is
    /// missing or wrong (a problem).
    private mutating func triggerSource(
        in table: TOMLTable, at prefix: String, sources: [SourceConfiguration]
    ) -> String? {
        let names = sources.map(\.name)
        guard table["source"] != nil else {
            if sources.count > 1 {
                report(
                    prefix + ".source", value: nil,
                    "missing; this configuration has several sources (\(names.joined(separator: ", "))): "
                        + "name the one this trigger listens to")
                return nil
            }
            return sourcesAreArray ? names.first : ""
        }
        guard let source = string("source", in: table, at: prefix), let written = writtenSourceNames else {
            return nil
        }
        guard names.contains(source) else {
            // A source whose own name is wrong is reported there, not again here.
            if !written.contains(source) {
                report(
                    prefix + ".source", value: table["source"],
                    "names no configured source; the source\(names.count == 1 ? " is" : "s are") "
                        + names.map(Self.quote).joined(separator: ", "))
            }
            return nil
        }
        return source
    }

    /// After the whole file is read: a trigger's directory must not hold, nor lie in, a recording's or
    /// another trigger's (retention and uploads work by directory), nor hold `[storage] root`.
    mutating func checkTriggerDirectories(_ configuration: Configuration) {
        func normalized(_ path: String) -> String {
            let parts = path.split(separator: "/").filter { $0 != "." }
            return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
        }
        func overlap(_ a: String, _ b: String) -> Bool {
            func contains(_ outer: String, _ inner: String) -> Bool {
                inner == outer || inner.hasPrefix(outer == "/" ? "/" : outer + "/")
            }
            return contains(a, b) || contains(b, a)
        }
        for (index, trigger) in configuration.triggers.enumerated() where !trigger.directory.isEmpty {
            let mine = normalized(trigger.directory)
            let key = "trigger[\(index)].directory"
            if let recording = configuration.recordings.first(where: {
                !$0.directory.isEmpty && overlap(mine, normalized($0.directory))
            }) {
                report(
                    key, value: trigger.directory,
                    "overlaps the directory of recording `\(recording.name)` (\(recording.directory)); retention and "
                        + "uploads work by directory, so give the trigger's clips a folder of their own, e.g. "
                        + Self.quote(normalized(recording.directory) + "-clips/" + trigger.name))
                continue
            }
            if let other = configuration.triggers[..<index].first(where: {
                !$0.directory.isEmpty && overlap(mine, normalized($0.directory))
            }) {
                report(
                    key, value: trigger.directory,
                    "overlaps the directory of trigger `\(other.name)` (\(other.directory)); give each trigger "
                        + "its own folder")
                continue
            }
            let root = normalized(configuration.storage.root)
            if root == mine || root.hasPrefix(mine == "/" ? "/" : mine + "/") {
                report(
                    key, value: trigger.directory,
                    "holds [storage] root (\(configuration.storage.root), the on-demand recordings and clips); "
                        + "use a folder of its own beside it, e.g. \"/var/lib/audiocap/clips/\(trigger.name)\"")
            }
        }
    }

    /// `3` for 3.0, `0.5` for 0.5.
    static func shown(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
