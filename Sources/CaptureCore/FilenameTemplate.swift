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

    /// The relative path for a segment that starts at `time` (seconds since the epoch).
    public func expand(name: String, sequence: Int, time: Double) -> String {
        var pattern = template.replacing("{name}", with: name.replacing("%", with: "%%"))
        pattern = pattern.replacing("{seq}", with: Self.padded(sequence, width: 6))
        var seconds = time_t(time.rounded(.down))
        var parts = tm()
        switch timeZone {
        case .utc: gmtime_r(&seconds, &parts)
        case .local: localtime_r(&seconds, &parts)
        }
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = strftime(&buffer, buffer.count, pattern, &parts)
        if count == 0 && !pattern.isEmpty { return pattern }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func padded(_ value: Int, width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
