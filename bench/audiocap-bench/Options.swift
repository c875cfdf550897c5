// Command-line flags of audiocap-bench, parsed by hand (no ArgumentParser dependency).
import CaptureCore
import Foundation

struct Options {
    enum Section: String, CaseIterable {
        case levels, pipeline, allocs
        /// Not in the default run: it needs valgrind and takes a minute or two.
        case instructions
    }

    var sections: [Section] = [.levels, .pipeline, .allocs]
    /// One pipeline run only (100 ms chunks, levels + writer, flow-controlled): what `instructions` measures.
    var single = false
    var json = false
    /// Audio seconds per pipeline run.
    var seconds = 7200.0
    var signal = TestSignal.music
    var directory = "/dev/shm"
    var warmupChunks = 1000
    var allocationChunks = 10_000
    var traceAllocations = true
    /// The file format the segment writer writes.
    var format = RecordingFormat.wav

    static let usage = """
        usage: audiocap-bench [--only levels|pipeline|allocs|instructions] [--seconds N] [--json]
                              [--signal music|pattern|noise] [--dir PATH] [--alloc-chunks N]
                              [--warmup-chunks N] [--no-trace] [--format wav|flac]

          --only S          run one section: levels (LevelMeter alone), pipeline (reader → queues →
                            levels + WAV on tmpfs), allocs (heap allocations per chunk in steady state),
                            instructions (CPU instructions per audio second through the pipeline, counted
                            by valgrind's callgrind: a figure machine noise does not move; not run by
                            default)
          --seconds N       audio seconds per pipeline run (default 7200: 1.38 GB of stereo 48 kHz s16)
          --json            print one JSON object instead of tables
          --signal S        audio fed through (default music)
          --dir PATH        where the WAV files go, in a fresh audiocap-bench-XXXXXX folder removed
                            afterwards (default /dev/shm)
          --alloc-chunks N  chunks counted per allocation run, after the warm-up (default 10000)
          --warmup-chunks N chunks before counting starts (default 1000)
          --no-trace        do not record the call stacks of allocations made while counting
          --format F        the segment writer's file format: wav (default) or flac (level 5)
          --single          one pipeline run (100 ms chunks, levels + writer, flow-controlled)
        """

    /// Parses `arguments` (without the program name); exits 64 with the usage on a bad flag.
    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var rest = arguments[...]
        func value(_ flag: String) -> String {
            guard let next = rest.popFirst() else { fail("\(flag) needs a value") }
            return next
        }
        func positive(_ flag: String) -> Double {
            let text = value(flag)
            guard let number = Double(text), number > 0, number.isFinite else {
                fail("\(flag) takes a positive number, got \(text)")
            }
            return number
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--only":
                let text = value(flag)
                guard let section = Section(rawValue: text) else {
                    fail("--only takes levels, pipeline, allocs or instructions, got \(text)")
                }
                options.sections = [section]
            case "--seconds": options.seconds = positive(flag)
            case "--json": options.json = true
            case "--format":
                let text = value(flag)
                guard let format = RecordingFormat(rawValue: text) else {
                    fail("--format takes wav or flac, got \(text)")
                }
                options.format = format
            case "--signal":
                let text = value(flag)
                guard let signal = TestSignal(rawValue: text) else {
                    fail("--signal takes music, pattern or noise, got \(text)")
                }
                options.signal = signal
            case "--dir": options.directory = value(flag)
            case "--alloc-chunks": options.allocationChunks = Int(positive(flag))
            case "--warmup-chunks": options.warmupChunks = Int(positive(flag))
            case "--no-trace": options.traceAllocations = false
            case "--single": options.single = true
            case "--help", "-h":
                print(usage)
                exit(0)
            default: fail("unknown option \(flag)")
            }
        }
        return options
    }

    private static func fail(_ message: String) -> Never {
        var stderr = StandardError()
        print("audiocap-bench: \(message)\n\(usage)", to: &stderr)
        exit(64)
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) { FileHandle.standardError.write(Data(string.utf8)) }
}
