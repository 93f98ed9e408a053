import Glibc

/// Clocks, as seconds in a Double.
public enum Clock {
    /// Seconds on CLOCK_MONOTONIC, the clock timerfd counts in.
    public static func monotonic() -> Double { read(CLOCK_MONOTONIC) }

    /// Seconds since the Unix epoch.
    public static func wall() -> Double { read(CLOCK_REALTIME) }

    private static func read(_ clock: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1_000_000_000
    }
}
