// The rules every outside value meets before it is used: names, directories, filename templates and
// numbers, the same for the configuration file and the control API.

/// Checks values that come from outside (the configuration file, a control request) so that what is
/// accepted never fails later: no trap on a number, no file that cannot be created because of its name.
///
/// Every check throws an ``InputError`` saying what was wrong and what to do; nothing here touches the
/// file system.
public enum InputValidation {
    /// Longest recording name, in characters (all ASCII).
    public static let maximumNameLength = 64
    /// Longest file or folder name the file systems allow (`NAME_MAX`), in bytes.
    public static let maximumComponentBytes = 255
    /// Longest path a system call takes (`PATH_MAX` is 4096 with the terminating NUL), in bytes.
    public static let maximumPathBytes = 4095
    /// Bytes a writer may add to a file's name: a collision suffix (`-1000000`) and `.partial`.
    public static let fileNameReserve = 16
    /// The largest `{seq}` a writer reaches (it goes on after the numbers already taken, capped near 10⁹).
    public static let worstCaseSequence = 9_999_999_999
    /// Times a template is expanded at to find its longest result: Wednesdays in September and December
    /// (the longest day and month names), at 23:59:59 UTC, with a 10-digit `%s`.
    public static let worstCaseTimes: [Double] = [4_094_495_999, 4_102_358_399]

    static let nameRule = "must be 1 to 64 characters, each a letter, digit, `.`, `_` or `-`"

    // MARK: - Names

    /// Whether `name` is a valid recording name: `[A-Za-z0-9._-]{1,64}`, not `.`, not containing `..`.
    public static func isValidName(_ name: String) -> Bool {
        (try? checkName(name)) != nil
    }

    /// Checks a recording name: 1 to 64 of `A-Z a-z 0-9 . _ -`, not `.`, not containing `..` (a name is
    /// used as a folder name and in file names).
    public static func checkName(_ name: String, field: String = "name") throws(InputError) {
        let isAllowed: (Unicode.Scalar) -> Bool = { scalar in
            switch scalar {
            case "A"..."Z", "a"..."z", "0"..."9", ".", "_", "-": true
            default: false
            }
        }
        guard !name.isEmpty, name.unicodeScalars.count <= maximumNameLength, name.unicodeScalars.allSatisfy(isAllowed)
        else {
            throw InputError(code: .invalidName, field: field, value: printable(name), message: nameRule)
        }
        if name == "." {
            throw InputError(code: .invalidName, field: field, value: printable(name), message: "must not be `.`")
        }
        if name.contains("..") {
            throw InputError(code: .invalidName, field: field, value: printable(name), message: "must not contain `..`")
        }
    }

    // MARK: - Paths

    /// Checks a directory: not empty, no control characters (NUL, escape, newline…), no folder name over
    /// 255 bytes, at most 4095 bytes in all.
    public static func checkDirectory(_ directory: String, field: String = "directory") throws(InputError) {
        if directory.isEmpty {
            throw InputError(
                code: .invalidPath, field: field, value: printable(directory), message: "must not be empty")
        }
        try checkPrintable(directory, field: field)
        try checkLength(directory, field: field)
    }

    /// Checks a filename template and returns it as a writer uses it, with the extension of `format`
    /// (`.wav`, `.flac`) added when it does not end in it (in any case), and refused when it ends in
    /// another format's extension: not empty, relative, no `..` component, not ending in `/`, no control
    /// characters, no component over 255 bytes.
    ///
    /// What it expands to is checked by ``checkTarget(directory:template:name:field:)``.
    public static func filenameTemplate(
        _ template: String, field: String = "filename", format: RecordingFormat = .wav
    ) throws(InputError) -> String {
        let value = printable(template)
        if template.isEmpty {
            throw InputError(code: .invalidPath, field: field, value: value, message: "must not be empty")
        }
        try checkPrintable(template, field: field)
        if template.hasPrefix("/") {
            throw InputError(
                code: .invalidPath, field: field, value: value,
                message: "must be relative to `directory`, not start with `/`")
        }
        if template.split(separator: "/", omittingEmptySubsequences: false).contains("..") {
            throw InputError(
                code: .invalidPath, field: field, value: value, message: "must not contain `..` path components")
        }
        if template.hasSuffix("/") {
            throw InputError(
                code: .invalidPath, field: field, value: value, message: "must name a file, not end in `/`")
        }
        try checkLength(template, field: field)
        let suffix = "." + format.fileExtension
        if let other = RecordingFormat.allCases.first(where: {
            $0 != format && template.lowercased().hasSuffix("." + $0.fileExtension)
        }) {
            throw InputError(
                code: .invalidPath, field: field, value: value,
                message:
                    "ends in `.\(other.fileExtension)` but the files are \(format.rawValue.uppercased()) (format = \"\(format.rawValue)\"); "
                    + "end it in `\(suffix)`, or leave the extension out")
        }
        return template.lowercased().hasSuffix(suffix) ? template : template + suffix
    }

    /// Checks the paths a recording writes: `template` expanded with `name`, the largest `{seq}` and the
    /// longest dates (``worstCaseTimes``) must hold no control character (strftime's `%n`, `%t`), no
    /// `..`, no component over 255 bytes (the file name over 239, leaving room for ``fileNameReserve``),
    /// and `directory/expanded` with that reserve must fit in 4095 bytes.
    public static func checkTarget(
        directory: String, template: FilenameTemplate, name: String, field: String = "filename"
    ) throws(InputError) {
        let value = printable(template.template)
        for time in worstCaseTimes {
            guard let expanded = template.expansion(name: name, sequence: worstCaseSequence, time: time) else {
                throw InputError(
                    code: .pathTooLong, field: field, value: value,
                    message: "expands to more than \(maximumPathBytes) bytes; use fewer or shorter strftime fields")
            }
            if let scalar = expanded.unicodeScalars.first(where: isControl) {
                throw InputError(
                    code: .controlCharacter, field: field, value: value,
                    message:
                        "expands to the control character \(codePoint(scalar)) (strftime's %n and %t are a newline "
                        + "and a tab); use printable characters only")
            }
            let components = expanded.split(separator: "/")
            if components.contains("..") {
                throw InputError(
                    code: .invalidPath, field: field, value: value, message: "must not expand to a `..` component")
            }
            for (index, component) in components.enumerated() {
                let isFile = index == components.count - 1
                let limit = isFile ? maximumComponentBytes - fileNameReserve : maximumComponentBytes
                if component.utf8.count > limit {
                    let what = isFile ? "a file name" : "a folder name"
                    let room = isFile ? " (255 less \(fileNameReserve) for a collision suffix and `.partial`)" : ""
                    throw InputError(
                        code: .componentTooLong, field: field, value: value,
                        message:
                            "expands to \(what) of up to \(component.utf8.count) bytes; at most \(limit) are allowed"
                            + room + "; shorten it")
                }
            }
            let total = directory.utf8.count + 1 + expanded.utf8.count + fileNameReserve
            if total > maximumPathBytes {
                throw InputError(
                    code: .pathTooLong, field: field, value: value,
                    message:
                        "makes paths of up to \(total) bytes under the directory (with room for a collision suffix "
                        + "and `.partial`); a path may have at most \(maximumPathBytes); shorten the directory or the template"
                )
            }
        }
    }

    /// Whether two directories overlap: the same, or one inside the other. Compares the paths as written
    /// after removing empty and `.` components (resolve symbolic links and `..` first).
    public static func overlaps(_ first: String, _ second: String) -> Bool {
        func components(_ path: String) -> [Substring] { path.split(separator: "/").filter { $0 != "." } }
        let a = components(first)
        let b = components(second)
        guard first.hasPrefix("/") == second.hasPrefix("/") else { return false }
        return a.starts(with: b) || b.starts(with: a)
    }

    // MARK: - Numbers

    /// The integer `text` names (`12`, `-3`, `1e3`), when it is a whole number in `range`.
    ///
    /// - Throws: ``InputError`` with code `.outOfRange` for text that is not a number, `nan`, `inf`, a
    ///   fraction or a value outside `range` (never traps, however large).
    public static func integer(_ text: String, field: String, range: ClosedRange<Int>) throws(InputError) -> Int {
        if let exact = Int(text), range.contains(exact) { return exact }
        if let double = Double(text), double.isFinite, let exact = Int(exactly: double), range.contains(exact) {
            return exact
        }
        throw InputError(
            code: .outOfRange, field: field, value: printable(text),
            message: "must be an integer from \(range.lowerBound) to \(range.upperBound)")
    }

    /// `value` when it lies in `range`.
    public static func integer(_ value: Int, field: String, range: ClosedRange<Int>) throws(InputError) -> Int {
        guard range.contains(value) else {
            throw InputError(
                code: .outOfRange, field: field, value: String(value),
                message: "must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// The finite number `text` names, when `isAllowed` holds for it; `allowed` says what is allowed
    /// (`a number from 0 to 10000000000`).
    public static func number(
        _ text: String, field: String, allowed: String, where isAllowed: (Double) -> Bool
    ) throws(InputError) -> Double {
        guard let value = Double(text), value.isFinite, isAllowed(value) else {
            throw InputError(code: .outOfRange, field: field, value: printable(text), message: "must be " + allowed)
        }
        return value
    }

    /// `value` when it is finite and `isAllowed` holds for it.
    public static func number(
        _ value: Double, field: String, allowed: String, where isAllowed: (Double) -> Bool
    ) throws(InputError) -> Double {
        guard value.isFinite, isAllowed(value) else {
            let text = value.isNaN ? "nan" : value.isInfinite ? (value < 0 ? "-inf" : "inf") : String(value)
            throw InputError(code: .outOfRange, field: field, value: text, message: "must be " + allowed)
        }
        return value
    }

    // MARK: - Text

    /// `string` in double quotes, with quotes, backslashes and control characters escaped (`\u{1B}`) and
    /// shortened to about 80 characters: safe to print on a terminal or in a log.
    public static func printable(_ string: String) -> String {
        var quoted = "\""
        var count = 0
        for scalar in string.unicodeScalars {
            if count >= 77 {
                quoted += "…"
                break
            }
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case _ where isControl(scalar): quoted += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: quoted.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return quoted + "\""
    }

    /// Control characters: C0 (NUL, escape, newline…), DEL and C1 (which terminals also obey).
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    private static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    private static func checkPrintable(_ text: String, field: String) throws(InputError) {
        guard let scalar = text.unicodeScalars.first(where: isControl) else { return }
        let name = scalar.value == 0 ? "NUL" : scalar.value == 0x1B ? "escape" : "control character"
        throw InputError(
            code: .controlCharacter, field: field, value: printable(text),
            message:
                "must not contain control characters (found \(name) \(codePoint(scalar))); use printable characters only"
        )
    }

    private static func checkLength(_ path: String, field: String) throws(InputError) {
        if path.utf8.count > maximumPathBytes {
            throw InputError(
                code: .pathTooLong, field: field, value: printable(path),
                message: "is \(path.utf8.count) bytes long; a path may have at most \(maximumPathBytes) (PATH_MAX)")
        }
        if let long = path.split(separator: "/").first(where: { $0.utf8.count > maximumComponentBytes }) {
            throw InputError(
                code: .componentTooLong, field: field, value: printable(path),
                message: "has a name of \(long.utf8.count) bytes between slashes; a file system allows at most "
                    + "\(maximumComponentBytes) bytes per file or folder name; shorten it")
        }
    }
}
