// Runs the built audiocapd in a test: its own directory, config, log file, signals.
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Where `swift build` put the executables: next to the test bundle, or `AUDIOCAP_BIN_DIR`.
enum Binaries {
    static let directory: String = {
        if let dir = ProcessInfo.processInfo.environment["AUDIOCAP_BIN_DIR"] { return dir }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        // The runner is `<products>/audiocapPackageTests.xctest` (or a file inside it).
        while url.path != "/" {
            let candidate = url.deletingLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("audiocapd").path) {
                return candidate.path
            }
            url = candidate
        }
        return ".build/debug"
    }()

    static var audiocapd: String { directory + "/audiocapd" }
    static var audiocap: String { directory + "/audiocap" }
}

/// One audiocapd process with its stderr going to a file the test can read and wait on.
final class DaemonProcess: @unchecked Sendable {
    // @unchecked: used from one test at a time; Process is thread-safe enough for terminate/wait.
    let process = Process()
    let logPath: String
    private let logHandle: FileHandle

    init(config: String, directory: String, environment: [String: String]? = nil, arguments: [String] = []) throws {
        logPath = directory + "/audiocapd-\(UUID().uuidString.prefix(8)).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: Binaries.audiocapd)
        process.arguments = ["--config", config] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = environment ?? ProcessInfo.processInfo.environment
        env.removeValue(forKey: "JOURNAL_STREAM")
        process.environment = env
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? logHandle.close()
    }

    var pid: Int32 { process.processIdentifier }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Log lines containing `text`.
    func lines(containing text: String) -> [String] {
        log.split(separator: "\n").map(String.init).filter { $0.contains(text) }
    }

    /// Waits until the log has `count` lines containing `text`; false on timeout.
    @discardableResult
    func waitForLog(_ text: String, count: Int = 1, timeout: Double = 20) -> Bool {
        waitUntil(timeout: timeout) { self.lines(containing: text).count >= count }
    }

    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Sends SIGTERM and waits for the exit; returns the exit status and how long it took.
    func terminate(timeout: Double = 10) -> (status: Int32, seconds: Double) {
        let start = Date()
        signal(SIGTERM)
        if !waitUntil(timeout: timeout, { !self.process.isRunning }) {
            signal(SIGKILL)
            process.waitUntilExit()
            return (-1, Date().timeIntervalSince(start))
        }
        process.waitUntilExit()
        return (process.terminationStatus, Date().timeIntervalSince(start))
    }

    func kill9() {
        signal(SIGKILL)
        process.waitUntilExit()
    }

    /// The pid of the daemon's ffmpeg child, from `/proc`.
    var ffmpegPID: Int32? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8)
            else { continue }
            // Fields after the command name (which is in parentheses): state, ppid.
            guard let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 2, Int32(fields[1]) == process.processIdentifier, stat.contains("(ffmpeg)") {
                return pid
            }
        }
        return nil
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` seconds pass.
@discardableResult
func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(50_000)
    }
    return condition()
}

/// Closed WAV files under `directory`, sorted by path (names embed time or sequence).
func wavFiles(under directory: String) -> [String] {
    let all = (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String]) ?? []
    return all.filter { $0.hasSuffix(".wav") }.sorted().map { directory + "/" + $0 }
}

func partialFiles(under directory: String) -> [String] {
    let all = (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String]) ?? []
    return all.filter { $0.hasSuffix(".partial") }.sorted().map { directory + "/" + $0 }
}

/// Frames of a WAV file according to ffprobe (an independent reader), or nil.
func ffprobeFrames(_ path: String) -> Int? {
    guard
        let result = try? ProcessRunner.run(
            "ffprobe",
            ["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=duration_ts", "-of", "csv=p=0", path]),
        result.status == 0
    else { return nil }
    return Int(String(decoding: result.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
}

/// Writes a config file.
func writeConfig(_ text: String, to path: String) throws {
    try text.write(toFile: path, atomically: true, encoding: .utf8)
}

/// Bytes in the files being written under `directory`.
func partialBytes(under directory: String) -> Int {
    partialFiles(under: directory).reduce(0) { total, path in
        total + ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
    }
}

/// Bytes of the audio files under `directory`, closed (`.wav`, `.flac`) and being written (`.partial`):
/// what the recordings there have written so far. (A writer writes about a second at a time, so a file of
/// a second or two may be opened, filled and closed between two looks: counting only `.partial` files
/// would miss it.)
func audioBytes(under directory: String) -> Int {
    let all = (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String]) ?? []
    return all.filter { $0.hasSuffix(".partial") || $0.hasSuffix(".wav") || $0.hasSuffix(".flac") }.reduce(0) {
        total, path in
        total + ((try? FileManager.default.attributesOfItem(atPath: directory + "/" + path)[.size] as? Int) ?? 0)
    }
}

/// Waits until the audio files under `directory` hold `bytes` more than `from` (``audioBytes(under:)``).
@discardableResult
func waitForAudio(under directory: String, moreThan from: Int = 0, bytes: Int = 96_000, timeout: Double = 15) -> Bool {
    waitUntil(timeout: timeout) { audioBytes(under: directory) >= from + bytes }
}

/// A daemon configuration on the paced test microphone (`device = "testmic"`), control API off, with the
/// given extra `[source]` lines and one `[[recording]]` per name: `DIR/NAME`, one `{seq}.wav` file an hour,
/// cut on samples.
func testMicConfig(
    _ dir: TemporaryDirectory, source: String = "", recordings: [String] = ["r"], queueSeconds: Double = 30
) -> String {
    var text = """
        [source]
        device = "testmic"
        \(source)
        [queue]
        seconds = \(queueSeconds)
        [control]
        socket = ""
        [storage]
        root = "\(dir.path)/ondemand"
        state = "\(dir.path)/state"

        """
    for name in recordings {
        text += """
            [[recording]]
            name = "\(name)"
            directory = "\(dir.path)/\(name)"
            segment_seconds = 3600
            align = "samples"
            filename = "{seq}.wav"

            """
    }
    return text
}

/// Mounts a tmpfs of `size` (mount's syntax, e.g. "1m") at `path`, created when missing. Needs root.
func mountTmpfs(at path: String, size: String) throws {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    let mount = try ProcessRunner.run("mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path])
    try #require(mount.status == 0, "cannot mount tmpfs: \(String(decoding: mount.stderr, as: UTF8.self))")
}

/// Unmounts what `mountTmpfs` mounted (lazily, so open files do not keep it).
func unmount(_ path: String) {
    _ = try? ProcessRunner.run("umount", ["-l", path])
}
