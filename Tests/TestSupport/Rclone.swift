// rclone for the delivery tests: the environment it needs here, an rclone.conf, and reading a remote back.

import Foundation

/// A failure of a delivery fixture (the S3 or SFTP server, rclone): what failed, and what it printed.
public struct DeliveryFixtureError: Error, CustomStringConvertible {
    public var reason: String
    /// What the failing command or server printed (its stderr, the tail of its log); may be empty.
    public var output: String

    public init(reason: String, output: String = "") {
        self.reason = reason
        self.output = output
    }

    public var description: String { output.isEmpty ? reason : "\(reason)\n\(output)" }
}

/// One entry of `rclone lsjson --hash -R`: a file (or directory) on a remote.
public struct RcloneEntry: Sendable, Hashable, Decodable {
    /// The path relative to the listed remote path, `/`-separated.
    public var path: String
    public var size: Int
    public var isDirectory: Bool
    /// Lowercase hex MD5 when the remote reports one (S3: the ETag of a single-part upload; SFTP: md5sum).
    public var md5: String?
    public var sha1: String?

    enum CodingKeys: String, CodingKey {
        case path = "Path"
        case size = "Size"
        case isDirectory = "IsDir"
        case hashes = "Hashes"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        path = try container.decode(String.self, forKey: .path)
        size = try container.decode(Int.self, forKey: .size)
        isDirectory = try container.decode(Bool.self, forKey: .isDirectory)
        let hashes = try container.decodeIfPresent([String: String].self, forKey: .hashes) ?? [:]
        md5 = hashes["md5"]
        sha1 = hashes["sha1"]
    }
}

/// Runs Debian's `rclone` for the tests, against an rclone.conf the fixtures write.
///
/// `AWS_CA_BUNDLE` is set on some machines (this one included) and makes rclone 1.60's S3 backend fail
/// every request with `LoadCustomCABundleError`; `environment` is this process's environment without it,
/// and every process that runs rclone against the test servers (rclone here, and audiocapd) must get it.
public enum Rclone {
    /// The rclone executable in `PATH`, or nil.
    public static let path: String? = ProcessRunner.which("rclone")

    /// Whether the tests run in CI (`CI=true`), where a missing tool is a failure rather than a skip.
    public static let isCI: Bool = ProcessInfo.processInfo.environment["CI"] == "true"

    /// This process's environment without `AWS_CA_BUNDLE`: give it to audiocapd and to any rclone that
    /// talks to the test S3 server.
    public static var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "AWS_CA_BUNDLE")
        return environment
    }

    /// Writes an rclone.conf holding `sections` (each one `[name]` with its lines, as the fixtures'
    /// `rcloneSection(name:)` give them) to `path`.
    ///
    /// - Throws: `CocoaError` when the file cannot be written.
    public static func writeConfig(_ sections: [String], to path: String) throws {
        try sections.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Runs `rclone --config CONFIG ARGS` with `environment`.
    ///
    /// - Throws: `DeliveryFixtureError` when rclone is missing or exits non-zero (with its stderr);
    ///   `ProcessRunnerError` when it does not finish within `timeout` seconds.
    @discardableResult
    public static func run(_ args: [String], config: String, timeout: Double = 60) throws -> Data {
        guard let path else {
            throw DeliveryFixtureError(reason: "rclone is not installed (apt-get install rclone)")
        }
        let result = try ProcessRunner.run(
            path, ["--config", config] + args, environment: environment, timeout: timeout)
        guard result.status == 0 else {
            throw DeliveryFixtureError(
                reason: "`rclone \(args.joined(separator: " "))` exited with \(result.status)",
                output: String(decoding: result.stderr.suffix(4000), as: UTF8.self))
        }
        return result.stdout
    }

    /// `rclone copyto LOCAL REMOTE`: uploads one file.
    public static func copyto(_ local: String, _ remote: String, config: String) throws {
        try run(["copyto", local, remote], config: config)
    }

    /// The files under `remote` (recursively, directories left out), with their hashes, sorted by path.
    ///
    /// - Throws: `DeliveryFixtureError` when rclone fails (the remote path missing is an empty list for
    ///   S3, an error for SFTP) or prints something that is not lsjson.
    public static func files(_ remote: String, config: String) throws -> [RcloneEntry] {
        let out = try run(["lsjson", "--hash", "-R", "--files-only", remote], config: config)
        do {
            return try JSONDecoder().decode([RcloneEntry].self, from: out).sorted { $0.path < $1.path }
        } catch {
            throw DeliveryFixtureError(
                reason: "rclone lsjson printed what is not a listing: \(error)",
                output: String(decoding: out.prefix(2000), as: UTF8.self))
        }
    }

    /// The bytes of the file at `remote` (`rclone cat`).
    public static func read(_ remote: String, config: String) throws -> Data {
        try run(["cat", remote], config: config)
    }
}
