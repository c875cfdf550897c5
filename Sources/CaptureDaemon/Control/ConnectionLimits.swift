// How many clients a listener (control socket, metrics port) serves at once, and how long it waits for them.
import CaptureProtocol
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes
import Synchronization

/// The limits of one HTTP listener.
///
/// A connection past `maximumConnections` is answered `503` with a JSON error as soon as its request
/// head arrives (or closed after `refusalGrace` when none does) and closed: the daemon never holds it.
/// A new connection must send a complete request head within `requestHeadTimeout`; one with no request
/// in progress is closed after `idleTimeout` (Hummingbird's own idle timeout). A response in progress,
/// such as a follow stream, is never timed out: its heartbeat notices a vanished client.
struct ConnectionLimits: Sendable {
    /// What the listener is, for messages: `control socket`, `metrics port`.
    var listener: String
    var maximumConnections: Int
    var requestHeadTimeout: Duration
    var idleTimeout: Duration
    var refusalGrace: Duration = .seconds(1)

    /// Open connections, served and being refused, past which the listener stops accepting and leaves
    /// clients in the kernel's backlog: a ceiling on descriptors when clients arrive faster than they
    /// can be refused.
    var acceptCeiling: Int { maximumConnections * 4 }

    /// The control socket: the CLI opens one connection per call; 64 leaves room for scripts and the
    /// follow streams (at most `FollowStreams.controlMaximum`) together.
    static let control = ConnectionLimits(
        listener: "control socket", maximumConnections: 64, requestHeadTimeout: .seconds(10), idleTimeout: .seconds(60))

    /// The metrics port: a scraper or two, possibly reachable from the network.
    static let metrics = ConnectionLimits(
        listener: "metrics port", maximumConnections: 16, requestHeadTimeout: .seconds(10), idleTimeout: .seconds(60))

    /// The listener's configuration with the accept ceiling.
    func applicationConfiguration(address: BindAddress, serverName: String) -> ApplicationConfiguration {
        ApplicationConfiguration(
            address: address, serverName: serverName,
            availableConnectionsDelegate: MaximumAvailableConnections(acceptCeiling))
    }

    /// The same as the server sees it (``QuietApplicationRunner`` serves with it).
    func serverConfiguration(address: BindAddress, serverName: String) -> ServerConfiguration {
        ServerConfiguration(
            address: address, serverName: serverName,
            availableConnectionsDelegate: MaximumAvailableConnections(acceptCeiling))
    }

    /// HTTP/1.1 with the idle timeout and a `ConnectionGuard` on every connection, sharing `counter`.
    func serverBuilder(counter: ConnectionCounter) -> HTTPServerBuilder {
        let limits = self
        return .http1(
            configuration: HTTP1Channel.Configuration(
                additionalChannelHandlers: [ConnectionGuard(limits: limits, counter: counter)],
                idleTimeout: .init(idleTimeout)))
    }

    /// The body of the 503 reply to a connection past the limit.
    var refusalBody: ByteBuffer {
        let message =
            "audiocapd serves at most \(maximumConnections) connections on its \(listener) at once and all are in use; "
            + "try again in a moment, and close idle clients or follow streams (`audiocap logs --follow`, `audiocap levels --follow`)"
        let data = (try? ControlAPI.encoder().encode(ErrorResponse(status: 503, message: message))) ?? Data()
        return ByteBuffer(bytes: data + [0x0A])
    }
}

/// The connections a listener holds now.
final class ConnectionCounter: Sendable {
    private let open = Atomic<Int>(0)

    /// Counts a new connection; returns how many are open with it.
    func opened() -> Int { open.wrappingAdd(1, ordering: .relaxed).newValue }

    func closed() { open.wrappingSubtract(1, ordering: .relaxed) }

    var count: Int { open.load(ordering: .relaxed) }
}

/// Per connection, after the HTTP decoder: counts it, refuses it past the limit, and closes it when its
/// first request head does not arrive in time.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: ConnectionLimits
    private let counter: ConnectionCounter
    private var counted = false
    private var refusing = false
    private var answered = false
    private var timer: Scheduled<Void>?

    init(limits: ConnectionLimits, counter: ConnectionCounter) {
        self.limits = limits
        self.counter = counter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        guard case .head = part else {
            if !refusing { context.fireChannelRead(data) }
            return
        }
        timer?.cancel()
        timer = nil
        guard refusing else {
            context.fireChannelRead(data)
            return
        }
        guard !answered else { return }
        answered = true
        let body = limits.refusalBody
        let head = HTTPResponse(
            status: .serviceUnavailable,
            headerFields: [
                .contentType: "application/json", .contentLength: String(body.readableBytes), .connection: "close",
                .retryAfter: "1",
            ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !counted else { return }
        counted = true
        refusing = counter.opened() > limits.maximumConnections
        let delay = refusing ? limits.refusalGrace : limits.requestHeadTimeout
        timer = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: .init(delay)) {
            context.close(promise: nil)
        }
    }

    private func stop() {
        timer?.cancel()
        timer = nil
        if counted {
            counted = false
            counter.closed()
        }
    }
}

@available(*, unavailable)
extension ConnectionGuard: Sendable {}
