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
public enum ProcessRunner {
    /// Runs `executable` with `args` and waits for it to exit.
    ///
    /// `executable` is a path, or a name looked up in `PATH`. The child's stdin is /dev/null; its stdout
    /// and stderr are collected in full, read together so neither pipe can fill up and stall it. When
    /// the child has exited but a process it left behind still holds its pipes open, the output read
    /// within a second after the exit is returned. `status` is the exit status, or 128 + the signal
    /// number when a signal ended the child.
    ///
    /// - Parameters:
    ///   - environment: the child's whole environment; nil to inherit this process's.
    ///   - timeout: seconds after which the child gets SIGTERM, then SIGKILL 2 s later.
    /// - Throws: `ProcessRunnerError` when the executable is missing, cannot be started, or times out.
    public static func run(
        _ executable: String, _ args: [String], environment: [String: String]? = nil, timeout: Double = 60
    ) throws -> (status: Int32, stdout: Data, stderr: Data) {
        let command = [executable] + args
        guard let path = which(executable, environment: environment) else {
            throw ProcessRunnerError(
                code: .notFound, command: command, detail: "\(executable) not found", stdout: Data(),
                stderr: Data())
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = args
        if let environment { process.environment = environment }
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outPipe
        process.standardError = errPipe
        do {
            try process.run()
        } catch {
            throw ProcessRunnerError(
                code: .launchFailed, command: command, detail: "\(error)", stdout: Data(), stderr: Data())
        }
        // Foundation closes the write ends in this process once the child runs, so EOF comes when the
        // child (and anything it started that kept the pipes) is gone.
        let deadline = Date().addingTimeInterval(timeout)
        var output = [Data(), Data()]
        var fds = [
            pollfd(fd: outPipe.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: errPipe.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        var exitedAt: Date?
        var buffer = [UInt8](repeating: 0, count: 65536)
        var timedOut = false
        while fds.contains(where: { $0.fd >= 0 }) {
            let now = Date()
            if now >= deadline {
                timedOut = true
                break
            }
            if exitedAt == nil && !process.isRunning { exitedAt = now }
            if let exitedAt, now.timeIntervalSince(exitedAt) > 1 { break }
            let wait = Int32(max(1, min(100, deadline.timeIntervalSince(now) * 1000)))
            let ready = poll(&fds, nfds_t(fds.count), wait)
            if ready < 0 && errno != EINTR { break }
            guard ready > 0 else { continue }
            for index in fds.indices where fds[index].fd >= 0 && fds[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(fds[index].fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    output[index].append(contentsOf: buffer[0..<count])
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    fds[index].fd = -1
                }
            }
        }
        if timedOut || process.isRunning {
            if !timedOut {
                // The pipes closed but the child lives on: wait for it within the deadline.
                while process.isRunning && Date() < deadline { usleep(10_000) }
                timedOut = process.isRunning
            }
            if timedOut {
                terminate(process)
                throw ProcessRunnerError(
                    code: .timedOut, command: command, detail: "\(timeout) s", stdout: output[0],
                    stderr: output[1])
            }
        }
        process.waitUntilExit()
        let status =
            process.terminationReason == .uncaughtSignal
            ? 128 + process.terminationStatus : process.terminationStatus
        return (status, output[0], output[1])
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

    /// SIGTERM, up to 2 s, then SIGKILL; returns once the child is reaped.
    private static func terminate(_ process: Process) {
        process.terminate()
        let giveUp = Date().addingTimeInterval(2)
        while process.isRunning && Date() < giveUp { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
