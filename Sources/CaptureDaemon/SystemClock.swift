// Wall and monotonic clock readings that allocate nothing (safe on the reader thread).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

enum SystemClock {
    /// Seconds since the Unix epoch (CLOCK_REALTIME).
    static func wall() -> Double { read(CLOCK_REALTIME) }

    /// Seconds on a clock that never jumps (CLOCK_MONOTONIC).
    static func monotonic() -> Double { read(CLOCK_MONOTONIC) }

    private static func read(_ clock: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
