// Reading `[[trigger]]` tables. (Filled in by the triggers work.)
import TOMLKit

extension ConfigurationWalker {
    static let triggerKeys = [
        "name", "source", "threshold_dbfs", "channels", "hold_ms", "pre_seconds", "post_seconds", "max_seconds",
        "high_pass_hz", "directory", "filename", "format", "flac_level", "time_zone",
    ]

    /// The `[[trigger]]` tables; `sources` are the configured sources a trigger's `source` names.
    mutating func readTriggers(in root: TOMLTable, sources: [SourceConfiguration]) -> [TriggerConfiguration] {
        []
    }
}
