// Wall, thread and process CPU clocks for the benchmark; none of them allocates.
#if canImport(Glibc)
    import Glibc
#endif

enum Clocks {
    /// Seconds on CLOCK_MONOTONIC.
    static func wall() -> Double { read(CLOCK_MONOTONIC) }

    /// CPU seconds of the calling thread (CLOCK_THREAD_CPUTIME_ID).
    static func threadCPU() -> Double { read(CLOCK_THREAD_CPUTIME_ID) }

    /// User + system CPU seconds of the whole process so far (getrusage).
    static func processCPU() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    private static func seconds(_ value: timeval) -> Double {
        Double(value.tv_sec) + Double(value.tv_usec) / 1e6
    }

    private static func read(_ clock: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
