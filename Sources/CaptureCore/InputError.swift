// Why a value from a configuration file or a control request was refused, as a sentence with a next step.

/// A value that ``InputValidation`` refused: which field, the value (made printable), what is wrong and
/// what to do instead.
///
/// `description` reads as one sentence, e.g. `name "a/b" must be 1 to 64 characters, each a letter, digit,
/// `.`, `_` or `-``. The configuration loader shows ``message`` after its own `key = value`.
public struct InputError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of rule was broken. A struct rather than an enum so that new kinds never break callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String

        private init(_ name: String) {
            self.name = name
        }

        /// A recording name outside `[A-Za-z0-9._-]{1,64}`, or `.`, or containing `..`.
        public static let invalidName = Code("invalid_name")
        /// A path or template holding NUL or another control character (a terminal escape, a newline…).
        public static let controlCharacter = Code("control_character")
        /// A path component (a file or folder name) longer than 255 bytes.
        public static let componentTooLong = Code("component_too_long")
        /// A whole path longer than the system's limit (`PATH_MAX`, 4096 bytes with its terminating NUL).
        public static let pathTooLong = Code("path_too_long")
        /// A directory or filename template of the wrong shape (empty, absolute, `..`, ending in `/`).
        public static let invalidPath = Code("invalid_path")
        /// A number that is not a number, not a whole number where one is needed, or out of range.
        public static let outOfRange = Code("out_of_range")

        public var description: String { name }
    }

    public var code: Code
    /// What was checked, as the user wrote it: `name`, `directory`, `filename`, `limit`.
    public var field: String
    /// The refused value, quoted, with control characters escaped and shortened to about 80 characters.
    public var value: String
    /// What is wrong and what to do, starting with a verb: `must not contain control characters …`.
    public var message: String

    public init(code: Code, field: String, value: String, message: String) {
        self.code = code
        self.field = field
        self.value = value
        self.message = message
    }

    /// `field value message`, e.g. `limit "1e19" must be an integer from 1 to 100000`.
    public var description: String { "\(field) \(value) \(message)" }
}
