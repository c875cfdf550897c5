// The configuration reference (docs/configuration.md) and config/audiocap.toml against the loader's own key list.
import Foundation
import Testing

@testable import CaptureCore

@Suite struct DocumentedKeysTests {
    /// The root of this source tree.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func read(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The rows of docs/configuration.md's key tables: table (`recording` for `[[recording]]`) → key → the
    /// text of its `default` column.
    static func documentedKeys() throws -> [String: [String: String]] {
        var tables: [String: [String: String]] = [:]
        var table: String?
        var defaultColumn: Int?
        for line in try read("docs/configuration.md").split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("#") {
                // "### `[source]`: what ffmpeg captures", "### `[[recording]]`: …"; other headings end a table.
                let name = line.split(separator: "`").dropFirst().first.map {
                    $0.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                }
                table = line.hasPrefix("### ") ? name : nil
                defaultColumn = nil
                continue
            }
            guard let table, line.hasPrefix("|") else { continue }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                .map { $0.trimmingCharacters(in: .whitespaces) }
            if cells.first == "key" {
                defaultColumn = cells.firstIndex(of: "default")
                continue
            }
            guard let defaultColumn, cells.count > defaultColumn, cells[0].hasPrefix("`") else { continue }
            tables[table, default: [:]][cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] =
                cells[defaultColumn]
        }
        return tables
    }

    /// The model's default of every key, by table, named as the loader names it (`chunk_ms`, `silence_dbfs`).
    static func modelDefaults() -> [String: [String: Any]] {
        let configuration = Configuration()
        let parts: [(String, Any)] = [
            ("source", configuration.source), ("queue", configuration.queue), ("levels", configuration.levels),
            ("recording", RecordingConfiguration(name: "", directory: "")), ("log", configuration.log),
            ("control", configuration.control), ("storage", configuration.storage),
            ("metrics", configuration.metrics), ("station", configuration.station),
            ("destination", DestinationConfiguration(name: "", remote: "")),
            ("webhook", WebhookConfiguration(name: "", url: "")),
            ("trigger", TriggerConfiguration(name: "", directory: "")),
        ]
        var result: [String: [String: Any]] = [:]
        for (table, value) in parts {
            for child in Mirror(reflecting: value).children {
                guard let label = child.label else { continue }
                result[table, default: [:]][key(label)] = child.value
            }
        }
        return result
    }

    /// `silenceDBFS` → `silence_dbfs`, `chunkMilliseconds` → `chunk_ms`.
    static func key(_ label: String) -> String {
        if label == "chunkMilliseconds" { return "chunk_ms" }
        if label == "holdMilliseconds" { return "hold_ms" }
        var result = ""
        var previous: Character?
        for character in label {
            if character.isUppercase, let previous, previous.isLowercase || previous.isNumber { result += "_" }
            result += character.lowercased()
            previous = character
        }
        return result
    }

    /// Whether the `default` column `cell` states `value`: the first `code` span in it, as TOML would write
    /// it, or "unset" for an absent optional.
    static func cell(_ cell: String, states value: Any) -> Bool {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            guard let wrapped = mirror.children.first?.value else { return cell.hasPrefix("unset") }
            return self.cell(cell, states: wrapped)
        }
        let spans = cell.split(separator: "`", omittingEmptySubsequences: false)
        guard spans.count >= 3 else { return false }
        let code = String(spans[1])
        switch value {
        case let flag as Bool: return code == String(flag)
        case let integer as Int: return Int(code.replacingOccurrences(of: "_", with: "")) == integer
        case let integer as Int64: return Int64(code.replacingOccurrences(of: "_", with: "")) == integer
        case let number as Double: return Double(code) == number
        case let text as String: return code == "\"\(text)\""
        case let list as [String]: return code == (list.isEmpty ? "[]" : "\(list)")
        case let list as [Int]: return code == "\(list)"
        case let raw as any RawRepresentable: return self.cell(cell, states: raw.rawValue)
        default: return false
        }
    }

    @Test func everyKeyTheLoaderKnowsIsDocumentedWithItsDefault() throws {
        let documented = try Self.documentedKeys()
        let defaults = Self.modelDefaults()
        #expect(Set(documented.keys) == Set(ConfigurationLoader.keys.keys), "tables in docs/configuration.md")
        for (table, keys) in ConfigurationLoader.keys {
            for key in keys {
                let row = try #require(documented[table]?[key], "[\(table)] \(key) is not in docs/configuration.md")
                // A recording's name and directory have no default: the loader requires them.
                if [
                    "recording.name", "recording.directory", "destination.name", "destination.remote", "webhook.url",
                    "trigger.name", "trigger.directory",
                ]
                .contains("\(table).\(key)") {
                    #expect(row == "required", "[\(table)] \(key)")
                    continue
                }
                // A webhook's name defaults to its position.
                if table == "webhook" && key == "name" {
                    #expect(row.hasPrefix("`\"webhook-N\"`"), "[webhook] name: \(row)")
                    continue
                }
                let value = try #require(defaults[table]?[key], "[\(table)] \(key) is not a property of the model")
                #expect(Self.cell(row, states: value), "[\(table)] \(key): docs say \(row), the model \(value)")
            }
        }
        for (table, rows) in documented {
            let unknown = Set(rows.keys).subtracting(ConfigurationLoader.keys[table] ?? [])
            #expect(
                unknown.isEmpty, "docs/configuration.md documents [\(table)] \(unknown.sorted()), unknown to the loader"
            )
        }
    }

    @Test func everyKeyOfTheExampleFileIsOneTheLoaderKnows() throws {
        let text = try Self.read("config/audiocap.toml")
        // Loading it rejects unknown keys among those set.
        #expect(throws: Never.self) { try ConfigurationLoader.parse(text, path: "config/audiocap.toml") }
        // Keys shown commented out (`# keep_days = 30`) must be real too.
        var table: String?
        var seen: Set<String> = []
        for line in text.split(separator: "\n").map(String.init) {
            // Tables shown commented out (`# [[destination]]`) hold the commented keys below them.
            if line.hasPrefix("[") || (line.hasPrefix("# [[") && line.hasSuffix("]]")) {
                table = line.trimmingCharacters(in: CharacterSet(charactersIn: "#[] "))
                continue
            }
            let setting = line.hasPrefix("# ") ? String(line.dropFirst(2)) : line
            guard let equals = setting.range(of: " = "),
                setting[..<equals.lowerBound].allSatisfy({ $0.isLowercase || $0 == "_" }),
                let table
            else { continue }
            let key = String(setting[..<equals.lowerBound])
            seen.insert("\(table).\(key)")
            #expect(ConfigurationLoader.keys[table]?.contains(key) == true, "config/audiocap.toml: [\(table)] \(key)")
        }
        // And it shows every key, as its first line says.
        let all = Set(ConfigurationLoader.keys.flatMap { table, keys in keys.map { "\(table).\($0)" } })
        #expect(all.subtracting(seen).isEmpty, "config/audiocap.toml leaves out \(all.subtracting(seen).sorted())")
    }
}
