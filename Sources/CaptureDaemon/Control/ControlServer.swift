// The control API server: HTTP/1.1 + JSON on a Unix domain socket (Hummingbird), with a safe socket set-up.
import CaptureCore
import CaptureProtocol
import Foundation
import Hummingbird
import Logging
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Serves the control API on `[control] socket`.
///
/// Before binding it takes an exclusive lock on `SOCKET.lock`, so two daemons never fight over one
/// socket; holding the lock, it removes a stale socket left by a crashed daemon. Once listening, the
/// socket gets mode 0660 and the group `[control] group` (when that group exists). Connections and
/// follow streams are limited (`ConnectionLimits.control`, `FollowStreams`).
final class ControlServer: Sendable {
    private let daemon: any ControlService
    private let configuration: ControlConfiguration
    private let logger: Logger

    init(daemon: any ControlService, configuration: ControlConfiguration, logger: Logger) {
        self.daemon = daemon
        self.configuration = configuration
        self.logger = logger
    }

    func run() async throws {
        let path = configuration.socket
        let lock: Int32
        do {
            lock = try Self.prepareSocket(path: path)
        } catch {
            daemon.events.emit(
                .error, "control.unavailable", "the control socket cannot be set up; the daemon records without it",
                [
                    "control.socket": .string(path), "error": .string("\(error)"),
                ])
            return
        }
        defer {
            unlink(path)
            close(lock)
        }
        let router = ControlRoutes.router(service: daemon, logger: logger)
        let group = configuration.group
        let events = daemon.events
        var serverLogger = logger
        serverLogger.logLevel = .warning
        let limits = ConnectionLimits.control
        let app = Application(
            router: router,
            server: limits.serverBuilder(counter: ConnectionCounter()),
            configuration: limits.applicationConfiguration(
                address: .unixDomainSocket(path: path), serverName: "audiocapd"),
            onServerRunning: { _ in
                let mode = Self.restrictSocket(path: path, group: group)
                events.emit(
                    .info, "control.listening", "control API listening",
                    [
                        "control.socket": .string(path), "control.mode": .string(mode),
                    ])
            },
            logger: serverLogger)
        try await QuietApplicationRunner.run(
            app,
            configuration: limits.serverConfiguration(address: .unixDomainSocket(path: path), serverName: "audiocapd"))
    }

    /// Creates the socket's folder, takes the lock and removes a stale socket. Returns the lock's fd.
    static func prepareSocket(path: String) throws -> Int32 {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        let lock = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else {
            throw ControlError(status: 500, "cannot open \(path).lock: \(String(cString: strerror(errno)))")
        }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            close(lock)
            throw ControlError(
                status: 500, "another audiocapd holds \(path).lock; stop it or give this one another [control] socket")
        }
        // We hold the lock, so whatever socket is there belongs to a daemon that is gone.
        unlink(path)
        return lock
    }

    /// Sets mode 0660 and the group; returns a description such as `0660 root:audiocap`.
    static func restrictSocket(path: String, group: String) -> String {
        chmod(path, 0o660)
        var groupName = "(own group)"
        if !group.isEmpty, let entry = getgrnam(group) {
            if chown(path, UInt32.max, entry.pointee.gr_gid) == 0 { groupName = group }
        }
        return "0660 group \(groupName)"
    }
}

/// The request context: Hummingbird's basics plus the connection, for the peer's credentials.
struct ControlContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The connected process's pid and uid (SO_PEERCRED), when the socket reports them.
    func peer() async -> (pid: Int32, uid: UInt32)? {
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } — SO_PEERCRED is 17 on Linux.
        let future: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(17))
        guard let credentials = try? await future.get() else { return nil }
        return (credentials.pid, credentials.uid)
    }
}

/// Layout of Linux's `struct ucred`.
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// Turns every error into a JSON body `{"error":{"status":N,"message":"..."}}` with the right status.
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = ControlContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as ControlError {
            return Self.response(status: error.status, message: error.message)
        } catch let error as any HTTPResponseError {
            let message: String
            switch error.status {
            case .notFound:
                message = "no such endpoint: \(request.method) \(request.uri.path); see the API table in the README"
            case .contentTooLarge: message = "request body is larger than \(ControlAPI.maximumBodyBytes) bytes"
            case .methodNotAllowed: message = "\(request.method) is not allowed on \(request.uri.path)"
            default: message = (error as? HTTPError)?.body ?? error.status.reasonPhrase
            }
            return Self.response(status: error.status.code, message: message)
        }
    }

    static func response(status: Int, message: String) -> Response {
        let body = (try? ControlAPI.encoder().encode(ErrorResponse(status: status, message: message))) ?? Data()
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: body + [0x0A])))
    }
}
