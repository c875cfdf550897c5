// The loader's rules for delivery: `[[destination]]`, `[[webhook]]` and a recording's upload and hook keys.

import TOMLKit

extension ConfigurationWalker {
    static let destinationKeys = [
        "name", "remote", "rclone_config", "path", "bwlimit", "transfers", "timeout_seconds",
        "backlog_warning_hours", "retry_max_seconds", "rclone",
    ]
    static let webhookKeys = ["name", "url", "events", "secret", "timeout_seconds"]
    static let recordingDeliveryKeys = [
        "upload", "after_upload", "on_close", "on_upload", "hook_timeout_seconds", "hook_concurrency",
    ]

    /// The placeholders a destination's `path` may hold.
    static let destinationPathPlaceholders = ["station", "recording", "source", "file", "relpath"]
    /// The strftime fields a destination's `path` may hold (the file's start, UTC).
    static let destinationPathTimeFields: [Character] = ["Y", "m", "d", "H", "M", "S"]
    /// The placeholders of an `on_close` argv template.
    static let onClosePlaceholders = ["path", "sidecar", "recording", "source", "station", "frames", "start_utc"]
    /// The placeholders of an `on_upload` argv template: those of `on_close` and the upload's.
    static let onUploadPlaceholders = onClosePlaceholders + ["destination", "key"]

    // MARK: [[destination]]

    /// The `[[destination]]` tables; sets ``destinationNames`` and ``validDestinationNames``.
    mutating func readDestinations(in root: TOMLTable) -> [DestinationConfiguration] {
        guard let array = arrayOfTables("destination", in: root) else {
            destinationNames = root["destination"] == nil ? [] : nil
            return []
        }
        var destinations: [DestinationConfiguration] = []
        var written: [String] = []
        var indexOfName: [String: Int] = [:]
        var names: [Int: String] = [:]
        for (index, element) in array.enumerated() {
            let at = "destination[\(index)]"
            guard let table = element.table else {
                report(at, value: element, "must be a table: write each destination as `[[destination]]` with its keys")
                continue
            }
            reportUnknownKeys(in: table, at: at, known: Self.destinationKeys)
            if let text = table["name"]?.string { written.append(text) }
            let name = checkedName(
                in: table, at: at,
                required: "the name recordings give in `upload`: 1 to 64 letters, digits, `.`, `_` or `-`")
            if let name {
                if let first = indexOfName[name] {
                    report(
                        at + ".name", value: table["name"],
                        "duplicates the name of \(Self.label(first, names, table: "destination")); "
                            + "each destination needs its own name")
                } else {
                    indexOfName[name] = index
                    names[index] = name
                }
            }
            let remote = string(
                "remote", in: table, at: at,
                required: "the rclone remote to upload to, e.g. \"archive:bucket/audio\" (see docs/fleet.md)")
            if let remote, remote.unicodeScalars.contains(where: InputValidation.isControl) {
                report(at + ".remote", value: table["remote"], "must not contain control characters")
            }
            var destination = DestinationConfiguration(name: name ?? "", remote: remote ?? "")
            if let value = string("rclone_config", in: table, at: at) { destination.rcloneConfig = value }
            if let value = string("path", in: table, at: at) {
                if let problem = Self.destinationPathProblem(value) {
                    report(at + ".path", value: table["path"], problem)
                } else {
                    destination.path = value
                }
            }
            if let value = string("bwlimit", in: table, at: at, allowEmpty: true) {
                if value.unicodeScalars.contains(where: InputValidation.isControl) {
                    report(at + ".bwlimit", value: table["bwlimit"], "must not contain control characters")
                } else {
                    destination.bwlimit = value
                }
            }
            if let value = integer("transfers", in: table, at: at, range: 1...32) { destination.transfers = value }
            if let value = number(
                "timeout_seconds", in: table, at: at, allowed: "a number of seconds greater than 0 and at most 86400",
                where: { $0 > 0 && $0 <= 86_400 })
            {
                destination.timeoutSeconds = value
            }
            if let value = number(
                "backlog_warning_hours", in: table, at: at,
                allowed: "a number of hours greater than 0 and at most 87600", where: { $0 > 0 && $0 <= 87_600 })
            {
                destination.backlogWarningHours = value
            }
            if let value = number(
                "retry_max_seconds", in: table, at: at,
                allowed: "a number of seconds from 1 to 86400", where: { $0 >= 1 && $0 <= 86_400 })
            {
                destination.retryMaxSeconds = value
            }
            if let value = string("rclone", in: table, at: at) { destination.rclone = value }
            if name != nil, remote != nil { destinations.append(destination) }
        }
        destinationNames = written
        validDestinationNames = destinations.map(\.name)
        return destinations
    }

    /// Why `path` cannot be a destination's object key template, or nil when it can.
    static func destinationPathProblem(_ path: String) -> String? {
        if path.unicodeScalars.contains(where: InputValidation.isControl) {
            return "must not contain control characters"
        }
        if path.split(separator: "/", omittingEmptySubsequences: false).contains("..") {
            return "must not contain `..`: every object stays under the destination's remote"
        }
        let allowed =
            destinationPathPlaceholders.map { "{\($0)}" }.joined(separator: " ") + " and "
            + destinationPathTimeFields.map { "%\($0)" }.joined(separator: " ")
        var rest = Substring(path)
        var seen: Set<String> = []
        while let index = rest.firstIndex(where: { $0 == "{" || $0 == "%" }) {
            let after = rest[rest.index(after: index)...]
            if rest[index] == "%" {
                guard let field = after.first, field == "%" || destinationPathTimeFields.contains(field) else {
                    let written = after.first.map { "%\($0)" } ?? "%"
                    return "has `\(written)`, which is not a field it knows; it may hold \(allowed) (`%%` for %)"
                }
                rest = after.dropFirst()
                continue
            }
            guard let close = after.firstIndex(of: "}") else {
                return "has a `{` without its `}`; it may hold \(allowed)"
            }
            let name = String(after[..<close])
            guard destinationPathPlaceholders.contains(name) else {
                return "has `{\(name)}`, which is not a placeholder it knows; it may hold \(allowed)"
            }
            seen.insert(name)
            rest = after[after.index(after: close)...]
        }
        if !seen.contains("file") && !seen.contains("relpath") {
            return "must contain {file} or {relpath}: without them every file would get the same object key"
        }
        return nil
    }

    // MARK: [[webhook]]

    /// The `[[webhook]]` tables.
    mutating func readWebhooks(in root: TOMLTable) -> [WebhookConfiguration] {
        guard let array = arrayOfTables("webhook", in: root) else { return [] }
        var webhooks: [WebhookConfiguration] = []
        var indexOfName: [String: Int] = [:]
        var names: [Int: String] = [:]
        for (index, element) in array.enumerated() {
            let at = "webhook[\(index)]"
            guard let table = element.table else {
                report(at, value: element, "must be a table: write each webhook as `[[webhook]]` with its keys")
                continue
            }
            reportUnknownKeys(in: table, at: at, known: Self.webhookKeys)
            var name: String? = "webhook-\(index + 1)"
            if table["name"] != nil { name = checkedName(in: table, at: at, required: nil) }
            if let candidate = name {
                if let first = indexOfName[candidate] {
                    report(
                        at + ".name", value: Self.quote(candidate),
                        "duplicates the name of \(Self.label(first, names, table: "webhook")); "
                            + "each webhook needs its own name")
                    name = nil
                } else {
                    indexOfName[candidate] = index
                    names[index] = candidate
                }
            }
            var url = string(
                "url", in: table, at: at, required: "the http:// or https:// address events are POSTed to")
            if let text = url, let problem = Self.webhookURLProblem(text) {
                report(at + ".url", value: table["url"], problem)
                url = nil
            }
            var webhook = WebhookConfiguration(name: name ?? "", url: url ?? "")
            if let events = stringArray("events", in: table, at: at) {
                if events.isEmpty {
                    report(
                        at + ".events", value: table["events"],
                        "must name at least one kind: [\"*\"] sends every event; remove the webhook to send none")
                }
                for (position, pattern) in events.enumerated() where !Self.isEventPattern(pattern) {
                    report(
                        at + ".events[\(position)]", value: table["events"]?.array?[position],
                        "must be \"*\" (every event), an event kind such as \"segment.closed\", "
                            + "or a prefix such as \"upload.*\"")
                }
                webhook.events = events
            }
            if let secret = string("secret", in: table, at: at, allowEmpty: true) { webhook.secret = secret }
            if let value = number(
                "timeout_seconds", in: table, at: at, allowed: "a number of seconds greater than 0 and at most 3600",
                where: { $0 > 0 && $0 <= 3600 })
            {
                webhook.timeoutSeconds = value
            }
            if name != nil, url != nil { webhooks.append(webhook) }
        }
        return webhooks
    }

    /// Why `url` cannot be a webhook's address, or nil when it can: http or https, with a host.
    static func webhookURLProblem(_ url: String) -> String? {
        if url.unicodeScalars.contains(where: { InputValidation.isControl($0) || $0 == " " }) {
            return "must not contain spaces or control characters"
        }
        let lowered = url.lowercased()
        guard let scheme = ["http://", "https://"].first(where: { lowered.hasPrefix($0) }) else {
            return "must start with http:// or https://, e.g. \"https://hooks.example.org/audiocap\""
        }
        let authority = url.dropFirst(scheme.count).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostAndPort = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? ""
        let host =
            hostAndPort.hasPrefix("[")
            ? hostAndPort.prefix { $0 != "]" }.dropFirst()
            : hostAndPort.split(separator: ":", omittingEmptySubsequences: false).first ?? ""
        if host.isEmpty {
            return "has no host: write it as \(scheme)HOST/PATH, e.g. \"\(scheme)hooks.example.org/audiocap\""
        }
        return nil
    }

    /// Whether `pattern` is `*`, an event kind (`segment.closed`) or a prefix pattern (`upload.*`): lowercase
    /// letters, digits and `_` between the dots.
    static func isEventPattern(_ pattern: String) -> Bool {
        if pattern == "*" { return true }
        var parts = pattern.split(separator: ".", omittingEmptySubsequences: false)
        // A kind has at least two parts (`segment.closed`); a prefix at least one before its `.*`.
        if parts.count >= 2, parts.last == "*" {
            parts.removeLast()
        } else if parts.count < 2 {
            return false
        }
        return parts.allSatisfy { part in
            !part.isEmpty
                && part.unicodeScalars.allSatisfy { scalar in
                    switch scalar {
                    case "a"..."z", "0"..."9", "_": true
                    default: false
                    }
                }
        }
    }

    // MARK: A recording's uploads and hooks

    /// `upload`, `after_upload`, `on_close`, `on_upload`, `hook_timeout_seconds` and `hook_concurrency` of
    /// the `[[recording]]` at `prefix`.
    mutating func readDelivery(_ table: TOMLTable, into recording: inout RecordingConfiguration, at prefix: String) {
        if let upload = stringArray("upload", in: table, at: prefix) {
            var seen: Set<String> = []
            for (position, name) in upload.enumerated() {
                let key = prefix + ".upload[\(position)]"
                let value = table["upload"]?.array?[position]
                if !seen.insert(name).inserted {
                    report(key, value: value, "names a destination twice; list each destination once")
                } else if let known = destinationNames, !known.contains(name) {
                    let known = validDestinationNames
                    report(
                        key, value: value,
                        known.isEmpty
                            ? "names no destination, and none is configured: add a [[destination]] with "
                                + "name = \(Self.quote(name)) and its remote (see docs/fleet.md)"
                            : "names no destination; the destinations are "
                                + known.map(Self.quote).joined(separator: ", "))
                }
            }
            recording.upload = upload
        }
        if let value: AfterUpload = choice("after_upload", in: table, at: prefix) {
            recording.afterUpload = value
            if value == .delete, recording.upload.isEmpty {
                report(
                    prefix + ".after_upload", value: table["after_upload"],
                    "is \"delete\" but the recording uploads nowhere: set `upload` to the destinations that "
                        + "must hold a copy first, or remove after_upload")
            }
        }
        for (key, placeholders) in [("on_close", Self.onClosePlaceholders), ("on_upload", Self.onUploadPlaceholders)] {
            guard let argv = stringArray(key, in: table, at: prefix) else { continue }
            var isValid = true
            if let program = argv.first, !program.hasPrefix("/") {
                report(
                    prefix + ".\(key)[0]", value: table[key]?.array?[0],
                    "must be the program's absolute path (e.g. \"/usr/local/bin/notify\"): hooks do not search PATH")
                isValid = false
            }
            for (position, argument) in argv.enumerated() {
                if let problem = Self.hookArgumentProblem(argument, placeholders: placeholders, key: key) {
                    report(prefix + ".\(key)[\(position)]", value: table[key]?.array?[position], problem)
                    isValid = false
                }
            }
            if isValid {
                if key == "on_close" { recording.onClose = argv } else { recording.onUpload = argv }
            }
        }
        if let value = number(
            "hook_timeout_seconds", in: table, at: prefix,
            allowed: "a number of seconds greater than 0 and at most 86400",
            where: { $0 > 0 && $0 <= 86_400 })
        {
            recording.hookTimeoutSeconds = value
        }
        if let value = integer("hook_concurrency", in: table, at: prefix, range: 1...64) {
            recording.hookConcurrency = value
        }
    }

    /// Why `argument` cannot be in a hook's argv template, or nil when it can.
    static func hookArgumentProblem(_ argument: String, placeholders: [String], key: String) -> String? {
        if argument.unicodeScalars.contains(where: { $0 == "\0" }) { return "must not contain NUL" }
        var rest = Substring(argument)
        while let open = rest.firstIndex(of: "{") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "}") else {
                return "has a `{` without its `}`; \(key) may use "
                    + placeholders.map { "{\($0)}" }.joined(separator: " ")
            }
            let name = String(after[..<close])
            guard placeholders.contains(name) else {
                return "has `{\(name)}`, which is not a placeholder of \(key); it may use "
                    + placeholders.map { "{\($0)}" }.joined(separator: " ")
            }
            rest = after[after.index(after: close)...]
        }
        return nil
    }

    // MARK: Helpers

    /// The array of tables `[[name]]` under `root`; nil (and a problem when present) when absent or not one.
    private mutating func arrayOfTables(_ name: String, in root: TOMLTable) -> TOMLArray? {
        guard let value = root[name] else { return nil }
        guard let array = value.array else {
            let hint =
                value.type == .table
                ? " (two brackets: `[[\(name)]]`, not `[\(name)]`)" : ": one `[[\(name)]]` table per \(name)"
            report(name, value: value.type == .table ? nil : value, "must be an array of tables" + hint)
            return nil
        }
        return array
    }
}
