// `audiocap reload`: has audiocapd read its configuration file again, and says what changed.

import ArgumentParser
import CaptureClient
import CaptureProtocol
import Foundation

/// `audiocap reload [--json]`.
public struct ReloadCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Have audiocapd read its configuration file again and apply its sources and recordings.",
        discussion: """
            Like `systemctl reload audiocapd` (SIGHUP), but prints what changed: recordings new in the file \
            start, removed ones stop, running ones whose settings changed restart without losing audio. A \
            configured recording stopped with `audiocap stop` stays stopped until `audiocap start NAME`. \
            A [[source]] new in the file starts capturing, a removed one stops (with the recordings it fed), \
            a changed one restarts; the other sources are not touched. Other changes (log, control, \
            storage, metrics) take effect when audiocapd restarts (`systemctl restart audiocapd`); reload \
            says which.

            A file with errors changes nothing: the errors are printed and the exit code is 78 (EX_CONFIG). \
            `audiocap check-config FILE` checks a file before reloading.

            Examples:
              audiocap reload
              audiocap reload --json | jq .started
              audiocap reload --json | jq .sources_started
            """
    )

    @OptionGroup public var options: GlobalOptions

    public init() {}

    public func run() async throws {
        let reply = try await options.withClient { try await $0.reload() }
        if options.json {
            Console.line(try GlobalOptions.json(reply))
        } else {
            Console.line(Self.render(reply))
        }
        if !reply.reloaded {
            if !options.json { Console.error("\(reply.configPath) has errors; the running configuration stays") }
            throw ExitCode(78)
        }
    }

    /// What `audiocap reload` prints.
    static func render(_ reply: ReloadResponse) -> String {
        guard reply.reloaded else {
            return (["not reloaded: \(reply.configPath) has errors"] + reply.errors.map { "  " + $0 })
                .joined(separator: "\n")
        }
        var lines = ["reloaded \(reply.configPath)"]
        func list(_ label: String, _ names: [String]) {
            if !names.isEmpty { lines.append("  \(label): \(names.joined(separator: ", "))") }
        }
        list("sources started", reply.sourcesStarted)
        list("sources stopped", reply.sourcesStopped)
        list("sources restarted with new settings", reply.sourcesRestarted)
        list("new [levels] applied, capture untouched", reply.sourcesLevelsChanged)
        list("started", reply.started)
        list("stopped", reply.stopped)
        list("restarted with new settings", reply.restarted)
        if reply.started.isEmpty, reply.stopped.isEmpty, reply.restarted.isEmpty {
            lines.append("  recordings unchanged")
        }
        if reply.restartNeeded {
            lines.append(
                "  changed [\(reply.restartNeededFor.joined(separator: "], ["))] take effect when audiocapd restarts: "
                    + "`systemctl restart audiocapd`")
        }
        return lines.joined(separator: "\n")
    }
}
