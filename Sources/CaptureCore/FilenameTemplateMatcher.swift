// Recognises the files a filename template produced, and reads their `{seq}` numbers back.

/// Matches paths (relative to a recording's directory) against a ``FilenameTemplate`` expanded for one
/// recording name: `{name}` is that name, `{seq}` any run of digits (its number is read back), and each
/// strftime field a wildcard of the shape the field produces (`%Y` four digits, `%H` two, `%b` any
/// text without `/`). The file may carry the suffixes the daemon adds (`.partial`, `.json`, `.damaged`).
public struct FilenameTemplateMatcher: Sendable {
    /// One piece of a template's file names.
    enum Piece: Sendable, Equatable {
        /// These bytes exactly.
        case literal([UInt8])
        /// `min...max` bytes of `set` (max nil: no limit); `lazy` tries the fewest first, as `*?` does. A
        /// `capture` run is the `{seq}` read back.
        case run(ByteSet, min: Int, max: Int?, lazy: Bool = false, capture: Bool = false)
    }

    /// The bytes a run may take.
    enum ByteSet: Sendable, Equatable {
        case digit, digitOrSpace, notSlash, minus, sign

        func contains(_ byte: UInt8) -> Bool {
            switch self {
            case .digit: byte >= 0x30 && byte <= 0x39
            case .digitOrSpace: byte == 0x20 || (byte >= 0x30 && byte <= 0x39)
            case .notSlash: byte != 0x2F
            case .minus: byte == 0x2D
            case .sign: byte == 0x2D || byte == 0x2B
            }
        }
    }

    /// What the template's names are made of, in order.
    let pieces: [Piece]
    /// How many folder levels the template's expansions have (the count of `/` in it).
    public let depth: Int
    private let hasSequence: Bool
    /// The suffixes the daemon adds to a file, any number of them after the name.
    private static let suffixes: [[UInt8]] = [".partial", ".json", ".damaged"].map { Array($0.utf8) }

    // A small backtracking matcher over bytes, not a regular expression: Swift's Regex parses its pattern at
    // run time with code (_RegexParser, _StringProcessing) that kept 0.8 MB of the daemon resident, and
    // NSRegularExpression is ICU's (2.4 MB of data). A path's bytes are UTF-8, where `/` is never part of
    // another character, so "any byte but `/`" is "any character but `/`".
    public init(template: FilenameTemplate, name: String) {
        (pieces, hasSequence) = Self.translate(template.template, name: name)
        depth = template.template.filter { $0 == "/" }.count
    }

    /// Whether `relativePath` is a file this template produced for this name (or its sidecar, its
    /// `.partial` or `.damaged` form).
    public func matches(_ relativePath: String) -> Bool { match(relativePath) != nil }

    /// The `{seq}` number in `relativePath`, or nil when the path does not match or the template has no
    /// `{seq}` (or the digits do not fit an Int).
    public func sequence(in relativePath: String) -> Int? {
        guard hasSequence, let digits = match(relativePath) ?? nil else { return nil }
        return Int(String(decoding: digits, as: UTF8.self))
    }

    /// nil when `path` does not match; else the `{seq}` digits (nil without a `{seq}`).
    private func match(_ path: String) -> [UInt8]?? {
        let bytes = Array(path.utf8)
        var captured: ArraySlice<UInt8>?
        func suffixesOnly(from start: Int) -> Bool {
            var at = start
            outer: while at < bytes.count {
                for suffix in Self.suffixes where bytes[at...].starts(with: suffix) {
                    at += suffix.count
                    continue outer
                }
                return false
            }
            return true
        }
        func match(_ index: Int, _ at: Int) -> Bool {
            guard index < pieces.count else { return suffixesOnly(from: at) }
            switch pieces[index] {
            case .literal(let text):
                return bytes[at...].starts(with: text) && match(index + 1, at + text.count)
            case .run(let set, let min, let max, let lazy, let capture):
                var longest = 0
                let limit = Swift.min(max ?? Int.max, bytes.count - at)
                while longest < limit, set.contains(bytes[at + longest]) { longest += 1 }
                guard longest >= min else { return false }
                let counts =
                    lazy ? stride(from: min, through: longest, by: 1) : stride(from: longest, through: min, by: -1)
                for count in counts {
                    if match(index + 1, at + count) {
                        if capture { captured = bytes[at..<at + count] }
                        return true
                    }
                }
                return false
            }
        }
        guard match(0, 0) else { return nil }
        return .some(captured.map(Array.init))
    }

    /// The pieces of `template` with `{name}` = `name`; whether it has a `{seq}`.
    static func translate(_ template: String, name: String) -> ([Piece], Bool) {
        var pieces: [Piece] = []
        var literal = ""
        var hasSequence = false
        func flush() {
            if !literal.isEmpty { pieces.append(.literal(Array(literal.utf8))) }
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
                pieces.append(.run(.digit, min: 1, max: nil, capture: !hasSequence))
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
                pieces += flagged ? [Self.anything] : Self.fieldPieces(field)
            } else {
                literal.append(first)
                rest = rest.dropFirst()
            }
        }
        flush()
        return (pieces, hasSequence)
    }

    /// Any text without `/`, the fewest characters first.
    static let anything = Piece.run(.notSlash, min: 0, max: nil, lazy: true)

    /// What a strftime field expands to.
    static func fieldPieces(_ field: Character) -> [Piece] {
        func digits(_ count: Int) -> Piece { .run(.digit, min: count, max: count) }
        let optionalMinus = Piece.run(.minus, min: 0, max: 1)
        let year = [optionalMinus, .run(.digit, min: 4, max: nil)]
        func text(_ string: String) -> Piece { .literal(Array(string.utf8)) }
        switch field {
        case "Y", "G": return year
        case "C", "y", "m", "d", "H", "M", "S", "I", "U", "W", "V", "g": return [digits(2)]
        case "j": return [digits(3)]
        case "e", "k", "l": return [.run(.digitOrSpace, min: 1, max: 1), digits(1)]
        case "u", "w": return [digits(1)]
        case "s": return [optionalMinus, .run(.digit, min: 1, max: nil)]
        case "F": return year + [text("-"), digits(2), text("-"), digits(2)]
        case "T": return [digits(2), text(":"), digits(2), text(":"), digits(2)]
        case "R": return [digits(2), text(":"), digits(2)]
        case "D": return [digits(2), text("/"), digits(2), text("/"), digits(2)]
        case "z": return [.run(.sign, min: 1, max: 1), digits(4)]
        case "n": return [text("\n")]
        case "t": return [text("\t")]
        default: return [anything]
        }
    }
}
