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
        return
            "an Array of \(size) Int counted \(threadDelta) allocation(s) on this thread and \(processDelta) in the process, expected 1"
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
    static let depth = 64

    /// Records the stacks of the next `limit` allocations of any thread, at most `perThread` per thread.
    static func start(limit: Int, perThread: Int) {
        audiocap_malloc_trace_start(0, Int32(limit), Int32(perThread))
    }

    /// Stops recording (without allocating) and returns how many stacks were recorded.
    static func stop() -> Int32 { audiocap_malloc_trace_stop() }

    /// The first `recorded` stacks, resolved; `threadNames` names the known threads.
    static func resolve(recorded: Int32, threadNames: [Int32: String]) -> [AllocationSite] {
        var stacks: [(tid: Int32, size: UInt64, frames: [Location])] = []
        for index in 0..<recorded {
            var addresses = [UnsafeMutableRawPointer?](repeating: nil, count: depth)
            var tid: Int32 = 0
            var size: UInt64 = 0
            let count = Int(audiocap_malloc_trace_get(index, &addresses, Int32(depth), &tid, &size))
            stacks.append((tid, size, addresses[..<count].compactMap { $0.flatMap(locate) }))
        }
        var unique: [Location] = []
        var seen = Set<Location>()
        for stack in stacks {
            for frame in stack.frames where seen.insert(frame).inserted { unique.append(frame) }
        }
        let resolved = runSymbolizer(unique)
        return stacks.map { stack in
            let frames = stack.frames.map { frame in
                resolved[frame]
                    ?? "\(frame.symbol ?? "?") (\((frame.object as NSString).lastPathComponent)+0x\(String(frame.offset, radix: 16)))"
            }
            return AllocationSite(
                thread: threadNames[stack.tid] ?? "thread \(stack.tid)", size: stack.size,
                // The interposer's own frames (malloc, count, take_trace) come first; leave them out.
                frames: Array(
                    frames.drop {
                        $0.contains("MallocCounter.c") || $0.hasPrefix("malloc ") || $0.hasPrefix("take_trace")
                    }))
        }
    }

    /// A return address as the loaded object holding it and the offset of the call instruction in it.
    struct Location: Hashable {
        var object: String
        var offset: UInt64
        var symbol: String?
    }

    private static func locate(_ address: UnsafeMutableRawPointer) -> Location? {
        var object: UnsafePointer<CChar>? = nil
        var offset: UInt64 = 0
        var symbol: UnsafePointer<CChar>? = nil
        guard audiocap_locate(address, &object, &offset, &symbol) != 0, let object else { return nil }
        // A return address points after the call; the call itself is one byte earlier.
        return Location(
            object: String(cString: object), offset: offset > 0 ? offset - 1 : 0,
            symbol: symbol.map { String(cString: $0) })
    }

    /// "function at file:line:column" per location (inlined frames joined innermost first with " <- "),
    /// from one run of llvm-symbolizer; empty when it is not installed.
    private static func runSymbolizer(_ locations: [Location]) -> [Location: String] {
        let candidates = ["/usr/bin/llvm-symbolizer", "/opt/swift/usr/bin/llvm-symbolizer"]
        guard !locations.isEmpty,
            let tool = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else { return [:] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["--demangle", "--functions=short", "--inlining", "--relativenames", "--output-style=LLVM"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return [:] }
        let request = locations.map { "\"\($0.object)\" 0x\(String($0.offset, radix: 16))\n" }.joined()
        // Write from another thread: the symbolizer's answers could fill the output pipe meanwhile.
        let writer = Thread {
            input.fileHandleForWriting.write(Data(request.utf8))
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        // LLVM style: per query, pairs of lines (function, file:line:column), then a blank line.
        let blocks = String(decoding: data, as: UTF8.self).components(separatedBy: "\n\n")
            .filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        guard blocks.count == locations.count else { return [:] }
        var result: [Location: String] = [:]
        for (location, block) in zip(locations, blocks) {
            let parts = block.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            var inlined: [String] = []
            var index = 0
            while index + 1 < parts.count {
                inlined.append("\(parts[index]) at \(parts[index + 1])")
                index += 2
            }
            let text = inlined.joined(separator: " <- ")
            if !text.hasPrefix("?? at ??") { result[location] = text }
        }
        return result
    }
}
