// Start-up of the daemon process: load the configuration, set up logging, run the service group.
import CSystemShims
import CaptureCore
import CaptureEnvironment
import Foundation
import Logging
import ServiceLifecycle

/// What `audiocapd` does between parsing its flags and exiting.
public enum DaemonRunner {
    public static let defaultConfigurationPath = "/etc/audiocap/audiocap.toml"

    /// Loads the configuration at `configurationPath` and runs the daemon until SIGTERM/SIGINT.
    /// Returns the process exit code: 0 after a clean stop, 78 for a configuration error, 75 when another
    /// daemon runs with the same state folder.
    public static func run(configurationPath: String, logLevel: String?) async -> Int32 {
        // glibc gives each thread that allocates under contention an arena of its own, up to 8 per core; each
        // keeps its free memory resident. The daemon allocates little once it runs (nothing per chunk), so
        // two arenas cost no measurable time (resident memory: 0.1 MB less in a 20 s run, more as threads come).
        _ = audiocap_limit_malloc_arenas(2)
        var configuration: Configuration
        do {
            configuration = try ConfigurationLoader.load(path: configurationPath)
        } catch {
            writeError(
                "audiocapd: configuration error\n\(error)\nFix the file, then check it with: audiocap check-config \(configurationPath)\n"
            )
            return ConfigurationError.exitCode
        }
        configuration = configuration.resolvingRelativePaths(against: FileManager.default.currentDirectoryPath)
        var level = Logger.Level(rawValue: configuration.log.level.rawValue) ?? .info
        if let logLevel {
            guard let parsed = Logger.Level(rawValue: logLevel) else {
                writeError(
                    "audiocapd: unknown log level '\(logLevel)'; use trace, debug, info, notice, warning, error or critical\n"
                )
                return 64
            }
            level = parsed
        }
        // Before anything touches the recordings (the start-up repair): one daemon per state folder.
        let instance: InstanceLock
        do {
            instance = try InstanceLock(stateDirectory: configuration.storage.state)
        } catch {
            writeError("audiocapd: \(error)\n")
            return InstanceLock.busyExitCode
        }
        defer { withExtendedLifetime(instance) {} }
        let chosenLevel = level
        let output = DaemonLogHandler.Output.detect()
        LoggingSystem.bootstrap { label in DaemonLogHandler(label: label, level: chosenLevel, output: output) }
        let logger = Logger(label: "audiocapd")
        // What check-config would find on this machine, as warnings: the daemon starts anyway (a device may be
        // plugged in later, a folder fixed). `ffmpeg -version` is not run, so the start is not slowed.
        for finding in EnvironmentCheck(runsFFmpeg: false, askALSA: { ALSAProbe.ask()?.devices }).check(configuration) {
            logger.warning(
                "the configuration may not work on this machine",
                metadata: [
                    "config.key": "\(finding.key)", "config.value": "\(finding.value)",
                    "config.problem": "\(finding.message)",
                ])
        }
        let daemon = AudioCapDaemon(configuration: configuration, configurationPath: configurationPath, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: daemon)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            ))
        do {
            try await group.run()
        } catch {
            logger.critical("audiocapd stopped on an error", metadata: ["error": "\(error)"])
            return 70
        }
        return 0
    }

    /// Prints the ALSA capture devices, one per line: name, then description.
    public static func printDevices() {
        let devices = ALSADevices.capture()
        if devices.isEmpty {
            print("No ALSA capture devices found. Is the sound card connected? See `arecord -l`.")
            return
        }
        let width = min(40, devices.map(\.name.count).max() ?? 0)
        for device in devices {
            print(
                device.name.padding(toLength: max(width, device.name.count), withPad: " ", startingAt: 0) + "  "
                    + device.description)
        }
    }

    static func writeError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

extension Configuration {
    /// This configuration with relative recording directories, socket, storage and rclone_config paths made absolute
    /// against `directory` (the daemon's working directory at start).
    public func resolvingRelativePaths(against directory: String) -> Configuration {
        let base = URL(fileURLWithPath: directory.hasSuffix("/") ? directory : directory + "/")
        func absolute(_ path: String) -> String {
            path.isEmpty || path.hasPrefix("/")
                ? path : URL(fileURLWithPath: path, relativeTo: base).standardizedFileURL.path
        }
        var copy = self
        for index in copy.recordings.indices {
            copy.recordings[index].directory = absolute(copy.recordings[index].directory)
        }
        for index in copy.destinations.indices {
            copy.destinations[index].rcloneConfig = absolute(copy.destinations[index].rcloneConfig)
        }
        copy.control.socket = absolute(copy.control.socket)
        copy.storage.root = absolute(copy.storage.root)
        copy.storage.state = absolute(copy.storage.state)
        return copy
    }
}
