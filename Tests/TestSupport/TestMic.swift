// Real ALSA capture devices for tests on machines without a sound card (Tests/Fixtures/testmic).

import Foundation
import Synchronization

/// A failure to start a test microphone: what failed, what the script said, and what to do next.
public struct TestMicError: Error, CustomStringConvertible {
    public var reason: String
    /// The script's stderr, and the tail of PulseAudio's log when there is one.
    public var output: String

    public init(reason: String, output: String = "") {
        self.reason = reason
        self.output = output
    }

    public var description: String {
        output.isEmpty ? reason : "\(reason)\n\(output)"
    }
}

/// A real-time paced ALSA capture device named `testmic` that plays raw s16le 48 kHz audio in a loop
/// (by default the test pattern, see `TestPattern`), bit-exact.
///
/// It is a private PulseAudio server with a null sink, fed by `pacat`, whose monitor ALSA's pulse plugin
/// presents as a capture device; `Tests/Fixtures/testmic/start.sh` sets it up and `stop.sh` ends it. It
/// needs no sound card, no systemd user session and no D-Bus. A process opens it when its environment
/// holds `ALSA_CONFIG_PATH` (see `environment`), e.g.
/// `ffmpeg -f alsa -channels 2 -sample_rate 48000 -i testmic`. Several readers may open it at once.
///
/// Each microphone has its own state directory, server and socket, so tests may run several at once. One
/// process opens several when each has its own `deviceName` and its environment holds all of their
/// configurations (`environment(for:)`); give each its own `sineOffset` to tell their audio apart.
public final class TestMic: Sendable {
    /// Where the fixture scripts live: `Tests/Fixtures/testmic` of this source tree.
    public static let fixtureDirectory: String =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/testmic").path

    /// The ALSA device name to open: `testmic` unless `start` was given another.
    public let deviceName: String
    /// The variant of the test pattern it plays (see `TestPattern`), when it plays the pattern.
    public let sineOffset: Int
    /// The value of `ALSA_CONFIG_PATH` that defines the device.
    public let alsaConfigPath: String
    /// The directory holding the server's socket, logs (`run/pulse.log`) and configuration.
    public let stateDirectory: String
    public let channels: Int
    /// Seconds `start` took until the device delivered audio.
    public let startupSeconds: Double

    private let ownedDirectory: TemporaryDirectory?
    private let stopped = Mutex(false)

    private init(
        alsaConfigPath: String, stateDirectory: String, channels: Int, startupSeconds: Double,
        ownedDirectory: TemporaryDirectory?, deviceName: String, sineOffset: Int
    ) {
        self.deviceName = deviceName
        self.sineOffset = sineOffset
        self.alsaConfigPath = alsaConfigPath
        self.stateDirectory = stateDirectory
        self.channels = channels
        self.startupSeconds = startupSeconds
        self.ownedDirectory = ownedDirectory
    }

    /// This process's environment with `ALSA_CONFIG_PATH` set for the device: pass it to the process
    /// that opens the device.
    public var environment: [String: String] { Self.environment(alsaConfigPath: alsaConfigPath) }

    /// This process's environment with `ALSA_CONFIG_PATH` set to `alsaConfigPath`.
    public static func environment(alsaConfigPath: String) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["ALSA_CONFIG_PATH"] = alsaConfigPath
        return environment
    }

    /// This process's environment with `ALSA_CONFIG_PATH` defining the devices of all of `mics`, for one
    /// process that opens several. Their `deviceName`s must differ (a later definition of a name wins).
    public static func environment(for mics: [TestMic]) -> [String: String] {
        environment(alsaConfigPath: alsaConfigPath(combining: mics.map(\.alsaConfigPath)))
    }

    /// One `ALSA_CONFIG_PATH` holding every file of `paths` (each a colon-separated list), in order, each
    /// once.
    public static func alsaConfigPath(combining paths: [String]) -> String {
        var files: [String] = []
        for file in paths.flatMap({ $0.split(separator: ":").map(String.init) }) where !files.contains(file) {
            files.append(file)
        }
        return files.joined(separator: ":")
    }

    /// Starts a microphone and returns once it delivers audio (about 2 s).
    ///
    /// - Parameters:
    ///   - stateDirectory: where to keep its server's state; nil for a fresh directory under /tmp that
    ///     `stop()` removes. Two running microphones need two directories. Leftovers of an earlier run
    ///     there (a dead server, stale pid files or socket) are cleaned up.
    ///   - channels: 1 or 2.
    ///   - rawFile: s16le 48 kHz audio with `channels` channels to loop; nil for the test pattern.
    ///   - deviceName: the ALSA device's name: a letter, then letters, digits or `_`. Microphones that one
    ///     process opens together need different names.
    ///   - sineOffset: without `rawFile`, the variant of the test pattern to play (see `TestPattern`).
    /// - Throws: `TestMicError` when what it needs is not installed (see `unavailableReason`) or the
    ///   server or feeder does not start; the error holds the script's output and the server's log.
    public static func start(
        stateDirectory: String? = nil, channels: Int = 2, rawFile: String? = nil, deviceName: String = "testmic",
        sineOffset: Int = 0
    ) throws -> TestMic {
        guard channels == 1 || channels == 2 else {
            throw TestMicError(reason: "a test microphone has 1 or 2 channels, not \(channels)")
        }
        guard isValidDeviceName(deviceName) else {
            throw TestMicError(
                reason: "a test microphone's device name is a letter, then letters, digits or _, not '\(deviceName)'")
        }
        if let unavailableReason { throw TestMicError(reason: unavailableReason) }
        let owned = stateDirectory == nil ? try TemporaryDirectory(prefix: "testmic", in: "/tmp") : nil
        let state = stateDirectory ?? owned!.path
        do {
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            let raw = try rawFile ?? writePattern(in: state, channels: channels, sineOffset: sineOffset)
            var environment = ProcessInfo.processInfo.environment
            environment["TESTMIC_CHANNELS"] = String(channels)
            environment["TESTMIC_DEVICE"] = deviceName
            let began = Date()
            let result = try ProcessRunner.run(
                "/bin/sh", [fixtureDirectory + "/start.sh", state, raw], environment: environment, timeout: 60)
            let seconds = Date().timeIntervalSince(began)
            let stderr = String(decoding: result.stderr, as: UTF8.self)
            guard result.status == 0, let path = alsaConfigPath(in: result.stdout) else {
                let log = (try? String(contentsOfFile: state + "/run/pulse.log", encoding: .utf8)) ?? ""
                throw TestMicError(
                    reason: "the test microphone did not start (start.sh exited with \(result.status))",
                    output: stderr + (log.isEmpty ? "" : "pulse.log ends with:\n" + log.suffix(2000)))
            }
            return TestMic(
                alsaConfigPath: path, stateDirectory: state, channels: channels, startupSeconds: seconds,
                ownedDirectory: owned, deviceName: deviceName, sineOffset: rawFile == nil ? sineOffset : 0)
        } catch {
            owned?.remove()
            throw error
        }
    }

    /// Stops the server and feeder and, when `start` created the state directory, removes it. Returns
    /// once they are gone. Idempotent; also called when the object goes away.
    public func stop() {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        FixtureScript.stop(
            "TestMic", script: Self.fixtureDirectory + "/stop.sh", stateDirectory: stateDirectory, timeout: 30)
        ownedDirectory?.remove()
    }

    deinit { stop() }

    /// Sets up the unpaced ALSA capture device `filemic`, which delivers the bytes of `rawFile` once, as
    /// fast as they are read, then junk. It needs only alsa-lib; nothing runs, so there is nothing to stop.
    ///
    /// - Parameters:
    ///   - stateDirectory: where to write its ALSA configuration (created when missing).
    ///   - rawFile: s16le 48 kHz audio with `channels` channels; nil for one period (65536 frames) of the
    ///     test pattern, written into `stateDirectory`.
    /// - Returns: the `ALSA_CONFIG_PATH` to give the process that opens it, and the device name.
    /// - Throws: `TestMicError` when filemic.sh fails, or an error writing the pattern.
    public static func fileMic(
        stateDirectory: String, rawFile: String? = nil, channels: Int = 2
    ) throws -> (alsaConfigPath: String, deviceName: String) {
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        let raw = try rawFile ?? writePattern(in: stateDirectory, channels: channels)
        let result = try ProcessRunner.run(
            "/bin/sh", [fixtureDirectory + "/filemic.sh", stateDirectory, raw, String(channels)], timeout: 30)
        guard result.status == 0, let path = alsaConfigPath(in: result.stdout) else {
            throw TestMicError(
                reason: "filemic.sh exited with \(result.status)",
                output: String(decoding: result.stderr, as: UTF8.self))
        }
        return (path, "filemic")
    }

    /// Whether `start` can work here: PulseAudio's server and tools and ALSA's pulse plugin are
    /// installed. For `@Test(.enabled(if: TestMic.isAvailable))`.
    public static var isAvailable: Bool { unavailableReason == nil }

    /// Why `start` cannot work here, with what to install; nil when it can.
    public static let unavailableReason: String? = {
        var missing = ["sh", "pulseaudio", "pactl", "pacat"].filter { ProcessRunner.which($0) == nil }
        if pulsePluginPath == nil {
            missing.append("ALSA's pulse plugin (libasound_module_pcm_pulse.so)")
        }
        if !FileManager.default.fileExists(atPath: fixtureDirectory + "/start.sh") {
            return "the test microphone's scripts are not in \(fixtureDirectory)"
        }
        guard !missing.isEmpty else { return nil }
        return "the test microphone needs \(missing.joined(separator: ", ")); install pulseaudio, "
            + "pulseaudio-utils and libasound2-plugins (see Tests/Fixtures/testmic/README.md)"
    }()

    /// Where ALSA's pulse plugin is installed, or nil when it is not: looked for in `ALSA_PLUGIN_DIR`
    /// and the usual library directories, multiarch ones included.
    public static let pulsePluginPath: String? = {
        let file = "libasound_module_pcm_pulse.so"
        let fileManager = FileManager.default
        var directories: [String] = []
        if let custom = ProcessInfo.processInfo.environment["ALSA_PLUGIN_DIR"] { directories.append(custom) }
        for lib in ["/usr/lib", "/lib", "/usr/local/lib"] {
            let archs = (try? fileManager.contentsOfDirectory(atPath: lib)) ?? []
            directories += archs.sorted().map { "\(lib)/\($0)/alsa-lib" }
        }
        directories += ["/usr/lib64/alsa-lib", "/usr/lib/alsa-lib", "/usr/local/lib/alsa-lib"]
        return directories.map { "\($0)/\(file)" }.first { fileManager.fileExists(atPath: $0) }
    }()

    /// A letter, then letters, digits or `_` (ASCII): the names start.sh accepts.
    static func isValidDeviceName(_ name: String) -> Bool {
        func isLetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }
        guard let first = name.utf8.first, isLetter(first) else { return false }
        return name.utf8.allSatisfy { isLetter($0) || (0x30...0x39).contains($0) || $0 == 0x5F }
    }

    private static func writePattern(in directory: String, channels: Int, sineOffset: Int = 0) throws -> String {
        let path = "\(directory)/pattern-\(channels)\(sineOffset == 0 ? "" : "-\(sineOffset)").raw"
        try TestPattern.data(channels: channels, sineOffset: sineOffset).write(to: URL(fileURLWithPath: path))
        return path
    }

    private static func alsaConfigPath(in stdout: Data) -> String? {
        let prefix = "ALSA_CONFIG_PATH="
        return String(decoding: stdout, as: UTF8.self).split(separator: "\n")
            .last { $0.hasPrefix(prefix) }
            .map { String($0.dropFirst(prefix.count)) }
    }
}
