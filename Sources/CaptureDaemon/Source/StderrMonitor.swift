// Reads ffmpeg's stderr on its own thread: rate-limited logging, xrun counting, and the last lines kept.
import CaptureCore
import Foundation
import Logging
import Synchronization
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Follows one ffmpeg run's stderr line by line.
///
/// Every line is kept in a short tail (reported when ffmpeg exits). At most `burst` lines are logged per
/// `window` seconds; the rest are counted and summarised once per window, so a device that prints
/// thousands of "non monotonically increasing dts" errors a second cannot flood the journal. That known
/// harmless message is logged at debug level. Lines mentioning "xrun" are counted as xruns.
final class StderrMonitor: Sendable {
    private let fd: Int32
    private let logger: Logger
    private let counters: CaptureCounters
    private let window: Double
    private let burst: Int
    private let tailLength: Int
    /// ffmpeg quotes the URL it failed on: its secrets are masked before a line is kept or logged.
    private let mask: CredentialMask
    /// Fed every line when ffmpeg copies the stream: its input dump says what the device delivers.
    private let check: StreamCheck?
    private struct State {
        var tail: [String] = []
        var lines = 0
        var missingFilter = false
    }
    private let state = Mutex(State())
    private let finished = Completion<Void>()

    init(
        fd: Int32, logger: Logger, counters: CaptureCounters, window: Double = 10, burst: Int = 10,
        tailLength: Int = 20,
        mask: CredentialMask = CredentialMask(device: ""), check: StreamCheck? = nil
    ) {
        self.mask = mask
        self.check = check
        self.fd = fd
        self.logger = logger
        self.counters = counters
        self.window = window
        self.burst = burst
        self.tailLength = tailLength
    }

    func start() {
        DedicatedThread.start(name: "ac-ffmpeg-err") { [self] in
            readLoop()
            finished.complete(())
        }
    }

    /// Waits until ffmpeg closed its stderr.
    func done() async { await finished.value() }

    /// Whether ffmpeg said it has no such bitstream filter (``FFmpegCommand/timestampFilter``, ffmpeg < 4.4).
    var missingFilter: Bool { state.withLock { $0.missingFilter } }

    /// The last lines ffmpeg printed, oldest first.
    var tail: [String] { state.withLock { $0.tail } }

    private func readLoop() {
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 16384)
        var pending: [UInt8] = []
        var windowStart = SystemClock.monotonic()
        var logged = 0
        var harmlessLogged = 0
        var suppressed = 0
        var suppressedTimestamps = 0

        func handle(_ raw: ArraySlice<UInt8>) {
            var line = String(decoding: raw, as: UTF8.self)
            while line.last == "\r" || line.last == " " { line.removeLast() }
            guard !line.isEmpty else { return }
            if !mask.isEmpty { line = mask.mask(line) }
            // At `level+info` (a stream copy) ffmpeg describes its streams and says goodbye: information,
            // logged at debug and kept out of the tail of errors.
            if line.hasPrefix("[info]") {
                check?.observe(line)
                logger.debug("ffmpeg: \(line)")
                return
            }
            let missingFilter = FFmpegCommand.isMissingFilterLine(line)
            state.withLock { state in
                if missingFilter { state.missingFilter = true }
                state.tail.append(line)
                if state.tail.count > tailLength { state.tail.removeFirst() }
                state.lines += 1
            }
            let lower = line.lowercased()
            if lower.contains("xrun") { counters.xruns.add(1, ordering: .relaxed) }
            // Known and harmless: ALSA input timestamps, and ffmpeg guessing a channel layout.
            let harmless =
                lower.contains("non monotonically increasing dts") || lower.contains("guessed channel layout")
            let now = SystemClock.monotonic()
            if now - windowStart >= window {
                if suppressed > 0 || suppressedTimestamps > 100 {
                    logger.notice(
                        "ffmpeg printed more lines than are logged; the rest of the window was counted",
                        metadata: [
                            "ffmpeg.suppressed_lines": "\(suppressed)",
                            "ffmpeg.suppressed_dts_lines": "\(suppressedTimestamps)",
                            "window_seconds": "\(Int(window))",
                        ])
                }
                windowStart = now
                logged = 0
                harmlessLogged = 0
                suppressed = 0
                suppressedTimestamps = 0
            }
            if harmless {
                // Counted, and logged at debug within its own allowance; never crowds out a real warning.
                if harmlessLogged < burst {
                    harmlessLogged += 1
                    logger.debug("ffmpeg: \(line)")
                } else {
                    suppressedTimestamps += 1
                }
            } else if logged < burst {
                logged += 1
                logger.warning("ffmpeg: \(line)")
            } else {
                suppressed += 1
            }
        }

        while true {
            let read = buffer.withUnsafeMutableBytes { try? FileDescriptor(rawValue: fd).read(into: $0) }
            guard let n = read, n > 0 else { break }
            var start = 0
            for i in 0..<n where buffer[i] == 0x0A {
                if pending.isEmpty {
                    handle(buffer[start..<i])
                } else {
                    pending += buffer[start..<i]
                    handle(pending[...])
                    pending.removeAll(keepingCapacity: true)
                }
                start = i + 1
            }
            if start < n {
                pending += buffer[start..<n]
                if pending.count > 65536 {
                    handle(pending[...])
                    pending.removeAll(keepingCapacity: true)
                }
            }
        }
        if !pending.isEmpty { handle(pending[...]) }
        check?.finish()
    }
}
