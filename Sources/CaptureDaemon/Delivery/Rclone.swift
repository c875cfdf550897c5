// Runs rclone for the outbox: one supervised child per copy or check, argv only, killed at its timeout.
import CaptureCore
import Foundation
import Subprocess
import Synchronization
import SystemPackage

/// One `[[destination]]`'s rclone: its binary, configuration file, remote and flags. Every run is a child
/// process started without a shell, with its stdout collected (at most 4 MiB) and the tail of its stderr
/// kept for the error; a run still going after `timeoutSeconds`, or whose task is cancelled, gets
/// SIGTERM, then SIGKILL two seconds later, and is always reaped.
public struct Rclone: Sendable {
    /// What one run ended with.
    public struct Outcome: Sendable {
        /// The exit status; nil when it was killed by a signal or could not start.
        public var exitCode: Int32?
        public var standardOutput: String
        /// The last few KiB of stderr, credentials masked.
        public var errorTail: String
        public var timedOut: Bool
        /// Set when it could not be started at all.
        public var startFailure: String?

        public var succeeded: Bool { exitCode == 0 && !timedOut }

        /// A one-line account of a failure for `last_error` and events.
        public var failureDescription: String {
            if let startFailure { return startFailure }
            let last = errorTail.split(separator: "\n").last { !$0.contains("Config file") }.map(String.init) ?? ""
            let status =
                timedOut ? "was killed after its timeout" : "exited with status \(exitCode.map(String.init) ?? "?")"
            return last.isEmpty ? "rclone \(status)" : "rclone \(status): \(last)"
        }
    }

    /// The remote object's size and hashes (lower-case hex), as `rclone lsjson --hash --stat` gives them.
    public struct RemoteObject: Sendable, Equatable {
        public var size: Int64
        public var hashes: [String: String]
    }

    public let destination: DestinationConfiguration
    /// `[storage] state`/rclone-cache.
    public let cacheDirectory: String
    private let mask: CredentialMask

    public init(destination: DestinationConfiguration, stateDirectory: String) {
        self.destination = destination
        cacheDirectory = stateDirectory + "/rclone-cache"
        mask = CredentialMask(device: destination.remote)
    }

    /// The flags every run gets.
    var commonArguments: [String] {
        let timeout = max(1, Int(destination.timeoutSeconds.rounded(.up)))
        var arguments = [
            "--config", destination.rcloneConfig, "--ask-password=false", "--retries", "1",
            "--low-level-retries", "3", "--contimeout", "\(min(timeout, 30))s", "--timeout", "\(min(timeout, 120))s",
            "--cache-dir", cacheDirectory, "--stats", "0", "--log-level", "NOTICE",
        ]
        if !destination.bwlimit.isEmpty { arguments += ["--bwlimit", destination.bwlimit] }
        return arguments
    }

    /// `rclone copyto LOCAL REMOTE/KEY`: never replaces an existing object (`--ignore-existing`,
    /// `--immutable`); the caller verifies what is there afterwards.
    public func copy(_ localPath: String, to key: String) async -> Outcome {
        await run(
            ["copyto", localPath, ObjectKey.join(remote: destination.remote, key: key)] + commonArguments + [
                "--immutable", "--checksum", "--ignore-existing",
            ])
    }

    /// What is at `key`: nil when nothing is (rclone exits 3 or says not found), or the failure.
    public func stat(_ key: String) async -> Result<RemoteObject?, RcloneError> {
        let target = ObjectKey.join(remote: destination.remote, key: key)
        let outcome = await run(["lsjson", "--hash", "--stat", target] + commonArguments)
        if !outcome.succeeded {
            if outcome.exitCode == 3 || outcome.errorTail.contains("not found") { return .success(nil) }
            return .failure(
                RcloneError(operation: "read the size and hash of", target: mask.mask(target), outcome: outcome))
        }
        guard let data = outcome.standardOutput.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            return .failure(
                RcloneError(
                    operation: "read the size and hash of", target: mask.mask(target), outcome: outcome,
                    detail: "rclone lsjson printed no object"))
        }
        // Object stores have no folders: rclone 1.60's S3 backend answers a key that holds no object
        // with a directory (`IsDir`, size -1) and exit 0. That is "nothing there".
        if object["IsDir"] as? Bool == true { return .success(nil) }
        guard let size = (object["Size"] as? NSNumber)?.int64Value, size >= 0 else {
            return .failure(
                RcloneError(
                    operation: "read the size and hash of", target: mask.mask(target), outcome: outcome,
                    detail: "rclone lsjson printed no object"))
        }
        var hashes: [String: String] = [:]
        for (name, value) in object["Hashes"] as? [String: Any] ?? [:] {
            if let text = value as? String, !text.isEmpty { hashes[name.lowercased()] = text.lowercased() }
        }
        if hashes["md5"] == nil, hashes["sha256"] == nil {
            // The backend stores no usable hash (S3 multipart, some SFTP servers): read it back.
            let sum = await run(["md5sum", "--download", target] + commonArguments)
            if sum.succeeded, let first = sum.standardOutput.split(separator: " ").first, first.count == 32 {
                hashes["md5"] = first.lowercased()
            }
        }
        return .success(RemoteObject(size: size, hashes: hashes))
    }

    /// Runs `rclone ARGUMENTS`. Cancellation kills the child.
    public func run(_ arguments: [String]) async -> Outcome {
        let executable: Executable =
            destination.rclone.contains("/") ? .path(FilePath(destination.rclone)) : .name(destination.rclone)
        let timeout = destination.timeoutSeconds
        let flags = RunFlags()
        do {
            let result = try await withTaskCancellationHandler {
                try await Subprocess.run(
                    executable, arguments: Arguments(arguments), environment: .inherit, input: .none,
                    output: .string(limit: 4 << 20), error: .sequence
                ) { execution in
                    await withTaskGroup(of: String?.self) { group in
                        group.addTask {
                            var tail: [UInt8] = []
                            do {
                                for try await buffer in execution.standardError {
                                    buffer.withUnsafeBytes { tail.append(contentsOf: $0) }
                                    if tail.count > 8192 { tail.removeFirst(tail.count - 4096) }
                                }
                            } catch {}
                            flags.finished.store(true, ordering: .relaxed)
                            return String(decoding: tail.suffix(4096), as: UTF8.self)
                        }
                        group.addTask {
                            try? await Task.sleep(for: .seconds(timeout))
                            let stop = flags.cancelled.load(ordering: .relaxed)
                            guard stop || !flags.finished.load(ordering: .relaxed) else { return nil }
                            if !stop { flags.timedOut.store(true, ordering: .relaxed) }
                            await execution.teardown(using: [.gracefulShutDown(allowedDurationToNextStep: .seconds(2))])
                            return nil
                        }
                        var tail = ""
                        for await value in group {
                            if let value {
                                tail = value
                                group.cancelAll()
                            }
                        }
                        return tail
                    }
                }
            } onCancel: {
                flags.cancelled.store(true, ordering: .relaxed)
            }
            let code: Int32?
            if case .exited(let status) = result.terminationStatus { code = status } else { code = nil }
            return Outcome(
                exitCode: code, standardOutput: result.standardOutput, errorTail: mask.mask(result.closureResult),
                timedOut: flags.timedOut.load(ordering: .relaxed), startFailure: nil)
        } catch {
            return Outcome(
                exitCode: nil, standardOutput: "", errorTail: "", timedOut: false,
                startFailure: "could not start \(destination.rclone): \(error); check `rclone` in the destination")
        }
    }
}

/// What one run's tasks tell each other: stderr ended, the caller's task was cancelled, the timeout hit.
private final class RunFlags: Sendable {
    let finished = Atomic(false)
    let cancelled = Atomic(false)
    let timedOut = Atomic(false)
}

/// An rclone run that failed: what it was doing, on what, and what rclone said.
public struct RcloneError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var target: String
    public var outcome: Rclone.Outcome
    public var detail: String? = nil

    public var description: String {
        "could not \(operation) \(target): \(detail ?? outcome.failureDescription); the upload is tried again later"
    }
}
