// The key an uploaded file gets under its destination's remote, from the destination's `path` template.
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Renders `DestinationConfiguration.path`: `{station}`, `{recording}`, `{source}`, `{file}` (the file's
/// name), `{relpath}` (its path under the recording's directory) and the strftime fields `%Y %m %d %H %M
/// %S` (and `%%`) of the file's start time in UTC. Segments that are empty, `.` or `..` are dropped, so a
/// key never climbs out of the remote or holds `//`; a key left empty is an error.
public struct ObjectKey: Sendable, Equatable {
    /// What a key is made from.
    public struct Inputs: Sendable, Equatable {
        public var station: String
        public var recording: String
        public var source: String
        /// The audio file's full path.
        public var path: String
        /// The recording's directory (for `{relpath}`).
        public var directory: String
        /// The file's first frame, seconds since the epoch.
        public var startTime: Double

        public init(
            station: String, recording: String, source: String, path: String, directory: String, startTime: Double
        ) {
            self.station = station
            self.recording = recording
            self.source = source
            self.path = path
            self.directory = directory
            self.startTime = startTime
        }
    }

    /// A template that renders to nothing usable.
    public struct EmptyKeyError: Error, CustomStringConvertible, Sendable {
        public var template: String
        public var path: String
        public var description: String {
            "the destination path template \"\(template)\" gives an empty object key for \(path); "
                + "include {file} or {relpath} in the destination's path"
        }
    }

    /// The key, segments joined by `/`, never starting with one.
    public let key: String

    public init(template: String, _ inputs: Inputs) throws(EmptyKeyError) {
        let file = (inputs.path as NSString).lastPathComponent
        var relative = file
        let directory = inputs.directory.hasSuffix("/") ? inputs.directory : inputs.directory + "/"
        if inputs.path.hasPrefix(directory) { relative = String(inputs.path.dropFirst(directory.count)) }
        let fields = Self.timeFields(inputs.startTime)
        var text = ""
        var characters = template.makeIterator()
        while let character = characters.next() {
            if character == "%" {
                guard let field = characters.next() else {
                    text.append("%")
                    break
                }
                if let value = fields[field] {
                    text += value
                } else if field == "%" {
                    text.append("%")
                } else {
                    text.append("%")
                    text.append(field)
                }
            } else {
                text.append(character)
            }
        }
        // Placeholders are replaced after strftime so a `%` in a name is kept as is.
        let replacements: [(String, String)] = [
            ("{station}", Self.segment(inputs.station)), ("{recording}", Self.segment(inputs.recording)),
            ("{source}", Self.segment(inputs.source)), ("{file}", Self.segment(file)), ("{relpath}", relative),
        ]
        for (placeholder, value) in replacements {
            text = text.replacingOccurrences(of: placeholder, with: value)
        }
        let segments = text.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." && $0 != ".." }
        guard !segments.isEmpty else { throw EmptyKeyError(template: template, path: inputs.path) }
        key = segments.joined(separator: "/")
    }

    /// `remote` and `key` joined: `archive:` + key, `/srv/dest` + `/` + key.
    public static func join(remote: String, key: String) -> String {
        if remote.isEmpty || remote.hasSuffix("/") || remote.hasSuffix(":") { return remote + key }
        return remote + "/" + key
    }

    /// One name used as a single path segment: `/` would add a level, so it becomes `_`.
    private static func segment(_ value: String) -> String {
        value.replacingOccurrences(of: "/", with: "_")
    }

    private static func timeFields(_ time: Double) -> [Character: String] {
        var seconds = time_t(time.isFinite ? floor(time) : 0)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return [
            "Y": String(parts.tm_year + 1900), "m": two(parts.tm_mon + 1), "d": two(parts.tm_mday),
            "H": two(parts.tm_hour), "M": two(parts.tm_min), "S": two(parts.tm_sec),
        ]
    }
}
