// What can go wrong when the CLI talks to audiocapd, each case worded as what failed and what to do next.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failed exchange with audiocapd: the daemon could not be reached, refused the request, or sent a reply that
/// cannot be read.
///
/// `description` is a sentence for a person, ending with the next step; `exitCode` is the matching sysexits(3)
/// code. 69 means only that the daemon could not be reached; a daemon that answers never gives 69:
///
/// | case                                  | exit code            |
/// |---------------------------------------|----------------------|
/// | daemon unreachable                    | 69 `EX_UNAVAILABLE`  |
/// | permission denied on the socket       | 77 `EX_NOPERM`       |
/// | API error 404 (no such recording)     | 66 `EX_NOINPUT`      |
/// | API error 409 (conflict, e.g. running)| 75 `EX_TEMPFAIL`     |
/// | API error 401/403                     | 77 `EX_NOPERM`       |
/// | API error 503 (busy, e.g. full)       | 75 `EX_TEMPFAIL`     |
/// | other API error 4xx (bad input)       | 65 `EX_DATAERR`      |
/// | other API error 5xx                   | 70 `EX_SOFTWARE`     |
/// | reply that cannot be read             | 76 `EX_PROTOCOL`     |
public struct ClientError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of failure. New kinds may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case unavailable, permissionDenied, apiError, badReply
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The daemon is not running, its socket does not exist, or the connection broke.
        public static let unavailable = Code(.unavailable)
        /// The socket exists but this user may not connect to it.
        public static let permissionDenied = Code(.permissionDenied)
        /// The daemon answered with a non-2xx status; `status` and `message` hold its answer.
        public static let apiError = Code(.apiError)
        /// The daemon's reply is not what this version of audiocap expects.
        public static let badReply = Code(.badReply)

        public var description: String { value.rawValue }
    }

    public let code: Code
    /// The control socket the client tried.
    public let socketPath: String
    /// The HTTP status of an API error; nil for the other codes.
    public let status: Int?
    /// What went wrong: the daemon's own message for an API error, the cause otherwise.
    public let message: String
    /// The next step for the user, if there is one.
    public let hint: String?

    /// Whether the connection was made and then broke (rather than never made).
    public let lostConnection: Bool

    public init(code: Code, socketPath: String, status: Int? = nil, message: String, hint: String? = nil) {
        self.init(code: code, socketPath: socketPath, status: status, message: message, hint: hint, lost: false)
    }

    private init(code: Code, socketPath: String, status: Int?, message: String, hint: String?, lost: Bool) {
        self.code = code
        self.socketPath = socketPath
        self.status = status
        self.message = message
        self.hint = hint
        self.lostConnection = lost
    }

    public var description: String {
        let what: String
        switch code {
        case .unavailable where lostConnection:
            what = "lost the connection to audiocapd at \(socketPath): \(message)"
        case .unavailable, .permissionDenied:
            what = "cannot reach audiocapd at \(socketPath): \(message)"
        case .apiError:
            what = "\(message) (HTTP \(status ?? 0))"
        default:
            what = "unexpected reply from audiocapd at \(socketPath): \(message)"
        }
        guard let hint else { return what }
        return what + ". " + hint
    }

    /// The sysexits(3) code the CLI exits with; see the table in the type's documentation.
    public var exitCode: Int32 {
        switch code {
        case .unavailable: return ExitCodes.unavailable
        case .permissionDenied: return ExitCodes.noPermission
        case .apiError:
            switch status ?? 0 {
            case 404: return ExitCodes.noInput
            case 409: return ExitCodes.temporaryFailure
            case 401, 403: return ExitCodes.noPermission
            case 503: return ExitCodes.temporaryFailure
            case 400..<500: return ExitCodes.dataError
            default: return ExitCodes.software
            }
        default: return ExitCodes.protocolError
        }
    }

    /// sysexits(3) values used by the CLI.
    public enum ExitCodes {
        public static let usage: Int32 = 64
        public static let dataError: Int32 = 65
        public static let noInput: Int32 = 66
        public static let unavailable: Int32 = 69
        public static let software: Int32 = 70
        public static let temporaryFailure: Int32 = 75
        public static let protocolError: Int32 = 76
        public static let noPermission: Int32 = 77
    }

    // MARK: - Constructors for the cases the client produces

    static let daemonHint = "Is the daemon running? Try `systemctl status audiocapd`, or pass --socket"
    /// The next step for a socket this user may not open, naming the group that owns it (or its directory,
    /// when the socket itself cannot be seen): `Join the `audiocap` group (...)`.
    static func permissionHint(socketPath: String) -> String {
        guard let group = owningGroup(of: socketPath) else {
            return "Ask for access to \(socketPath) (or its directory) or run with sudo"
        }
        return "Join the `\(group)` group that owns it (`sudo usermod -aG \(group) $USER`, then log in again) "
            + "or run with sudo"
    }

    /// The name of the group owning `path`, or its directory when `path` itself cannot be examined (a directory
    /// this user may not search). Nil when neither can be examined or the group has no name.
    public static func owningGroup(of path: String) -> String? {
        let directory: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            directory = "."
        }
        for candidate in [path, directory] {
            var info = stat()
            guard stat(candidate, &info) == 0 else { continue }
            guard let entry = getgrgid(info.st_gid), let name = entry.pointee.gr_name else { return nil }
            return String(cString: name)
        }
        return nil
    }

    static let logHint = "The daemon's log may say why: `journalctl -u audiocapd`"
    static let versionHint =
        "Are audiocap and audiocapd the same version? Compare `audiocap version` (both) or `audiocapd --version`"

    /// The error for a failed connect(2) or a broken connection, given its errno.
    ///
    /// `ENOENT`, `ECONNREFUSED` and `ENOTSOCK` mean the daemon is not there (unavailable, with the
    /// `systemctl status audiocapd` hint); `EACCES` and `EPERM` mean the socket's permissions keep this user out
    /// (permission denied, with the `audiocap` group hint); anything else is unavailable with the system's
    /// wording of the errno.
    public static func connectionFailed(errno code: Int32, socketPath: String) -> ClientError {
        switch code {
        case ENOENT:
            return ClientError(
                code: .unavailable, socketPath: socketPath, message: "no such socket", hint: daemonHint)
        case ECONNREFUSED:
            return ClientError(
                code: .unavailable, socketPath: socketPath,
                message: "connection refused (the socket exists but nothing listens on it)", hint: daemonHint)
        case ENOTSOCK:
            return ClientError(
                code: .unavailable, socketPath: socketPath, message: "not a socket",
                hint: "Pass the daemon's control socket with --socket")
        case EACCES, EPERM:
            return ClientError(
                code: .permissionDenied, socketPath: socketPath, message: "permission denied",
                hint: permissionHint(socketPath: socketPath))
        case ECONNRESET, EPIPE:
            return ClientError(
                code: .unavailable, socketPath: socketPath, message: "the daemon closed the connection",
                hint: logHint)
        default:
            return ClientError(
                code: .unavailable, socketPath: socketPath, message: errnoDescription(code), hint: daemonHint)
        }
    }

    /// The error for a non-2xx reply. The daemon's messages name their own next step; a 5xx one also points at
    /// the daemon's log.
    static func api(status: Int, message: String, socketPath: String) -> ClientError {
        ClientError(
            code: .apiError, socketPath: socketPath, status: status, message: message,
            hint: status >= 500 ? logHint : nil)
    }

    static func badReply(_ message: String, socketPath: String) -> ClientError {
        ClientError(code: .badReply, socketPath: socketPath, message: message, hint: versionHint)
    }

    /// The error for a connection that was made and then ended or stalled.
    static func closed(_ message: String, socketPath: String, hint: String = logHint) -> ClientError {
        ClientError(code: .unavailable, socketPath: socketPath, status: nil, message: message, hint: hint, lost: true)
    }

    private static func errnoDescription(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text).lowercased()
    }
}
