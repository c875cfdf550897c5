// Why a configuration file could not be used: unreadable, not TOML, or invalid values (all of them at once).

/// A configuration file that cannot be used, with every problem found in it.
///
/// `description` is meant for people: one line per problem, each starting with the file's path, for example
/// `/etc/audiocap/audiocap.toml: source.channels = 0: must be an integer from 1 to 32`.
/// Commands that fail because of it exit with ``exitCode`` (78, `EX_CONFIG` in sysexits).
public struct ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is. A struct rather than an enum so that new kinds never break callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case unreadable
            case syntax
            case invalid
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The file could not be read (missing, no permission, a folder, not UTF-8).
        public static let unreadable = Code(.unreadable)
        /// The file is not valid TOML; the problem carries the line and column.
        public static let syntax = Code(.syntax)
        /// The file is valid TOML but some keys or values are wrong.
        public static let invalid = Code(.invalid)

        public var description: String { base.rawValue }
    }

    /// One thing wrong with the file.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        /// Dotted path of the key, for example `source.channels`, `recording[1].segment_seconds` or
        /// `source[1].device` (`recording[0]` is the first `[[recording]]`, `source[1]` the second
        /// `[[source]]`). Empty when the problem is not about one key.
        public var key: String
        /// The offending value as TOML would write it (`0`, `"s8"`), or nil when there is none (a missing key).
        public var value: String?
        /// What is wrong or what is allowed, for example `must be an integer from 1 to 32`.
        public var message: String
        /// 1-based line of a TOML syntax error, or of the key (or its table) that has the problem when the
        /// loader could find it in the file.
        public var line: Int?
        /// The table a recording's or a `[[source]]`'s problem is in, by its name, e.g.
        /// `[[recording]] "archive"` or `[[source]] "hydrophone"`; nil for other tables or when the table has
        /// no usable name.
        public var table: String?
        /// 1-based column of a TOML syntax error.
        public var column: Int?

        public init(key: String, value: String? = nil, message: String, line: Int? = nil, column: Int? = nil) {
            self.key = key
            self.value = value
            self.message = message
            self.line = line
            self.column = column
        }

        /// `key = value: message`, `key: message`, `line 3, column 7: message`, or with the line and the
        /// recording's name: `line 12: [[recording]] "archive" directory = "/proc/x": message` (a
        /// `[[source]]`'s likewise: `line 4: [[source]] "cam" queue.seconds = 0: message`).
        public var description: String {
            var location = ""
            if let line {
                location = "line \(line)"
                if let column {
                    location += ", column \(column)"
                }
            }
            if !key.isEmpty {
                var shownKey = key
                if let table, key.hasPrefix("recording[") || key.hasPrefix("source["),
                    let close = key.firstIndex(of: "]")
                {
                    let rest = key[key.index(after: close)...].drop { $0 == "." }
                    shownKey = rest.isEmpty ? table : table + " " + rest
                }
                let keyText = value.map { "\(shownKey) = \($0)" } ?? shownKey
                location = location.isEmpty ? keyText : "\(location): \(keyText)"
            }
            return location.isEmpty ? message : "\(location): \(message)"
        }
    }

    /// Exit status of a command that stops because of a configuration error (`EX_CONFIG`).
    public static let exitCode: Int32 = 78

    public var code: Code
    /// The file as it was named to the loader.
    public var path: String
    /// Every problem found, in a stable order; never empty.
    public var problems: [Problem]

    public init(code: Code, path: String, problems: [Problem]) {
        self.code = code
        self.path = path
        self.problems = problems
    }

    /// The file at `path` could not be read; `reason` is the system's explanation, e.g. "No such file or directory".
    public static func unreadable(path: String, reason: String) -> ConfigurationError {
        ConfigurationError(code: .unreadable, path: path, problems: [Problem(key: "", message: reason)])
    }

    /// The file at `path` is not valid TOML.
    public static func syntax(path: String, message: String, line: Int?, column: Int?) -> ConfigurationError {
        ConfigurationError(
            code: .syntax,
            path: path,
            problems: [Problem(key: "", message: message, line: line, column: column)]
        )
    }

    /// The file at `path` is valid TOML with the given `problems` in its keys and values.
    public static func invalid(path: String, problems: [Problem]) -> ConfigurationError {
        ConfigurationError(code: .invalid, path: path, problems: problems)
    }

    /// One line per problem, each prefixed with the path, e.g.
    /// `cannot read /x.toml: No such file or directory`,
    /// `/x.toml: TOML syntax error at line 3, column 7: …`,
    /// `/x.toml: source.channels = 0: must be an integer from 1 to 32`.
    public var description: String {
        problems.map { problem in
            switch code {
            case .unreadable:
                return "cannot read \(path): \(problem.message)"
            case .syntax:
                var location = ""
                if let line = problem.line {
                    location = " at line \(line)"
                    if let column = problem.column {
                        location += ", column \(column)"
                    }
                }
                return "\(path): TOML syntax error\(location): \(problem.message)"
            default:
                return "\(path): \(problem)"
            }
        }.joined(separator: "\n")
    }
}
