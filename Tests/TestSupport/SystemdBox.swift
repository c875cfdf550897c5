// A throwaway systemd as PID 1 of its own namespaces, for tests of the installed service (Tests/Fixtures/sysbox).

import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failure to start or use a systemd box: what failed, what the script said, and what to do next.
public struct SystemdBoxError: Error, CustomStringConvertible {
    public var reason: String
    /// The script's stderr, and the tail of the box's boot log when there is one.
    public var output: String

    public init(reason: String, output: String = "") {
        self.reason = reason
        self.output = output
    }

    public var description: String {
        output.isEmpty ? reason : "\(reason)\n\(output)"
    }
}

/// What a command run inside a box did.
public struct SystemdBoxResult: Sendable, CustomStringConvertible {
    /// The command's exit status, or 128 + the signal number that ended it.
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }

    /// stdout without its trailing newlines and spaces: the value of a `systemctl show -P` query.
    public var value: String { stdout.trimmingCharacters(in: .whitespacesAndNewlines) }

    public var description: String {
        "exit status \(status)" + (stdout.isEmpty ? "" : "\nstdout: \(stdout.suffix(3000))")
            + (stderr.isEmpty ? "" : "\nstderr: \(stderr.suffix(3000))")
    }
}

/// A real systemd, booted as PID 1 of its own PID, mount, UTS and IPC namespaces on an overlay of this
/// machine's root (`Tests/Fixtures/sysbox`), so that `make install`, `systemctl`, sysusers, the watchdog
/// and journald behave as on a user's host, and everything done inside vanishes with `stop()`.
///
/// The host's files, this checkout included, are visible inside as they are; `/tmp` and `/run` inside are
/// private. Needs root and namespaces (see `unavailableReason`). Each box has its own state directory
/// under /var/tmp, so several boxes may run at once.
public final class SystemdBox: Sendable {
    /// Where the fixture scripts live: `Tests/Fixtures/sysbox` of this source tree.
    /// The package's root folder (this checkout).
    public static let packageRoot: String =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    public static let fixtureDirectory: String =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sysbox").path

    /// The box's state directory on the host (its overlay's upper and work directories, its pid, its boot
    /// log).
    public let stateDirectory: String
    /// The box's PID 1, as seen from the host.
    public let pid: Int32
    /// Seconds `start` took until the box had booted.
    public let startupSeconds: Double

    private let ownedDirectory: TemporaryDirectory
    private let stopped = Mutex(false)

    private init(stateDirectory: String, pid: Int32, startupSeconds: Double, ownedDirectory: TemporaryDirectory) {
        self.stateDirectory = stateDirectory
        self.pid = pid
        self.startupSeconds = startupSeconds
        self.ownedDirectory = ownedDirectory
    }

    /// Boots a box in a fresh state directory under `parent` and returns once its systemd has finished
    /// booting (running or degraded; about 3 s).
    ///
    /// - Parameter parent: where to create the state directory; not under /tmp or /run, which are
    ///   private inside the box.
    /// - Throws: `SystemdBoxError` when what it needs is missing (see `unavailableReason`) or the box does
    ///   not boot; the error holds the script's output and the boot log.
    public static func start(in parent: String = "/var/tmp") throws -> SystemdBox {
        if let unavailableReason { throw SystemdBoxError(reason: unavailableReason) }
        let owned = try TemporaryDirectory(prefix: "audiocap-box", in: parent)
        let began = Date()
        let result: (status: Int32, stdout: Data, stderr: Data)
        do {
            // The checkout (and its build folder) must be seen inside, also when it lies under /tmp or
            // /run, which are private there: start.sh binds it in at the same path.
            result = try ProcessRunner.run(
                "/bin/sh", [fixtureDirectory + "/start.sh", owned.path, packageRoot], timeout: 90)
        } catch {
            _ = try? ProcessRunner.run("/bin/sh", [fixtureDirectory + "/stop.sh", owned.path], timeout: 30)
            owned.remove()
            throw error
        }
        let seconds = Date().timeIntervalSince(began)
        let printed = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n").last
        guard result.status == 0, let pid = printed.flatMap({ Int32($0) }) else {
            let log = (try? String(contentsOfFile: owned.file("boot.log"), encoding: .utf8)) ?? ""
            _ = try? ProcessRunner.run("/bin/sh", [fixtureDirectory + "/stop.sh", owned.path], timeout: 30)
            owned.remove()
            throw SystemdBoxError(
                reason: "the systemd box did not boot (start.sh exited with \(result.status))",
                output: String(decoding: result.stderr, as: UTF8.self)
                    + (log.isEmpty ? "" : "boot.log ends with:\n" + log.suffix(2000)))
        }
        return SystemdBox(stateDirectory: owned.path, pid: pid, startupSeconds: seconds, ownedDirectory: owned)
    }

    /// Runs `command` as root inside the box and waits for it to finish.
    ///
    /// - Parameters:
    ///   - directory: the working directory inside (the host's directories are visible as they are); nil
    ///     for this process's working directory, or / when that does not exist inside.
    ///   - timeout: seconds after which the command is killed.
    /// - Throws: `ProcessRunnerError` when it cannot be run or times out. A command that fails is not an
    ///   error: read `status`.
    @discardableResult
    public func run(_ command: [String], in directory: String? = nil, timeout: Double = 60) throws -> SystemdBoxResult {
        var arguments = [Self.fixtureDirectory + "/in.sh", stateDirectory]
        if let directory {
            arguments += ["sh", "-c", "cd \"$0\" && exec \"$@\"", directory]
        }
        let result = try ProcessRunner.run("/bin/sh", arguments + command, timeout: timeout)
        return SystemdBoxResult(
            status: result.status, stdout: String(decoding: result.stdout, as: UTF8.self),
            stderr: String(decoding: result.stderr, as: UTF8.self))
    }

    /// Runs `script` with `sh -c` inside the box; see `run(_:in:timeout:)`.
    @discardableResult
    public func shell(_ script: String, in directory: String? = nil, timeout: Double = 60) throws -> SystemdBoxResult {
        try run(["sh", "-c", script], in: directory, timeout: timeout)
    }

    /// The host's path of `path` inside the box (mounts made inside included), for reading what the
    /// service wrote with the host's tools. Valid while the box runs.
    public func hostPath(_ path: String) -> String {
        "/proc/\(pid)/root" + (path.hasPrefix("/") ? path : "/" + path)
    }

    /// Powers the box off, which ends every process and mount inside, then removes its state directory.
    /// Returns once they are gone. Idempotent; also called when the object goes away.
    public func stop() {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        FixtureScript.stop(
            "SystemdBox", script: Self.fixtureDirectory + "/stop.sh", stateDirectory: stateDirectory, timeout: 60)
        ownedDirectory.remove()
    }

    deinit { stop() }

    /// Whether `start` can work here. For `@Suite(.enabled(if: SystemdBox.isAvailable))`.
    public static var isAvailable: Bool { unavailableReason == nil }

    /// Why `start` cannot work here (not root, namespaces refused, a tool missing), with what to do; nil
    /// when it can.
    public static let unavailableReason: String? = {
        if !FileManager.default.fileExists(atPath: fixtureDirectory + "/start.sh") {
            return "the systemd box's scripts are not in \(fixtureDirectory)"
        }
        guard getuid() == 0 else { return "a systemd box needs root (it mounts an overlay and new namespaces)" }
        let missing = ["unshare", "nsenter", "mount"].filter { ProcessRunner.which($0) == nil }
        if !missing.isEmpty {
            return "a systemd box needs \(missing.joined(separator: ", ")) (apt-get install util-linux mount)"
        }
        if !FileManager.default.isExecutableFile(atPath: "/lib/systemd/systemd") {
            return "a systemd box needs systemd installed (apt-get install systemd)"
        }
        // What start.sh asks of the kernel: a new PID and mount namespace.
        guard let probe = try? ProcessRunner.run("unshare", ["--pid", "--fork", "--mount", "true"], timeout: 10),
            probe.status == 0
        else {
            return "unshare --pid --mount is refused here (no namespaces in this container?): "
                + "a systemd box cannot be started"
        }
        return nil
    }()
}
