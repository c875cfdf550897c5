// The options every subcommand that talks to audiocapd shares: --socket and --json.

import ArgumentParser
import CaptureClient
import CaptureProtocol
import Foundation

/// `--socket PATH` and `--json`, included in every subcommand that talks to the daemon.
public struct GlobalOptions: ParsableArguments, Sendable {
    @Option(
        help: ArgumentHelp("The control socket of audiocapd; $AUDIOCAP_SOCKET sets the default.", valueName: "path"))
    public var socket: String = GlobalOptions.defaultSocket

    @Flag(help: "Print the daemon's reply as JSON instead of text.")
    public var json = false

    public init() {}

    /// `$AUDIOCAP_SOCKET`, or the daemon's default socket.
    static var defaultSocket: String {
        if let path = ProcessInfo.processInfo.environment["AUDIOCAP_SOCKET"], !path.isEmpty { return path }
        return ControlAPI.defaultSocketPath
    }

    var client: ControlClient { ControlClient(socketPath: socket) }

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
