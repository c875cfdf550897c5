// A test server running in the background (moto_server, sshd): its log file, signals, and a stop that reaps it.

import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One long-running child process of a fixture, its stdout and stderr going to `logPath`.
///
/// `stop()` always ends with the child reaped: SIGCONT (a paused server cannot act on SIGTERM), SIGTERM,
/// up to 5 s, then SIGKILL.
final class ServerProcess: Sendable {
    let logPath: String
    let command: [String]
    // Process is thread-safe for what is used here (pid, isRunning, waitUntilExit); it sits behind a
    // Mutex only so the class can be Sendable without an unchecked conformance.
    private let process: Mutex<Process>

    /// Starts `executable` with `arguments` and `environment`.
    ///
    /// - Throws: `DeliveryFixtureError` when the log cannot be created or the process cannot start.
    init(_ executable: String, _ arguments: [String], environment: [String: String], logPath: String) throws {
        self.logPath = logPath
        self.command = [executable] + arguments
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let child = Process()
        do {
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            defer { try? log.close() }
            child.executableURL = URL(fileURLWithPath: executable)
            child.arguments = arguments
            child.environment = environment
            child.standardInput = FileHandle.nullDevice
            child.standardOutput = log
            child.standardError = log
            try child.run()
        } catch {
            throw DeliveryFixtureError(reason: "cannot start `\(command.joined(separator: " "))`: \(error)")
        }
        process = Mutex(child)
    }

    var pid: Int32 { process.withLock { $0.processIdentifier } }
    var isRunning: Bool { process.withLock { $0.isRunning } }

    /// The log so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The last `count` characters of the log, for error messages.
    func logTail(_ count: Int = 3000) -> String { "\(logPath) ends with:\n" + String(log.suffix(count)) }

    func signal(_ signal: Int32) {
        guard isRunning else { return }
        kill(pid, signal)
    }

    /// Ends the process and reaps it. Idempotent.
    func stop() {
        let child = process.withLock { $0 }
        guard child.isRunning else { return }
        kill(child.processIdentifier, SIGCONT)
        kill(child.processIdentifier, SIGTERM)
        let giveUp = Date().addingTimeInterval(5)
        while child.isRunning && Date() < giveUp { usleep(20_000) }
        if child.isRunning { kill(child.processIdentifier, SIGKILL) }
        child.waitUntilExit()
    }

    deinit { stop() }
}

/// Whether something listens on 127.0.0.1:`port` now (read from /proc/net/tcp, so no connection is made).
func tcpPortListens(_ port: Int) -> Bool {
    let local = String(format: "0100007F:%04X", port)
    let table = (try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8)) ?? ""
    return table.split(separator: "\n").contains { line in
        let fields = line.split(separator: " ")
        return fields.count > 3 && fields[1] == local && fields[3] == "0A"
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` seconds pass; whether it held.
func pollUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(50_000)
    }
    return condition()
}
