// An SFTP server on 127.0.0.1 for the delivery tests: Debian's sshd in the foreground with throwaway keys.

import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's `/usr/sbin/sshd` on 127.0.0.1 and a free port (`-D -e -f CONFIG`), with its own host key and
/// a client key that is the only authorized key, serving SFTP (`internal-sftp`) and shell commands (rclone
/// runs `md5sum` and `sha1sum` over ssh to hash remote files) as the current user.
///
/// Uploads land in `filesDirectory`, a plain local directory the test can read directly. `stop()` ends
/// sshd (connections are refused) and `restart()` starts it again on the same port with the same keys:
/// an outage. `remove()` (also on deinit) stops it and deletes everything.
///
/// sshd needs its privilege separation directory, /run/sshd; `start` creates it when it is missing and
/// the tests run as root (CI does).
public final class SFTPServer: Sendable {
    public static let sshd = "/usr/sbin/sshd"

    public let port: Int
    /// The login name rclone uses (the current user).
    public let user: String
    /// Keys, configuration, pid file and log.
    public let stateDirectory: String
    /// Where uploads go: `remote(name:)` points here.
    public let filesDirectory: String
    /// The client's private key (rclone's `key_file`).
    public let clientKey: String
    /// `[127.0.0.1]:PORT` with the host key (rclone's `known_hosts_file`).
    public let knownHosts: String

    private let directory: TemporaryDirectory
    private let server: Mutex<ServerProcess?>

    private init(port: Int, user: String, directory: TemporaryDirectory) {
        self.port = port
        self.user = user
        self.directory = directory
        self.stateDirectory = directory.path
        self.filesDirectory = directory.file("files")
        self.clientKey = directory.file("client_key")
        self.knownHosts = directory.file("known_hosts")
        self.server = Mutex(nil)
    }

    /// Makes the keys and the configuration, starts sshd and returns once it listens.
    ///
    /// - Throws: `DeliveryFixtureError` when sshd or ssh-keygen is missing, /run/sshd cannot be made, or
    ///   sshd does not listen within 20 s (with its log).
    public static func start() throws -> SFTPServer {
        if let unavailableReason { throw DeliveryFixtureError(reason: unavailableReason) }
        try makePrivilegeSeparationDirectory()
        let directory = try TemporaryDirectory(prefix: "sftpserver", in: "/tmp")
        do {
            let sftp = SFTPServer(port: try freeTCPPort(), user: currentUser(), directory: directory)
            try sftp.prepare()
            try sftp.restart()
            return sftp
        } catch {
            directory.remove()
            throw error
        }
    }

    /// The rclone.conf section for this server, named `name`. rclone finds `md5sum`/`sha1sum` over ssh, so
    /// `rclone lsjson --hash` reports both for remote files.
    public func rcloneSection(name: String) -> String {
        """
        [\(name)]
        type = sftp
        host = 127.0.0.1
        port = \(port)
        user = \(user)
        key_file = \(clientKey)
        known_hosts_file = \(knownHosts)
        md5sum_command = md5sum
        sha1sum_command = sha1sum

        """
    }

    /// The rclone remote path of `prefix` under `filesDirectory`: `NAME:/…/files/PREFIX`.
    public func remote(name: String, prefix: String = "") -> String {
        prefix.isEmpty ? "\(name):\(filesDirectory)" : "\(name):\(filesDirectory)/\(prefix)"
    }

    /// The files under `filesDirectory` (relative paths, sorted), read from the disk directly.
    public func files() -> [String] {
        let all = (FileManager.default.enumerator(atPath: filesDirectory)?.allObjects as? [String]) ?? []
        return all.filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: filesDirectory + "/" + path, isDirectory: &isDirectory)
                && !isDirectory.boolValue
        }.sorted()
    }

    /// Whether sshd runs now.
    public var isRunning: Bool { server.withLock { $0?.isRunning ?? false } }

    /// sshd's log so far (from the last start).
    public var log: String { server.withLock { $0?.log ?? "" } }

    /// Ends sshd and its sessions; connections are refused until `restart()`. Files stay. Idempotent.
    public func stop() {
        let running = server.withLock { server in
            defer { server = nil }
            return server
        }
        running?.stop()
        // sshd's session children may outlive the listener briefly; they hold no port.
    }

    /// Starts sshd again on the same port with the same keys (stopping it first when it runs); returns
    /// once it listens.
    ///
    /// - Throws: `DeliveryFixtureError` when sshd exits or does not listen within 20 s.
    public func restart() throws {
        stop()
        let process = try ServerProcess(
            Self.sshd, ["-D", "-e", "-f", directory.file("sshd_config")], environment: Rclone.environment,
            logPath: directory.file("sshd.log"))
        server.withLock { $0 = process }
        guard pollUntil(timeout: 20, { tcpPortListens(port) || !process.isRunning }), process.isRunning else {
            let tail = process.logTail()
            stop()
            throw DeliveryFixtureError(reason: "sshd did not listen on 127.0.0.1:\(port) within 20 s", output: tail)
        }
    }

    /// Stops sshd and removes the directory with the uploads. Idempotent; also called on deinit.
    public func remove() {
        stop()
        directory.remove()
    }

    deinit { remove() }

    /// Writes the keys, authorized_keys, known_hosts and sshd_config.
    private func prepare() throws {
        try FileManager.default.createDirectory(atPath: filesDirectory, withIntermediateDirectories: true)
        for key in ["host_key", "client_key"] {
            let result = try ProcessRunner.run(
                "ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "audiocap-test", "-f", directory.file(key)],
                timeout: 30)
            guard result.status == 0 else {
                throw DeliveryFixtureError(
                    reason: "ssh-keygen could not make \(key)", output: String(decoding: result.stderr, as: UTF8.self))
            }
        }
        let hostPublic = try String(contentsOfFile: directory.file("host_key.pub"), encoding: .utf8)
            .split(separator: " ").prefix(2).joined(separator: " ")
        try "[127.0.0.1]:\(port) \(hostPublic)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(
            atPath: directory.file("client_key.pub"), toPath: directory.file("authorized_keys"))
        let config = """
            ListenAddress 127.0.0.1
            Port \(port)
            HostKey \(directory.file("host_key"))
            PidFile \(directory.file("sshd.pid"))
            AuthorizedKeysFile \(directory.file("authorized_keys"))
            PermitRootLogin prohibit-password
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            MaxStartups 100
            MaxSessions 100
            Subsystem sftp internal-sftp

            """
        try config.write(toFile: directory.file("sshd_config"), atomically: true, encoding: .utf8)
    }

    /// Creates /run/sshd (root, 0755) when it is missing, as Debian's ssh.service would.
    private static func makePrivilegeSeparationDirectory() throws {
        let path = "/run/sshd"
        guard !FileManager.default.fileExists(atPath: path) else { return }
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        } catch {
            throw DeliveryFixtureError(
                reason: "sshd needs \(path), which is missing and cannot be created (\(error)); run the tests as root")
        }
    }

    private static func currentUser() -> String {
        guard let entry = getpwuid(getuid()), let name = entry.pointee.pw_name else { return "root" }
        return String(cString: name)
    }

    /// Whether `start` can work here.
    public static var isAvailable: Bool { unavailableReason == nil }

    /// Whether a test that needs the server should run: it is available, or the tests run in CI, where
    /// a missing tool must fail (in `start`) rather than skip. For `.enabled(if: SFTPServer.shouldRun, …)`.
    public static var shouldRun: Bool { isAvailable || Rclone.isCI }

    /// Why `start` cannot work here; nil when it can.
    public static let unavailableReason: String? = {
        var missing: [String] = []
        if !FileManager.default.isExecutableFile(atPath: sshd) {
            missing.append("\(sshd) (apt-get install openssh-server)")
        }
        if ProcessRunner.which("ssh-keygen") == nil { missing.append("ssh-keygen (apt-get install openssh-client)") }
        if Rclone.path == nil { missing.append("rclone (apt-get install rclone)") }
        guard missing.isEmpty else { return "the SFTP test server needs \(missing.joined(separator: ", "))" }
        if !FileManager.default.fileExists(atPath: "/run/sshd") && getuid() != 0 {
            return "sshd needs /run/sshd, which is missing; only root can create it"
        }
        return nil
    }()
}
