// The options every subcommand that talks to audiocapd shares: --socket, --json and --utc.

import ArgumentParser
import CaptureClient
import CaptureProtocol
import Foundation

/// `--socket PATH`, `--json` and `--utc`, included in every subcommand that talks to the daemon. They may also
/// stand before the subcommand (`audiocap --json status`): ``AudioCapCommand/arguments(_:)`` moves them.
public struct GlobalOptions: ParsableArguments, Sendable {
    @Option(
        help: ArgumentHelp("The control socket of audiocapd; $AUDIOCAP_SOCKET sets the default.", valueName: "path"))
    public var socket: String = GlobalOptions.defaultSocket

    @Flag(help: "Print the daemon's reply as JSON instead of text.")
    public var json = false

    @Flag(help: "Show times in UTC instead of local time ($TZ).")
    public var utc = false

    public init() {}

    /// `$AUDIOCAP_SOCKET`, or the daemon's default socket.
    static var defaultSocket: String {
        if let path = ProcessInfo.processInfo.environment["AUDIOCAP_SOCKET"], !path.isEmpty { return path }
        return ControlAPI.defaultSocketPath
    }

    var client: ControlClient { ControlClient(socketPath: socket) }

    /// How human output shows times: local, or UTC with `--utc`.
    var times: TimeStyle { utc ? .utc : .local }

    /// The long names, with whether each takes a value, that may stand before the subcommand.
    static let names: [String: Bool] = ["--socket": true, "--json": false, "--utc": false]

    /// Runs `body` with a client for the chosen socket. A `ClientError` is printed to standard error as
    /// `audiocap: <what failed>. <next step>` and becomes `ExitCode(error.exitCode)`.
    func withClient<Result>(
        _ body: (ControlClient) async throws -> Result
    ) async throws -> Result {
        do {
            return try await body(client)
        } catch let error as ClientError {
            Console.error(error.description)
            throw ExitCode(error.exitCode)
        }
    }

    /// Encodes `value` the way the API does, pretty-printed, for `--json`.
    static func json<Value: Encodable>(_ value: Value) throws -> String {
        String(decoding: try ControlAPI.encoder(pretty: true).encode(value), as: UTF8.self)
    }
}
