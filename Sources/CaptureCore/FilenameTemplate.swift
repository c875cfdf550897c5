// Expands a recording's filename template: strftime fields, {name} and {seq}.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A filename template such as `%Y-%m-%d/{name}-%Y%m%dT%H%M%SZ.wav`, expanded at each segment start.
///
/// `{name}` is the recording's name, `{seq}` the segment's sequence number (six digits; the writer
/// starts after the numbers already taken in the directory), and `%` fields are strftime's, taken in UTC unless the time zone is local.
/// The result is a path relative to the recording's directory; `/` makes nested directories.
public struct FilenameTemplate: Sendable, Equatable {
    public let template: String
    public let timeZone: FilenameTimeZone

    public init(_ template: String, timeZone: FilenameTimeZone = .utc) {
        self.template = template
        self.timeZone = timeZone
    }

    /// The relative path for a segment that starts at `time` (seconds since the epoch); the template
    /// itself when the expansion does not fit in 4095 bytes (``InputValidation`` refuses such templates).
    public func expand(name: String, sequence: Int, time: Double) -> String {
        let (result, pattern) = expanded(name: name, sequence: sequence, time: time)
        return result ?? pattern
    }

    /// The relative path for a segment that starts at `time`, or nil when it would be longer than 4095 bytes.
    public func expansion(name: String, sequence: Int, time: Double) -> String? {
        expanded(name: name, sequence: sequence, time: time).result
    }

    private func expanded(name: String, sequence: Int, time: Double) -> (result: String?, pattern: String) {
        var pattern = template.replacing("{name}", with: name.replacing("%", with: "%%"))
        pattern = pattern.replacing("{seq}", with: Self.padded(sequence, width: 6))
        // Clamped: a time outside time_t's range would trap the conversion.
        var seconds = time_t(time.isFinite ? min(max(time.rounded(.down), -1e15), 1e15) : 0)
        var parts = tm()
        switch timeZone {
        case .utc: gmtime_r(&seconds, &parts)
        case .local: localtime_r(&seconds, &parts)
        }
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = strftime(&buffer, buffer.count, pattern, &parts)
        if count == 0 && !pattern.isEmpty { return (nil, pattern) }
        return (String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self), pattern)
    }

    private static func padded(_ value: Int, width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
