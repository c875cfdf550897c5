// When a recording records: windows of local or UTC time, duty cycles and sun-relative windows.
// (Filled in by the schedules work.)

/// A recording's `schedule`: the union of its windows.
public struct Schedule: Sendable, Equatable {
    /// The entries as written in the configuration (shown by status and check-config).
    public var text: [String]

    public init(text: [String]) {
        self.text = text
    }

    /// Whether `time` (seconds since the epoch) lies in a window, and when that next changes (nil:
    /// never).
    public func state(at time: Double) -> (isOn: Bool, nextChange: Double?) {
        (true, nil)
    }

    /// The window that contains `time`, or else the next one to open after it; nil when none opens
    /// within the next 400 days.
    public func window(atOrAfter time: Double) -> (start: Double, end: Double)? {
        nil
    }
}
