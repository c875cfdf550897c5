// Formats times and levels for events and logs.
import Foundation

enum Timestamp {
    /// `2026-11-22T00:30:11.123Z`
    static func iso8601(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds).formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    /// `-20.00`, or `-inf` for digital silence.
    static func decibels(_ value: Double) -> String {
        value.isFinite ? String(format: "%.2f", value) : "-inf"
    }
}
