// Writing to the terminal: standard output and error, whether they are terminals, and optional ANSI styling.

import Foundation
import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Standard output and standard error, written with write(2) at once, so lines appear as they are produced
/// even when the output is a pipe (Glibc's `stdout` and `stderr` globals are not concurrency-safe in Swift 6).
///
/// When the reader of standard output goes away (`audiocap logs -f | head`) the process exits 0 quietly:
/// SIGPIPE is ignored in this process (swift-nio ignores it), so the write fails with EPIPE instead. Any other
/// failure to write exits 74 (EX_IOERR).
enum Console {
    /// Writes `text` and a newline to standard output.
    static func line(_ text: String) {
        write(text + "\n")
    }

    /// Writes `text` as it is to standard output.
    static func write(_ text: String) {
        if let failure = writeAll(STDOUT_FILENO, text) {
            if failure == EPIPE { exit(0) }
            _ = writeAll(
                STDERR_FILENO, "audiocap: cannot write to standard output: \(String(cString: strerror(failure)))\n")
            exit(74)
        }
    }

    /// Writes `audiocap: message` and a newline to standard error.
    static func error(_ message: String) {
        _ = writeAll(STDERR_FILENO, "audiocap: " + message + "\n")
    }

    /// Writes all of `text` to `descriptor`; returns the errno of a failed write, nil on success.
    private static func writeAll(_ descriptor: Int32, _ text: String) -> Int32? {
        do {
            try FileDescriptor(rawValue: descriptor).writeAll(text.utf8)
            return nil
        } catch {
            return (error as? Errno)?.rawValue ?? EIO
        }
    }

    /// Whether standard output is a terminal.
    static var outputIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// The width of the terminal on standard output (TIOCGWINSZ), else `$COLUMNS`, else nil.
    static var columns: Int? {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return columns(environment: ProcessInfo.processInfo.environment)
    }

    /// `$COLUMNS` when it is a positive number.
    static func columns(environment: [String: String]) -> Int? {
        guard let text = environment["COLUMNS"], let value = Int(text), value > 0 else { return nil }
        return value
    }

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

    /// Colors a state word: green for healthy states, plain for a recording outside its schedule, yellow for
    /// transient ones, red for the rest.
    func state(_ state: String) -> String {
        switch state {
        case "running", "recording", "listening": green(state)
        case "scheduled_off": state
        case "starting", "restarting", "blocked": yellow(state)
        default: red(state)
        }
    }

    private func wrap(_ text: String, _ code: String) -> String {
        enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}
