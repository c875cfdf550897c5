// Reads audiocap's TOML file into a `Configuration`, checking every key and reporting all problems at once.

import TOMLKit

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Turns a TOML file into a ``Configuration``.
///
/// Keys are the snake_case names documented in `config/audiocap.toml`. Keys that are absent keep the defaults of
/// ``Configuration``. Unknown tables and keys, values of the wrong type and values out of range are all errors;
/// the loader collects every one of them before it throws, so one run shows everything to fix.
public enum ConfigurationLoader {
    /// Where `audiocapd` and `audiocap check-config` look when no path is given.
    public static let defaultPath = "/etc/audiocap/audiocap.toml"

    /// Every key the loader accepts, by table (`recording` for `[[recording]]`).
    public static var keys: [String: [String]] { ConfigurationWalker.keysByTable }

    /// Files larger than this are refused rather than read (a configuration file is a few kilobytes).
    public static let maximumFileSize = 1 << 20

    /// Reads and checks the file at `path`.
    ///
    /// - Returns: the configuration, with defaults for every key the file leaves out.
    /// - Throws: ``ConfigurationError`` with code `.unreadable` when the file cannot be read (missing, no
    ///   permission, a folder, larger than ``maximumFileSize``, not UTF-8), `.syntax` when it is not TOML,
    ///   and `.invalid` listing every bad key or value otherwise.
    public static func load(path: String) throws(ConfigurationError) -> Configuration {
        let text = try readText(path: path)
        return try parse(text, path: path)
    }

    /// Checks TOML `text`; `path` only names the file in errors.
    ///
    /// - Returns: the configuration, with defaults for every key `text` leaves out.
    /// - Throws: ``ConfigurationError`` with code `.syntax` when `text` is not TOML (with line and column), and
    ///   `.invalid` listing every bad key or value otherwise.
    public static func parse(_ text: String, path: String) throws(ConfigurationError) -> Configuration {
        if let nul = text.utf8.firstIndex(of: 0) {
            let line = text.utf8[..<nul].reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            throw .syntax(path: path, message: "NUL characters are not allowed", line: line, column: nil)
        }
        // The TOML library ends a string at an escaped NUL: refuse it rather than load a shortened value.
        if let line = Self.lineOfEscapedNUL(in: text) {
            throw .syntax(path: path, message: "NUL characters (\\u0000) are not allowed", line: line, column: nil)
        }
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw .syntax(
                path: path,
                message: error.description + sourceTablesHint(line: error.source.begin.line, in: text),
                line: error.source.begin.line,
                column: error.source.begin.column
            )
        } catch {
            throw .syntax(path: path, message: "\(error)", line: nil, column: nil)
        }
        var walker = ConfigurationWalker()
        let configuration = walker.configuration(from: root)
        guard walker.problems.isEmpty else {
            throw .invalid(
                path: path,
                problems: located(
                    walker.problems, in: text, names: walker.recordingNames, sourceNames: walker.sourceNames))
        }
        return configuration
    }

    /// What to write instead when a TOML syntax error is on a `[source]`, `[[source]]` or `[source.…]`
    /// header, where it means the two forms of source tables are mixed up; "" for other lines.
    static func sourceTablesHint(line: Int, in text: String) -> String {
        guard line >= 1,
            let written = text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(line - 1).first
        else { return "" }
        let header = written.prefix { $0 != "#" }.filter { $0 != " " && $0 != "\t" }
        switch header {
        case "[source]":
            return " (a file has one `[source]` table, or for several sources one `[[source]]` table each, "
                + "with its own `name`: write every source as `[[source]]`)"
        case "[[source]]":
            return " (`[[source]]` tables cannot be combined with a `[source]` table, nor follow a "
                + "`[source.queue]` or `[source.levels]` above the first `[[source]]`: write every source as "
                + "`[[source]]` with its own `name`, and its own tables below it)"
        case _ where header.hasPrefix("[source.") && header.hasSuffix("]"):
            return " (`[source.queue]` and `[source.levels]` belong below the `[source]` or `[[source]]` table "
                + "they apply to, once each)"
        default:
            return ""
        }
    }

    /// `problems` with the line of their key (or its table) in `text` where it can be found, and the
    /// recording's (or the `[[source]]`'s) name as their table.
    static func located(
        _ problems: [ConfigurationError.Problem], in text: String, names: [Int: String],
        sourceNames: [Int: String] = [:]
    ) -> [ConfigurationError.Problem] {
        let lines = keyLines(in: text)
        return problems.map { problem in
            var problem = problem
            var key = problem.key
            while !key.isEmpty, problem.line == nil {
                if let line = lines[key] {
                    problem.line = line
                } else if key.hasSuffix("]"), let open = key.lastIndex(of: "[") {
                    key = String(key[..<open])
                } else if let dot = key.lastIndex(of: ".") {
                    key = String(key[..<dot])
                } else {
                    break
                }
            }
            for (table, tableNames) in [("recording", names), ("source", sourceNames)]
            where problem.key.hasPrefix(table + "[") {
                let start = problem.key.index(problem.key.startIndex, offsetBy: table.count + 1)
                if let close = problem.key.firstIndex(of: "]"), let index = Int(problem.key[start..<close]),
                    let name = tableNames[index]
                {
                    problem.table = "[[\(table)]] " + ConfigurationWalker.quote(name)
                }
            }
            return problem
        }
    }

    /// The 1-based line of each table header and key assignment in `text`, by the key paths the loader
    /// reports (`source`, `source.channels`, `recording[1]`, `recording[1].directory`, `source[1].queue.seconds`
    /// for a `[source.queue]` below the second `[[source]]`); first occurrence wins. The first table of an
    /// array is found by its unindexed path too (`source.device` in a file with one `[[source]]`).
    /// A line scan, not a parser: it skips multi-line strings, and only bare and quoted keys are found.
    public static func keyLines(in text: String) -> [String: Int] {
        var result: [String: Int] = [:]
        var table: String?
        // The same path without the index of a first array element (`source` for `source[0]`).
        var alias: String?
        var arrayCounts: [String: Int] = [:]
        /// `source[1].queue` for `source.queue` while the second `[[source]]` is the last array element.
        func indexed(_ name: String) -> (path: String, alias: String?) {
            let components = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            for length in stride(from: components.count, through: 1, by: -1) {
                let head = components[0..<length].joined(separator: ".")
                if let count = arrayCounts[head] {
                    let rest = components[length...].map { "." + $0 }.joined()
                    return ("\(head)[\(count - 1)]" + rest, count == 1 ? name : nil)
                }
            }
            return (name, nil)
        }
        var inMultilineString = false
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            let line = rawLine.trimmingPrefix(while: { $0 == " " || $0 == "\t" })
            let quotes = line.ranges(of: "\"\"\"").count + line.ranges(of: "'''").count
            defer { if quotes % 2 == 1 { inMultilineString.toggle() } }
            if inMultilineString || line.hasPrefix("#") { continue }
            if line.hasPrefix("[["), let close = line.firstRange(of: "]]") {
                let name = String(
                    line[line.index(line.startIndex, offsetBy: 2)..<close.lowerBound].filter { $0 != " " })
                let index = arrayCounts[name, default: 0]
                arrayCounts[name] = index + 1
                (table, alias) = ("\(name)[\(index)]", index == 0 ? name : nil)
                for path in [table, alias].compactMap({ $0 }) where result[path] == nil { result[path] = number }
            } else if line.hasPrefix("["), let close = line.firstIndex(of: "]") {
                let name = String(line[line.index(after: line.startIndex)..<close].filter { $0 != " " })
                (table, alias) = indexed(name)
                for path in [table, alias].compactMap({ $0 }) where result[path] == nil { result[path] = number }
            } else if let equals = line.firstIndex(of: "=") {
                let key = line[..<equals].trimmingPrefix(while: { $0 == " " }).filter { $0 != " " && $0 != "\t" }
                guard !key.isEmpty else { continue }
                let path = table.map { "\($0).\(key)" } ?? String(key)
                if result[path] == nil { result[path] = number }
                if let alias, result["\(alias).\(key)"] == nil { result["\(alias).\(key)"] = number }
            }
        }
        return result
    }

    /// The 1-based line of the first `\u0000` or `\U00000000` escape (a backslash not itself escaped),
    /// or nil. Literal strings are not told apart: such a sequence in one is refused too.
    static func lineOfEscapedNUL(in text: String) -> Int? {
        let bytes = Array(text.utf8)
        var line = 1
        var backslashes = 0
        for (index, byte) in bytes.enumerated() {
            if byte == UInt8(ascii: "\n") { line += 1 }
            if byte == UInt8(ascii: "u") || byte == UInt8(ascii: "U"), backslashes % 2 == 1 {
                let digits = byte == UInt8(ascii: "u") ? 4 : 8
                let hex = bytes[(index + 1)...].prefix(digits)
                if hex.count == digits, hex.allSatisfy({ $0 == UInt8(ascii: "0") }) { return line }
            }
            backslashes = byte == UInt8(ascii: "\\") ? backslashes + 1 : 0
        }
        return nil
    }

    /// The whole file as UTF-8 text.
    private static func readText(path: String) throws(ConfigurationError) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw .unreadable(path: path, reason: systemErrorText(errno))
        }
        defer { close(descriptor) }

        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let (count, error) = buffer.withUnsafeMutableBytes { raw in
                let count = read(descriptor, raw.baseAddress, raw.count)
                return (count, errno)
            }
            if count > 0 {
                bytes.append(contentsOf: buffer[0..<count])
                if bytes.count > maximumFileSize {
                    throw .unreadable(
                        path: path,
                        reason: "larger than \(maximumFileSize) bytes; is this the configuration file?"
                    )
                }
            } else if count == 0 {
                break
            } else if error != EINTR {
                throw .unreadable(path: path, reason: systemErrorText(error))
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .unreadable(path: path, reason: "not UTF-8 text")
        }
        return text
    }

    private static func systemErrorText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}

/// Walks a parsed TOML document by hand, filling a `Configuration` and noting every problem.
struct ConfigurationWalker {
    private(set) var problems: [ConfigurationError.Problem] = []
    /// The valid names of the `[[recording]]` tables, by index.
    private(set) var recordingNames: [Int: String] = [:]
    /// The valid names of the `[[source]]` tables, by index (none for a single `[source]`).
    private(set) var sourceNames: [Int: String] = [:]
    /// Whether the file writes its sources as `[[source]]` tables.
    private(set) var sourcesAreArray = false
    /// The names of the `[[destination]]` tables that a recording's `upload` may name; nil when the
    /// `destination` key is not an array of tables (reported there, not again for each recording).
    var destinationNames: [String]? = []
    /// The valid `[[destination]]` names, listed when a recording's `upload` names none of them.
    var validDestinationNames: [String] = []

    private static let sections = [
        "source", "queue", "levels", "recording", "log", "control", "storage", "metrics", "station",
        "destination", "webhook", "trigger",
    ]
    private static let sourceKeys = [
        "ffmpeg", "input_format", "device", "input_options", "sample_rate", "channels", "sample_format", "chunk_ms",
        "restart_delay_seconds", "stall_seconds", "gap_fill", "output_options", "look_back_seconds",
    ]
    private static let queueKeys = ["seconds"]
    private static let levelsKeys = [
        "log_interval_seconds", "silence_dbfs", "silence_seconds", "flatline_seconds", "dc_offset_dbfs",
        "dc_offset_seconds", "clipping_rate", "clipping_seconds", "alarm_hold_seconds", "alarm_clear_seconds",
    ]
    /// The keys of a `[source]` or `[[source]]` table beyond the capture keys: its name and its own tables.
    private static let sourceTableKeys = ["name", "queue", "levels"]
    private static let recordingKeys =
        [
            "name", "directory", "segment_seconds", "align", "format", "flac_level", "filename", "time_zone",
            "sync_seconds", "keep_days", "max_bytes", "delete_oldest_when_low", "source", "schedule",
        ] + recordingDeliveryKeys
    private static let logKeys = ["level"]
    private static let controlKeys = ["socket", "group", "max_recordings"]
    private static let storageKeys = ["root", "state", "min_free_bytes", "low_space_warning_hours"]
    private static let metricsKeys = ["listen"]
    private static let stationKeys = [
        "id", "latitude", "longitude", "elevation", "make", "model", "serial", "note",
    ]
    static var keysByTable: [String: [String]] {
        [
            "source": sourceKeys + sourceTableKeys, "queue": queueKeys, "levels": levelsKeys,
            "recording": recordingKeys,
            "log": logKeys, "control": controlKeys, "storage": storageKeys, "metrics": metricsKeys,
            "station": stationKeys, "destination": destinationKeys, "webhook": webhookKeys,
            "trigger": triggerKeys,
        ]
    }

    mutating func configuration(from root: TOMLTable) -> Configuration {
        var configuration = Configuration()
        sourcesAreArray = root["source"]?.array != nil
        reportUnknownKeys(in: root, at: nil, known: Self.sections)

        let sources = readSources(in: root)
        if let table = section("queue", in: root, known: Self.queueKeys) {
            readQueue(table, into: &configuration.queue, at: "queue")
        }
        if let table = section("levels", in: root, known: Self.levelsKeys) {
            readLevels(table, into: &configuration.levels, at: "levels")
        }
        // A source's own [source.queue] and [source.levels] start from the top-level tables, wherever those
        // are in the file.
        if !sources.isEmpty {
            configuration.sources = sources.map { read in
                var source = read.source
                if let table = read.queue {
                    var queue = configuration.queue
                    readQueue(table, into: &queue, at: read.prefix + ".queue")
                    source.queue = queue
                }
                if let table = read.levels {
                    var levels = configuration.levels
                    readLevels(table, into: &levels, at: read.prefix + ".levels")
                    source.levels = levels
                }
                return source
            }
        }
        configuration.destinations = readDestinations(in: root)
        configuration.webhooks = readWebhooks(in: root)
        configuration.recordings = readRecordings(in: root, sources: configuration.sources)
        configuration.triggers = readTriggers(in: root, sources: configuration.sources)
        if let table = section("control", in: root, known: Self.controlKeys) {
            if let value = string("socket", in: table, at: "control", allowEmpty: true) {
                configuration.control.socket = value
            }
            if let value = string("group", in: table, at: "control") { configuration.control.group = value }
            if let value = integer(
                "max_recordings", in: table, at: "control", range: ControlConfiguration.maxRecordingsRange)
            {
                configuration.control.maxRecordings = value
            }
        }
        if let table = section("storage", in: root, known: Self.storageKeys) {
            if let value = directory("root", in: table, at: "storage") { configuration.storage.root = value }
            if let value = directory("state", in: table, at: "storage") { configuration.storage.state = value }
            if let value = integer("min_free_bytes", in: table, at: "storage", range: 0...Int.max) {
                configuration.storage.minFreeBytes = Int64(value)
            }
            if let value = number(
                "low_space_warning_hours", in: table, at: "storage",
                allowed: "a number of hours from 0 (off) to 87600", where: { $0 >= 0 && $0 <= 87_600 })
            {
                configuration.storage.lowSpaceWarningHours = value
            }
        }
        if let table = section("metrics", in: root, known: Self.metricsKeys) {
            if let value = string("listen", in: table, at: "metrics", allowEmpty: true) {
                configuration.metrics.listen = value
                if !value.isEmpty, configuration.metrics.address == nil {
                    report(
                        "metrics.listen", value: table["listen"],
                        "must be HOST:PORT, e.g. \"127.0.0.1:9750\", or \"\" to turn metrics off")
                }
            }
        }
        if let table = section("station", in: root, known: Self.stationKeys) {
            readStation(table, into: &configuration.station)
        }
        if let table = section("log", in: root, known: Self.logKeys) {
            if let level: LogLevelName = choice("level", in: table, at: "log") {
                configuration.log.level = level
            }
        }
        resolveSchedules(in: &configuration, root: root)
        checkRetentionScope(configuration)
        checkTriggerDirectories(configuration)
        checkQueueMemory(configuration)
        checkLookBackMemory(configuration)
        return configuration
    }

    /// `[station]`: an id that is a name (or empty: the host name), a position given as both coordinates, and
    /// texts short enough for the files' fixed-size metadata chunks.
    private mutating func readStation(_ table: TOMLTable, into station: inout StationConfiguration) {
        if let id = string("id", in: table, at: "station", allowEmpty: true) {
            do {
                if !id.isEmpty { try InputValidation.checkName(id, field: "station.id") }
                station.id = id
            } catch {
                report("station.id", value: table["id"], error.message + ", or be \"\" for the host name")
            }
        }
        station.latitude = number(
            "latitude", in: table, at: "station", allowed: "a latitude in degrees from -90 to 90",
            where: { (-90...90).contains($0) })
        station.longitude = number(
            "longitude", in: table, at: "station", allowed: "a longitude in degrees from -180 to 180",
            where: { (-180...180).contains($0) })
        let range = StationConfiguration.elevationRange
        station.elevation = number(
            "elevation", in: table, at: "station",
            allowed: "metres above sea level from \(Int(range.lowerBound)) to \(Int(range.upperBound))",
            where: { range.contains($0) })
        if (table["latitude"] == nil) != (table["longitude"] == nil) {
            let (given, missing) = table["latitude"] != nil ? ("latitude", "longitude") : ("longitude", "latitude")
            report("station.\(given)", value: table[given], "needs `\(missing)` too: a position is both coordinates")
        }
        let limit = StationConfiguration.maximumFieldBytes
        for (key, path) in [
            ("make", \StationConfiguration.make), ("model", \StationConfiguration.model),
            ("serial", \StationConfiguration.serial),
        ] {
            guard let text = string(key, in: table, at: "station", allowEmpty: true) else { continue }
            if text.unicodeScalars.contains(where: InputValidation.isControl) {
                report("station.\(key)", value: table[key], "must not contain control characters")
            } else if text.utf8.count > limit {
                report("station.\(key)", value: table[key], "must be at most \(limit) bytes long")
            } else {
                station[keyPath: path] = text
            }
        }
        if let note = string("note", in: table, at: "station", allowEmpty: true) {
            let noteLimit = StationConfiguration.maximumNoteBytes
            if note.unicodeScalars.contains(where: { $0 != "\n" && InputValidation.isControl($0) }) {
                report("station.note", value: table["note"], "must not contain control characters other than newlines")
            } else if note.utf8.count > noteLimit {
                report("station.note", value: table["note"], "must be at most \(noteLimit) bytes long")
            } else {
                station.note = note
            }
        }
    }

    /// Every consumer may hold a full queue: refuse a configuration whose queues could take more memory
    /// than ``Configuration/maximumQueueBytes``.
    /// A source's look-back buffer is audio held in memory on purpose: at most 1 GiB of it.
    private mutating func checkLookBackMemory(_ configuration: Configuration) {
        for (index, source) in configuration.sources.enumerated() {
            let bytesPerSecond = Double(source.audioFormat.bytesPerSecond)
            let bytes = source.lookBackSeconds * bytesPerSecond
            guard bytes > Configuration.maximumQueueBytes else { continue }
            let at = sourcesAreArray ? "source[\(index)]" : "source"
            let allowed = Int(Configuration.maximumQueueBytes / bytesPerSecond)
            report(
                at + ".look_back_seconds", value: String(source.lookBackSeconds),
                "keeps \(Int((bytes / 1_048_576).rounded(.up))) MiB of audio in memory (\(Int(bytesPerSecond)) bytes/s); "
                    + "at most 1024 MiB is allowed: at this rate, look_back_seconds = \(allowed) or less")
        }
    }

    private mutating func checkQueueMemory(_ configuration: Configuration) {
        let bytes = configuration.worstCaseQueueBytes
        guard bytes > Configuration.maximumQueueBytes else { return }
        let mebibytes = bytes / 1_048_576
        let shown = mebibytes < 1e9 ? String(Int(mebibytes.rounded(.up))) : String(mebibytes)
        guard configuration.sources.count == 1 else {
            // Each source: its level monitor and the recordings it feeds, each with its queue's seconds.
            let perSource = configuration.sources.map { source in
                let fed = configuration.recordings.filter { $0.source == source.name }.count
                return "\(Self.quote(source.name)): its level monitor and \(fed) recording\(fed == 1 ? "" : "s"), "
                    + "each with \(configuration.queue(for: source).seconds) s of "
                    + "\(source.audioFormat.bytesPerSecond) bytes/s"
            }
            report(
                "queue.seconds", value: String(configuration.queue.seconds),
                "makes the queues of the \(configuration.sources.count) sources need up to \(shown) MiB ("
                    + perSource.joined(separator: "; ")
                    + "; and [control] max_recordings = \(configuration.control.maxRecordings) on-demand recordings, "
                    + "each as large as the largest of those); at most 1024 MiB is allowed: lower [queue] seconds "
                    + "(or a source's [source.queue] seconds), max_recordings, or a source's rate or channels")
            return
        }
        let consumers = 1 + configuration.recordings.count + configuration.control.maxRecordings
        report(
            "queue.seconds", value: String(configuration.queue.seconds),
            "makes the queues need up to \(shown) MiB (\(consumers) consumers: the level monitor, "
                + "\(configuration.recordings.count) recording\(configuration.recordings.count == 1 ? "" : "s") and [control] max_recordings = \(configuration.control.maxRecordings), "
                + "each with \(configuration.queue(for: configuration.source).seconds) s of \(configuration.source.audioFormat.bytesPerSecond) bytes/s); "
                + "at most 1024 MiB is allowed: lower [queue] seconds, max_recordings, the rate or the channels")
    }

    /// Retention deletes the closed files under a recording's directory: refuse it where that directory
    /// holds another recording's files or the on-demand recordings.
    private mutating func checkRetentionScope(_ configuration: Configuration) {
        func normalized(_ path: String) -> String {
            let parts = path.split(separator: "/").filter { $0 != "." }
            return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
        }
        func contains(_ outer: String, _ inner: String) -> Bool {
            inner == outer || inner.hasPrefix(outer == "/" ? "/" : outer + "/")
        }
        for (index, recording) in configuration.recordings.enumerated()
        where recording.keepDays != nil || recording.maxBytes != nil || recording.deleteOldestWhenLow {
            let mine = normalized(recording.directory)
            let keys = [
                recording.keepDays != nil || recording.maxBytes != nil ? "keep_days/max_bytes" : nil,
                recording.deleteOldestWhenLow ? "delete_oldest_when_low" : nil,
            ].compactMap { $0 }.joined(separator: " and ")
            for (otherIndex, other) in configuration.recordings.enumerated() where otherIndex != index {
                if contains(mine, normalized(other.directory)) {
                    report(
                        "recording[\(index)].directory", value: recording.directory,
                        "holds the files of recording `\(other.name)`, which its \(keys) would delete; give each recording its own directory"
                    )
                }
            }
            if contains(mine, normalized(configuration.storage.root)) {
                report(
                    "recording[\(index)].directory", value: recording.directory,
                    "holds [storage] root (on-demand recordings), which its \(keys) would delete; use another directory"
                )
            }
        }
    }

    // MARK: Sections

    /// A source as read from its table, with its own `queue` and `levels` tables, which are read once the
    /// top-level ones are known.
    private struct ReadSource {
        var source: SourceConfiguration
        /// `source` for a single `[source]` table, `source[1]` for the second `[[source]]`.
        var prefix: String
        var queue: TOMLTable?
        var levels: TOMLTable?
    }

    /// Every name a `[source]` or `[[source]]` table gives, valid or not (so a recording that names a source
    /// whose name is wrong is not blamed too); nil when the sources could not be read at all.
    private(set) var writtenSourceNames: Set<String>? = [SourceConfiguration.defaultName]

    /// The `[source]` table or the `[[source]]` tables; empty when there are none (the default source
    /// applies) or none can be used (a problem).
    private mutating func readSources(in root: TOMLTable) -> [ReadSource] {
        guard let value = root["source"] else { return [] }
        if let table = value.table {
            reportUnknownKeys(
                in: table, at: "source", known: Self.sourceKeys + Self.sourceTableKeys, listed: Self.sourceKeys)
            var source = SourceConfiguration()
            if table["name"] != nil {
                // Optional here: a single [source] is `main` unless it says otherwise.
                if let name = checkedName(in: table, at: "source", required: nil) {
                    source.name = name
                    writtenSourceNames = [name]
                } else {
                    writtenSourceNames = Set([table["name"]?.string].compactMap { $0 })
                }
            }
            return [readSource(table, into: source, at: "source")]
        }
        guard let array = value.array else {
            report("source", value: value, "must be a table: write `[source]` and put its keys on the lines below")
            writtenSourceNames = nil
            return []
        }
        var sources: [ReadSource] = []
        var indexOfName: [String: Int] = [:]
        var written: Set<String> = []
        for (index, element) in array.enumerated() {
            let at = "source[\(index)]"
            guard let table = element.table else {
                report(at, value: element, "must be a table: write each source as `[[source]]` with its keys")
                continue
            }
            reportUnknownKeys(in: table, at: at, known: Self.sourceTableKeys + Self.sourceKeys)
            if let name = table["name"]?.string { written.insert(name) }
            let name = checkedName(
                in: table, at: at,
                required: "a name of 1 to 64 characters, each a letter, digit, `.`, `_` or `-`; every [[source]] "
                    + "needs one (a single source may be written as one `[source]` table, which is `main`)")
            if let name {
                sourceNames[index] = name
                if let first = indexOfName[name] {
                    report(
                        at + ".name", value: table["name"],
                        "duplicates the name of \(Self.label(first, sourceNames, table: "source")); "
                            + "each source needs its own name")
                } else {
                    indexOfName[name] = index
                }
            }
            sources.append(readSource(table, into: SourceConfiguration(name: name ?? ""), at: at))
        }
        writtenSourceNames = written
        if sources.isEmpty {
            report(
                "source", value: nil,
                "needs at least one [[source]] table with its keys (or leave out `source` for the default, "
                    + "the ALSA device \"default\")")
            writtenSourceNames = nil
        }
        return sources
    }

    /// The keys of one source's table; its `name` is read by the caller.
    private mutating func readSource(_ table: TOMLTable, into source: SourceConfiguration, at: String) -> ReadSource {
        var source = source
        if let value = string("ffmpeg", in: table, at: at) {
            source.ffmpeg = value
        }
        if let value = string("input_format", in: table, at: at) {
            source.inputFormat = value
        }
        if let value = string("device", in: table, at: at) {
            source.device = value
        }
        if let value = stringArray("input_options", in: table, at: at) {
            source.inputOptions = value
        }
        if let value = stringArray("output_options", in: table, at: at) {
            source.outputOptions = value
        }
        if let value = integer("sample_rate", in: table, at: at, range: 8000...768_000) {
            source.sampleRate = value
        }
        if let value = integer("channels", in: table, at: at, range: 1...32) {
            source.channels = value
        }
        if let value: SampleFormat = choice("sample_format", in: table, at: at) {
            source.sampleFormat = value
        }
        if let value = integer("chunk_ms", in: table, at: at, range: 5...1000) {
            source.chunkMilliseconds = value
        }
        if let value = number(
            "restart_delay_seconds", in: table, at: at,
            allowed: "a number greater than 0 and at most 300", where: { $0 > 0 && $0 <= 300 })
        {
            source.restartDelaySeconds = value
        }
        if let value = number(
            "stall_seconds", in: table, at: at,
            allowed: "a number greater than 0 and at most 3600", where: { $0 > 0 && $0 <= 3600 })
        {
            source.stallSeconds = value
        }
        if let value: GapFill = choice("gap_fill", in: table, at: at) {
            source.gapFill = value
        }
        if let value = number(
            "look_back_seconds", in: table, at: at,
            allowed: "a number of seconds from 0 (off) to 3600",
            where: { SourceConfiguration.lookBackRange.contains($0) })
        {
            source.lookBackSeconds = value
        } else if table["look_back_seconds"] == nil {
            source.lookBackSeconds = SourceConfiguration.defaultLookBackSeconds(for: source.audioFormat)
        }
        if SourceConfiguration.networkInputFormats.contains(source.inputFormat) {
            checkNetworkDevice(in: table, format: source.inputFormat, at: at)
        }
        var read = ReadSource(source: source, prefix: at)
        read.queue = ownTable("queue", of: table, at: at, known: Self.queueKeys, example: "seconds = 10")
        read.levels = ownTable("levels", of: table, at: at, known: Self.levelsKeys, example: "silence_dbfs = -50")
        return read
    }

    /// The source's own `[source.queue]` or `[source.levels]` table, with its unknown keys reported; nil
    /// when it has none or it is not a table (a problem).
    private mutating func ownTable(
        _ key: String, of table: TOMLTable, at prefix: String, known: [String], example: String
    ) -> TOMLTable? {
        guard let value = table[key] else { return nil }
        guard let own = value.table else {
            report(
                prefix + "." + key, value: value,
                "must be a table: write `[source.\(key)]` below the source's table and put its keys "
                    + "(e.g. `\(example)`) on the lines below")
            return nil
        }
        reportUnknownKeys(in: own, at: prefix + "." + key, known: known)
        return own
    }

    /// A network input format needs a URL in `device`, of the format's own protocol.
    private mutating func checkNetworkDevice(in table: TOMLTable, format: String, at prefix: String) {
        let example = Self.exampleURL(format)
        let formatText = "input_format = " + Self.quote(format)
        guard let value = table["device"] else {
            report(
                prefix + ".device", value: nil,
                "is required with \(formatText): the stream's URL, e.g. \(Self.quote(example))")
            return
        }
        guard let device = value.string, !device.isEmpty else { return }  // reported as a string problem
        guard let scheme = Self.urlScheme(device) else {
            report(
                prefix + ".device", value: value,
                "must be the stream's URL with \(formatText), e.g. \(Self.quote(example)) "
                    + "(for an ALSA device use input_format = \"alsa\")")
            return
        }
        let schemes = Self.schemes(of: format)
        guard schemes.isEmpty || schemes.contains(scheme) else {
            let allowed = schemes.map { "`\($0)://`" }
            let matching =
                SourceConfiguration.networkInputFormats.first { Self.schemes(of: $0).contains(scheme) }
                ?? "url"
            report(
                prefix + ".device", value: value,
                "must be a \(allowed.dropLast().joined(separator: ", "))\(allowed.count > 1 ? " or " : "")"
                    + "\(allowed.last ?? "") URL with \(formatText); for this \(scheme):// URL "
                    + "set input_format = \(Self.quote(matching))"
                    + (matching == "url" ? " (any URL ffmpeg can open)" : ""))
            return
        }
    }

    /// The URL schemes an input format takes; empty for `url` (any).
    static func schemes(of format: String) -> [String] {
        switch format {
        case "rtsp": ["rtsp", "rtsps"]
        case "http", "https": ["http", "https"]
        case "srt": ["srt"]
        case "rtmp": ["rtmp", "rtmps", "rtmpt", "rtmpe", "rtmpte", "rtmpts"]
        default: []
        }
    }

    /// A URL to show as an example for an input format.
    static func exampleURL(_ format: String) -> String {
        switch format {
        case "rtsp": "rtsp://user:password@camera.local:554/stream"
        case "http", "https": "\(format)://radio.example.org:8000/live.mp3"
        case "srt": "srt://receiver.local:9000?mode=caller"
        case "rtmp": "rtmp://server.local/live/stream"
        default: "https://radio.example.org/live.aac"
        }
    }

    /// The lowercased scheme of `device` when it is a URL (`scheme://` and something after it), else nil.
    static func urlScheme(_ device: String) -> String? {
        guard let separator = device.range(of: "://"), separator.upperBound < device.endIndex else { return nil }
        let scheme = device[..<separator.lowerBound]
        guard let first = scheme.unicodeScalars.first, ("a"..."z").contains(first) || ("A"..."Z").contains(first),
            scheme.unicodeScalars.allSatisfy({ scalar in
                ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                    || scalar == "+" || scalar == "-" || scalar == "."
            })
        else { return nil }
        return scheme.lowercased()
    }

    private mutating func readQueue(_ table: TOMLTable, into queue: inout QueueConfiguration, at: String) {
        if let seconds = number(
            "seconds", in: table, at: at,
            allowed: "a number greater than 0 and at most 3600", where: { $0 > 0 && $0 <= 3600 })
        {
            queue.seconds = seconds
        }
    }

    private mutating func readLevels(_ table: TOMLTable, into levels: inout LevelsConfiguration, at: String) {
        if let value = number(
            "log_interval_seconds", in: table, at: at,
            allowed: "a number from 0 (off) to 86400", where: { $0 >= 0 && $0 <= 86_400 })
        {
            levels.logIntervalSeconds = value
        }
        if let value = number(
            "silence_dbfs", in: table, at: at,
            allowed: "a number from -200 to 0", where: { $0 >= -200 && $0 <= 0 })
        {
            levels.silenceDBFS = value
        }
        if let value = number(
            "silence_seconds", in: table, at: at,
            allowed: "a number greater than 0 and at most 86400", where: { $0 > 0 && $0 <= 86_400 })
        {
            levels.silenceSeconds = value
        }
        if let value = number(
            "flatline_seconds", in: table, at: at,
            allowed: "a number greater than 0 and at most 3600", where: { $0 > 0 && $0 <= 3600 })
        {
            levels.flatlineSeconds = value
        }
        if let value = number(
            "dc_offset_dbfs", in: table, at: at,
            allowed: "a number from -120 to 0", where: { $0 >= -120 && $0 <= 0 })
        {
            levels.dcOffsetDBFS = value
        }
        if let value = number(
            "dc_offset_seconds", in: table, at: at,
            allowed: "a number greater than 0 and at most 3600", where: { $0 > 0 && $0 <= 3600 })
        {
            levels.dcOffsetSeconds = value
        }
        if let value = number(
            "clipping_rate", in: table, at: at,
            allowed: "a number greater than 0 and at most 1 (a share of the samples: 0.001 is 0.1 %; 1 turns it off)",
            where: { $0 > 0 && $0 <= 1 })
        {
            levels.clippingRate = value
        }
        if let value = number(
            "clipping_seconds", in: table, at: at,
            allowed: "a number greater than 0 and at most 3600", where: { $0 > 0 && $0 <= 3600 })
        {
            levels.clippingSeconds = value
        }
        if let value = number(
            "alarm_hold_seconds", in: table, at: at,
            allowed: "a number from 0 (report at once) to 3600", where: { $0 >= 0 && $0 <= 3600 })
        {
            levels.alarmHoldSeconds = value
        }
        if let value = number(
            "alarm_clear_seconds", in: table, at: at,
            allowed: "a number from 0 (report at once) to 3600", where: { $0 >= 0 && $0 <= 3600 })
        {
            levels.alarmClearSeconds = value
        }
    }

    /// The `[[recording]]` tables; `sources` are the configured sources a recording's `source` names.
    private mutating func readRecordings(
        in root: TOMLTable, sources: [SourceConfiguration]
    ) -> [RecordingConfiguration] {
        guard let value = root["recording"] else { return [] }
        guard let array = value.array else {
            let hint =
                value.type == .table
                ? " (two brackets: `[[recording]]`, not `[recording]`)" : ": one `[[recording]]` table per recording"
            report("recording", value: value.type == .table ? nil : value, "must be an array of tables" + hint)
            return []
        }

        var recordings: [RecordingConfiguration] = []
        var indexOfName: [String: Int] = [:]
        // Target path (directory + filename with {name} expanded) → the recording that claimed it first.
        var indexOfTarget: [String: Int] = [:]

        for (index, element) in array.enumerated() {
            let at = "recording[\(index)]"
            guard let table = element.table else {
                report(at, value: element, "must be a table: write each recording as `[[recording]]` with its keys")
                continue
            }
            reportUnknownKeys(in: table, at: at, known: Self.recordingKeys)

            let name = checkedName(
                in: table, at: at, required: "a name of 1 to 64 characters, each a letter, digit, `.`, `_` or `-`")
            if let name { recordingNames[index] = name }
            var isDuplicate = false
            if let name {
                if let first = indexOfName[name] {
                    isDuplicate = true
                    report(
                        at + ".name", value: table["name"],
                        "duplicates the name of \(Self.label(first, recordingNames)); each recording needs its own name"
                    )
                } else {
                    indexOfName[name] = index
                }
            }
            let directory = self.directory(
                "directory", in: table, at: at, required: "the folder the recording's files go in")

            var recording = RecordingConfiguration(name: name ?? "", directory: directory ?? "")
            if let value = integer("segment_seconds", in: table, at: at, range: 1...86_400) {
                recording.segmentSeconds = value
            }
            if let value: SegmentAlignment = choice("align", in: table, at: at) {
                recording.align = value
            }
            if let value: RecordingFormat = choice("format", in: table, at: at) {
                recording.format = value
                recording.filename = RecordingConfiguration.defaultFilename(for: value)
            }
            if let value = integer("flac_level", in: table, at: at, range: 0...8) {
                recording.flacLevel = value
            }
            let filename = filenameTemplate(in: table, at: at, format: recording.format)
            if let filename {
                recording.filename = filename
            }
            if let value: FilenameTimeZone = choice("time_zone", in: table, at: at) {
                recording.timeZone = value
            }
            if let value = number(
                "sync_seconds", in: table, at: at,
                allowed: "a number greater than 0 and at most 3600", where: { $0 > 0 && $0 <= 3600 })
            {
                recording.syncSeconds = value
            }
            if let value = number(
                "keep_days", in: table, at: at,
                allowed: "a number of days greater than 0", where: { $0 > 0 && $0 <= 36_500 })
            {
                recording.keepDays = value
            }
            if let value = integer("max_bytes", in: table, at: at, range: 1...Int.max) {
                recording.maxBytes = Int64(value)
            }
            if let value = boolean("delete_oldest_when_low", in: table, at: at) {
                recording.deleteOldestWhenLow = value
            }
            if let source = recordingSource(in: table, at: at, sources: sources) {
                recording.source = source
            }
            readDelivery(table, into: &recording, at: at)
            readSchedule(table, into: &recording, at: at)
            checkFiles(
                format: recording.format,
                fed: sources.first(where: { $0.name == recording.source })
                    ?? (sources.count == 1 ? sources.first : nil),
                sourceCount: sources.count, name: name, directory: directory,
                template: FilenameTemplate(recording.filename, timeZone: recording.timeZone), filename: filename,
                in: table, at: at)

            if let name, let directory, table["filename"] == nil || filename != nil {
                let target = Self.targetPath(directory: directory, filename: recording.filename, name: name)
                if let first = indexOfTarget[target] {
                    // A duplicate name is reported once, not again as a collision of files.
                    if !isDuplicate {
                        // Blame the key this recording sets: its filename when it has one, else its directory.
                        let key = table["filename"] == nil ? "directory" : "filename"
                        report(
                            at + "." + key, value: table[key],
                            "writes the same files as \(Self.label(first, recordingNames)); "
                                + "give each recording its own directory, or put {name} in filename")
                    }
                } else {
                    indexOfTarget[target] = index
                }
            }
            recordings.append(recording)
        }
        return recordings
    }

    /// The source a recording names, checked against the configured `sources`; with one source and no
    /// `source` key, that source's name when the file writes it as `[[source]]` (`""`, the only source, for a
    /// single `[source]` table, as before sources had names); nil when it is missing or wrong (a problem).
    private mutating func recordingSource(
        in table: TOMLTable, at prefix: String, sources: [SourceConfiguration]
    ) -> String? {
        let names = sources.map(\.name)
        let listed = names.map(Self.quote).joined(separator: ", ")
        guard table["source"] != nil else {
            if sources.count > 1 {
                report(
                    prefix + ".source", value: nil,
                    "missing; this configuration has several sources (\(names.joined(separator: ", "))): "
                        + "name the one this recording takes its audio from")
                return nil
            }
            return sourcesAreArray ? names.first : nil
        }
        guard let source = string("source", in: table, at: prefix), let written = writtenSourceNames else {
            return nil
        }
        guard names.contains(source) else {
            // A source whose own name is wrong is reported there, not again here.
            if !written.contains(source) {
                report(
                    prefix + ".source", value: table["source"],
                    sources.count == 1
                        ? "names no configured source; the only source is \(listed)"
                            + (sourcesAreArray
                                ? "" : " (a single [source] table is named `main` unless it sets `name`)")
                        : "names no configured source; the sources are \(listed)")
            }
            return nil
        }
        return source
    }

    /// `the 1st [[recording]] "main"`, for messages that point at another recording (or, with `table`, source).
    static func label(_ index: Int, _ names: [Int: String], table: String = "recording") -> String {
        let ordinal =
            switch index + 1 {
            case let n where n % 10 == 1 && n % 100 != 11: "\(n)st"
            case let n where n % 10 == 2 && n % 100 != 12: "\(n)nd"
            case let n where n % 10 == 3 && n % 100 != 13: "\(n)rd"
            case let n: "\(n)th"
            }
        let name = names[index].map { " " + quote($0) } ?? ""
        return "the \(ordinal) [[\(table)]]\(name)"
    }

    /// The `name` of a recording or source, or nil (and a problem, saying `required` when it is missing)
    /// when it is missing or not allowed.
    mutating func checkedName(in table: TOMLTable, at prefix: String, required: String?) -> String? {
        guard let name = string("name", in: table, at: prefix, required: required, allowEmpty: true) else {
            return nil
        }
        do {
            try InputValidation.checkName(name)
        } catch {
            report(prefix + ".name", value: table["name"], error.message)
            return nil
        }
        return name
    }

    /// The `filename` template with the extension of `format` added when missing, or nil when absent or
    /// not allowed.
    /// The files of a recording or trigger: FLAC only from an integer source (`fed`), and the paths its
    /// `template` makes inside `directory` (checked unless its `filename` was refused already).
    mutating func checkFiles(
        format: RecordingFormat, fed: SourceConfiguration?, sourceCount: Int, name: String?, directory: String?,
        template: FilenameTemplate, filename: String?, in table: TOMLTable, at: String
    ) {
        if format == .flac, let fed, fed.sampleFormat.isFloat {
            report(
                at + ".format", value: table["format"],
                "is \"flac\", but \(sourceCount == 1 ? "the source" : "source " + Self.quote(fed.name)) captures "
                    + "sample_format = \"\(fed.sampleFormat.rawValue)\" and FLAC holds integer samples only; "
                    + "use format = \"wav\", or sample_format = \"s16\", \"s24\" or \"s32\"")
        }
        guard let name, let directory, table["filename"] == nil || filename != nil else { return }
        do {
            try InputValidation.checkTarget(directory: directory, template: template, name: name)
        } catch {
            let key = table["filename"] == nil ? "directory" : "filename"
            report(at + "." + key, value: table[key], error.message)
        }
    }

    mutating func filenameTemplate(
        in table: TOMLTable, at prefix: String, format: RecordingFormat
    ) -> String? {
        guard let template = string("filename", in: table, at: prefix, allowEmpty: true) else { return nil }
        do {
            return try InputValidation.filenameTemplate(template, format: format)
        } catch {
            report(prefix + ".filename", value: table["filename"], error.message)
            return nil
        }
    }

    /// A directory that ``InputValidation/checkDirectory(_:field:)`` accepts, or nil (and a problem).
    mutating func directory(
        _ key: String, in table: TOMLTable, at prefix: String, required: String? = nil
    ) -> String? {
        guard let directory = string(key, in: table, at: prefix, required: required) else { return nil }
        do {
            try InputValidation.checkDirectory(directory)
        } catch {
            report(Self.path(prefix, key), value: table[key], error.message)
            return nil
        }
        return directory
    }

    /// `directory/filename` with `{name}` expanded, empty and `.` components removed: two recordings with the same
    /// target write the same files.
    private static func targetPath(directory: String, filename: String, name: String) -> String {
        let expanded = filename.replacing("{name}", with: name)
        let components = (directory + "/" + expanded).split(separator: "/").filter { $0 != "." }
        return (directory.hasPrefix("/") ? "/" : "") + components.joined(separator: "/")
    }

    // MARK: Tables and keys

    /// The table `[name]` under `root`, with its unknown keys reported; nil when absent or not a table.
    private mutating func section(_ name: String, in root: TOMLTable, known: [String]) -> TOMLTable? {
        guard let value = root[name] else { return nil }
        guard let table = value.table else {
            report(name, value: value, "must be a table: write `[\(name)]` and put its keys on the lines below")
            return nil
        }
        reportUnknownKeys(in: table, at: name, known: known)
        return table
    }

    /// Reports the keys of `table` that are not `known`; a message that lists the keys lists `listed`
    /// (default: `known`).
    mutating func reportUnknownKeys(
        in table: TOMLTable, at prefix: String?, known: [String], listed: [String]? = nil
    ) {
        for key in table.keys where !known.contains(key) {
            let value = table[key]
            var message: String
            if prefix == nil, let value, Self.isTableOrArrayOfTables(value) {
                message = "unknown table"
            } else {
                message = "unknown key"
            }
            if let suggestion = Self.suggestion(for: key, among: known) {
                let isArray = value?.array != nil
                let written =
                    switch (prefix, suggestion) {
                    case (nil, "recording"), (nil, "destination"), (nil, "webhook"), (nil, "trigger"):
                        "[[\(suggestion)]]"
                    case (nil, "source") where isArray || sourcesAreArray: "[[source]]"
                    case (nil, _): "[\(suggestion)]"
                    default: suggestion
                    }
                message += "; did you mean `\(written)`?"
            } else if let prefix {
                message +=
                    "; the keys of \(Self.tableName(prefix)) are "
                    + (listed ?? known).map { "`\($0)`" }.joined(separator: ", ")
            } else {
                // A file that writes [[source]] tables is told of both forms.
                let sources = sourcesAreArray ? "[source] or [[source]]" : "[source]"
                message +=
                    "; the tables are \(sources), [queue], [levels], [[recording]], [log], [control], [storage], [metrics], [station], [[destination]] and [[webhook]]"
            }
            report(
                Self.path(prefix, key),
                value: value.flatMap { Self.isTableOrArrayOfTables($0) ? nil : $0 },
                message)
        }
    }

    /// How the table at `prefix` is written in a file: `[[recording]]` for `recording[2]`, `[source.queue]`
    /// for `source[1].queue`, `[levels]` for `levels`.
    static func tableName(_ prefix: String) -> String {
        var name = ""
        var isArrayElement = false
        var index = prefix.startIndex
        while index < prefix.endIndex {
            if prefix[index] == "[", let close = prefix[index...].firstIndex(of: "]") {
                isArrayElement = true
                index = prefix.index(after: close)
            } else {
                if prefix[index] == "." { isArrayElement = false }
                name.append(prefix[index])
                index = prefix.index(after: index)
            }
        }
        return isArrayElement ? "[[\(name)]]" : "[\(name)]"
    }

    private static func isTableOrArrayOfTables(_ value: any TOMLValueConvertible) -> Bool {
        if value.type == .table { return true }
        guard let array = value.array, !array.isEmpty else { return false }
        return array.allSatisfy { $0.type == .table }
    }

    // MARK: Values

    /// A string value; nil when absent (a problem when `required` says what is missing) or wrong.
    mutating func string(
        _ key: String, in table: TOMLTable, at prefix: String, required: String? = nil, allowEmpty: Bool = false
    ) -> String? {
        guard let value = table[key] else {
            if let required {
                report(Self.path(prefix, key), value: nil, "is required: " + required)
            }
            return nil
        }
        let allowed = allowEmpty ? "must be a string" : "must be a non-empty string"
        guard let string = value.string else {
            report(Self.path(prefix, key), value: value, allowed + Self.found(value))
            return nil
        }
        if string.isEmpty && !allowEmpty {
            report(Self.path(prefix, key), value: value, allowed)
            return nil
        }
        return string
    }

    mutating func stringArray(_ key: String, in table: TOMLTable, at prefix: String) -> [String]? {
        guard let value = table[key] else { return nil }
        let allowed = "must be an array of strings"
        guard let array = value.array else {
            report(Self.path(prefix, key), value: value, allowed + Self.found(value))
            return nil
        }
        var strings: [String] = []
        var isValid = true
        for (index, element) in array.enumerated() {
            if let string = element.string {
                strings.append(string)
            } else {
                report(Self.path(prefix, key) + "[\(index)]", value: element, "must be a string" + Self.found(element))
                isValid = false
            }
        }
        return isValid ? strings : nil
    }

    mutating func integer(
        _ key: String, in table: TOMLTable, at prefix: String, range: ClosedRange<Int>
    ) -> Int? {
        guard let value = table[key] else { return nil }
        let allowed = "must be an integer from \(range.lowerBound) to \(range.upperBound)"
        guard value.type == .int, let integer = value.int else {
            report(Self.path(prefix, key), value: value, allowed + Self.found(value))
            return nil
        }
        guard range.contains(integer) else {
            report(Self.path(prefix, key), value: value, allowed)
            return nil
        }
        return integer
    }

    /// A number (integer or float) that is finite and passes `isAllowed`; `allowed` describes what passes.
    mutating func number(
        _ key: String, in table: TOMLTable, at prefix: String, allowed: String, where isAllowed: (Double) -> Bool
    ) -> Double? {
        guard let value = table[key] else { return nil }
        let number: Double
        if let integer = value.int {
            number = Double(integer)
        } else if let double = value.double {
            number = double
        } else {
            report(Self.path(prefix, key), value: value, "must be " + allowed + Self.found(value))
            return nil
        }
        guard number.isFinite, isAllowed(number) else {
            report(Self.path(prefix, key), value: value, "must be " + allowed)
            return nil
        }
        return number
    }

    mutating func boolean(_ key: String, in table: TOMLTable, at prefix: String) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let bool = value.bool else {
            report(Self.path(prefix, key), value: value, "must be true or false" + Self.found(value))
            return nil
        }
        return bool
    }

    mutating func choice<Choice: RawRepresentable & CaseIterable>(
        _ key: String, in table: TOMLTable, at prefix: String
    ) -> Choice? where Choice.RawValue == String {
        guard let value = table[key] else { return nil }
        let names = Choice.allCases.map { Self.quote($0.rawValue) }
        let allowed = "must be one of " + names.dropLast().joined(separator: ", ") + " or " + (names.last ?? "")
        guard let string = value.string else {
            report(Self.path(prefix, key), value: value, allowed + Self.found(value))
            return nil
        }
        guard let choice = Choice(rawValue: string) else {
            report(Self.path(prefix, key), value: value, allowed)
            return nil
        }
        return choice
    }

    // MARK: Reporting

    mutating func report(_ key: String, value: (any TOMLValueConvertible)?, _ message: String) {
        report(key, value: value.map(Self.render), message)
    }

    mutating func report(_ key: String, value: String?, _ message: String) {
        problems.append(ConfigurationError.Problem(key: key, value: value, message: message))
    }

    /// `prefix.key`, with `key` quoted when it is not a bare TOML key.
    static func path(_ prefix: String?, _ key: String) -> String {
        let isBare =
            !key.isEmpty
            && key.unicodeScalars.allSatisfy { scalar in
                switch scalar {
                case "A"..."Z", "a"..."z", "0"..."9", "_", "-": true
                default: false
                }
            }
        let written = isBare ? key : quote(key)
        guard let prefix else { return written }
        return prefix + "." + written
    }

    /// " (found a string)" and the like, for type errors.
    static func found(_ value: any TOMLValueConvertible) -> String {
        let name =
            switch value.type {
            case .table: "a table"
            case .array: "an array"
            case .string: "a string"
            case .int: "an integer"
            case .double: "a floating-point number"
            case .bool: "a boolean"
            case .date: "a date"
            case .time: "a time"
            case .dateTime: "a date-time"
            }
        return " (found \(name))"
    }

    /// The value as TOML would write it, shortened to about 80 characters.
    static func render(_ value: any TOMLValueConvertible) -> String {
        let text = renderInFull(value)
        guard text.count > 80 else { return text }
        return String(text.prefix(77)) + "…"
    }

    private static func renderInFull(_ value: any TOMLValueConvertible) -> String {
        switch value.type {
        case .string:
            // A network source's URL may hold a password: no problem ever shows it.
            return quote(CredentialMask.masked(value.string ?? ""))
        case .int:
            return value.int.map { String($0) } ?? value.debugDescription
        case .double:
            guard let double = value.double else { return value.debugDescription }
            if double.isNaN { return "nan" }
            if double.isInfinite { return double < 0 ? "-inf" : "inf" }
            return String(double)
        case .bool:
            return value.bool.map { String($0) } ?? value.debugDescription
        case .array:
            guard let array = value.array else { return "[]" }
            return "[" + array.map { renderInFull($0) }.joined(separator: ", ") + "]"
        case .table:
            guard let table = value.table, !table.isEmpty else { return "{}" }
            return "{ "
                + table.keys.map { key in
                    path(nil, key) + " = " + (table[key].map { renderInFull($0) } ?? "")
                }.joined(separator: ", ") + " }"
        case .date, .time, .dateTime:
            return value.debugDescription
        }
    }

    /// A TOML basic string: `"…"` with quotes, backslashes and control characters escaped.
    static func quote(_ string: String) -> String {
        var quoted = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\t": quoted += "\\t"
            case "\r": quoted += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                quoted += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }

    // MARK: Suggestions

    /// The known key closest to a misspelled `key`, if one is close enough to be what was meant.
    static func suggestion(for key: String, among known: [String]) -> String? {
        let normalized = snakeCased(key)
        if known.contains(normalized) { return normalized }
        var best: (key: String, distance: Int)?
        for candidate in known {
            let distance = editDistance(normalized, candidate)
            if distance <= max(1, min(3, candidate.count / 3)), distance < (best?.distance ?? .max) {
                best = (candidate, distance)
            }
        }
        return best?.key
    }

    /// `sampleRate` and `Sample-Rate` → `sample_rate`.
    private static func snakeCased(_ key: String) -> String {
        var result = ""
        for character in key {
            if character.isUppercase {
                if let last = result.last, last != "_" { result += "_" }
                result += character.lowercased()
            } else if character == "-" {
                result += "_"
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// Edit distance between `a` and `b` counting insertions, deletions, substitutions and swaps of two
    /// neighbouring characters as one edit each (optimal string alignment), in characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var beforePrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], beforePrevious[j - 2] + 1)
                }
            }
            (beforePrevious, previous, current) = (previous, current, beforePrevious)
        }
        return previous[b.count]
    }
}
