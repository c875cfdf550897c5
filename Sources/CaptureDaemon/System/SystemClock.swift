// Wall and monotonic clock readings that allocate nothing (safe on the reader thread).
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

enum SystemClock {
    /// Seconds since the Unix epoch (CLOCK_REALTIME), as the capture and retention see it.
    static func wall() -> Double {
        let real = read(CLOCK_REALTIME)
        guard let shift = testShift else { return real }
        return real + shift.seconds(now: read(CLOCK_MONOTONIC))
    }

    /// Seconds on a clock that never jumps (CLOCK_MONOTONIC).
    static func monotonic() -> Double { read(CLOCK_MONOTONIC) }

    private static func read(_ clock: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Tests only: `AUDIOCAP_TEST_CLOCK_SHIFT_FILE` names a file holding a number of seconds added to the
    /// wall clock, re-read at most every 100 ms, so a test can step the daemon's wall clock both ways
    /// while the monotonic clock stays real (as when NTP steps the clock). Unset in normal use: then
    /// `wall()` costs one nil check more.
    private static let testShift: ClockShiftFile? =
        ProcessInfo.processInfo.environment["AUDIOCAP_TEST_CLOCK_SHIFT_FILE"].map(ClockShiftFile.init)
}

/// The shift a test wrote to a file, cached for 100 ms.
private final class ClockShiftFile: Sendable {
    let path: String
    private let cache = Mutex<(value: Double, readAt: Double)>((0, -1))

    init(path: String) { self.path = path }

    func seconds(now: Double) -> Double {
        cache.withLock { cache in
            if cache.readAt < 0 || now - cache.readAt >= 0.1 {
                cache.readAt = now
                if let text = try? String(contentsOfFile: path, encoding: .utf8),
                    let value = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), value.isFinite
                {
                    cache.value = value
                }
            }
            return cache.value
        }
    }
}
