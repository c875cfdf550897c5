// The fast stand-in for ffmpeg: a thread that writes prepared audio into a pipe as fast as it can.
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes `totalBytes` of a looped signal into `fd` in pieces of `pieceBytes`, then closes `fd`.
///
/// Free-running, it never waits for anyone (like a sound card it does not care whether the daemon keeps
/// up). With flow control it waits, before each piece, while the slowest consumer is more than
/// `maximumLagFrames` behind what was written: that measures the fastest rate at which the pipeline
/// keeps everything.
// @unchecked Sendable: the vars are written only on the producer thread before `finished` is
// signalled, and read by the benchmark after waiting for it.
final class Producer: @unchecked Sendable {
    private let fd: Int32
    /// One period of the signal followed by a copy of its first `pieceBytes`, so that every piece is
    /// contiguous wherever in the period it starts.
    private let signal: UnsafeRawBufferPointer
    private let periodBytes: Int
    private let totalBytes: Int64
    private let pieceBytes: Int
    private let bytesPerFrame: Int
    private let consumers: [MeteredConsumer]
    private let maximumLagFrames: Int64?
    private let finished = DispatchSemaphore(value: 0)

    private(set) var startedAt = 0.0
    private(set) var endedAt = 0.0
    private(set) var cpuSeconds = 0.0
    private(set) var bytesWritten: Int64 = 0
    private(set) var waits: Int64 = 0
    private(set) var writeError: Int32?
    private(set) var tid: Int32 = 0

    init(
        fd: Int32, signal: UnsafeRawBufferPointer, periodBytes: Int, totalBytes: Int64, pieceBytes: Int,
        bytesPerFrame: Int, flowControl: (consumers: [MeteredConsumer], maximumLagFrames: Int64)?
    ) {
        precondition(signal.count >= periodBytes + pieceBytes)
        self.fd = fd
        self.signal = signal
        self.periodBytes = periodBytes
        self.totalBytes = totalBytes
        self.pieceBytes = pieceBytes
        self.bytesPerFrame = bytesPerFrame
        self.consumers = flowControl?.consumers ?? []
        self.maximumLagFrames = flowControl?.maximumLagFrames
    }

    func start() {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "bench-producer"
        thread.start()
    }

    /// Blocks until every byte was written (or writing failed) and the pipe is closed.
    func wait() { finished.wait() }

    private func slowestConsumer() -> Int64 {
        var slowest = Int64.max
        for consumer in consumers { slowest = min(slowest, consumer.progress.load(ordering: .acquiring)) }
        return slowest
    }

    private func run() {
        tid = AllocationCounter.tid
        guard let base = signal.baseAddress else { return }
        var offset = 0
        var written: Int64 = 0
        startedAt = Clocks.wall()
        while written < totalBytes {
            if let maximumLagFrames {
                let frame = written / Int64(bytesPerFrame)
                while frame - slowestConsumer() > maximumLagFrames {
                    waits += 1
                    usleep(50)
                }
            }
            let count = Int(min(Int64(pieceBytes), totalBytes - written))
            let n = write(fd, base + offset, count)
            if n > 0 {
                written += Int64(n)
                offset = (offset + n) % periodBytes
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                writeError = n < 0 ? errno : EIO
                break
            }
        }
        endedAt = Clocks.wall()
        close(fd)
        bytesWritten = written
        cpuSeconds = Clocks.threadCPU()
    }
}
