// audiocap-bench: throughput of the capture data path, speed of the level meter, allocations per chunk.
// Prints figures; it is not a test. Build and run in release mode:
//   swift build -c release --scratch-path .build-bench --product audiocap-bench
//   .build-bench/release/audiocap-bench [--only levels|pipeline|allocs] [--seconds N] [--json]
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
// The producer writes into a pipe whose reader might be gone; report the error, don't die of SIGPIPE.
signal(SIGPIPE, SIG_IGN)

var uts = utsname()
uname(&uts)
let system = withUnsafeBytes(of: uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
let counterCheck = AllocationCounter.selfCheck()
let loadAverage = ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?")
    .split(separator: " ").prefix(3).joined(separator: " ")
var report = Report(
    machine: .init(
        cores: ProcessInfo.processInfo.activeProcessorCount, system: "Linux \(system)", loadAverage: loadAverage,
        counterCheck: counterCheck.map { "BROKEN: \($0)" } ?? "ok (an Array counts 1 allocation)"))

func show(_ text: String) {
    guard !options.json else { return }
    print(text)
    fflush(nil)
}

show(Table.header(report.machine))

// 2^19 frames of the signal, generated once: the level meter measures it, the producer loops it.
let samples = options.signal.samples(frames: PipelineBenchmark.periodFrames)

if options.sections.contains(.levels) {
    report.levels = [100, 20, 500].map {
        LevelsBenchmark.run(signal: options.signal, samples: samples, chunkMilliseconds: $0)
    }
    show(Table.levels(report.levels))
}

if options.sections.contains(.pipeline) {
    for chunkMilliseconds in options.single ? [100] : [100, 20, 500] {
        for (consumers, pacing) in [
            (PipelineBenchmark.Consumers.levelsAndWriter, PipelineBenchmark.Pacing.flowControlled),
            (.levelsAndWriter, .freeRunning),
            (.trivial, .freeRunning),
        ].prefix(options.single ? 1 : 3) {
            var setup = PipelineBenchmark.Setup()
            setup.chunkMilliseconds = chunkMilliseconds
            setup.audioSeconds = options.seconds
            setup.pacing = pacing
            setup.consumers = consumers
            setup.signal = options.signal
            setup.format = options.format
            setup.samples = samples
            setup.baseDirectory = options.directory
            report.pipeline.append(PipelineBenchmark.run(setup))
        }
    }
    show(Table.pipeline(report.pipeline, title: "pipeline"))
}

if options.sections.contains(.allocs) {
    for consumers in [PipelineBenchmark.Consumers.levelsAndWriter, .trivial] {
        var setup = PipelineBenchmark.Setup()
        setup.consumers = consumers
        setup.pacing = .flowControlled
        setup.signal = options.signal
        setup.format = options.format
        setup.samples = samples
        setup.baseDirectory = options.directory
        setup.allocationWindow = options.warmupChunks..<(options.warmupChunks + options.allocationChunks)
        setup.audioSeconds = PipelineBenchmark.audioSeconds(covering: setup.allocationWindow, setup)
        setup.traceAllocations = options.traceAllocations
        report.allocations.append(PipelineBenchmark.run(setup))
    }
    show(Table.allocations(report.allocations))
}

if options.sections.contains(.instructions) {
    let figure = InstructionCount.measure(signal: options.signal, directory: options.directory)
    report.instructions = figure
    show(Table.instructions(figure))
}

if options.json { print(report.json()) }
exit(counterCheck == nil ? 0 : 70)
