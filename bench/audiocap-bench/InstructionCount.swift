// Instructions per audio second through the pipeline, counted by valgrind's callgrind: a figure noise does not move.
import Foundation

/// Runs this benchmark twice under `valgrind --tool=callgrind`, one pipeline run each (`--single`: 100 ms
/// chunks, level monitor and WAV writer, flow-controlled producer) over two amounts of audio, and divides
/// the difference of their instruction counts by the difference of their audio: what start-up and set-up
/// cost cancels out, leaving the instructions per audio second of the data path (all threads, user space;
/// the kernel's share, reads and writes of pipes and files, is not counted). Deterministic to a few
/// hundredths of a percent, so later changes can be compared exactly.
enum InstructionCount {
    struct Run: Codable {
        var audioSeconds: Double
        var instructions: Int
    }

    struct Result: Codable {
        var runs: [Run] = []
        var perAudioSecond = 0.0
        var error: String?
    }

    static let audioSeconds = [20.0, 80.0]

    static func measure(signal: TestSignal, directory: String) -> Result {
        var result = Result()
        guard let valgrind = which("valgrind") else {
            result.error = "valgrind is not installed (apt-get install valgrind)"
            return result
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "audiocap-bench-callgrind-\(getpid())")
        try? FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        // Valgrind 3.19 gives up on the debug information lld writes ("possibly corrupted debuginfo"):
        // it counts a copy without it (the totals need no symbols).
        let original = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        var executable = original
        if let strip = which("strip") {
            let copy = scratch.appendingPathComponent("audiocap-bench").path
            if (try? FileManager.default.copyItem(atPath: original, toPath: copy)) != nil,
                run(strip, ["--strip-debug", copy]) == 0
            {
                executable = copy
            }
        }
        for seconds in audioSeconds {
            let out = scratch.appendingPathComponent("callgrind.\(Int(seconds))").path
            let process = Process()
            process.executableURL = URL(fileURLWithPath: valgrind)
            process.arguments = [
                "--tool=callgrind", "--callgrind-out-file=\(out)", "--dump-instr=no", "--trace-children=no",
                executable, "--only", "pipeline", "--single", "--seconds", String(seconds),
                "--signal", signal.rawValue, "--dir", directory,
            ]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            do {
                try process.run()
                process.waitUntilExit()
            } catch {
                result.error = "could not run valgrind: \(error)"
                return result
            }
            guard process.terminationStatus == 0, let instructions = totalInstructions(out) else {
                result.error = "valgrind exited with status \(process.terminationStatus) and no totals in \(out)"
                return result
            }
            result.runs.append(Run(audioSeconds: seconds, instructions: instructions))
        }
        let first = result.runs[0]
        let last = result.runs[result.runs.count - 1]
        result.perAudioSecond =
            Double(last.instructions - first.instructions) / (last.audioSeconds - first.audioSeconds)
        return result
    }

    /// The `summary:` (or `totals:`) line of a callgrind output file: instructions executed (Ir).
    static func totalInstructions(_ path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("summary:") || line.hasPrefix("totals:") {
            if let value = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) { return value }
        }
        return nil
    }

    /// Runs `path` with `arguments`, output discarded; its exit status (-1 when it could not start).
    private static func run(_ path: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    private static func which(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}
