// Reading a recording's `schedule`. (Filled in by the schedules work.)
import TOMLKit

extension ConfigurationWalker {
    /// A `[[recording]]`'s `schedule` key.
    mutating func readSchedule(_ table: TOMLTable, into recording: inout RecordingConfiguration, at prefix: String) {
    }

    /// After the whole file is read: gives each schedule what it needs from elsewhere (`[station]`'s
    /// position for sun-relative windows, the recording's `time_zone`), and reports what is missing.
    mutating func resolveSchedules(in configuration: inout Configuration, root: TOMLTable) {
    }
}
