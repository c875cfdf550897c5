// The check of a recording or source name typed on the command line; the rule itself is InputValidation's.
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

/// A source name given to a command (`levels --source`, `start --source`): `[A-Za-z0-9._-]{1,64}`.
enum SourceNameArgument {
    /// Throws a `ValidationError` that points at `audiocap status` when `name` cannot be a source's name.
    static func validate(_ name: String) throws {
        // Source names follow the rule of recording names (the loader checks them with checkName).
        guard InputValidation.isValidName(name) else {
            throw ValidationError(
                "\(InputValidation.printable(name)) is not a valid source name; `audiocap status` lists the sources")
        }
    }
}
