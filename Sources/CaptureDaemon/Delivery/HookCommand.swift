// One run of a file hook's program: spawned without a shell in a process group of its own, its output's
// tail kept, killed at its timeout, always reaped.
import CSystemShims
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How one run of a hook ended.
public struct HookResult: Sendable, Equatable {
    public enum Ending: Sendable, Equatable {
        /// It exited with this status.
        case exited(Int32)
        /// A signal ended it (not ours).
        case signaled(Int32)
        /// It was still running at its timeout and was killed.
        case timedOut
        /// The daemon stopped while it ran and it was killed.
        case stopped
        /// It could not be started (missing or not executable, …): the reason.
        case notStarted(String)
    }
    public var ending: Ending
    public var seconds: Double
    /// The last ``HookCommand/outputLimit`` bytes of its stdout and stderr, interleaved as written.
    public var output: String

    public var succeeded: Bool { ending == .exited(0) }
}

/// Runs one hook program to its end. Blocking: call on a thread of its own (never Swift's shared executor).
public enum HookCommand {
    /// Bytes of output kept (the tail).
    public static let outputLimit = 4096
    /// After SIGTERM, the process group gets this long before SIGKILL.
    public static let killGraceSeconds = 2.0

    /// Runs `argv` (`argv[0]` a path, or a name looked up in `PATH`) with stdin on /dev/null, stdout and
    /// stderr into one pipe, default signal handling, and in a new process group. At `timeout` seconds, or
    /// once `stop()` returns true, the group gets SIGTERM and, ``killGraceSeconds`` later, SIGKILL. Returns once
    /// the program has been reaped. `keeping` bytes of output are kept (the tail).
    public static func run(
        _ argv: [String], timeout: Double, keeping limit: Int = outputLimit, stop: () -> Bool
    ) -> HookResult {
        let started = Date()
        func seconds() -> Double { Date().timeIntervalSince(started) }
        guard let program = argv.first, !program.isEmpty else {
            return HookResult(ending: .notStarted("the hook has no program"), seconds: 0, output: "")
        }
        var fds: [Int32] = [-1, -1]
        guard audiocap_pipe_cloexec(&fds) == 0 else {
            return HookResult(
                ending: .notStarted("cannot make a pipe: \(String(cString: strerror(errno)))"), seconds: 0, output: "")
        }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        defer { close(readEnd) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, program, &actions, &attributes, cArguments, environ)
        close(writeEnd)
        guard spawned == 0 else {
            return HookResult(
                ending: .notStarted("cannot start \(program): \(String(cString: strerror(spawned)))"),
                seconds: seconds(), output: "")
        }

        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
        var tail: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        func drain() -> Bool {
            while true {
                let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                if count > 0 {
                    tail.append(contentsOf: buffer[0..<count])
                    if tail.count > limit { tail.removeFirst(tail.count - limit) }
                    continue
                }
                if count < 0 && errno == EINTR { continue }
                return count == 0  // end of file
            }
        }
        var termSentAt: Double?
        var killed = false
        var reason: HookResult.Ending?
        var pipeOpen = true
        var status: Int32 = 0
        while true {
            if pipeOpen {
                var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
                _ = poll(&poller, 1, 50)
                if drain() { pipeOpen = false }
            } else {
                usleep(50_000)
            }
            let waited = waitpid(pid, &status, WNOHANG)
            if waited == pid { break }
            if waited < 0 && errno != EINTR { break }
            let now = seconds()
            if termSentAt == nil && (now >= timeout || stop()) {
                reason = now >= timeout ? .timedOut : .stopped
                termSentAt = now
                killpg(pid, SIGTERM)
            } else if let sent = termSentAt, !killed, now - sent >= killGraceSeconds {
                killed = true
                killpg(pid, SIGKILL)
            }
        }
        // What the program wrote just before it ended (its children may hold the pipe: do not wait for them).
        if pipeOpen { _ = drain() }
        if reason != nil { killpg(pid, SIGKILL) }
        let text = String(decoding: tail, as: UTF8.self)
        if let reason { return HookResult(ending: reason, seconds: seconds(), output: text) }
        let signal = status & 0x7f
        let ending: HookResult.Ending = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
        return HookResult(ending: ending, seconds: seconds(), output: text)
    }
}
