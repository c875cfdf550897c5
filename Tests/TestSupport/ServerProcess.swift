// A test server running in the background (moto_server, sshd): its log file, signals, and a stop that reaps it.

import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One long-running child process of a fixture, its stdout and stderr going to `logPath`.
///
/// Started with `posix_spawn` and reaped with `waitpid` on its own pid, not with Foundation's `Process`:
/// Foundation learns of a child's exit from a socket the child inherits, and a server that closes every
/// descriptor at start (sshd does) looks exited at once, after which Foundation blocks in `waitpid` for it
/// and stops reaping every other child of the test, the daemon included.
///
/// `stop()` always ends with the child reaped: SIGCONT (a paused server cannot act on SIGTERM), SIGTERM,
/// up to 5 s, then SIGKILL.
final class ServerProcess: Sendable {
    let logPath: String
    let command: [String]
    let pid: pid_t
    /// The wait status once reaped.
    private let exitStatus = Mutex<Int32?>(nil)

    /// Starts `executable` (a path) with `arguments` and `environment`, stdin on /dev/null.
    ///
    /// - Throws: `DeliveryFixtureError` when the log cannot be created or the process cannot start.
    init(_ executable: String, _ arguments: [String], environment: [String: String], logPath: String) throws {
        self.logPath = logPath
        self.command = [executable] + arguments
        let log = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        guard log >= 0 else {
            throw DeliveryFixtureError(
                reason: "cannot create \(logPath) for `\(executable)`: \(String(cString: strerror(errno)))")
        }
        defer { close(log) }
        do {
            pid = try ProcessRunner.spawn(
                executable, arguments: command, environment: environment, stdout: log, stderr: log)
        } catch {
            throw DeliveryFixtureError(reason: "cannot start `\(command.joined(separator: " "))`: \(error)")
        }
    }

    /// Whether the process has not exited yet (reaps it when it has).
    var isRunning: Bool {
        exitStatus.withLock { status in
            guard status == nil else { return false }
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
            return status == nil
        }
    }

    /// The log so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The last `count` characters of the log, for error messages.
    func logTail(_ count: Int = 3000) -> String { "\(logPath) ends with:\n" + String(log.suffix(count)) }

    /// Sends `signal` while the process runs.
    func signal(_ signal: Int32) {
        guard isRunning else { return }
        kill(pid, signal)
    }

    /// Ends the process and reaps it. Idempotent.
    func stop() {
        guard isRunning else { return }
        kill(pid, SIGCONT)
        kill(pid, SIGTERM)
        let giveUp = Date().addingTimeInterval(5)
        while isRunning && Date() < giveUp { usleep(20_000) }
        guard isRunning else { return }
        kill(pid, SIGKILL)
        exitStatus.withLock { status in
            var raw: Int32 = 0
            while status == nil {
                let result = waitpid(pid, &raw, 0)
                if result == pid {
                    status = raw
                } else if result == -1 && errno != EINTR {
                    status = -1
                }
            }
        }
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
