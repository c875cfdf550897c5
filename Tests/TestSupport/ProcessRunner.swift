// Runs a command to completion for a test (ffmpeg, soxi, the fixture scripts, the built binaries).

import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A command that could not be run to completion: which one, what went wrong, and what it printed.
public struct ProcessRunnerError: Error, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// The executable is not in `PATH` or not executable.
        case notFound
        /// The process could not be started.
        case launchFailed
        /// The process did not finish within the timeout; it was killed.
        case timedOut
    }

    public var code: Code
    public var command: [String]
    public var detail: String
    /// What the process wrote before it was killed (empty unless `code` is `.timedOut`).
    public var stdout: Data
    public var stderr: Data

    public init(code: Code, command: [String], detail: String, stdout: Data = Data(), stderr: Data = Data()) {
        self.code = code
        self.command = command
        self.detail = detail
        self.stdout = stdout
        self.stderr = stderr
    }

    public var description: String {
        let line = command.joined(separator: " ")
        switch code {
        case .notFound: return "cannot run `\(line)`: \(detail); is it installed and in PATH?"
        case .launchFailed: return "cannot run `\(line)`: \(detail)"
        case .timedOut:
            let tail = String(decoding: stderr.suffix(2000), as: UTF8.self)
            return "`\(line)` did not finish within \(detail) and was killed; its stderr ended with:\n\(tail)"
        }
    }
}

/// Runs child processes synchronously, collecting their output. For tests: it blocks the calling thread.
///
/// It spawns with `posix_spawn` rather than Foundation's `Process`, which hands its child one end of a
/// socket pair and reaps the child only when every holder of that end is gone: a child that leaves a
/// daemon behind (the test microphone's start.sh) would never count as exited. Here the child gets
/// stdin, stdout and stderr and no other descriptor of this process, and is reaped with `waitpid`.
public enum ProcessRunner {
    /// Runs `executable` with `args` and waits for it to exit.
    ///
    /// `executable` is a path, or a name looked up in `PATH`. The child's stdin is /dev/null; its stdout
    /// and stderr are collected in full, read together so neither pipe can fill up and stall it. When
    /// the child has exited but a process it left behind still holds its stdout or stderr, what arrives
    /// within a second after the exit is returned. `status` is the exit status, or 128 + the signal
    /// number when a signal ended the child. Signals start with their default actions in the child.
    ///
    /// - Parameters:
    ///   - environment: the child's whole environment; nil to inherit this process's.
    ///   - timeout: seconds after which the child gets SIGTERM, then SIGKILL 2 s later.
    /// - Throws: `ProcessRunnerError` when the executable is missing, cannot be started, or times out;
    ///   the child is always reaped before it returns or throws.
    public static func run(
        _ executable: String, _ args: [String], environment: [String: String]? = nil, timeout: Double = 60
    ) throws -> (status: Int32, stdout: Data, stderr: Data) {
        let command = [executable] + args
        guard let path = which(executable, environment: environment) else {
            throw ProcessRunnerError(code: .notFound, command: command, detail: "\(executable) not found")
        }
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        // Close-on-exec, so children spawned at the same time elsewhere in this process do not keep them.
        // (Swift's Glibc module lacks pipe2; a spawn between pipe and fcntl could still inherit one, which
        // costs at most the one-second grace below.)
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0,
            (outPipe + errPipe).allSatisfy({ fcntl($0, F_SETFD, FD_CLOEXEC) == 0 })
        else {
            let reason = String(cString: strerror(errno))
            for fd in outPipe + errPipe where fd >= 0 { close(fd) }
            throw ProcessRunnerError(code: .launchFailed, command: command, detail: "pipe: \(reason)")
        }
        defer {
            close(outPipe[0])
            close(errPipe[0])
        }
        let pid: pid_t
        do {
            pid = try spawn(path, arguments: command, environment: environment, stdout: outPipe[1], stderr: errPipe[1])
        } catch {
            close(outPipe[1])
            close(errPipe[1])
            throw ProcessRunnerError(code: .launchFailed, command: command, detail: "\(error)")
        }
        close(outPipe[1])
        close(errPipe[1])

        let deadline = Date().addingTimeInterval(timeout)
        var output = [Data(), Data()]
        var fds = [
            pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0),
            pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0),
        ]
        var waitStatus: Int32?
        var exitedAt: Date?
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if waitStatus == nil, let status = reap(pid, block: false) {
                waitStatus = status
                exitedAt = Date()
            }
            let now = Date()
            let pipesOpen = fds.contains { $0.fd >= 0 }
            if !pipesOpen && waitStatus != nil { break }
            if let exitedAt, now.timeIntervalSince(exitedAt) > 1 { break }  // a grandchild holds a pipe
            if now >= deadline {
                stop(pid)
                throw ProcessRunnerError(
                    code: .timedOut, command: command, detail: "\(timeout) s", stdout: output[0],
                    stderr: output[1])
            }
            let wait = Int32(max(1, min(pipesOpen ? 100 : 10, deadline.timeIntervalSince(now) * 1000)))
            guard pipesOpen else {
                usleep(UInt32(wait) * 1000)
                continue
            }
            guard poll(&fds, nfds_t(fds.count), wait) > 0 else { continue }
            for index in fds.indices where fds[index].fd >= 0 && fds[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(fds[index].fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    output[index].append(contentsOf: buffer[0..<count])
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    fds[index].fd = -1
                }
            }
        }
        return (exitStatus(waitStatus!), output[0], output[1])
    }

    /// The path of `name`: `name` itself when it contains a slash, else the first executable file of
    /// that name in `PATH` (from `environment`, or this process's). Nil when there is none.
    public static func which(_ name: String, environment: [String: String]? = nil) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        let path =
            (environment ?? ProcessInfo.processInfo.environment)["PATH"]
            ?? "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory),
                !isDirectory.boolValue, access(candidate, X_OK) == 0
            {
                return candidate
            }
        }
        return nil
    }

    /// Starts `path` with stdin on /dev/null, stdout and stderr on the given descriptors, no other
    /// descriptor of this process, default signal actions and an empty signal mask.
    static func spawn(
        _ path: String, arguments: [String], environment: [String: String]?, stdout: Int32, stderr: Int32
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        closeFrom(3, in: &actions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let environment = environment ?? ProcessInfo.processInfo.environment
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO)
        }
        return pid
    }

    /// glibc 2.34's `posix_spawn_file_actions_addclosefrom_np`, which Swift's Glibc module does not import.
    private typealias AddCloseFrom =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32)
        -> Int32

    /// Adds actions closing every descriptor from `first` up in the child.
    private static func closeFrom(_ first: Int32, in actions: inout posix_spawn_file_actions_t) {
        let name = "posix_spawn_file_actions_addclosefrom_np"
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name),
            unsafeBitCast(symbol, to: AddCloseFrom.self)(&actions, first) == 0
        {
            return
        }
        // Older C libraries: close what is open now (closing a descriptor that is not open is ignored).
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in open.compactMap(Int32.init) where fd >= first {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
    }

    /// The child's wait status once it has exited; nil while it runs (when not blocking).
    private static func reap(_ pid: pid_t, block: Bool) -> Int32? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, block ? 0 : WNOHANG)
            if result == pid { return status }
            if result == -1 && errno == EINTR { continue }
            // 0: still running. -1 otherwise (ECHILD): someone else reaped it; report a failure.
            return result == 0 ? nil : 255 << 8
        }
    }

    /// SIGTERM, up to 2 s, then SIGKILL; returns once the child is reaped.
    private static func stop(_ pid: pid_t) {
        kill(pid, SIGTERM)
        let giveUp = Date().addingTimeInterval(2)
        while Date() < giveUp {
            if reap(pid, block: false) != nil { return }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        _ = reap(pid, block: true)
    }

    /// The exit code, or 128 + the signal number, from a `waitpid` status.
    private static func exitStatus(_ status: Int32) -> Int32 {
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}
