// audiocapd: parse flags and hand off to CaptureDaemon.
import ArgumentParser
import CaptureCore
import CaptureDaemon
import Dispatch
import Synchronization

@main
struct AudiocapdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audiocapd",
        abstract: "Capture audio from ALSA through ffmpeg into gapless, segmented WAV files.",
        discussion: """
            Runs until SIGTERM or SIGINT, then closes every open file with a correct header and exits 0.
            Recordings declared in the configuration ([[recording]]) start with the daemon.

            Examples:
              audiocapd --config /etc/audiocap/audiocap.toml
              audiocapd --config config/demo.toml      # no sound card needed
              audiocapd --list-devices                 # capture devices ALSA knows

            Signals: SIGTERM or SIGINT stop it cleanly; SIGHUP reloads the [[recording]] tables.

            Exit codes: 0 stopped cleanly, 64 bad flags, 70 internal error, 78 configuration error.
            """,
        version: AudioCapVersion.string
    )

    @Option(name: .shortAndLong, help: ArgumentHelp("Configuration file (TOML).", valueName: "path"))
    var config = DaemonRunner.defaultConfigurationPath

    @Flag(help: "List the ALSA capture devices (name and description) and exit.")
    var listDevices = false

    @Option(
        help: ArgumentHelp(
            "Override [log] level: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: String?

    /// The daemon's own question to ALSA, answered in a child (see `ALSAProbe`): prints JSON and exits.
    @Flag(help: .hidden)
    var alsaProbe = false

    @Option(help: .hidden)
    var alsaOpen: String?

    func run() throws {
        if alsaProbe {
            ALSAProbe.printAnswer(opening: alsaOpen)
            return
        }
        // ALSA is asked in a child, a copy of this program: its plugins stay out of the daemon.
        ALSAProbe.executable = "/proc/self/exe"
        if listDevices {
            DaemonRunner.printDevices()
            return
        }
        let configurationPath = config
        let logLevel = logLevel
        let code = Self.waitOnMainThread {
            await DaemonRunner.run(configurationPath: configurationPath, logLevel: logLevel)
        }
        if code != 0 { throw ExitCode(code) }
    }

    /// Runs `body` on Swift's shared executor while the main thread waits for it, then returns its result.
    ///
    /// An async `main` would hand the main thread to `dispatch_main`, which leaves it with `pthread_exit`:
    /// that unwinds the main thread's stack through the binary's whole unwind table (`.eh_frame_hdr`,
    /// `.eh_frame` and libgcc's unwinder, 0.9 MB kept resident for good, bench/README.md "Memory"). Nothing
    /// in the daemon runs on the main actor or the main dispatch queue. The task is owned by this function,
    /// which does not return before it ends.
    private static func waitOnMainThread(_ body: @escaping @Sendable () async -> Int32) -> Int32 {
        let result = Mutex<Int32?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let code = await body()
            result.withLock { $0 = code }
            done.signal()
        }
        done.wait()
        return result.withLock { $0 } ?? 70
    }
}
