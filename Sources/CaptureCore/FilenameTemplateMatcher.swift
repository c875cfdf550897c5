// Recognises the files a filename template produced, and reads their `{seq}` numbers back.

/// Matches paths (relative to a recording's directory) against a ``FilenameTemplate`` expanded for one
/// recording name: `{name}` is that name, `{seq}` any run of digits (its number is read back), and each
/// strftime field a wildcard of the shape the field produces (`%Y` four digits, `%H` two, `%b` any
/// text without `/`). The file may carry the suffixes the daemon adds (`.partial`, `.json`, `.damaged`).
public struct FilenameTemplateMatcher: Sendable {
    /// The regular expression built from the template, anchored at both ends.
    public let pattern: String
    /// How many folder levels the template's expansions have (the count of `/` in it).
    public let depth: Int
    private let hasSequence: Bool
    // Swift's own regular expressions, not NSRegularExpression: that one is ICU's, and building it loaded
    // ICU's data (2.4 MB of the daemon's memory) and cost start-up CPU. Immutable once made, so shared.
    private nonisolated(unsafe) let regex: Regex<AnyRegexOutput>?

    public init(template: FilenameTemplate, name: String) {
        let (body, hasSequence) = Self.translate(template.template, name: name)
        self.pattern = "^" + body + "(?:\\.partial|\\.json|\\.damaged)*$"
        self.hasSequence = hasSequence
        self.depth = template.template.filter { $0 == "/" }.count
        self.regex = try? Regex(pattern)
    }

    /// Whether `relativePath` is a file this template produced for this name (or its sidecar, its
    /// `.partial` or `.damaged` form).
    public func matches(_ relativePath: String) -> Bool { match(relativePath) != nil }

    /// The `{seq}` number in `relativePath`, or nil when the path does not match or the template has no
    /// `{seq}` (or the digits do not fit an Int).
    public func sequence(in relativePath: String) -> Int? {
        guard hasSequence, let result = match(relativePath), result.output.count > 1,
            let digits = result.output[1].substring
        else { return nil }
        return Int(digits)
    }

    private func match(_ path: String) -> Regex<AnyRegexOutput>.Match? {
        guard let regex else { return nil }
        return try? regex.wholeMatch(in: path)
    }

    /// `text` with every character that means something in a regular expression escaped.
    static func escaped(_ text: String) -> String {
        var out = ""
        for character in text {
            if "\\^$.|?*+()[]{}-/#&~ ".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }

    /// The regular expression for `template` with `{name}` = `name`; whether it has a `{seq}`.
    static func translate(_ template: String, name: String) -> (String, Bool) {
        var out = ""
        var literal = ""
        var hasSequence = false
        func flush() {
            if !literal.isEmpty { out += Self.escaped(literal) }
            literal = ""
        }
        var rest = Substring(template)
        while let first = rest.first {
            if rest.hasPrefix("{name}") {
                literal += name
                rest = rest.dropFirst(6)
            } else if rest.hasPrefix("{seq}") {
                flush()
                // Only the first {seq} is read back; later ones are the same number.
                out += hasSequence ? "[0-9]+" : "([0-9]+)"
                hasSequence = true
                rest = rest.dropFirst(5)
            } else if first == "%" {
                rest = rest.dropFirst()
                var flagged = false
                // glibc flags and width (`%-d`, `%_H`, `%10Y`) and the E/O modifiers.
                while let c = rest.first, "-_0^#".contains(c) || c.isNumber || c == "E" || c == "O" {
                    if c != "E" && c != "O" { flagged = true }
                    rest = rest.dropFirst()
                }
                guard let field = rest.first else {
                    literal += "%"
                    break
                }
                rest = rest.dropFirst()
                if field == "%" {
                    literal += "%"
                    continue
                }
                flush()
                out += flagged ? "[^/]*?" : Self.fieldPattern(field)
            } else {
                literal.append(first)
                rest = rest.dropFirst()
            }
        }
        flush()
        return (out, hasSequence)
    }

    /// What a strftime field expands to, as a regular expression.
    static func fieldPattern(_ field: Character) -> String {
        switch field {
        case "Y", "G": "-?[0-9]{4,}"
        case "C", "y", "m", "d", "H", "M", "S", "I", "U", "W", "V", "g": "[0-9]{2}"
        case "j": "[0-9]{3}"
        case "e", "k", "l": "[ 0-9][0-9]"
        case "u", "w": "[0-9]"
        case "s": "-?[0-9]+"
        case "F": "-?[0-9]{4,}-[0-9]{2}-[0-9]{2}"
        case "T": "[0-9]{2}:[0-9]{2}:[0-9]{2}"
        case "R": "[0-9]{2}:[0-9]{2}"
        case "D": "[0-9]{2}/[0-9]{2}/[0-9]{2}"
        case "z": "[-+][0-9]{4}"
        case "n": "\\n"
        case "t": "\\t"
        default: "[^/]*?"
        }
    }
}
