// Writing to the terminal: standard output and error, whether they are terminals, and optional ANSI styling.

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Standard output and standard error, written with one write(2) per call so lines appear at once, even when
/// the output is a pipe (Glibc's `stdout` and `stderr` globals are not concurrency-safe in Swift 6).
enum Console {
    /// Writes `text` and a newline to standard output.
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Writes `text` as it is to standard output.
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Writes `audiocap: message` and a newline to standard error.
    static func error(_ message: String) {
        FileHandle.standardError.write(Data(("audiocap: " + message + "\n").utf8))
    }

    /// Whether standard output is a terminal.
    static var outputIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// Styling for standard output: ANSI colors when it is a terminal and `NO_COLOR` is not set.
    static var outputStyle: Style {
        Style(enabled: outputIsTerminal && ProcessInfo.processInfo.environment["NO_COLOR"] == nil)
    }
}

/// ANSI colors, or plain text when disabled.
struct Style: Sendable {
    var enabled: Bool

    static let plain = Style(enabled: false)

    func green(_ text: String) -> String { wrap(text, "32") }
    func yellow(_ text: String) -> String { wrap(text, "33") }
    func red(_ text: String) -> String { wrap(text, "31") }
    func bold(_ text: String) -> String { wrap(text, "1") }
    func dim(_ text: String) -> String { wrap(text, "2") }

    /// Colors a state word: green for healthy states, yellow for transient ones, red for the rest.
    func state(_ state: String) -> String {
        switch state {
        case "running", "recording": green(state)
        case "starting", "restarting", "blocked": yellow(state)
        default: red(state)
        }
    }

    private func wrap(_ text: String, _ code: String) -> String {
        enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}
