// One end-to-end test's world: its directory, socket, state folder, test mic and daemons, torn down in reverse.
import Foundation
import TestSupport
import Testing

/// Everything one end-to-end test runs in, made by `with(mic:config:launch:environment:_:)` and torn
/// down when the body returns or throws: every daemon it launched is terminated (newest first), then the
/// test microphone is stopped, then the directory is removed with everything in it.
///
/// The directory is under /tmp so that `socket` stays within the 108 bytes of a Unix socket path.
final class DaemonFixture: @unchecked Sendable {
    // @unchecked: a fixture belongs to one test and is used from its thread; `daemons` is only
    // appended to by `launch`, which the test calls, and read by the teardown after the body.

    /// The test's own directory.
    let directory: TemporaryDirectory
    /// The running test microphone (`device = "testmic"`), or nil when asked for none.
    let mic: TestMic?
    /// Extra environment every launched daemon and `cli` call gets.
    let environment: [String: String]
    /// Every daemon `launch` started, oldest first.
    private(set) var daemons: [DaemonProcess] = []

    private init(mic: TestMic?, directory: TemporaryDirectory, environment: [String: String]) {
        self.mic = mic
        self.directory = directory
        self.environment = environment
    }

    /// The directory's absolute path.
    var path: String { directory.path }
    /// The path of `name` inside the directory (nothing is created).
    func file(_ name: String) -> String { directory.file(name) }
    /// The control socket to put in `[control] socket`: `DIR/run/control.sock`.
    var socket: String { file("run/control.sock") }
    /// The state folder to put in `[storage] state`: `DIR/state`.
    var state: String { file("state") }
    /// The on-demand root to put in `[storage] root`: `DIR/ondemand`.
    var root: String { file("ondemand") }
    /// The configuration file `launch` starts daemons with: `DIR/a.toml`.
    var configPath: String { file("a.toml") }

    /// The daemon launched last. Only valid after a launch.
    var daemon: DaemonProcess { daemons[daemons.count - 1] }

    /// Runs `body` in a fresh fixture and tears it down afterwards, also when `body` throws.
    ///
    /// - Parameters:
    ///   - mic: whether to start a test microphone; its environment goes to every daemon.
    ///   - config: the TOML written to `configPath`, given the fixture for its paths; nil writes nothing.
    ///   - launch: whether to launch a daemon on `configPath` before `body` when `config` is given (it is
    ///     `fixture.daemon`); pass false to prepare the directory first, then call `launch()`.
    ///   - environment: extra environment variables for the daemons and the CLI.
    /// - Throws: what starting the microphone, creating the directory, writing the config, launching the
    ///   daemon or `body` throws.
    static func with<Result>(
        mic: Bool = false, config: ((DaemonFixture) -> String)? = nil, launch: Bool = true,
        environment: [String: String] = [:], _ body: (DaemonFixture) throws -> Result
    ) throws -> Result {
        let testMic = mic ? try TestMic.start() : nil
        defer { testMic?.stop() }
        let directory = try TemporaryDirectory(in: "/tmp")
        defer { directory.remove() }
        let fixture = DaemonFixture(mic: testMic, directory: directory, environment: environment)
        defer { fixture.terminateAll() }
        if let config {
            try fixture.writeConfig(config(fixture))
            if launch { try fixture.launch() }
        }
        return try body(fixture)
    }

    /// `with(mic:config:launch:environment:_:)` for an async body.
    static func with<Result>(
        mic: Bool = false, config: ((DaemonFixture) -> String)? = nil, launch: Bool = true,
        environment: [String: String] = [:], _ body: (DaemonFixture) async throws -> Result
    ) async throws -> Result {
        let testMic = mic ? try TestMic.start() : nil
        defer { testMic?.stop() }
        let directory = try TemporaryDirectory(in: "/tmp")
        defer { directory.remove() }
        let fixture = DaemonFixture(mic: testMic, directory: directory, environment: environment)
        defer { fixture.terminateAll() }
        if let config {
            try fixture.writeConfig(config(fixture))
            if launch { try fixture.launch() }
        }
        return try await body(fixture)
    }

    /// Writes `text` to `configPath` (or `path` when given).
    func writeConfig(_ text: String, to path: String? = nil) throws {
        try text.write(toFile: path ?? configPath, atomically: true, encoding: .utf8)
    }

    /// This process's environment with the microphone's and the fixture's extra variables.
    var processEnvironment: [String: String] {
        var env = mic?.environment ?? ProcessInfo.processInfo.environment
        env.merge(environment) { _, extra in extra }
        return env
    }

    /// Starts audiocapd on `config` (default `configPath`) in the fixture's directory with the microphone's
    /// environment; the fixture terminates it at the end if it still runs.
    @discardableResult
    func launch(config: String? = nil, environment extra: [String: String] = [:], arguments: [String] = []) throws
        -> DaemonProcess
    {
        var env = processEnvironment
        env.merge(extra) { _, extra in extra }
        let daemon = try DaemonProcess(
            config: config ?? configPath, directory: path, environment: env, arguments: arguments)
        daemons.append(daemon)
        return daemon
    }

    /// Runs `audiocap ARGS` against `socket` (through `AUDIOCAP_SOCKET`); returns exit status, stdout, stderr.
    func cli(_ args: [String], socket: String? = nil, timeout: Double = 30) throws -> (
        status: Int32, out: String, err: String
    ) {
        var env = processEnvironment
        env["AUDIOCAP_SOCKET"] = socket ?? self.socket
        let result = try ProcessRunner.run(Binaries.audiocap, args, environment: env, timeout: timeout)
        return (
            result.status, String(decoding: result.stdout, as: UTF8.self),
            String(decoding: result.stderr, as: UTF8.self)
        )
    }

    /// Waits until the last daemon logged that ffmpeg started; false on timeout.
    @discardableResult
    func waitForCapture(timeout: Double = 20) -> Bool {
        daemon.waitForLog("ffmpeg started", timeout: timeout)
    }

    /// Waits until the last daemon's control API listens; false on timeout.
    @discardableResult
    func waitForControl(timeout: Double = 20) -> Bool {
        daemon.waitForLog("control API listening", timeout: timeout)
    }

    /// Waits until the files being written under `DIR/subdirectory` hold `bytes` more than now.
    @discardableResult
    func waitForMoreAudio(in subdirectory: String, bytes: Int = 96_000, timeout: Double = 15) -> Bool {
        let directory = file(subdirectory)
        return waitForAudio(under: directory, moreThan: audioBytes(under: directory), bytes: bytes, timeout: timeout)
    }

    /// Terminates every daemon still running, newest first.
    private func terminateAll() {
        for daemon in daemons.reversed() where daemon.process.isRunning {
            _ = daemon.terminate()
        }
    }
}

/// `testMicConfig` with the fixture's paths.
func testMicConfig(
    _ fixture: DaemonFixture, source: String = "", recordings: [String] = ["r"], queueSeconds: Double = 30
) -> String {
    testMicConfig(fixture.directory, source: source, recordings: recordings, queueSeconds: queueSeconds)
}
