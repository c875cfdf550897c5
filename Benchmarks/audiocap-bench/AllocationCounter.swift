// Reads the interposed malloc counters: process-wide, per thread, and call stacks of allocations.
import CMallocCounter
import Foundation

enum AllocationCounter {
    /// Allocations of the whole process so far.
    static var process: UInt64 { audiocap_malloc_count() }
    /// Allocations of the calling thread so far.
    static var thread: UInt64 { audiocap_thread_malloc_count() }
    /// The calling thread's kernel id.
    static var tid: Int32 { audiocap_gettid() }

    /// Checks that the counter sees Swift's allocations: a fresh array (whose size the optimizer cannot
    /// know) must count exactly one allocation on this thread and in the process. Returns a description
    /// of the failure, or nil when the counter works.
    static func selfCheck(size: Int = CommandLine.arguments.count + 1000) -> String? {
        let threadBefore = thread
        let processBefore = process
        let array = [Int](repeating: 7, count: size)
        let threadAfter = thread
        let processAfter = process
        withExtendedLifetime(array) {}
        let threadDelta = threadAfter - threadBefore
        let processDelta = processAfter - processBefore
        if threadDelta == 1 && processDelta >= 1 { return nil }
        return "an Array of \(size) Int counted \(threadDelta) allocation(s) on this thread and \(processDelta) in the process, expected 1"
    }
}

/// Allocation counts of every thread that has allocated, taken at one moment without allocating.
/// The storage is reserved up front so that taking a snapshot during the measurement does not allocate.
final class ThreadAllocationSnapshot {
    private static let capacity = 4096
    private let tids = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
    private let counts = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
    private(set) var count = 0
    private(set) var processTotal: UInt64 = 0

    deinit {
        tids.deallocate()
        counts.deallocate()
    }

    /// Overwrites the snapshot with the current counters. Does not allocate.
    func take() {
        processTotal = AllocationCounter.process
        count = Int(min(Int32(Self.capacity), audiocap_malloc_threads(tids, counts, Int32(Self.capacity))))
    }

    /// Allocations of thread `tid` in this snapshot (0 if it had not allocated).
    func allocations(of tid: Int32) -> UInt64 {
        var total: UInt64 = 0
        for index in 0..<count where tids[index] == tid { total += counts[index] }
        return total
    }

    /// Per-thread increase from `earlier` to this snapshot, threads without any increase left out.
    func increase(since earlier: ThreadAllocationSnapshot) -> [(tid: Int32, allocations: UInt64)] {
        var result: [(tid: Int32, allocations: UInt64)] = []
        var seen = Set<Int32>()
        for index in 0..<count where !seen.contains(tids[index]) {
            let tid = tids[index]
            seen.insert(tid)
            let delta = allocations(of: tid) - earlier.allocations(of: tid)
            if delta > 0 { result.append((tid, delta)) }
        }
        return result
    }
}

/// One recorded call stack of an allocation, resolved to functions and source lines.
struct AllocationSite: Codable {
    var thread: String
    var size: UInt64
    /// Innermost first, the malloc interposer itself left out.
    var frames: [String]
}

enum AllocationTracer {
    /// Records the stacks of the next `limit` allocations of any thread.
    static func start(limit: Int) { audiocap_malloc_trace_start(0, Int32(limit)) }

    /// Stops recording (without allocating) and returns how many stacks were recorded.
    static func stop() -> Int32 { audiocap_malloc_trace_stop() }

    /// The first `recorded` stacks, resolved; `threadNames` names the known threads.
    static func resolve(recorded: Int32, threadNames: [Int32: String]) -> [AllocationSite] {
        var raw: [(tid: Int32, size: UInt64, addresses: [UnsafeMutableRawPointer?])] = []
        for index in 0..<Int(recorded) {
            var frames = [UnsafeMutableRawPointer?](repeating: nil, count: 40)
            var tid: Int32 = 0
            var size: UInt64 = 0
            let depth = Int(audiocap_malloc_trace_get(Int32(index), &frames, 40, &tid, &size))
            raw.append((tid, size, Array(frames[..<depth])))
        }
        return raw.map { entry in
            AllocationSite(
                thread: threadNames[entry.tid] ?? "thread \(entry.tid)", size: entry.size,
                frames: symbolize(entry.addresses))
        }
    }

    /// Function and file:line of each return address, innermost first, via llvm-symbolizer when it is
    /// installed (else object+offset and the nearest exported symbol). Frames inside this file's C
    /// counter are dropped.
    private static func symbolize(_ addresses: [UnsafeMutableRawPointer?]) -> [String] {
        var located: [(object: String, offset: UInt64, symbol: String?)] = []
        for address in addresses {
            guard let address else { continue }
            var object: UnsafePointer<CChar>? = nil
            var offset: UInt64 = 0
            var symbol: UnsafePointer<CChar>? = nil
            guard audiocap_locate(address, &object, &offset, &symbol) != 0, let object else { continue }
            // A return address points after the call; the call itself is one byte earlier.
            located.append((String(cString: object), offset > 0 ? offset - 1 : 0, symbol.map { String(cString: $0) }))
        }
        let resolved = runSymbolizer(located.map { ($0.object, $0.offset) })
        var frames: [String] = []
        for (index, entry) in located.enumerated() {
            let text = resolved?[index] ?? "\(entry.symbol ?? "?") (\((entry.object as NSString).lastPathComponent)+0x\(String(entry.offset, radix: 16)))"
            if text.contains("MallocCounter.c") || text.hasPrefix("take_trace") || text.hasPrefix("count ") { continue }
            frames.append(text)
        }
        return frames
    }

    /// One line per input (inlined frames joined with " <- "), or nil when llvm-symbolizer is missing.
    private static func runSymbolizer(_ queries: [(object: String, offset: UInt64)]) -> [String]? {
        let candidates = ["/usr/bin/llvm-symbolizer", "/opt/swift/usr/bin/llvm-symbolizer"]
        guard !queries.isEmpty, let tool = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["--demangle", "--functions=short", "--inlining", "--relativenames", "--output-style=LLVM"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let request = queries.map { "\"\($0.object)\" 0x\(String($0.offset, radix: 16))\n" }.joined()
        input.fileHandleForWriting.write(Data(request.utf8))
        try? input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        // LLVM style: for each query, pairs of lines (function, file:line:column), then a blank line.
        let blocks = String(decoding: data, as: UTF8.self).components(separatedBy: "\n\n")
        var lines: [String] = []
        for block in blocks where !block.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            let parts = block.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            var inlined: [String] = []
            var index = 0
            while index + 1 < parts.count {
                inlined.append("\(parts[index]) at \(parts[index + 1])")
                index += 2
            }
            lines.append(inlined.joined(separator: " <- "))
        }
        return lines.count == queries.count ? lines : nil
    }
}
