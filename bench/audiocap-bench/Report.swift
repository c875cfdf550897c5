// Renders the benchmark's results as readable tables or as one JSON object.
import Foundation

struct Report: Codable {
    struct Machine: Codable {
        var cores: Int
        var system: String
        var loadAverage: String
        var counterCheck: String
    }

    var machine: Machine
    var levels: [LevelsBenchmark.Result] = []
    var pipeline: [PipelineBenchmark.Result] = []
    var allocations: [PipelineBenchmark.Result] = []
    var instructions: InstructionCount.Result?

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Plain-text tables, one per section, printed as each section finishes.
enum Table {
    static func header(_ machine: Report.Machine) -> String {
        "audiocap-bench: \(machine.system), \(machine.cores) cores, load average \(machine.loadAverage) at start; "
            + "malloc counter \(machine.counterCheck)"
    }

    static func levels(_ results: [LevelsBenchmark.Result]) -> String {
        guard let first = results.first else { return "" }
        var lines = [
            "",
            "levels: LevelMeter.measure + accumulate, stereo 48 kHz s16, \(first.signal) signal, "
                + "\(fixed(first.audioSeconds, 0)) s of audio per run, best of \(first.runs) (thread CPU time)",
        ]
        var rows = [
            [
                "chunk", "ns/sample", "Msamples/s", "GB/s", "× real time", "× real time (wall)", "allocs/chunk",
                "peak dBFS L,R", "rms dBFS L,R",
            ]
        ]
        for result in results {
            rows.append([
                "\(result.chunkMilliseconds) ms", fixed(result.nanosecondsPerSample, 3),
                fixed(result.samplesPerSecond / 1e6, 0), fixed(result.bytesPerSecond / 1e9, 2),
                grouped(result.realTime), grouped(result.realTimeWall), fixed(result.allocationsPerChunk, 2),
                result.peakDBFS.map { fixed($0, 1) }.joined(separator: ","),
                result.rmsDBFS.map { fixed($0, 1) }.joined(separator: ","),
            ])
        }
        lines.append(contentsOf: render(rows))
        lines.append("target: ≥ 20,000× real time")
        return lines.joined(separator: "\n")
    }

    static func pipeline(_ results: [PipelineBenchmark.Result], title: String) -> String {
        guard let first = results.first else { return "" }
        var lines = [
            "",
            "\(title): producer thread → pipe (1 MiB, 64 KiB writes) → PipeReader → ChunkFanout → ChunkChannel "
                + "(\(fixed(first.queueSeconds, 0)) s each) → ConsumerThread → LevelMonitor + SegmentWriter (WAV on tmpfs, 600 s segments)",
            "\(first.signal) signal, stereo 48 kHz s16, \(fixed(first.audioSeconds, 0)) s of audio "
                + "(\(fixed(Double(first.bytes) / 1e6, 1)) MB) per run; MB = 10^6 bytes; wall time from first write to consumers finished",
        ]
        var rows = [
            [
                "consumers", "producer", "chunk", "wall s", "MB/s", "× real time", "CPU s (daemon)", "dropped frames",
                "lost (no buffer)", "written/produced",
            ]
        ]
        for result in results {
            let dropped = result.consumerResults.map {
                "\($0.name) \($0.droppedFrames)"
                    + ($0.droppedFrames > 0
                        ? " (\(percent(Double($0.droppedFrames), Double(result.framesProduced))))" : "")
            }
            let written = result.framesWritten.map { "\($0)/\(result.framesProduced)" } ?? "–"
            rows.append([
                result.consumers.rawValue, result.pacing.rawValue, "\(result.chunkMilliseconds) ms",
                fixed(result.wallSeconds, 3), fixed(result.megabytesPerSecond, 0), grouped(result.realTime),
                fixed(result.daemonCPUSeconds, 2), dropped.joined(separator: ", "), "\(result.framesLostNoBuffer)",
                written,
            ])
        }
        lines.append(contentsOf: render(rows))
        lines.append("")
        lines.append("CPU by thread (seconds, and audio seconds per CPU second of that thread)")
        rows = [
            [
                "consumers", "producer", "chunk", "process", "producer", "reader", "consumer 1", "consumer 2",
                "queue high water", "allocations in consume()",
            ]
        ]
        for result in results {
            let perThread = result.consumerResults.map {
                "\($0.name) \(fixed($0.cpuSeconds, 2)) (\(grouped($0.realTime))×)"
            }
            rows.append(
                [
                    result.consumers.rawValue, result.pacing.rawValue, "\(result.chunkMilliseconds) ms",
                    fixed(result.processCPUSeconds, 2), fixed(result.producerCPUSeconds, 2),
                    "\(fixed(result.readerCPUSeconds, 2)) (\(grouped(result.audioSeconds / max(result.readerCPUSeconds, 1e-9)))×)",
                ] + perThread + [
                    result.consumerResults.map { "\($0.queueHighWater)/\($0.queueCapacity)" }.joined(separator: ", "),
                    result.consumerResults.map { "\($0.name) \($0.allocations)" }.joined(separator: ", "),
                ])
        }
        lines.append(contentsOf: render(rows))
        for result in results {
            if let error = result.error {
                lines.append("error (\(result.consumers.rawValue) \(result.chunkMilliseconds) ms): \(error)")
            }
        }
        lines.append(
            """
            free-running: the producer never waits, so what the daemon cannot keep up with is dropped and counted; \
            flow-controlled: the producer waits while the slowest consumer lags by more than half its queue \
            (plus the pipe), so the figure is the fastest loss-free rate. Target: ≥ 2 GB/s (2,000 MB/s).
            """)
        return lines.joined(separator: "\n")
    }

    static func instructions(_ result: InstructionCount.Result) -> String {
        var lines = ["", "instructions: user-space instructions per audio second through the pipeline (callgrind)"]
        if let error = result.error {
            lines.append("  not measured: \(error)")
            return lines.joined(separator: "\n")
        }
        for run in result.runs {
            lines.append(
                "  \(Int(run.audioSeconds)) audio s: \(run.instructions.formatted()) instructions (all threads)")
        }
        lines.append(
            "  per audio second: \(Int(result.perAudioSecond.rounded()).formatted()) instructions "
                + "(difference of the two runs over their difference in audio: start-up and set-up cancel out; "
                + "reader, fan-out, level monitor, WAV writer and the producer standing in for ffmpeg)")
        return lines.joined(separator: "\n")
    }

    static func allocations(_ results: [PipelineBenchmark.Result]) -> String {
        var lines = [
            "", "allocations: heap allocations (malloc & co., all threads) in steady state, flow-controlled producer",
        ]
        for result in results {
            guard let allocations = result.allocations else {
                lines.append("\(result.consumers.rawValue): \(result.error ?? "no measurement")")
                continue
            }
            let chunks = allocations.chunks
            let boundary = allocations.allocatingChunks.filter(\.segmentBoundary)
            let other = allocations.allocatingChunks.filter { !$0.segmentBoundary }
            let boundaryAllocations = boundary.reduce(0) { $0 + $1.allocations }
            let outsideConsumers = allocations.perThread.filter { !$0.thread.hasPrefix("consumer ") }
            let outside = outsideConsumers.reduce(0) { $0 + $1.allocations }
            let perThread =
                allocations.perThread.isEmpty
                ? "none"
                : allocations.perThread.map { "\($0.thread) \($0.allocations)" }.joined(separator: ", ")
            lines.append(
                """
                \(result.consumers.rawValue), \(result.chunkMilliseconds) ms chunks, chunks \(allocations.firstChunk)..<\
                \(allocations.firstChunk + chunks) (\(fixed(Double(chunks) * Double(result.chunkMilliseconds) / 1000, 0)) s of audio):
                  whole process: \(allocations.processAllocations) allocations = \(fixed(allocations.processPerChunk, 4)) per chunk
                  by thread: \(perThread)
                  inside consume(): \(allocations.consumerAllocations.map { "\($0.thread) \($0.allocations)" }.joined(separator: ", "))
                  chunks that allocated: \(allocations.allocatingChunks.count) \
                (\(boundary.count) at a segment boundary: \(boundaryAllocations) allocations; \(other.count) elsewhere)
                  per chunk excluding segment boundaries: \
                \(fixed(Double(allocations.processAllocations - boundaryAllocations) / Double(chunks), 4)) \
                (outside the consumer threads: \(outside))
                """)
            for chunk in allocations.allocatingChunks.prefix(12) {
                lines.append(
                    "    \(chunk.consumer) chunk \(chunk.chunk) (frame \(chunk.firstFrame)): \(chunk.allocations) allocations"
                        + (chunk.segmentBoundary ? ", segment boundary" : ""))
            }
            if allocations.allocatingChunks.count > 12 { lines.append("    …") }
            lines.append(contentsOf: sites(allocations.sites))
        }
        lines.append("target: 0 allocations per chunk")
        return lines.joined(separator: "\n")
    }

    /// The recorded stacks grouped by the innermost frames in the project's own sources.
    private static func sites(_ sites: [AllocationSite]) -> [String] {
        guard !sites.isEmpty else { return [] }
        var groups: [String: (count: Int, thread: String)] = [:]
        var order: [String] = []
        for site in sites {
            // Every frame, inlined ones included, innermost first; keep the project's lines (not line 0).
            let own = site.frames.flatMap { $0.components(separatedBy: " <- ") }
                .filter { $0.contains("Sources/") && !$0.contains(".swift:0:") }
                .map(trimmed)
            var path: [String] = []
            for frame in own where path.last != frame {
                path.append(frame)
                if path.count == 3 { break }
            }
            let label =
                path.isEmpty
                ? "(no project frame: unwinding stopped in \(site.frames.last ?? "?"))"
                : path.joined(separator: "  ←  ")
            if groups[label] == nil { order.append(label) }
            groups[label, default: (0, site.thread)].count += 1
        }
        var lines = [
            "  call stacks of the allocations (up to \(MeteredConsumer.tracedPerThread) per thread), by innermost project frames:"
        ]
        for label in order.sorted(by: { groups[$0]!.count > groups[$1]!.count }) {
            lines.append("    \(groups[label]!.count)× [\(groups[label]!.thread)] \(label)")
        }
        return lines
    }

    /// "function at /path/Sources/X/File.swift:12:3" → "X/File.swift:12 function".
    private static func trimmed(_ frame: String) -> String {
        guard let range = frame.range(of: " at ") else { return frame }
        let function = String(frame[..<range.lowerBound])
        var place = String(frame[range.upperBound...])
        if let sources = place.range(of: "Sources/") { place = String(place[sources.upperBound...]) }
        let parts = place.split(separator: ":")
        let location = parts.count >= 2 ? "\(parts[0]):\(parts[1])" : place
        return "\(location) \(function.count > 60 ? String(function.prefix(60)) + "…" : function)"
    }

    // MARK: - Formatting

    static func render(_ rows: [[String]]) -> [String] {
        let widths = (0..<(rows.map(\.count).max() ?? 0)).map { column in
            rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0
        }
        return rows.enumerated().flatMap { index, row -> [String] in
            let line = row.enumerated().map { column, cell in
                cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
            let text = "  " + line.trimmingCharacters(in: .whitespaces)
            return index == 0
                ? [text, "  " + String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1))] : [text]
        }
    }

    static func fixed(_ value: Double, _ digits: Int) -> String {
        value.isFinite ? String(format: "%.\(digits)f", value) : (value < 0 ? "-inf" : "inf")
    }

    static func grouped(_ value: Double) -> String {
        guard value.isFinite else { return "inf" }
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.maximumFractionDigits = 0
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.usesGroupingSeparator = true
        formatter.groupingSeparator = ","
        formatter.groupingSize = 3
        return formatter.string(from: NSNumber(value: value.rounded())) ?? fixed(value, 0)
    }

    static func percent(_ part: Double, _ whole: Double) -> String {
        whole > 0 ? fixed(100 * part / whole, 1) + " %" : "–"
    }
}
