// `audiocap version`: the CLI's version and, when it answers, the running daemon's.

import ArgumentParser
import CaptureClient
import CaptureCore
import CaptureProtocol
import Foundation

/// `audiocap version [--json]`. Exits 0 whether or not the daemon answers.
public struct VersionCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Show the version of audiocap and of the running audiocapd.",
        discussion: """
            Prints this tool's version and, when audiocapd answers on its socket, the daemon's version and \
            pid (from `audiocap status`). When the daemon cannot be reached it says why on standard error; \
            the exit code is 0 either way. With --json prints {"cli": VERSION, "daemon": VERSION or null}.

            Examples:
              audiocap version
              audiocap version --json | jq -r .daemon
            """
    )

    @OptionGroup public var options: GlobalOptions

    public init() {}

    /// The versions, for `--json`: `daemon` and `daemon_pid` are null when the daemon did not answer.
    struct Versions: Codable, Equatable {
        var cli: String
        var daemon: String?
        var daemonPid: Int32?

        enum CodingKeys: String, CodingKey {
            case cli, daemon, daemonPid
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(cli, forKey: .cli)
            try container.encode(daemon, forKey: .daemon)
            try container.encode(daemonPid, forKey: .daemonPid)
        }
    }

    public func run() async throws {
        var versions = Versions(cli: AudioCapVersion.string)
        var failure: ClientError?
        do {
            let status = try await ControlClient(socketPath: options.socket, timeout: .seconds(5)).status()
            versions.daemon = status.version
            versions.daemonPid = status.pid
        } catch {
            failure = error
        }
        if options.json {
            Console.line(try GlobalOptions.json(versions))
        } else {
            Console.line(Self.render(versions, socket: options.socket))
        }
        if let failure { Console.error("audiocapd version unknown: \(failure.description)") }
    }

    static func render(_ versions: Versions, socket: String) -> String {
        var lines = ["audiocap \(versions.cli)"]
        if let daemon = versions.daemon {
            var line = "audiocapd \(daemon) (pid \(versions.daemonPid.map(String.init) ?? "?"), \(socket))"
            if daemon != versions.cli { line += "; versions differ" }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
