// The check of a recording name typed on the command line; the rule itself is InputValidation's.
import ArgumentParser
import CaptureCore

/// A recording name given to a command that looks up an existing recording (`stop`, `segments`, `logs`).
enum RecordingNameArgument {
    /// Throws a `ValidationError` that points at `audiocap recordings` when `name` breaks the name rule
    /// (``InputValidation/isValidName(_:)``).
    static func validate(_ name: String) throws {
        guard InputValidation.isValidName(name) else {
            throw ValidationError(
                "\(InputValidation.printable(name)) is not a valid recording name; `audiocap recordings` lists them")
        }
    }
}
