// Runs a Hummingbird application without its once-a-second date cache, so an idle daemon stays asleep.
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// What `Application.run()` does, minus its `DateCache`: that service wakes the process every second to
/// format a `Date` header in advance, which is most of an idle daemon's wake-ups when the control API
/// is on. Here each response gets its `Date` when it is made: the control socket and the metrics port
/// answer a few requests a second at most, so formatting per response costs nothing that matters.
enum QuietApplicationRunner {
    /// Serves `app` on `configuration` (the listener's address, name and accept ceiling) until the task
    /// is cancelled or the server fails.
    static func run<App: ApplicationProtocol>(_ app: App, configuration: ServerConfiguration) async throws {
        let responder = try await app.responder
        let logger = app.logger
        let serverName = configuration.serverName
        let server = try app.server.buildServer(
            configuration: configuration, eventLoopGroup: app.eventLoopGroup, logger: logger
        ) { (request, responseWriter: consuming ResponseWriter, channel) in
            let context = App.Responder.Context(source: .init(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch let error as HTTPParserError {
                throw error
            } catch {
                logger.debug("unrecognised error", metadata: ["error.type": "\(error)"])
                response = Response(status: .internalServerError, body: .init())
            }
            response.headers[.date] = httpDate()
            if let serverName { response.headers[.server] = serverName }
            try await responseWriter.write(response: response.head, body: response.body)
        } onServerRunning: {
            await app.onServerRunning($0)
        }
        let group = ServiceGroup(configuration: .init(services: app.services + [server], logger: logger))
        try await group.run()
    }

    /// Now as an HTTP date (RFC 9110, IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func httpDate(_ seconds: time_t = time(nil)) -> String {
        var clock = seconds
        var parts = tm()
        gmtime_r(&clock, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
