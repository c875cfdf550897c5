// An S3-compatible server on 127.0.0.1 for the delivery tests: moto_server from the test venv, one bucket.

import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One version of an object in the test bucket: every PUT of a key leaves one (the bucket is versioned),
/// so the versions of a key count the uploads to it.
public struct S3ObjectVersion: Sendable, Hashable, Decodable {
    public var key: String
    public var size: Int
    /// The ETag without quotes: the MD5 of the bytes for a single-part upload.
    public var etag: String
    public var version: String
    /// Whether this is the version a GET returns.
    public var latest: Bool
    /// When the server stored it (ISO 8601, second precision).
    public var lastModified: String

    enum CodingKeys: String, CodingKey {
        case key, size, etag, version, latest
        case lastModified = "last_modified"
    }
}

/// An S3 server at `endpoint` (moto_server of the test venv that `scripts/install-test-python.sh` makes,
/// `AUDIOCAP_TEST_VENV`, default /opt/audiocap-test-venv) with one versioned bucket, `bucket`, and fixed
/// credentials `test`/`test`.
///
/// moto keeps objects in memory only, so an outage is `pause()` (SIGSTOP: connections are accepted by the
/// kernel but never answered) and `resume()` (SIGCONT), not a restart. Reads and writes from the test go
/// through `Tests/Fixtures/delivery/s3.py` (boto3, which moto brings), not through the daemon's path.
///
/// rclone must run without `AWS_CA_BUNDLE` (see `Rclone.environment`).
public final class S3Server: Sendable {
    /// Where the fixture's helper script lives: `Tests/Fixtures/delivery` of this source tree.
    public static let fixtureDirectory: String =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/delivery").path

    static var venv: String { ProcessInfo.processInfo.environment["AUDIOCAP_TEST_VENV"] ?? "/opt/audiocap-test-venv" }
    static var motoServer: String { venv + "/bin/moto_server" }
    static var python: String { venv + "/bin/python3" }

    public let port: Int
    public let bucket: String
    /// Holds the server's log (`moto.log`).
    public let stateDirectory: String
    /// `http://127.0.0.1:PORT`.
    public var endpoint: String { "http://127.0.0.1:\(port)" }

    private let directory: TemporaryDirectory
    private let server: ServerProcess
    private let paused = Mutex(false)

    private init(port: Int, bucket: String, directory: TemporaryDirectory, server: ServerProcess) {
        self.port = port
        self.bucket = bucket
        self.directory = directory
        self.stateDirectory = directory.path
        self.server = server
    }

    /// Starts moto_server on a free port, waits until it answers, and creates `bucket` with versioning.
    ///
    /// - Parameter bucket: a valid S3 bucket name (3 to 63 lowercase letters, digits, dots, hyphens).
    /// - Throws: `DeliveryFixtureError` when moto is not installed, does not answer within 30 s, or the
    ///   bucket cannot be created (with the server's log).
    public static func start(bucket: String = "audiocap-test") throws -> S3Server {
        if let unavailableReason { throw DeliveryFixtureError(reason: unavailableReason) }
        let directory = try TemporaryDirectory(prefix: "s3server", in: "/tmp")
        do {
            let port = try freeTCPPort()
            let server = try ServerProcess(
                motoServer, ["-H", "127.0.0.1", "-p", String(port)], environment: Rclone.environment,
                logPath: directory.file("moto.log"))
            let s3 = S3Server(port: port, bucket: bucket, directory: directory, server: server)
            guard pollUntil(timeout: 30, { tcpPortListens(port) || !server.isRunning }), server.isRunning else {
                throw DeliveryFixtureError(
                    reason: "moto_server did not listen on 127.0.0.1:\(port) within 30 s", output: server.logTail())
            }
            guard pollUntil(timeout: 30, { (try? s3.helper(["ping"], timeout: 10)) != nil }) else {
                throw DeliveryFixtureError(
                    reason: "moto_server on 127.0.0.1:\(port) does not answer ListBuckets", output: server.logTail())
            }
            try s3.helper(["create-bucket", bucket])
            return s3
        } catch {
            directory.remove()
            throw error
        }
    }

    /// The rclone.conf section for this server, named `name`.
    public func rcloneSection(name: String) -> String {
        """
        [\(name)]
        type = s3
        provider = Other
        env_auth = false
        access_key_id = test
        secret_access_key = test
        endpoint = \(endpoint)
        region = us-east-1

        """
    }

    /// The rclone remote path of `prefix` in the bucket: `NAME:BUCKET/PREFIX` (`NAME:BUCKET` for "").
    public func remote(name: String, prefix: String = "") -> String {
        prefix.isEmpty ? "\(name):\(bucket)" : "\(name):\(bucket)/\(prefix)"
    }

    /// Every version of every object in the bucket (one per PUT), newest first within a key.
    ///
    /// - Throws: `DeliveryFixtureError` when the server does not answer (paused, say) within 30 s.
    public func versions() throws -> [S3ObjectVersion] {
        let out = try helper(["list", bucket])
        return try String(decoding: out, as: UTF8.self).split(separator: "\n").map {
            try JSONDecoder().decode(S3ObjectVersion.self, from: Data($0.utf8))
        }
    }

    /// The current objects (the latest version of each key), sorted by key.
    public func objects() throws -> [S3ObjectVersion] {
        try versions().filter(\.latest).sorted { $0.key < $1.key }
    }

    /// How many times each key was PUT.
    public func putCounts() throws -> [String: Int] {
        try versions().reduce(into: [:]) { counts, version in counts[version.key, default: 0] += 1 }
    }

    /// The bytes of the object at `key` (its latest version).
    ///
    /// - Throws: `DeliveryFixtureError` when there is none or the server does not answer.
    public func get(_ key: String) throws -> Data {
        let file = directory.file("get-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: file) }
        try helper(["get", bucket, key, file])
        return try Data(contentsOf: URL(fileURLWithPath: file))
    }

    /// Puts `data` at `key` (a new version); returns its ETag.
    @discardableResult
    public func put(_ key: String, _ data: Data) throws -> String {
        let file = directory.file("put-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: file) }
        try data.write(to: URL(fileURLWithPath: file))
        return String(decoding: try helper(["put", bucket, key, file]), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops answering (SIGSTOP): connections are accepted by the kernel and then hang, as with a link that
    /// drops packets. Objects are kept. Idempotent.
    public func pause() {
        paused.withLock { paused in
            server.signal(SIGSTOP)
            paused = true
        }
    }

    /// Answers again after `pause()` (SIGCONT). Idempotent.
    public func resume() {
        paused.withLock { paused in
            server.signal(SIGCONT)
            paused = false
        }
    }

    /// Whether the server is paused.
    public var isPaused: Bool { paused.withLock { $0 } }

    /// The server's log so far (one line per request).
    public var log: String { server.log }

    /// Stops the server (objects are lost) and removes its directory. Idempotent; also called on deinit.
    public func stop() {
        server.stop()
        directory.remove()
    }

    deinit { stop() }

    /// Runs `s3.py ENDPOINT ARGS` and returns its stdout.
    @discardableResult
    private func helper(_ args: [String], timeout: Double = 30) throws -> Data {
        let result = try ProcessRunner.run(
            Self.python, [Self.fixtureDirectory + "/s3.py", endpoint] + args, environment: Rclone.environment,
            timeout: timeout)
        guard result.status == 0 else {
            throw DeliveryFixtureError(
                reason: "s3.py \(args.joined(separator: " ")) exited with \(result.status)",
                output: String(decoding: result.stderr.suffix(3000), as: UTF8.self))
        }
        return result.stdout
    }

    /// Whether `start` can work here.
    public static var isAvailable: Bool { unavailableReason == nil }

    /// Whether a test that needs the server should run: it is available, or the tests run in CI, where
    /// a missing tool must fail (in `start`) rather than skip. For `.enabled(if: S3Server.shouldRun, …)`.
    public static var shouldRun: Bool { isAvailable || Rclone.isCI }

    /// Why `start` cannot work here; nil when it can.
    public static let unavailableReason: String? = {
        var missing: [String] = []
        if !FileManager.default.isExecutableFile(atPath: motoServer) { missing.append(motoServer) }
        if !FileManager.default.isExecutableFile(atPath: python) { missing.append(python) }
        if Rclone.path == nil { missing.append("rclone (apt-get install rclone)") }
        guard missing.isEmpty else {
            return
                "the S3 test server needs \(missing.joined(separator: ", ")): run `sh scripts/install-deps.sh --test`"
        }
        return nil
    }()
}
