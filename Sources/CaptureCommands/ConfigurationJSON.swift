// The JSON form of a `Configuration` for `check-config --json`, built from the model itself so no key is left out.

import CaptureCore
import Foundation

/// Turns a ``Configuration`` into JSON objects by reflection: every stored property of every table, named as
/// its TOML key (`chunk_ms`, `silence_dbfs`), `[[recording]]` as `recordings`, absent optionals as `null`,
/// plus the derived `chunk_frames`, `bytes_per_second` and `look_back_bytes` of each source; a recording's
/// `schedule` is its windows as written (or `null`). Every source is in `sources` (in
/// the order of the file), the first also in `source` as before several sources; devices are shown with any
/// password masked, as are destinations' remotes and webhooks' URLs; a webhook's secret shows as `***`. A key
/// added to the model appears without a change here.
enum ConfigurationJSON {
    /// Property names whose TOML key is not their snake_case form.
    static let renamed = ["chunkMilliseconds": "chunk_ms", "holdMilliseconds": "hold_ms"]

    /// The tables of `configuration` as JSON-ready values (dictionaries, arrays, strings, numbers, booleans,
    /// `NSNull`).
    static func object(_ configuration: Configuration) -> [String: Any] {
        guard var object = value(configuration) as? [String: Any] else { return [:] }
        if let sources = object["sources"] as? [[String: Any]], sources.count == configuration.sources.count {
            object["sources"] = zip(sources, configuration.sources).map { json, source in
                var json = json
                json["chunk_frames"] = source.chunkFrames
                json["bytes_per_second"] = source.audioFormat.bytesPerSecond
                json["look_back_bytes"] =
                    source.lookBackChunks * source.chunkFrames * source.audioFormat.bytesPerFrame
                json["device"] = CredentialMask.masked(source.device)
                return json
            }
            object["source"] = (object["sources"] as? [[String: Any]])?.first
        }
        // A remote or URL may hold a credential and a secret is one: neither is shown as written.
        if let destinations = object["destinations"] as? [[String: Any]],
            destinations.count == configuration.destinations.count
        {
            object["destinations"] = zip(destinations, configuration.destinations).map { json, destination in
                var json = json
                json["remote"] = CredentialMask.masked(destination.remote)
                return json
            }
        }
        if let webhooks = object["webhooks"] as? [[String: Any]], webhooks.count == configuration.webhooks.count {
            object["webhooks"] = zip(webhooks, configuration.webhooks).map { json, webhook in
                var json = json
                json["url"] = CredentialMask.masked(webhook.url)
                json["secret"] = webhook.secret.isEmpty ? "" : CredentialMask.placeholder
                return json
            }
        }
        // A schedule as written: its windows, whatever the model keeps besides.
        if let recordings = object["recordings"] as? [[String: Any]],
            recordings.count == configuration.recordings.count
        {
            object["recordings"] = zip(recordings, configuration.recordings).map { json, recording in
                var json = json
                json["schedule"] = recording.schedule.map { $0.text as Any } ?? NSNull()
                return json
            }
        }
        if var levels = object["levels"] as? [String: Any] {
            levels["alarm_flap_limit"] = LevelsConfiguration.alarmFlapLimit
            levels["alarm_flap_window_seconds"] = LevelsConfiguration.alarmFlapWindowSeconds
            object["levels"] = levels
        }
        return object
    }

    /// `document` as pretty-printed JSON with sorted keys.
    static func text(_ document: [String: Any]) -> String {
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    private static func value(_ value: Any) -> Any {
        switch value {
        case let text as String: return text
        case let flag as Bool: return flag
        case let integer as Int: return integer
        case let integer as Int64: return integer
        case let number as Double: return number.isFinite ? number : String(number)
        default: break
        }
        if let raw = value as? any RawRepresentable { return self.value(raw.rawValue) }
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            return mirror.children.first.map { self.value($0.value) } ?? NSNull()
        case .collection, .set:
            return mirror.children.map { self.value($0.value) }
        case .struct, .class:
            var object: [String: Any] = [:]
            for child in mirror.children {
                guard let label = child.label else { continue }
                object[key(label)] = self.value(child.value)
            }
            return object
        default:
            return "\(value)"
        }
    }

    /// `silenceDBFS` → `silence_dbfs`, `minFreeBytes` → `min_free_bytes`.
    static func key(_ label: String) -> String {
        if let renamed = renamed[label] { return renamed }
        var result = ""
        var previous: Character?
        for character in label {
            if character.isUppercase, let previous, previous.isLowercase || previous.isNumber {
                result += "_"
            }
            result += character.lowercased()
            previous = character
        }
        return result
    }
}
